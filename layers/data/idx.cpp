#include "lamina/layers/data/idx.h"

#include <zlib.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <vector>

#include "lamina/core/error.h"

namespace lamina::data {

namespace {

namespace fs = std::filesystem;

// deflate cannot expand data by more than this factor (zlib's documented
// worst case is 1032:1), so a gzip file of C bytes holds at most 1032 * C.
constexpr std::uint64_t kDeflateMaxRatio = 1032;
// Sizes beyond this are treated as absurd even for raw files (and keep the
// products below from overflowing).
constexpr std::uint64_t kHardLimit = std::uint64_t{1} << 62;

std::string hex(unsigned v, int width) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%0*X", width, v);
  return buf;
}

struct FileCloser {
  void operator()(std::FILE* f) const { std::fclose(f); }
};
using FilePtr = std::unique_ptr<std::FILE, FileCloser>;

/// A byte stream: read() returns fewer than n bytes only at the end of the
/// data; problems (I/O errors, corrupt or truncated compression) throw.
class Reader {
 public:
  virtual ~Reader() = default;
  virtual std::size_t read(void* dst, std::size_t n) = 0;
  /// Called once all expected bytes were read: returns how many more data
  /// bytes follow (and, for gzip, checks the stream to its end, CRC included).
  virtual std::uint64_t drain() = 0;
};

class RawReader final : public Reader {
 public:
  RawReader(std::FILE* f, const std::string& path) : f_(f), path_(path) {}
  std::size_t read(void* dst, std::size_t n) override {
    std::size_t got = std::fread(dst, 1, n, f_);
    LAMINA_CHECK(got == n || !std::ferror(f_), IOError, "[read_idx] '", path_, "': read error: ",
                 std::strerror(errno));
    return got;
  }
  std::uint64_t drain() override {
    std::uint64_t extra = 0;
    char buf[4096];
    while (std::size_t got = read(buf, sizeof buf)) extra += got;
    return extra;
  }

 private:
  std::FILE* f_;
  const std::string& path_;
};

class GzReader final : public Reader {
 public:
  GzReader(std::FILE* f, const std::string& path) : f_(f), path_(path), in_(std::size_t{1} << 16) {
    int rc = inflateInit2(&zs_, 16 + MAX_WBITS);  // gzip wrapper only
    LAMINA_CHECK(rc == Z_OK, IOError, "[read_idx] '", path_, "': cannot initialise zlib (error ", rc, ")");
  }
  ~GzReader() override { inflateEnd(&zs_); }

  std::size_t read(void* dst, std::size_t n) override {
    std::size_t total = 0;
    zs_.next_out = static_cast<Bytef*>(dst);
    while (total < n && !done_) {
      if (zs_.avail_in == 0 && !refill()) {
        LAMINA_CHECK(false, IOError, "[read_idx] '", path_,
                     "': truncated gzip stream (the file ends inside the compressed data, after ",
                     zs_.total_out + member_offset_, " decompressed bytes)");
      }
      const auto chunk = static_cast<uInt>(std::min<std::size_t>(n - total, UINT_MAX));
      zs_.avail_out = chunk;
      const int rc = inflate(&zs_, Z_NO_FLUSH);
      total += chunk - zs_.avail_out;
      if (rc == Z_STREAM_END) {
        next_member();
      } else if (rc != Z_OK && rc != Z_BUF_ERROR) {
        LAMINA_CHECK(false, IOError, "[read_idx] '", path_, "': corrupt gzip data (",
                     zs_.msg ? zs_.msg : zError(rc), ")");
      }
    }
    return total;
  }

  std::uint64_t drain() override {
    std::uint64_t extra = 0;
    char buf[4096];
    while (std::size_t got = read(buf, sizeof buf)) extra += got;
    return extra;
  }

