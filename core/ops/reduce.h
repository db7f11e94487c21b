#pragma once
/// Reductions along any set of axes (or all), with keepdims. Results are
/// bitwise identical for any thread count: partial sums use a partition fixed
/// by the data size, combined in a fixed order.

#include <initializer_list>
#include <vector>

#include "lamina/core/tensor.h"

namespace lamina::core {

/// Axes to reduce; empty means all axes. Negative axes count from the end.
using Axes = std::vector<int>;

/// Sum; of bool, uint8 and int32 tensors it is int64 (as NumPy and PyTorch),
/// of int64 it wraps on overflow.
Tensor sum(const Tensor& x, const Axes& axes = {}, bool keepdims = false);
Tensor mean(const Tensor& x, const Axes& axes = {}, bool keepdims = false);
/// Largest / smallest element; NaN when any reduced element is NaN.
Tensor max(const Tensor& x, const Axes& axes = {}, bool keepdims = false);
Tensor min(const Tensor& x, const Axes& axes = {}, bool keepdims = false);
/// Variance with `ddof` delta degrees of freedom (0 = biased, as Keras).
Tensor var(const Tensor& x, const Axes& axes = {}, bool keepdims = false, int ddof = 0);
/// Index (int64) of the largest element along `axis`; the first on ties, the
/// first NaN when there is one (as NumPy).
Tensor argmax(const Tensor& x, int axis, bool keepdims = false);
Tensor argmin(const Tensor& x, int axis, bool keepdims = false);

/// Sums `x` down to `shape` (the inverse of broadcasting `shape` to x.shape()),
/// used to reduce gradients of broadcast operands.
Tensor sum_to(const Tensor& x, const Shape& shape);

}  // namespace lamina::core
