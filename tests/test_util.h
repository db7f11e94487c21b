#pragma once
// Shared helpers for lamina's tests: shape lists, ISA and thread sweeps,
// reference comparisons.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <functional>
#include <vector>

#include "lamina/lamina.h"

namespace lamina::testing {

/// Lengths that exercise empty input, tails of every SIMD width, and the
/// multi-threaded path.
inline const std::vector<std::int64_t>& lengths() {
  static const std::vector<std::int64_t> v = {0, 1, 2, 3, 7, 8, 15, 16, 17, 31, 33, 1023, 4099, 100003};
  return v;
}

/// Runs `fn` once per ISA this CPU supports (SCOPED_TRACE names it), then
/// restores the original ISA.
inline void for_each_isa(const std::function<void()>& fn) {
  const Isa saved = current_isa();
  for (Isa isa : supported_isas()) {
    SCOPED_TRACE(std::string("isa=") + std::string(isa_name(isa)));
    set_isa(isa);
    fn();
  }
  set_isa(saved);
}

/// Runs `fn` with 1 and then 2 threads and expects bitwise-equal results.
inline void expect_thread_invariant(const std::function<Tensor()>& fn) {
  const int saved = get_num_threads();
  set_num_threads(1);
  Tensor a = fn().contiguous();
  set_num_threads(2);
  Tensor b = fn().contiguous();
  set_num_threads(saved);
  ASSERT_EQ(a.shape(), b.shape());
  ASSERT_EQ(a.dtype(), b.dtype());
  EXPECT_EQ(0, std::memcmp(a.raw_data(), b.raw_data(), a.numel() * a.itemsize()))
      << "results differ between 1 and 2 threads";
}

/// Expects |actual - expected| <= atol + rtol * |expected| elementwise
/// (NaN matches NaN, equal infinities match).
inline void expect_close(const Tensor& actual, const std::vector<double>& expected, double rtol, double atol) {
  auto got = actual.to_vector<double>();
  ASSERT_EQ(got.size(), expected.size());
  int failures = 0;
  for (std::size_t i = 0; i < got.size() && failures < 5; ++i) {
    const double g = got[i], e = expected[i];
    if (std::isnan(e) && std::isnan(g)) continue;
    if (std::isinf(e) && g == e) continue;
    if (!(std::fabs(g - e) <= atol + rtol * std::fabs(e))) {
      ADD_FAILURE() << "element " << i << ": got " << g << ", expected " << e;
      ++failures;
    }
  }
}

inline void expect_close(const Tensor& actual, const Tensor& expected, double rtol, double atol) {
  ASSERT_EQ(actual.shape(), expected.shape());
  expect_close(actual, expected.to_vector<double>(), rtol, atol);
}

/// Tolerances for comparing a kernel in `dtype` with a float64 reference.
inline double rtol_for(DType dt) { return dt == DType::float32 ? 2e-6 : 1e-13; }
inline double atol_for(DType dt) { return dt == DType::float32 ? 1e-6 : 1e-13; }

/// A non-contiguous tensor with the given shape and values: the transpose of
/// a contiguous buffer (2-D and up) or every other element (1-D).
inline Tensor strided_copy(const Tensor& t) {
  if (t.ndim() >= 2) return t.transpose(0, 1).contiguous().transpose(0, 1);
  Shape wide{t.numel(), 2};
  Tensor buf = zeros(wide, t.dtype());
  buf.select(1, 0).copy_(t);
  return buf.select(1, 0);
}

/// A non-contiguous tensor with the given shape and values and gaps between
/// its elements: every other element of the last axis of a larger buffer,
/// starting at its second element (a nonzero offset). Scalars are returned
/// as they are.
inline Tensor gapped_copy(const Tensor& t) {
  if (t.ndim() == 0) return t;
  Shape wide = t.shape();
  const std::int64_t n = wide[t.ndim() - 1];
  wide[t.ndim() - 1] = 2 * n + 1;
  Tensor buf = full(wide, 7.0, t.dtype());  // the gaps hold a value no result may depend on
  Tensor view = buf.slice(-1, 1, 2 * n + 1, 2);
  view.copy_(t);
  return view;
}

}  // namespace lamina::testing

namespace lamina::testing {

/// Reads element `idx` (NumPy broadcasting against a larger index: leading
/// extra indices ignored, extent-1 axes read index 0) by plain stride
/// arithmetic, independent of lamina's iteration code.
inline double reference_read(const Tensor& t, const std::vector<std::int64_t>& idx) {
  const int lead = static_cast<int>(idx.size()) - t.ndim();
  std::int64_t off = t.offset();
  for (int d = 0; d < t.ndim(); ++d) off += (t.shape()[d] == 1 ? 0 : idx[lead + d]) * t.strides()[d];
  const auto* base = t.impl()->storage->data();
  switch (t.dtype()) {
    case DType::float32: return reinterpret_cast<const float*>(base)[off];
    case DType::float64: return reinterpret_cast<const double*>(base)[off];
    case DType::int32: return reinterpret_cast<const std::int32_t*>(base)[off];
    case DType::int64: return static_cast<double>(reinterpret_cast<const std::int64_t*>(base)[off]);
    default: return reinterpret_cast<const std::uint8_t*>(base)[off];
  }
}

/// f(index) for every index of `shape`, row-major (plain index arithmetic).
inline std::vector<double> reference_each(const Shape& shape,
                                          const std::function<double(const std::vector<std::int64_t>&)>& f) {
  std::vector<double> out;
  std::vector<std::int64_t> idx(shape.ndim(), 0);
  for (std::int64_t flat = 0; flat < shape.numel(); ++flat) {
    std::int64_t rem = flat;
    for (int d = shape.ndim() - 1; d >= 0; --d) {
      idx[d] = rem % shape[d];
      rem /= shape[d];
    }
    out.push_back(f(idx));
  }
  return out;
}

/// Reference elementwise result over `shape` (row-major), f(a, b).
inline std::vector<double> reference_binary(const Tensor& a, const Tensor& b, const Shape& shape,
                                            const std::function<double(double, double)>& f) {
  return reference_each(shape, [&](const auto& idx) { return f(reference_read(a, idx), reference_read(b, idx)); });
}

}  // namespace lamina::testing