 private:
  bool refill() {
    std::size_t got = std::fread(in_.data(), 1, in_.size(), f_);
    LAMINA_CHECK(got > 0 || !std::ferror(f_), IOError, "[read_idx] '", path_, "': read error: ",
                 std::strerror(errno));
    zs_.next_in = in_.data();
    zs_.avail_in = static_cast<uInt>(got);
    return got > 0;
  }
  // After one gzip member ends: continue with a following member (as gzip -d
  // does for concatenated files); anything else after it is ignored.
  void next_member() {
    if (zs_.avail_in == 0) refill();
    if (zs_.avail_in == 0) {
      done_ = true;
      return;
    }
    if (zs_.avail_in == 1) {  // need two bytes to recognise a header
      in_[0] = *zs_.next_in;
      std::size_t got = std::fread(in_.data() + 1, 1, in_.size() - 1, f_);
      zs_.next_in = in_.data();
      zs_.avail_in = static_cast<uInt>(got + 1);
    }
    if (zs_.avail_in >= 2 && zs_.next_in[0] == 0x1f && zs_.next_in[1] == 0x8b) {
      member_offset_ += zs_.total_out;
      inflateReset(&zs_);
    } else {
      done_ = true;
    }
  }

  std::FILE* f_;
  const std::string& path_;
  std::vector<unsigned char> in_;
  z_stream zs_{};
  bool done_ = false;
  std::uint64_t member_offset_ = 0;
};

struct ElementType {
  const char* name;
  std::size_t file_size;  // bytes per element in the file
  DType dtype;
};

bool element_type(unsigned code, ElementType& out) {
  switch (code) {
    case 0x08: out = {"ubyte", 1, DType::uint8}; return true;
    case 0x09: out = {"byte", 1, DType::int32}; return true;
    case 0x0B: out = {"short", 2, DType::int32}; return true;
    case 0x0C: out = {"int", 4, DType::int32}; return true;
    case 0x0D: out = {"float", 4, DType::float32}; return true;
    case 0x0E: out = {"double", 8, DType::float64}; return true;
    default: return false;
  }
}

template <class U>
void big_endian_to_native(U* p, std::size_t n) {
  if constexpr (std::endian::native == std::endian::little && sizeof(U) > 1) {
    for (std::size_t i = 0; i < n; ++i) {
      if constexpr (sizeof(U) == 2) p[i] = __builtin_bswap16(p[i]);
      else if constexpr (sizeof(U) == 4) p[i] = __builtin_bswap32(p[i]);
      else p[i] = __builtin_bswap64(p[i]);
    }
  }
}

void throw_truncated(const std::string& path, const Shape& shape, const ElementType& et, std::uint64_t expected,
                     std::uint64_t got) {
  LAMINA_CHECK(false, IOError, "[read_idx] '", path, "': truncated data: expected ", expected,
               " bytes of data for shape ", shape, " of ", et.name, ", got ", got);
}

}  // namespace

