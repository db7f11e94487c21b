#pragma once
/// Indexing ops: gather along an axis (differentiable) and one-hot encoding.
///
/// Index tensors hold integers: int32, int64 or uint8 (uint8 so datasets can
/// keep labels as bytes).
///
/// Example:
///   Tensor x = Tensor::from({1.f, 2.f, 3.f, 4.f, 5.f, 6.f}, {2, 3});
///   Tensor i = Tensor::from<std::int64_t>({2, 0}, {2, 1});
///   Tensor y = take_along_axis(x, i, 1);            // [[3], [4]]
///   Tensor h = one_hot(Tensor::from<std::int32_t>({1, 0}), 3);   // [[0, 1, 0], [1, 0, 0]]

#include <cstdint>

#include "lamina/core/tensor.h"

namespace lamina {

/// NumPy `take_along_axis`: out[..., j, ...] = x[..., indices[..., j, ...], ...]
/// along `axis`. `indices` has x's rank; the other axes broadcast against x's
/// (the result has the broadcast extents there and indices' extent on `axis`).
/// Negative indices count from the end, as NumPy.
/// Differentiable w.r.t. x: the gradient scatters-adds into zeros of x's shape
/// (repeated indices accumulate), and that scatter is itself differentiable.
/// Errors: DTypeError for non-integer indices; ShapeError for a rank mismatch or
/// extents that do not broadcast; IndexError
/// `[take_along_axis] index 7 is out of bounds for axis 1 with extent 5`.
Tensor take_along_axis(const Tensor& x, const Tensor& indices, int axis);

/// One-hot encoding: shape indices.shape() + (depth,), 1 at each index and 0
/// elsewhere, in `dtype`. Indices outside [0, depth) give an all-zero row (as
/// tf.one_hot / keras.ops.one_hot). Not differentiable.
/// Errors: DTypeError for non-integer indices; ValueError for depth < 0.
Tensor one_hot(const Tensor& indices, std::int64_t depth, DType dtype = DType::float32);

}  // namespace lamina
