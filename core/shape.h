#pragma once
/// Shape: the extents of a tensor, stored inline (no heap) up to kMaxDims.

#include <algorithm>
#include <array>
#include <cstdint>
#include <initializer_list>
#include <iosfwd>
#include <span>
#include <string>
#include <vector>

#include "lamina/core/error.h"

namespace lamina {

inline constexpr int kMaxDims = 8;

/// A small fixed-capacity vector of int64 extents (also used for strides).
/// Example: Shape s{128, 784}; s.ndim() == 2; s.numel() == 100352.
class Shape {
 public:
  Shape() = default;
  Shape(std::initializer_list<std::int64_t> dims) { assign(dims.begin(), dims.end()); }
  explicit Shape(std::span<const std::int64_t> dims) { assign(dims.begin(), dims.end()); }
  Shape(const std::vector<std::int64_t>& dims) { assign(dims.begin(), dims.end()); }

  int ndim() const { return ndim_; }
  int size() const { return ndim_; }
  bool empty() const { return ndim_ == 0; }
  std::int64_t operator[](int i) const { return dims_[i]; }
  std::int64_t& operator[](int i) { return dims_[i]; }
  /// Element with Python-style negative indexing; throws IndexError.
  std::int64_t at(int i) const;
  std::int64_t back() const { return dims_[ndim_ - 1]; }
  const std::int64_t* begin() const { return dims_.data(); }
  const std::int64_t* end() const { return dims_.data() + ndim_; }
  std::int64_t* begin() { return dims_.data(); }
  std::int64_t* end() { return dims_.data() + ndim_; }
  const std::int64_t* data() const { return dims_.data(); }

  void push_back(std::int64_t d);
  void insert(int pos, std::int64_t d);
  void erase(int pos);
  void resize(int n, std::int64_t fill = 0);

  /// Product of the extents (1 for a scalar shape).
  std::int64_t numel() const {
    std::int64_t n = 1;
    for (int i = 0; i < ndim_; ++i) n *= dims_[i];
    return n;
  }
  std::vector<std::int64_t> to_vector() const { return {begin(), end()}; }
  /// "(3, 4)", "(5,)", "()" like Python tuples.
  std::string str() const;

  friend bool operator==(const Shape& a, const Shape& b) {
    // A plain loop over at most 8 extents: std::equal becomes a memcmp call,
    // and shapes are compared several times in every op.
    if (a.ndim_ != b.ndim_) return false;
    for (int i = 0; i < a.ndim_; ++i)
      if (a.dims_[i] != b.dims_[i]) return false;
    return true;
  }

 private:
  template <class It>
  void assign(It first, It last) {
    auto n = std::distance(first, last);
    LAMINA_CHECK(n <= kMaxDims, ValueError, "[shape] at most ", kMaxDims, " dimensions are supported, got ", n);
    ndim_ = static_cast<int>(n);
    std::copy(first, last, dims_.begin());
  }
  std::array<std::int64_t, kMaxDims> dims_{};
  int ndim_ = 0;
};

std::ostream& operator<<(std::ostream& os, const Shape& s);

/// Normalizes a possibly negative axis for a tensor of `ndim` dimensions;
/// throws IndexError naming `op`.
int normalize_axis(int axis, int ndim, const char* op);

/// Row-major (C-order) strides, in elements, for `shape`.
Shape contiguous_strides(const Shape& shape);

}  // namespace lamina