Tensor read_idx(const std::string& path) {
  std::error_code ec;
  LAMINA_CHECK(!fs::is_directory(path, ec), IOError, "[read_idx] cannot open '", path, "': it is a directory");
  FilePtr file(std::fopen(path.c_str(), "rb"));
  LAMINA_CHECK(file != nullptr, IOError, "[read_idx] cannot open '", path, "': ", std::strerror(errno));
  std::FILE* f = file.get();
  const std::uint64_t file_size = fs::file_size(path, ec);
  LAMINA_CHECK(!ec, IOError, "[read_idx] '", path, "': cannot get its size: ", ec.message());

  unsigned char peek[2] = {0, 0};
  const std::size_t peeked = std::fread(peek, 1, 2, f);
  std::rewind(f);
  const bool gzip = peeked == 2 && peek[0] == 0x1f && peek[1] == 0x8b;
  std::unique_ptr<Reader> reader;
  if (gzip) reader = std::make_unique<GzReader>(f, path);
  else reader = std::make_unique<RawReader>(f, path);

  // ---- header ----
  unsigned char magic[4];
  const std::size_t got_magic = reader->read(magic, 4);
  LAMINA_CHECK(got_magic > 0, IOError, "[read_idx] '", path, "': the file is empty", gzip ? " (after decompression)" : "");
  LAMINA_CHECK(got_magic == 4, IOError, "[read_idx] '", path, "': truncated header: expected 4 magic bytes, got ",
               got_magic);
  const unsigned magic_value = (unsigned{magic[0]} << 24) | (unsigned{magic[1]} << 16) | (unsigned{magic[2]} << 8) | magic[3];
  LAMINA_CHECK(magic[0] == 0 && magic[1] == 0, IOError, "[read_idx] '", path, "': bad magic ", hex(magic_value, 8),
               " (an IDX file starts with two zero bytes, an element type code and the number of dimensions)");
  ElementType et{};
  LAMINA_CHECK(element_type(magic[2], et), IOError, "[read_idx] '", path, "': unsupported element type code ",
               hex(magic[2], 2), " in magic ", hex(magic_value, 8),
               " (expected 0x08 ubyte, 0x09 byte, 0x0B short, 0x0C int, 0x0D float or 0x0E double)");
  const int ndim = magic[3];
  LAMINA_CHECK(ndim >= 1 && ndim <= kMaxDims, IOError, "[read_idx] '", path, "': unsupported number of dimensions ",
               ndim, " in magic ", hex(magic_value, 8), " (1 to ", kMaxDims, " supported)");

  unsigned char dim_bytes[4 * kMaxDims];
  const std::size_t dims_size = 4 * static_cast<std::size_t>(ndim);
  const std::size_t got_dims = reader->read(dim_bytes, dims_size);
  LAMINA_CHECK(got_dims == dims_size, IOError, "[read_idx] '", path, "': truncated header: expected ", 4 + dims_size,
               " header bytes for ", ndim, " dimensions, got ", 4 + got_dims);
  Shape shape;
  std::uint64_t data_bytes = et.file_size;  // saturates at kHardLimit
  bool overflow = false;
  for (int i = 0; i < ndim; ++i) {
    const unsigned char* b = dim_bytes + 4 * i;
    const std::uint64_t d = (std::uint64_t{b[0]} << 24) | (std::uint64_t{b[1]} << 16) | (std::uint64_t{b[2]} << 8) | b[3];
    shape.push_back(static_cast<std::int64_t>(d));
    if (d == 0) {
      data_bytes = 0;
      overflow = false;
    } else if (data_bytes != 0 && !overflow) {
      if (data_bytes > kHardLimit / d) overflow = true;
      else data_bytes *= d;
    }
  }
  // Zero-sized dims after an overflow still make the product zero.
  for (std::int64_t d : shape) {
    if (d == 0) {
      overflow = false;
      data_bytes = 0;
    }
  }
  LAMINA_CHECK(!overflow, IOError, "[read_idx] '", path, "': absurd dimensions ", shape, " of ", et.name,
               ": the data would need more than 2^62 bytes");

  // ---- size checks before allocating ----
  const std::uint64_t header_bytes = 4 + dims_size;
  if (gzip) {
    LAMINA_CHECK(data_bytes <= kMaxIdxGzipBytes, IOError, "[read_idx] '", path, "': absurd dimensions ", shape, " of ",
                 et.name, ": ", data_bytes, " bytes of data exceed the ", kMaxIdxGzipBytes >> 30,
                 " GiB limit for gzip-compressed files");
    LAMINA_CHECK(data_bytes + header_bytes <= file_size * kDeflateMaxRatio, IOError, "[read_idx] '", path,
                 "': absurd dimensions ", shape, " of ", et.name, ": ", data_bytes,
                 " bytes of data cannot come from a gzip file of ", file_size, " bytes (deflate expands at most ",
                 kDeflateMaxRatio, ":1)");
  } else {
    const std::uint64_t remaining = file_size > header_bytes ? file_size - header_bytes : 0;
    if (data_bytes > remaining) throw_truncated(path, shape, et, data_bytes, remaining);
    LAMINA_CHECK(data_bytes == remaining, IOError, "[read_idx] '", path, "': ", remaining - data_bytes,
                 " unexpected trailing bytes after the ", data_bytes, " bytes of data for shape ", shape, " of ",
                 et.name);
  }

  // ---- data ----
  Tensor out = Tensor::empty(shape, et.dtype);
  const std::size_t count = static_cast<std::size_t>(out.numel());
  if (et.file_size == out.itemsize()) {
    // Same width in the file and in memory: read straight into the tensor.
    auto* dst = static_cast<unsigned char*>(out.raw_data());
    const std::size_t got = reader->read(dst, data_bytes);
    if (got < data_bytes) throw_truncated(path, shape, et, data_bytes, got);
    switch (et.file_size) {
      case 2: big_endian_to_native(reinterpret_cast<std::uint16_t*>(dst), count); break;
      case 4: big_endian_to_native(reinterpret_cast<std::uint32_t*>(dst), count); break;
      case 8: big_endian_to_native(reinterpret_cast<std::uint64_t*>(dst), count); break;
      default: break;
    }
  } else {
    // byte / short widen to int32, chunk by chunk.
    std::int32_t* dst = out.data<std::int32_t>();
    constexpr std::size_t kChunk = std::size_t{1} << 16;
    std::vector<unsigned char> buf(kChunk * et.file_size);
    std::size_t done = 0;
    while (done < count) {
      const std::size_t n = std::min(kChunk, count - done);
      const std::size_t want = n * et.file_size;
      const std::size_t got = reader->read(buf.data(), want);
      if (got < want) throw_truncated(path, shape, et, data_bytes, done * et.file_size + got);
      if (et.file_size == 1) {
        for (std::size_t i = 0; i < n; ++i) dst[done + i] = static_cast<std::int8_t>(buf[i]);
      } else {
        for (std::size_t i = 0; i < n; ++i) {
          const auto v = static_cast<std::uint16_t>((buf[2 * i] << 8) | buf[2 * i + 1]);
          dst[done + i] = static_cast<std::int16_t>(v);
        }
      }
      done += n;
    }
  }
  const std::uint64_t extra = reader->drain();
  LAMINA_CHECK(extra == 0, IOError, "[read_idx] '", path, "': ", extra, " unexpected trailing bytes after the ",
               data_bytes, " bytes of data for shape ", shape, " of ", et.name);
  return out;
}

