#pragma once
// Internal: iteration over N operands that share a (broadcast) shape, each
// with its own element strides. Dimensions are coalesced first, so a
// contiguous tensor is one run and a row-broadcast bias is one run per row.
// The callback receives runs along the innermost dimension.

#include <array>
#include <cstdint>

#include "lamina/core/shape.h"

namespace lamina::detail {

template <int N>
struct StridedPlan {
  int ndim = 0;
  std::array<std::int64_t, kMaxDims> shape{};
  std::array<std::array<std::int64_t, kMaxDims>, N> strides{};

  std::int64_t numel() const {
    std::int64_t n = 1;
    for (int d = 0; d < ndim; ++d) n *= shape[d];
    return n;
  }
  std::int64_t inner_size() const { return ndim ? shape[ndim - 1] : 1; }
  std::int64_t inner_stride(int op) const { return ndim ? strides[op][ndim - 1] : 0; }
};

/// Builds a plan: drops extent-1 axes and merges axes that are contiguous
/// with respect to each other for every operand.
template <int N>
StridedPlan<N> make_plan(const Shape& shape, const std::array<const Shape*, N>& strides) {
  StridedPlan<N> p;
  for (int d = 0; d < shape.ndim(); ++d) {
    if (shape[d] == 1) continue;
    if (p.ndim > 0) {
      bool mergeable = true;
      for (int k = 0; k < N; ++k)
        mergeable = mergeable && p.strides[k][p.ndim - 1] == (*strides[k])[d] * shape[d];
      if (mergeable) {
        p.shape[p.ndim - 1] *= shape[d];
        for (int k = 0; k < N; ++k) p.strides[k][p.ndim - 1] = (*strides[k])[d];
        continue;
      }
    }
    p.shape[p.ndim] = shape[d];
    for (int k = 0; k < N; ++k) p.strides[k][p.ndim] = (*strides[k])[d];
    ++p.ndim;
  }
  return p;
}

/// Calls f(offsets, count) for each innermost run covering the flat (row-major)
/// element range [begin, end) of the plan; offsets[k] is operand k's element
/// offset of the run's first element, and the run advances by
/// plan.inner_stride(k) per element.
template <int N, class F>
void for_each_run(const StridedPlan<N>& p, std::int64_t begin, std::int64_t end, F&& f) {
  if (begin >= end) return;
  std::array<std::int64_t, N> off{};
  if (p.ndim == 0) {
    f(off, std::int64_t{1});
    return;
  }
  const int last = p.ndim - 1;
  std::array<std::int64_t, kMaxDims> idx{};
  std::int64_t rem = begin;
  for (int d = last; d >= 0; --d) {
    idx[d] = rem % p.shape[d];
    rem /= p.shape[d];
    for (int k = 0; k < N; ++k) off[k] += idx[d] * p.strides[k][d];
  }
  std::int64_t pos = begin;
  while (pos < end) {
    std::int64_t count = p.shape[last] - idx[last];
    if (count > end - pos) count = end - pos;
    f(off, count);
    pos += count;
    if (pos >= end) break;
    // Advance to the start of the next run.
    for (int k = 0; k < N; ++k) off[k] += (p.shape[last] - idx[last]) * p.strides[k][last];
    for (int k = 0; k < N; ++k) off[k] -= p.shape[last] * p.strides[k][last];
    idx[last] = 0;
    for (int d = last - 1; d >= 0; --d) {
      for (int k = 0; k < N; ++k) off[k] += p.strides[k][d];
      if (++idx[d] < p.shape[d]) break;
      for (int k = 0; k < N; ++k) off[k] -= p.shape[d] * p.strides[k][d];
      idx[d] = 0;
    }
  }
}

}  // namespace lamina::detail
