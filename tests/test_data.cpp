// Tests of the data module: IDX and CSV loaders, Dataset (batch, shuffle,
// map, take, prefetch, split_tail) and the row gather.

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>
#include <zlib.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "lamina/core/lamina_core.h"
#include "lamina/layers/data/lamina_data.h"

namespace fs = std::filesystem;
using ::testing::AllOf;
using ::testing::HasSubstr;
using namespace lamina;
using namespace lamina::data;

namespace {

// Expects `stmt` to throw `Type` whose message contains every substring.
#define EXPECT_THROW_MSG(stmt, Type, ...)                                          \
  do {                                                                             \
    try {                                                                          \
      stmt;                                                                        \
      ADD_FAILURE() << "expected " #Type " from " #stmt;                           \
    } catch (const Type& e) {                                                      \
      EXPECT_THAT(std::string(e.what()), AllOf(__VA_ARGS__));                      \
    } catch (const std::exception& e) {                                            \
      ADD_FAILURE() << "expected " #Type ", got another exception: " << e.what(); \
    }                                                                              \
  } while (0)

class TempDir {
 public:
  TempDir() {
    static std::atomic<int> counter{0};
    path_ = fs::temp_directory_path() /
            ("lamina_test_data_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
    fs::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  std::string file(const std::string& name) const { return (path_ / name).string(); }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

using Bytes = std::string;

void put_be(Bytes& out, std::uint64_t v, int n) {
  for (int i = n - 1; i >= 0; --i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
}

Bytes idx_header(unsigned type_code, const std::vector<std::uint32_t>& dims) {
  Bytes b;
  b.push_back(0);
  b.push_back(0);
  b.push_back(static_cast<char>(type_code));
  b.push_back(static_cast<char>(dims.size()));
  for (auto d : dims) put_be(b, d, 4);
  return b;
}

// IDX bytes of `values` (converted to the file type) with `dims`.
template <class FileT>
Bytes idx_bytes(unsigned type_code, const std::vector<std::uint32_t>& dims, const std::vector<FileT>& values) {
  Bytes b = idx_header(type_code, dims);
  for (FileT v : values) {
    std::uint64_t bits = 0;
    std::memcpy(&bits, &v, sizeof(FileT));
    put_be(b, bits, sizeof(FileT));
  }
  return b;
}

void write_raw(const std::string& path, const Bytes& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  ASSERT_TRUE(out.good()) << path;
}

void write_gz(const std::string& path, const Bytes& bytes, const char* mode = "wb") {
  gzFile g = gzopen(path.c_str(), mode);
  ASSERT_NE(g, nullptr) << path;
  if (!bytes.empty()) {
    ASSERT_EQ(gzwrite(g, bytes.data(), static_cast<unsigned>(bytes.size())), static_cast<int>(bytes.size()));
  }
  ASSERT_EQ(gzclose(g), Z_OK);
}

Bytes read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return Bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

std::vector<std::int64_t> shape_vec(const Tensor& t) { return t.shape().to_vector(); }

// ============================================================================
// IDX
// ============================================================================

template <class FileT, class MemT>
void check_round_trip(const TempDir& dir, unsigned code, DType dtype, const std::vector<std::uint32_t>& dims,
                      const std::vector<FileT>& values) {
  const Bytes bytes = idx_bytes<FileT>(code, dims, values);
  for (bool gz : {false, true}) {
    SCOPED_TRACE(gz ? "gzip" : "raw");
    const std::string path = dir.file("rt_" + std::to_string(code) + (gz ? ".gz" : ""));
    if (gz) write_gz(path, bytes);
    else write_raw(path, bytes);
    Tensor t = read_idx(path);
    EXPECT_EQ(t.dtype(), dtype);
    std::vector<std::int64_t> want_shape(dims.begin(), dims.end());
    EXPECT_EQ(shape_vec(t), want_shape);
    EXPECT_TRUE(t.is_contiguous());
    const std::vector<MemT> got = t.to_vector<MemT>();
    ASSERT_EQ(got.size(), values.size());
    for (std::size_t i = 0; i < values.size(); ++i) {
      if constexpr (std::is_floating_point_v<MemT>) {
        if (std::isnan(static_cast<double>(values[i]))) {
          EXPECT_TRUE(std::isnan(got[i])) << i;
          continue;
        }
        EXPECT_EQ(std::signbit(static_cast<double>(got[i])), std::signbit(static_cast<double>(values[i]))) << i;
      }
      EXPECT_EQ(got[i], static_cast<MemT>(values[i])) << "element " << i;
    }
  }
}

TEST(Idx, RoundTripEveryElementType) {
  TempDir dir;
  std::vector<std::uint8_t> ub(256);
  for (int i = 0; i < 256; ++i) ub[i] = static_cast<std::uint8_t>(i);
  check_round_trip<std::uint8_t, std::uint8_t>(dir, 0x08, DType::uint8, {4, 8, 8}, ub);

  std::vector<std::int8_t> sb(256);
  for (int i = 0; i < 256; ++i) sb[i] = static_cast<std::int8_t>(i - 128);
  check_round_trip<std::int8_t, std::int32_t>(dir, 0x09, DType::int32, {256}, sb);

  std::vector<std::int16_t> sh = {-32768, -1, 0, 1, 255, 256, 32767, -12345, 4660, 1000, -2, 7};
  check_round_trip<std::int16_t, std::int32_t>(dir, 0x0B, DType::int32, {3, 4}, sh);

  std::vector<std::int32_t> in = {std::numeric_limits<std::int32_t>::min(), -1, 0, 1, 0x12345678,
                                  std::numeric_limits<std::int32_t>::max()};
  check_round_trip<std::int32_t, std::int32_t>(dir, 0x0C, DType::int32, {2, 3}, in);

  std::vector<float> fl = {0.f, -0.f, 1.5f, -2.25f, 3.4e38f, 1e-40f, std::numeric_limits<float>::infinity(),
                           std::numeric_limits<float>::quiet_NaN()};
  check_round_trip<float, float>(dir, 0x0D, DType::float32, {2, 2, 2}, fl);

  std::vector<double> db = {0.0, -0.0, 1.0 / 3.0, -1e300, 5e-324, std::numeric_limits<double>::infinity()};
  check_round_trip<double, double>(dir, 0x0E, DType::float64, {6}, db);
}

TEST(Idx, LargeFilesStreamThroughChunks) {
  TempDir dir;
  // > 64 KiB of short values: exercises the widening chunks and many inflate refills.
  std::vector<std::int16_t> sh(200003);
  std::uint32_t s = 12345;
  for (auto& v : sh) {
    s = s * 1664525u + 1013904223u;
    v = static_cast<std::int16_t>(s >> 16);
  }
  check_round_trip<std::int16_t, std::int32_t>(dir, 0x0B, DType::int32, {200003}, sh);
  std::vector<std::uint8_t> ub(3 * 300 * 1000);
  for (auto& v : ub) {
    s = s * 1664525u + 1013904223u;
    v = static_cast<std::uint8_t>(s >> 24);
  }
  check_round_trip<std::uint8_t, std::uint8_t>(dir, 0x08, DType::uint8, {3, 300, 1000}, ub);
}

TEST(Idx, ConcatenatedGzipMembersAndEmptyDims) {
  TempDir dir;
  const std::vector<float> v = {1.f, 2.f, 3.f, 4.f, 5.f, 6.f};
  const Bytes bytes = idx_bytes<float>(0x0D, {2, 3}, v);
  const std::string path = dir.file("multi.gz");
  write_gz(path, bytes.substr(0, 10), "wb");
  write_gz(path, bytes.substr(10), "ab");
  EXPECT_EQ(read_idx(path).to_vector<float>(), v);

  const std::string empty = dir.file("empty_dim");
  write_raw(empty, idx_header(0x08, {0, 28, 28}));
  Tensor t = read_idx(empty);
  EXPECT_EQ(shape_vec(t), (std::vector<std::int64_t>{0, 28, 28}));
}

TEST(Idx, MissingFileAndDirectory) {
  TempDir dir;
  const std::string missing = dir.file("nope-idx1-ubyte");
  EXPECT_THROW_MSG(read_idx(missing), IOError, HasSubstr("cannot open"), HasSubstr(missing),
                   HasSubstr("No such file"));
  EXPECT_THROW_MSG(read_idx(dir.path().string()), IOError, HasSubstr("is a directory"));
}

TEST(Idx, BadHeaders) {
  TempDir dir;
  const std::string p = dir.file("bad");
  write_raw(p, "");
  EXPECT_THROW_MSG(read_idx(p), IOError, HasSubstr(p), HasSubstr("empty"));

  write_raw(p, Bytes("\x12\x34\x56\x78\0\0\0\1", 8));
  EXPECT_THROW_MSG(read_idx(p), IOError, HasSubstr(p), HasSubstr("bad magic 0x12345678"));
  write_gz(p, Bytes("\x12\x34\x56\x78\0\0\0\1", 8));
  EXPECT_THROW_MSG(read_idx(p), IOError, HasSubstr("bad magic 0x12345678"));

  Bytes b = idx_header(0x0A, {3});
  b += Bytes(3, '\0');
  write_raw(p, b);
  EXPECT_THROW_MSG(read_idx(p), IOError, HasSubstr(p), HasSubstr("unsupported element type code 0x0A"));

  write_raw(p, Bytes("\0\0\x08\0", 4));
  EXPECT_THROW_MSG(read_idx(p), IOError, HasSubstr("unsupported number of dimensions 0"));
  write_raw(p, Bytes("\0\0\x08\x09", 4) + Bytes(36, '\0'));
  EXPECT_THROW_MSG(read_idx(p), IOError, HasSubstr("unsupported number of dimensions 9"));
}

TEST(Idx, TruncatedRawAtEveryLength) {
  TempDir dir;
  const std::vector<std::int32_t> v = {1, 2, 3, 4, 5, 6};
  const Bytes full = idx_bytes<std::int32_t>(0x0C, {2, 3}, v);  // 12 header + 24 data bytes
  const std::string p = dir.file("trunc");
  for (std::size_t len = 0; len < full.size(); ++len) {
    SCOPED_TRACE("length " + std::to_string(len));
    write_raw(p, full.substr(0, len));
    if (len == 0) {
      EXPECT_THROW_MSG(read_idx(p), IOError, HasSubstr("empty"));
    } else if (len < 12) {
      EXPECT_THROW_MSG(read_idx(p), IOError, HasSubstr(p), HasSubstr("truncated header"));
    } else {
      EXPECT_THROW_MSG(read_idx(p), IOError, HasSubstr(p),
                       HasSubstr("truncated data: expected 24 bytes of data for shape (2, 3) of int, got " +
                                 std::to_string(len - 12)));
    }
  }
  write_raw(p, full + "xy");
  EXPECT_THROW_MSG(read_idx(p), IOError, HasSubstr("2 unexpected trailing bytes"));
}

TEST(Idx, TruncatedGzipAtManyLengths) {
  TempDir dir;
  std::vector<std::uint8_t> v(5000);
  for (std::size_t i = 0; i < v.size(); ++i) v[i] = static_cast<std::uint8_t>((i * 7919) % 251);
  const std::string good = dir.file("good.gz");
  write_gz(good, idx_bytes<std::uint8_t>(0x08, {50, 100}, v));
  const Bytes full = read_all(good);
  ASSERT_GT(full.size(), 30u);
  const std::string p = dir.file("cut.gz");
  for (std::size_t len = 0; len < full.size(); ++len) {
    SCOPED_TRACE("length " + std::to_string(len) + " of " + std::to_string(full.size()));
    write_raw(p, full.substr(0, len));
    if (len == 0) {
      EXPECT_THROW_MSG(read_idx(p), IOError, HasSubstr("empty"));
    } else if (len == 1) {  // one byte is not yet recognisable as gzip
      EXPECT_THROW_MSG(read_idx(p), IOError, HasSubstr("truncated header"));
    } else {
      EXPECT_THROW_MSG(read_idx(p), IOError, HasSubstr(p), HasSubstr("truncated gzip stream"));
    }
  }
  // A complete gzip stream holding too few data bytes.
  const Bytes short_data = idx_bytes<std::uint8_t>(0x08, {50, 100}, v).substr(0, 12 + 4000);
  write_gz(p, short_data);
  EXPECT_THROW_MSG(read_idx(p), IOError,
                   HasSubstr("truncated data: expected 5000 bytes of data for shape (50, 100) of ubyte, got 4000"));
  write_gz(p, idx_bytes<std::uint8_t>(0x08, {50, 100}, v) + "abc");
  EXPECT_THROW_MSG(read_idx(p), IOError, HasSubstr("3 unexpected trailing bytes"));
}

TEST(Idx, CorruptGzip) {
  TempDir dir;
  std::vector<std::uint8_t> v(4000);
  for (std::size_t i = 0; i < v.size(); ++i) v[i] = static_cast<std::uint8_t>((i * i) % 253);
  const std::string good = dir.file("good.gz");
  write_gz(good, idx_bytes<std::uint8_t>(0x08, {40, 100}, v));
  const Bytes full = read_all(good);
  const std::string p = dir.file("corrupt.gz");

  Bytes crc = full;
  crc[crc.size() - 8] ^= 0x55;  // CRC-32 of the trailer
  write_raw(p, crc);
  EXPECT_THROW_MSG(read_idx(p), IOError, HasSubstr(p), HasSubstr("corrupt gzip data (incorrect data check)"));

  Bytes len = full;
  len[len.size() - 1] ^= 0x01;  // ISIZE of the trailer
  write_raw(p, len);
  EXPECT_THROW_MSG(read_idx(p), IOError, HasSubstr("corrupt gzip data (incorrect length check)"));

  Bytes method = full;
  method[2] = 7;
  write_raw(p, method);
  EXPECT_THROW_MSG(read_idx(p), IOError, HasSubstr("corrupt gzip data (unknown compression method)"));

  // Any damage from the end of the fixed gzip header on is detected.
  for (std::size_t off = 10; off < full.size(); ++off) {
    SCOPED_TRACE("offset " + std::to_string(off));
    Bytes b = full;
    b[off] = static_cast<char>(b[off] ^ 0xFF);
    write_raw(p, b);
    EXPECT_THROW(read_idx(p), IOError);
  }
}

TEST(Idx, AbsurdDimensions) {
  TempDir dir;
  const std::string p = dir.file("absurd");
  write_raw(p, idx_header(0x0E, {0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF}) + "12345678");
  EXPECT_THROW_MSG(read_idx(p), IOError, HasSubstr(p), HasSubstr("absurd dimensions (4294967295, 4294967295, 4294967295)"));
  write_raw(p, idx_header(0x08, {1000000, 1000}) + "abc");
  EXPECT_THROW_MSG(read_idx(p), IOError, HasSubstr("truncated data: expected 1000000000 bytes of data"),
                   HasSubstr("got 3"));

  const std::string g = dir.file("absurd.gz");
  write_gz(g, idx_header(0x08, {60000, 28, 28}) + "abc");
  EXPECT_THROW_MSG(read_idx(g), IOError, HasSubstr(g), HasSubstr("absurd dimensions (60000, 28, 28)"),
                   HasSubstr("cannot come from a gzip file"));
  write_gz(g, idx_header(0x08, {65536, 65536, 2}));
  EXPECT_THROW_MSG(read_idx(g), IOError, HasSubstr("absurd dimensions"), HasSubstr("4 GiB limit"));
  write_gz(g, idx_header(0x0E, {0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF}));
  EXPECT_THROW_MSG(read_idx(g), IOError, HasSubstr("absurd dimensions"));
}

// A small MNIST-format directory: images (n, 2, 3), labels 0..9 cycling.
void write_small_mnist(const TempDir& dir, bool gz, bool dotted, std::uint32_t n_train, std::uint32_t n_test) {
  auto write = [&](const std::string& stem, const Bytes& b) {
    std::string name = stem;
    if (dotted) name.replace(name.find("-idx"), 1, ".");
    if (gz) write_gz(dir.file(name + ".gz"), b);
    else write_raw(dir.file(name), b);
  };
  for (auto [prefix, n] : {std::pair<std::string, std::uint32_t>{"train", n_train}, {"t10k", n_test}}) {
    std::vector<std::uint8_t> px(n * 6), lb(n);
    for (std::uint32_t i = 0; i < n * 6; ++i) px[i] = static_cast<std::uint8_t>(i);
    for (std::uint32_t i = 0; i < n; ++i) lb[i] = static_cast<std::uint8_t>(i % 10);
    write(prefix + "-images-idx3-ubyte", idx_bytes<std::uint8_t>(0x08, {n, 2, 3}, px));
    write(prefix + "-labels-idx1-ubyte", idx_bytes<std::uint8_t>(0x08, {n}, lb));
  }
}

TEST(Mnist, LoadsSyntheticDirectories) {
  for (bool gz : {false, true}) {
    for (bool dotted : {false, true}) {
      TempDir dir;
      write_small_mnist(dir, gz, dotted, 12, 5);
      MnistData m = load_mnist(dir.path().string());
      EXPECT_EQ(shape_vec(m.x_train), (std::vector<std::int64_t>{12, 2, 3}));
      EXPECT_EQ(shape_vec(m.x_test), (std::vector<std::int64_t>{5, 2, 3}));
      EXPECT_EQ(m.x_train.dtype(), DType::uint8);
      EXPECT_EQ(m.y_train.dtype(), DType::int64);
      EXPECT_EQ(m.y_test.to_vector<std::int64_t>(), (std::vector<std::int64_t>{0, 1, 2, 3, 4}));
      EXPECT_EQ(m.x_train.at<int>(1, 0, 0), 6);
    }
  }
}

TEST(Mnist, Errors) {
  EXPECT_THROW_MSG(load_mnist("/nonexistent/lamina/dir"), IOError, HasSubstr("does not exist"));
  TempDir dir;
  write_small_mnist(dir, true, false, 12, 5);
  fs::remove(dir.file("t10k-labels-idx1-ubyte.gz"));
  EXPECT_THROW_MSG(load_mnist(dir.path().string()), IOError, HasSubstr("missing files"),
                   HasSubstr("t10k-labels (looked for t10k-labels-idx1-ubyte, t10k-labels-idx1-ubyte.gz, "
                             "t10k-labels.idx1-ubyte, t10k-labels.idx1-ubyte.gz)"));
  write_gz(dir.file("t10k-labels-idx1-ubyte.gz"), idx_bytes<std::uint8_t>(0x08, {4}, {1, 2, 3, 4}));
  EXPECT_THROW_MSG(load_mnist(dir.path().string()), IOError, HasSubstr("holds 4 labels"), HasSubstr("holds 5 images"));
  write_gz(dir.file("t10k-labels-idx1-ubyte.gz"), idx_bytes<float>(0x0D, {5}, {1, 2, 3, 4, 5}));
  EXPECT_THROW_MSG(load_mnist(dir.path().string()), IOError, HasSubstr("expected 1-D ubyte labels"));
}

TEST(Mnist, FashionMnistFromDebian) {
  const std::string dir = "/usr/share/datasets/fashion-mnist";
  if (!fs::exists(dir + "/train-images-idx3-ubyte.gz")) GTEST_SKIP() << "dataset-fashion-mnist is not installed";
  MnistData m = load_mnist(dir);
  EXPECT_EQ(shape_vec(m.x_train), (std::vector<std::int64_t>{60000, 28, 28}));
  EXPECT_EQ(shape_vec(m.y_train), (std::vector<std::int64_t>{60000}));
  EXPECT_EQ(shape_vec(m.x_test), (std::vector<std::int64_t>{10000, 28, 28}));
  EXPECT_EQ(shape_vec(m.y_test), (std::vector<std::int64_t>{10000}));
  EXPECT_EQ(m.x_train.dtype(), DType::uint8);
  std::vector<std::int64_t> train_counts(10, 0), test_counts(10, 0);
  for (std::int64_t l : m.y_train.to_vector<std::int64_t>()) {
    ASSERT_TRUE(l >= 0 && l < 10) << l;
    ++train_counts[l];
  }
  for (std::int64_t l : m.y_test.to_vector<std::int64_t>()) {
    ASSERT_TRUE(l >= 0 && l < 10) << l;
    ++test_counts[l];
  }
  EXPECT_EQ(train_counts, std::vector<std::int64_t>(10, 6000));
  EXPECT_EQ(test_counts, std::vector<std::int64_t>(10, 1000));
  EXPECT_EQ(m.y_train.at<std::int64_t>(0), 9);  // the first training image is an ankle boot
  // Pixels use the full byte range; borders of the first image are background.
  const auto px = m.x_train.slice(0, 0, 1000).to_vector<std::uint8_t>();
  EXPECT_EQ(*std::max_element(px.begin(), px.end()), 255);
  EXPECT_EQ(m.x_train.at<int>(0, 0, 0), 0);
}

// ============================================================================
// CSV
// ============================================================================

TEST(Csv, HeaderAndLabelByName) {
  TempDir dir;
  const std::string p = dir.file("a.csv");
  write_raw(p, "\xEF\xBB\xBF\"a\", label ,c\r\n1.5,2,-3\r\n\r\n +4 , 0, 6e1\r\n7,1,nan\r\n");
  CsvOptions opt;
  opt.label_name = "label";
  CsvData d = read_csv(p, opt);
  EXPECT_EQ(shape_vec(d.features), (std::vector<std::int64_t>{3, 2}));
  EXPECT_EQ(d.features.dtype(), DType::float32);
  EXPECT_EQ(d.labels.dtype(), DType::int64);
  const auto f = d.features.to_vector<float>();
  EXPECT_EQ(f[0], 1.5f);
  EXPECT_EQ(f[1], -3.f);
  EXPECT_EQ(f[2], 4.f);
  EXPECT_EQ(f[3], 60.f);
  EXPECT_EQ(f[4], 7.f);
  EXPECT_TRUE(std::isnan(f[5]));
  EXPECT_EQ(d.labels.to_vector<std::int64_t>(), (std::vector<std::int64_t>{2, 0, 1}));
  EXPECT_EQ(d.feature_names, (std::vector<std::string>{"a", "c"}));
  EXPECT_EQ(d.label_name, "label");
}

TEST(Csv, NoHeaderLabelIndexAndOptions) {
  TempDir dir;
  const std::string p = dir.file("b.csv");
  write_raw(p, "1;2;3\n4;5;6");  // no final newline
  CsvOptions opt;
  opt.header = false;
  opt.delimiter = ';';
  opt.label_index = 0;
  opt.label_dtype = DType::float32;
  CsvData d = read_csv(p, opt);
  EXPECT_EQ(d.features.to_vector<float>(), (std::vector<float>{2, 3, 5, 6}));
  EXPECT_EQ(d.labels.dtype(), DType::float32);
  EXPECT_EQ(d.labels.to_vector<float>(), (std::vector<float>{1, 4}));
  EXPECT_TRUE(d.feature_names.empty());

  opt.label_index = -1;  // last column
  EXPECT_EQ(read_csv(p, opt).labels.to_vector<float>(), (std::vector<float>{3, 6}));
  opt.has_label = false;
  d = read_csv(p, opt);
  EXPECT_FALSE(d.labels.defined());
  EXPECT_EQ(shape_vec(d.features), (std::vector<std::int64_t>{2, 3}));
}

TEST(Csv, Errors) {
  TempDir dir;
  const std::string p = dir.file("bad.csv");
  EXPECT_THROW_MSG(read_csv(dir.file("missing.csv")), IOError, HasSubstr("cannot open"), HasSubstr("missing.csv"));

  write_raw(p, "");
  EXPECT_THROW_MSG(read_csv(p), ValueError, HasSubstr(p), HasSubstr("is empty"));
  write_raw(p, "\n  \n");
  EXPECT_THROW_MSG(read_csv(p), ValueError, HasSubstr("is empty"));
  write_raw(p, "a,b,c\n");
  EXPECT_THROW_MSG(read_csv(p), ValueError, HasSubstr("has a header but no data rows"));

  write_raw(p, "a,b,c\n1,2,3\n4,x1,6\n");
  EXPECT_THROW_MSG(read_csv(p), ValueError, HasSubstr(p), HasSubstr("line 3, column 2 ('b'): cannot parse 'x1' as a number"));
  write_raw(p, "a,b,c\n1,2,3\n4,,6\n");
  EXPECT_THROW_MSG(read_csv(p), ValueError, HasSubstr("line 3, column 2 ('b'): empty cell"));
  write_raw(p, "1,2,3\n4,5,6e\n");
  CsvOptions nohead;
  nohead.header = false;
  EXPECT_THROW_MSG(read_csv(p, nohead), ValueError, HasSubstr("line 2, column 3: cannot parse '6e' as a number"));
  write_raw(p, "1,2,3\n4,5,1e999\n");
  EXPECT_THROW_MSG(read_csv(p, nohead), ValueError, HasSubstr("line 2, column 3: number out of range '1e999'"));

  write_raw(p, "a,b,c\n1,2,3\n\n4,5\n");
  EXPECT_THROW_MSG(read_csv(p), ValueError, HasSubstr(p), HasSubstr("line 4: expected 3 cells"), HasSubstr("got 2"));
  write_raw(p, "1,2\n3,4,5\n");
  EXPECT_THROW_MSG(read_csv(p, nohead), ValueError, HasSubstr("line 2: expected 2 cells (as in the first row), got 3"));

  write_raw(p, "a,b,c\n1,2,3\n");
  CsvOptions named;
  named.label_name = "target";
  EXPECT_THROW_MSG(read_csv(p, named), ValueError, HasSubstr("no column named 'target'"), HasSubstr("'a', 'b', 'c'"));
  CsvOptions idx;
  idx.label_index = 3;
  EXPECT_THROW_MSG(read_csv(p, idx), ValueError, HasSubstr("label_index 3 out of range for 3 columns"));
  write_raw(p, "a,b,c\n1,2,3.5\n");
  EXPECT_THROW_MSG(read_csv(p), ValueError, HasSubstr("line 2, column 3 ('c'): label '3.5' is not an integer"));
}

// ============================================================================
// Dataset
// ============================================================================

// x: (n, 3) float32 with x[i] = {i, i + 0.25, i + 0.5}; y: (n,) int64 = i.
Dataset make_ds(std::int64_t n) {
  std::vector<float> xs;
  std::vector<std::int64_t> ys;
  for (std::int64_t i = 0; i < n; ++i) {
    xs.insert(xs.end(), {float(i), float(i) + 0.25f, float(i) + 0.5f});
    ys.push_back(i);
  }
  return Dataset(Tensor::from(xs, Shape{n, 3}), Tensor::from(ys, Shape{n}));
}

// Checks a batch is the rows `ids` of make_ds.
void expect_rows(const Batch& b, const std::vector<std::int64_t>& ids) {
  ASSERT_EQ(b.x.size(0), static_cast<std::int64_t>(ids.size()));
  ASSERT_TRUE(b.x.is_contiguous());
  EXPECT_EQ(b.y.to_vector<std::int64_t>(), ids);
  const auto x = b.x.to_vector<float>();
  for (std::size_t r = 0; r < ids.size(); ++r)
    for (int c = 0; c < 3; ++c) EXPECT_EQ(x[r * 3 + c], float(ids[r]) + 0.25f * c);
}

std::vector<std::int64_t> range(std::int64_t a, std::int64_t b) {
  std::vector<std::int64_t> v;
  for (std::int64_t i = a; i < b; ++i) v.push_back(i);
  return v;
}

TEST(Dataset, ConstructionErrors) {
  EXPECT_THROW_MSG(Dataset(zeros({10, 3}), zeros({9})), ValueError, HasSubstr("x has 10"), HasSubstr("y has 9"),
                   HasSubstr("(9,)"));
  EXPECT_THROW_MSG(Dataset(zeros({0, 3}), zeros({0})), ValueError, HasSubstr("empty dataset"));
  EXPECT_THROW_MSG(Dataset{Tensor()}, ValueError, HasSubstr("undefined"));
  EXPECT_THROW_MSG(Dataset(Tensor::scalar(1.0)), ValueError, HasSubstr("leading sample axis"));
  Dataset ds = make_ds(5);
  EXPECT_THROW_MSG(ds.batch(0), ValueError, HasSubstr("batch_size must be positive, got 0"));
  EXPECT_THROW_MSG(ds.batch(-3), ValueError, HasSubstr("got -3"));
  EXPECT_THROW(ds.take(-1), ValueError);
  EXPECT_THROW(ds.get_batch(0, 5), IndexError);
}

TEST(Dataset, BatchingKeepsTheLastPartialBatch) {
  Dataset ds = make_ds(10).batch(4);
  EXPECT_EQ(ds.size(), 10);
  EXPECT_EQ(ds.num_batches(), 3);
  std::vector<std::vector<std::int64_t>> want = {range(0, 4), range(4, 8), range(8, 10)};
  std::size_t k = 0;
  for (const Batch& b : ds.epoch(0)) {
    ASSERT_LT(k, want.size());
    expect_rows(b, want[k++]);
  }
  EXPECT_EQ(k, 3u);

  Dataset dropped = make_ds(10).batch(4, /*drop_remainder=*/true);
  EXPECT_EQ(dropped.num_batches(), 2);
  k = 0;
  for (const Batch& b : dropped.epoch(3)) expect_rows(b, want[k++]);
  EXPECT_EQ(k, 2u);

  // Unbatched: one sample per batch, leading axis kept.
  Dataset single = make_ds(3);
  EXPECT_EQ(single.num_batches(), 3);
  EXPECT_EQ(shape_vec(single.get_batch(0, 2).x), (std::vector<std::int64_t>{1, 3}));

  // Batches are copies: writing to one leaves the dataset alone.
  Batch b = ds.get_batch(0, 0);
  b.x.fill_(-1.0);
  expect_rows(ds.get_batch(0, 0), range(0, 4));

  // 60000 / 64 -> 938 steps (Keras's count).
  EXPECT_EQ(Dataset(zeros({60000, 1}, DType::uint8)).batch(64).num_batches(), 938);
}

TEST(Dataset, ShuffleIsDeterministicPerEpochAndThreadIndependent) {
  const std::int64_t n = 1000;
  Dataset ds = make_ds(n).shuffle(7).batch(64);
  const auto o0 = ds.order(0), o1 = ds.order(1);
  EXPECT_EQ(o0, make_ds(n).shuffle(7).order(0));  // same (seed, epoch): same order
  EXPECT_NE(o0, o1);                              // a new order every epoch
  EXPECT_NE(o0, make_ds(n).shuffle(8).order(0));
  EXPECT_NE(o0, range(0, n));
  EXPECT_EQ(std::set<std::int64_t>(o1.begin(), o1.end()).size(), static_cast<std::size_t>(n));
  EXPECT_EQ(*std::min_element(o1.begin(), o1.end()), 0);
  EXPECT_EQ(*std::max_element(o1.begin(), o1.end()), n - 1);
  EXPECT_EQ(o0, shuffled_indices(n, 7, 0));

  // Batches follow the order; every sample appears once per epoch.
  for (std::int64_t e : {0, 1, 5}) {
    const auto order = ds.order(e);
    std::int64_t i = 0;
    for (const Batch& b : ds.epoch(e)) {
      const std::int64_t bs = b.x.size(0);
      expect_rows(b, std::vector<std::int64_t>(order.begin() + i, order.begin() + i + bs));
      i += bs;
    }
    EXPECT_EQ(i, n);
  }

  // Identical with 1 and 2 threads.
  const int saved = get_num_threads();
  std::vector<std::vector<float>> seen[2];
  for (int t : {1, 2}) {
    set_num_threads(t);
    for (const Batch& b : ds.epoch(2)) seen[t - 1].push_back(b.x.to_vector<float>());
  }
  set_num_threads(saved);
  EXPECT_EQ(seen[0], seen[1]);

  // Shuffling is uniform enough: position 0 takes many different samples.
  std::set<std::int64_t> firsts;
  for (std::int64_t e = 0; e < 50; ++e) firsts.insert(shuffled_indices(10, 3, e)[0]);
  EXPECT_EQ(firsts.size(), 10u);
  EXPECT_TRUE(shuffled_indices(1, 3, 0) == std::vector<std::int64_t>{0});
}

TEST(Dataset, PrefetchGivesTheSameBatchesAndRunsAhead) {
  const std::int64_t n = 2000;
  auto plus = [](Batch b) {
    b.x = core::add(b.x, 1.0);
    return b;
  };
  Dataset base = make_ds(n).shuffle(11).batch(100).map(plus);
  std::vector<std::vector<float>> with, without;
  for (const Batch& b : base.epoch(4)) with.push_back(b.x.to_vector<float>());
  for (const Batch& b : base.prefetch(false).epoch(4)) without.push_back(b.x.to_vector<float>());
  EXPECT_EQ(with.size(), 20u);
  EXPECT_EQ(with, without);
  for (std::int64_t i = 0; i < 20; ++i) EXPECT_EQ(base.get_batch(4, i).x.to_vector<float>(), with[i]);

  // While the caller holds batch 0, batch 1 gets prepared in the background.
  if (get_num_threads() >= 2 && std::thread::hardware_concurrency() >= 2) {
    auto calls = std::make_shared<std::atomic<int>>(0);
    Dataset counted = make_ds(n).batch(100).map([calls](Batch b) {
      calls->fetch_add(1);
      return b;
    });
    auto epoch = counted.epoch(0);
    auto it = epoch.begin();
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (calls->load() < 2 && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    EXPECT_EQ(calls->load(), 2);  // batch 0 plus the prefetched batch 1, no more
    ++it;
    EXPECT_EQ(it.index(), 1);
    expect_rows(*it, range(100, 200));
  }

  // Leaving an epoch early while a batch is being prepared is safe.
  for (int rep = 0; rep < 20; ++rep) {
    for (const Batch& b : base.epoch(rep)) {
      (void)b;
      break;
    }
  }
}

TEST(Dataset, MapErrorsSurfaceInTheConsumer) {
  Dataset ds = make_ds(10).batch(2).map([](Batch b) {
    if (b.y.at<std::int64_t>(0) == 4) throw ValueError("[test] bad batch 2");
    return b;
  });
  for (bool prefetch : {true, false}) {
    int seen = 0;
    try {
      for (const Batch& b : ds.prefetch(prefetch).epoch(0)) {
        (void)b;
        ++seen;
      }
      ADD_FAILURE() << "no exception";
    } catch (const ValueError& e) {
      EXPECT_THAT(e.what(), HasSubstr("bad batch 2"));
    }
    EXPECT_EQ(seen, 2);
  }
}

TEST(Dataset, MapCastsUint8PerBatchAndComposes) {
  std::vector<std::uint8_t> px(6 * 4);
  for (std::size_t i = 0; i < px.size(); ++i) px[i] = static_cast<std::uint8_t>(i * 10);
  Tensor x = Tensor::from(px, Shape{6, 2, 2});
  Tensor y = Tensor::from({0, 1, 2, 3, 4, 5}, Shape{6}).to(DType::int64);
  Dataset ds = Dataset(x, y).batch(4).map(cast_x(DType::float32, 1.0 / 255)).map([](Batch b) {
    b.y = core::add(b.y, 10.0);
    return b;
  });
  EXPECT_EQ(ds.x().dtype(), DType::uint8);  // stays uint8 in memory
  std::vector<Batch> batches;
  for (const Batch& b : ds.epoch(0)) batches.push_back(b);
  ASSERT_EQ(batches.size(), 2u);
  EXPECT_EQ(batches[0].x.dtype(), DType::float32);
  EXPECT_EQ(shape_vec(batches[1].x), (std::vector<std::int64_t>{2, 2, 2}));
  EXPECT_FLOAT_EQ(batches[0].x.at<float>(1, 1, 0), 60.f / 255.f);
  EXPECT_FLOAT_EQ(batches[1].x.at<float>(1, 1, 1), 230.f / 255.f);
  EXPECT_EQ(batches[1].y.to_vector<std::int64_t>(), (std::vector<std::int64_t>{14, 15}));

  // The generic path (other dtypes) and validation.
  Batch b = cast_x(DType::float64, 0.5)(Batch{Tensor::from({2, 4}, Shape{2}), Tensor()});
  EXPECT_EQ(b.x.dtype(), DType::float64);
  EXPECT_EQ(b.x.to_vector<double>(), (std::vector<double>{1.0, 2.0}));
  EXPECT_THROW(cast_x(DType::int32, 0.5), ValueError);
}

TEST(Dataset, TakeAndXOnly) {
  Dataset ds = make_ds(10).batch(3).take(2);
  EXPECT_EQ(ds.num_batches(), 2);
  int k = 0;
  for (const Batch& b : ds.epoch(0)) expect_rows(b, range(3 * k, 3 * k + 3)), ++k;
  EXPECT_EQ(k, 2);
  EXPECT_EQ(make_ds(10).batch(3).take(100).num_batches(), 4);
  EXPECT_EQ(make_ds(10).batch(3).take(0).epoch(0).begin() == std::default_sentinel, true);

  Dataset xonly(Tensor::from({1.f, 2.f, 3.f}, Shape{3}));
  int count = 0;
  for (const Batch& b : xonly.batch(2).epoch(0)) {
    EXPECT_FALSE(b.y.defined());
    ++count;
  }
  EXPECT_EQ(count, 2);
}

// Resuming inside an epoch (FitOptions::initial_step): the skipped batches are
// never gathered or mapped, the rest are those of the full epoch.
TEST(Dataset, EpochFromABatchSkipsWithoutGathering) {
  for (bool prefetch : {true, false}) {
    SCOPED_TRACE(prefetch);
    auto mapped = std::make_shared<std::vector<std::int64_t>>();  // first y of each mapped batch
    auto mutex = std::make_shared<std::mutex>();
    const Dataset ds = make_ds(23).shuffle(5).batch(4).prefetch(prefetch).map([mapped, mutex](Batch b) {
      std::lock_guard lock(*mutex);
      mapped->push_back(b.y.at<std::int64_t>(0));
      return b;
    });
    ASSERT_EQ(ds.num_batches(), 6);
    std::vector<std::vector<std::int64_t>> full;
    for (const Batch& b : ds.epoch(2)) full.push_back(b.y.to_vector<std::int64_t>());
    mapped->clear();
    auto epoch = ds.epoch(2, 4);
    EXPECT_EQ(epoch.size(), 2);
    std::vector<std::int64_t> indices;
    std::vector<std::vector<std::int64_t>> rest;
    for (auto it = epoch.begin(); it != epoch.end(); ++it) {
      indices.push_back(it.index());
      rest.push_back(it->y.to_vector<std::int64_t>());
    }
    EXPECT_EQ(indices, (std::vector<std::int64_t>{4, 5}));
    EXPECT_EQ(rest, (std::vector<std::vector<std::int64_t>>{full[4], full[5]}));
    EXPECT_EQ(*mapped, (std::vector<std::int64_t>{full[4][0], full[5][0]}));  // batches 0-3 never made
    mapped->clear();
    EXPECT_TRUE(ds.epoch(2, 6).begin() == std::default_sentinel);  // all skipped
    EXPECT_TRUE(mapped->empty());
  }
  EXPECT_THROW_MSG(make_ds(23).batch(4).epoch(0, 7), ValueError, HasSubstr("[Dataset.epoch]"),
                   HasSubstr("first_batch must be in [0, 6]"), HasSubstr("got 7"));
  EXPECT_THROW_MSG(make_ds(23).batch(4).epoch(0, -1), ValueError, HasSubstr("got -1"));
}

TEST(Dataset, SplitTailTakesTheLastSamples) {
  Dataset ds = make_ds(10).shuffle(1).batch(3);
  auto [train, val] = ds.split_tail(0.2);  // split_at = floor(10 * 0.8) = 8
  EXPECT_EQ(train.size(), 8);
  EXPECT_EQ(val.size(), 2);
  EXPECT_TRUE(train.shuffled());
  EXPECT_FALSE(val.shuffled());
  EXPECT_EQ(val.batch_size(), 3);
  expect_rows(val.get_batch(0, 0), range(8, 10));
  auto o = train.order(0);
  std::sort(o.begin(), o.end());
  EXPECT_EQ(o, range(0, 8));
  EXPECT_TRUE(train.x().shares_storage(ds.x()));  // no copy
  std::set<std::int64_t> seen;
  for (const Batch& b : train.epoch(1))
    for (auto v : b.y.to_vector<std::int64_t>()) seen.insert(v);
  EXPECT_EQ(seen, std::set<std::int64_t>({0, 1, 2, 3, 4, 5, 6, 7}));

  EXPECT_EQ(make_ds(3).split_tail(0.1).first.size(), 2);  // floor(2.7)
  EXPECT_THROW_MSG(make_ds(1).split_tail(0.5), ValueError, HasSubstr("1 samples are not enough"));
  EXPECT_THROW_MSG(make_ds(10).split_tail(0.0), ValueError, HasSubstr("fraction must be in (0, 1)"));
  EXPECT_THROW(make_ds(10).split_tail(1.0), ValueError);
}

TEST(Gather, RowsOfEveryWidth) {
  for (DType dt : {DType::uint8, DType::int32, DType::int64, DType::float32}) {
    for (std::int64_t cols : {1, 2, 3, 7}) {
      Tensor src = arange(0, 50 * cols, 1, dt).reshape({50, cols});
      const std::vector<std::int64_t> rows = {49, 0, 7, 7, 13};
      Tensor g = gather_rows(src, rows);
      ASSERT_EQ(shape_vec(g), (std::vector<std::int64_t>{5, cols}));
      for (std::size_t r = 0; r < rows.size(); ++r)
        for (std::int64_t c = 0; c < cols; ++c)
          EXPECT_EQ(g.at<double>(static_cast<std::int64_t>(r), c), src.at<double>(rows[r], c));
    }
  }
  // Non-contiguous source and a large (parallel) gather.
  Tensor big = arange(0, 4000 * 300, 1, DType::float32).reshape({4000, 300});
  std::vector<std::int64_t> rows = shuffled_indices(4000, 5, 0);
  Tensor g = gather_rows(big, rows);
  for (std::int64_t r : {0, 1, 1999, 3999}) EXPECT_EQ(g.at<float>(r, 17), big.at<float>(rows[r], 17));
  Tensor t = big.t();  // (300, 4000) view
  Tensor gt = gather_rows(t, std::vector<std::int64_t>{299, 1});
  EXPECT_EQ(gt.at<float>(0, 5), big.at<float>(5, 299));
  EXPECT_THROW(gather_rows(big, std::vector<std::int64_t>{4000}), IndexError);
  EXPECT_THROW(gather_rows(big, std::vector<std::int64_t>{-1}), IndexError);
  EXPECT_EQ(copy_rows(big, 10, 12).at<float>(1, 3), big.at<float>(11, 3));
}

}  // namespace
