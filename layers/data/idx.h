#pragma once
/// IDX files: the format of MNIST and Fashion-MNIST, raw or gzip-compressed.
///
/// An IDX file is a 4-byte magic number (two zero bytes, an element type code,
/// the number of dimensions), one big-endian uint32 per dimension, then the
/// elements in row-major order, big-endian. Element types map to dtypes:
///
///   code  IDX type         dtype
///   0x08  unsigned byte    uint8
///   0x09  signed byte      int32   (lamina has no int8; values -128..127)
///   0x0B  short (16 bit)   int32   (lamina has no int16)
///   0x0C  int (32 bit)     int32
///   0x0D  float (32 bit)   float32
///   0x0E  double (64 bit)  float64
///
/// Files starting with the gzip magic (1f 8b) are decompressed on the fly
/// through zlib, streaming; the size a header claims is checked against what
/// the file can hold before anything is allocated (raw: the bytes left in the
/// file; gzip: deflate's 1032:1 ratio limit and a 4 GiB cap).
///
/// Example:
///   auto m = lamina::data::load_mnist("/usr/share/datasets/fashion-mnist");
///   m.x_train.shape();  // (60000, 28, 28), uint8
///   m.y_train.shape();  // (60000,), int64

#include <cstdint>
#include <string>

#include "lamina/core/tensor.h"

namespace lamina::data {

/// Reads one IDX file (raw or gzip) into a new contiguous tensor whose shape is
/// the file's dimensions. Throws IOError naming the file and the problem:
/// cannot open, bad magic, unsupported type code, bad dimension count,
/// absurd dimensions, truncated header or data ("expected N bytes of data, got
/// M"), trailing bytes after the data, truncated or corrupt gzip stream.
Tensor read_idx(const std::string& path);

/// Largest decompressed size read_idx accepts from a gzip file (4 GiB).
inline constexpr std::uint64_t kMaxIdxGzipBytes = std::uint64_t{4} << 30;

/// The four sets of an MNIST-format directory.
struct MnistData {
  Tensor x_train;  ///< uint8 (N, H, W), pixels 0..255 as stored
  Tensor y_train;  ///< int64 (N,), class indices
  Tensor x_test;   ///< uint8 (M, H, W)
  Tensor y_test;   ///< int64 (M,)
};

/// Loads train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte
/// and t10k-labels-idx1-ubyte from `dir`, each with or without a ".gz" suffix
/// (the dotted spelling "train-images.idx3-ubyte" is accepted too). Images
/// stay uint8 (convert per batch, e.g. with data::cast_x); labels become int64
/// (the class-index dtype the sparse losses take). Throws IOError when a file
/// is missing (listing every name looked for) or unreadable, and when images
/// are not 3-D uint8, labels not 1-D uint8, or their counts differ.
MnistData load_mnist(const std::string& dir);

}  // namespace lamina::data
