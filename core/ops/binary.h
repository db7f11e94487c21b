#pragma once
/// Elementwise binary kernels with NumPy broadcasting, on raw tensors.
/// Both operands must have the same dtype (DTypeError otherwise); shapes are
/// broadcast (ShapeError `[add] cannot broadcast (3, 4) with (5,)` otherwise).
/// Fast paths: equal shapes, scalar operand, row-vector (bias) operand.
/// maximum/minimum give NaN when either operand is NaN; integer add, sub and
/// mul wrap modulo 2^bits (as NumPy). In-place and `_out` forms may alias
/// their inputs (an overlapping source is copied first) but not write into
/// a broadcast view (ValueError).

#include "lamina/core/tensor.h"

namespace lamina::core {

Tensor add(const Tensor& a, const Tensor& b);
Tensor sub(const Tensor& a, const Tensor& b);
Tensor mul(const Tensor& a, const Tensor& b);
/// a / b (float dtypes; integer division is not supported: DTypeError).
Tensor div(const Tensor& a, const Tensor& b);
/// a ** b (float dtypes).
Tensor pow(const Tensor& a, const Tensor& b);
Tensor maximum(const Tensor& a, const Tensor& b);
Tensor minimum(const Tensor& a, const Tensor& b);

/// Scalar right-hand operands (the scalar takes the tensor's dtype).
Tensor add(const Tensor& a, double b);
Tensor sub(const Tensor& a, double b);
Tensor mul(const Tensor& a, double b);
Tensor div(const Tensor& a, double b);
Tensor pow(const Tensor& a, double b);
Tensor maximum(const Tensor& a, double b);
Tensor minimum(const Tensor& a, double b);

/// Comparisons produce bool tensors.
Tensor equal(const Tensor& a, const Tensor& b);
Tensor not_equal(const Tensor& a, const Tensor& b);
Tensor less(const Tensor& a, const Tensor& b);
Tensor less_equal(const Tensor& a, const Tensor& b);
Tensor greater(const Tensor& a, const Tensor& b);
Tensor greater_equal(const Tensor& a, const Tensor& b);
Tensor greater(const Tensor& a, double b);
Tensor less(const Tensor& a, double b);

/// cond ? a : b elementwise, all three broadcast together; cond must be bool.
Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b);

/// out = a op b, where `out` already has the broadcast shape and dtype
/// (it may alias a or b when shapes match).
void add_out(const Tensor& a, const Tensor& b, Tensor& out);
void sub_out(const Tensor& a, const Tensor& b, Tensor& out);
void mul_out(const Tensor& a, const Tensor& b, Tensor& out);
/// In place: a op= b, with b broadcast to a's shape.
void add_(Tensor& a, const Tensor& b);
void sub_(Tensor& a, const Tensor& b);
void mul_(Tensor& a, const Tensor& b);
void mul_(Tensor& a, double b);
/// a += alpha * b (b broadcast to a), the optimizer/gradient-accumulation workhorse.
void axpy_(Tensor& a, double alpha, const Tensor& b);

/// The shape two shapes broadcast to; throws ShapeError naming `op`.
Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op = "broadcast");

}  // namespace lamina::core
