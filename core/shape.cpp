#include "lamina/core/shape.h"

#include <ostream>
#include <sstream>

namespace lamina {

std::int64_t Shape::at(int i) const {
  int j = i < 0 ? i + ndim_ : i;
  LAMINA_CHECK(j >= 0 && j < ndim_, IndexError, "[shape] index ", i, " out of range for ", str());
  return dims_[j];
}

void Shape::push_back(std::int64_t d) {
  LAMINA_CHECK(ndim_ < kMaxDims, ValueError, "[shape] at most ", kMaxDims, " dimensions are supported");
  dims_[ndim_++] = d;
}

void Shape::insert(int pos, std::int64_t d) {
  LAMINA_CHECK(ndim_ < kMaxDims, ValueError, "[shape] at most ", kMaxDims, " dimensions are supported");
  LAMINA_CHECK(pos >= 0 && pos <= ndim_, IndexError, "[shape] cannot insert at position ", pos, " of ", ndim_,
               " dimensions");
  for (int i = ndim_; i > pos; --i) dims_[i] = dims_[i - 1];
  dims_[pos] = d;
  ++ndim_;
}

void Shape::erase(int pos) {
  LAMINA_CHECK(pos >= 0 && pos < ndim_, IndexError, "[shape] cannot erase position ", pos, " of ", ndim_,
               " dimensions");
  for (int i = pos; i + 1 < ndim_; ++i) dims_[i] = dims_[i + 1];
  --ndim_;
}

void Shape::resize(int n, std::int64_t fill) {
  LAMINA_CHECK(n >= 0 && n <= kMaxDims, ValueError, "[shape] at most ", kMaxDims, " dimensions are supported");
  for (int i = ndim_; i < n; ++i) dims_[i] = fill;
  ndim_ = n;
}

std::string Shape::str() const {
  std::ostringstream os;
  os << *this;
  return os.str();
}

std::ostream& operator<<(std::ostream& os, const Shape& s) {
  os << '(';
  for (int i = 0; i < s.ndim(); ++i) os << (i ? ", " : "") << s[i];
  if (s.ndim() == 1) os << ',';
  return os << ')';
}

int normalize_axis(int axis, int ndim, const char* op) {
  int a = axis < 0 ? axis + ndim : axis;
  LAMINA_CHECK(a >= 0 && a < ndim, IndexError, "[", op, "] axis ", axis,
               " is out of range for a tensor with ", ndim, " dimensions");
  return a;
}

Shape contiguous_strides(const Shape& shape) {
  Shape strides;
  strides.resize(shape.ndim());
  std::int64_t s = 1;
  for (int i = shape.ndim() - 1; i >= 0; --i) {
    strides[i] = s;
    LAMINA_CHECK(!__builtin_mul_overflow(s, std::max<std::int64_t>(shape[i], 1), &s), ValueError,
                 "[shape] strides of ", shape, " overflow a 64-bit integer");
  }
  return strides;
}

}  // namespace lamina