MnistData load_mnist(const std::string& dir) {
  std::error_code ec;
  LAMINA_CHECK(fs::exists(dir, ec), IOError, "[load_mnist] directory '", dir, "' does not exist");
  LAMINA_CHECK(fs::is_directory(dir, ec), IOError, "[load_mnist] '", dir, "' is not a directory");

  struct Wanted {
    const char* prefix;  // "train-images"
    const char* kind;    // "idx3-ubyte"
    std::string found;
  };
  Wanted wanted[4] = {{"train-images", "idx3-ubyte", {}},
                      {"train-labels", "idx1-ubyte", {}},
                      {"t10k-images", "idx3-ubyte", {}},
                      {"t10k-labels", "idx1-ubyte", {}}};
  std::string missing;
  for (Wanted& w : wanted) {
    std::vector<std::string> names;
    for (const char* sep : {"-", "."})
      for (const char* ext : {"", ".gz"}) names.push_back(std::string(w.prefix) + sep + w.kind + ext);
    for (const std::string& name : names) {
      const fs::path p = fs::path(dir) / name;
      if (fs::is_regular_file(p, ec)) {
        w.found = p.string();
        break;
      }
    }
    if (w.found.empty()) {
      missing += missing.empty() ? "" : "; ";
      missing += std::string(w.prefix) + " (looked for ";
      for (std::size_t i = 0; i < names.size(); ++i) missing += (i ? ", " : "") + names[i];
      missing += ")";
    }
  }
  LAMINA_CHECK(missing.empty(), IOError, "[load_mnist] missing files in '", dir, "': ", missing);

  auto images = [](const std::string& path) {
    Tensor t = read_idx(path);
    LAMINA_CHECK(t.ndim() == 3 && t.dtype() == DType::uint8, IOError, "[load_mnist] '", path,
                 "': expected 3-D ubyte images (N, rows, cols), got shape ", t.shape(), " of ", t.dtype());
    return t;
  };
  auto labels = [](const std::string& path, const Tensor& x, const std::string& x_path) {
    Tensor t = read_idx(path);
    LAMINA_CHECK(t.ndim() == 1 && t.dtype() == DType::uint8, IOError, "[load_mnist] '", path,
                 "': expected 1-D ubyte labels, got shape ", t.shape(), " of ", t.dtype());
    LAMINA_CHECK(t.size(0) == x.size(0), IOError, "[load_mnist] '", path, "' holds ", t.size(0), " labels but '",
                 x_path, "' holds ", x.size(0), " images");
    return t.to(DType::int64);
  };
  MnistData m;
  m.x_train = images(wanted[0].found);
  m.y_train = labels(wanted[1].found, m.x_train, wanted[0].found);
  m.x_test = images(wanted[2].found);
  m.y_test = labels(wanted[3].found, m.x_test, wanted[2].found);
  return m;
}

}  // namespace lamina::data
