#pragma once
// Internal: bounds-checked little-endian byte writer/reader for the lamina
// file format (see ../FORMAT.md). Every read checks the remaining length
// first, so a corrupt length can never make the reader allocate or touch
// more than the buffer holds.

#include <bit>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "lamina/core/error.h"

namespace lamina::serialization_detail {

static_assert(std::endian::native == std::endian::little,
              "lamina's file format stores little-endian bytes; big-endian hosts are not supported");

class ByteWriter {
 public:
  std::vector<std::uint8_t>& bytes() { return out_; }
  std::size_t size() const { return out_.size(); }
  void reserve(std::size_t n) { out_.reserve(n); }
  void raw(const void* p, std::size_t n) {
    const auto* b = static_cast<const std::uint8_t*>(p);
    out_.insert(out_.end(), b, b + n);
  }
  template <class T>
  void put(T v) {
    static_assert(std::is_integral_v<T> || std::is_same_v<T, double>);
    raw(&v, sizeof v);
  }
  void u8(std::uint8_t v) { put(v); }
  void u16(std::uint16_t v) { put(v); }
  void u32(std::uint32_t v) { put(v); }
  void u64(std::uint64_t v) { put(v); }
  void i64(std::int64_t v) { put(v); }
  /// u32 length then the bytes.
  void str(std::string_view s) {
    u32(static_cast<std::uint32_t>(s.size()));
    raw(s.data(), s.size());
  }
  /// Overwrites a previously written fixed-width value at `offset`.
  template <class T>
  void patch(std::size_t offset, T v) {
    std::memcpy(out_.data() + offset, &v, sizeof v);
  }

 private:
  std::vector<std::uint8_t> out_;
};

class ByteReader {
 public:
  /// `what` names the buffer in errors (e.g. "m.lam section WGHT").
  ByteReader(std::span<const std::uint8_t> bytes, std::string what) : bytes_(bytes), what_(std::move(what)) {}
  std::size_t remaining() const { return bytes_.size() - pos_; }
  std::size_t position() const { return pos_; }
  bool done() const { return pos_ == bytes_.size(); }
  void need(std::uint64_t n, std::string_view field) const {
    if (n > remaining())
      throw IOError(detail::concat("[load] ", what_, ": truncated or corrupt: ", field, " needs ", n,
                                   " bytes at offset ", pos_, " but only ", remaining(), " remain"));
  }
  std::span<const std::uint8_t> take(std::uint64_t n, std::string_view field) {
    need(n, field);
    auto s = bytes_.subspan(pos_, static_cast<std::size_t>(n));
    pos_ += static_cast<std::size_t>(n);
    return s;
  }
  template <class T>
  T get(std::string_view field) {
    T v;
    auto s = take(sizeof v, field);
    std::memcpy(&v, s.data(), sizeof v);
    return v;
  }
  std::uint8_t u8(std::string_view f) { return get<std::uint8_t>(f); }
  std::uint16_t u16(std::string_view f) { return get<std::uint16_t>(f); }
  std::uint32_t u32(std::string_view f) { return get<std::uint32_t>(f); }
  std::uint64_t u64(std::string_view f) { return get<std::uint64_t>(f); }
  std::int64_t i64(std::string_view f) { return get<std::int64_t>(f); }
  std::string str(std::string_view field) {
    const std::uint32_t n = u32(field);
    auto s = take(n, field);
    return std::string(reinterpret_cast<const char*>(s.data()), s.size());
  }
  [[noreturn]] void fail(const std::string& message) const {
    throw IOError(detail::concat("[load] ", what_, ": ", message, " (offset ", pos_, ")"));
  }
  const std::string& what() const { return what_; }

 private:
  std::span<const std::uint8_t> bytes_;
  std::size_t pos_ = 0;
  std::string what_;
};

}  // namespace lamina::serialization_detail
