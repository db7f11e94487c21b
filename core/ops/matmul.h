#pragma once
/// Matrix products with NumPy `matmul` semantics on float32/float64 tensors.
///
/// - 2-D @ 2-D: (M, K) @ (K, N) -> (M, N).
/// - 1-D operands: a (K,) is treated as (1, K) and b (K,) as (K, 1); the added
///   dimension is removed from the result (matrix·vector, vector·matrix, dot).
/// - N-D: the last two dimensions are matrices, the leading (batch) dimensions
///   broadcast with NumPy rules: (2, 1, 3, 4) @ (5, 4, 6) -> (2, 5, 3, 6).
/// - transpose_a / transpose_b swap the last two dimensions of an operand of
///   two or more dimensions (a view, no copy; ignored for 1-D operands).
///
/// Strided views (transposed, sliced, expanded) are read in place; GEMM's
/// packing gathers operands whose matrices have no unit stride. Results are
/// bitwise identical for any thread count.
///
/// Errors: ShapeError `[matmul] inner dimensions differ: (3, 4) @ (5, 2)`,
/// `[matmul] cannot broadcast batch dimensions: ...`, 0-d operands; DTypeError
/// for differing or non-floating dtypes.
///
/// Example:
///   Tensor y = core::matmul(x, w);                  // (128, 784) @ (784, 256)
///   core::matmul_out(x, dy, dw, 1, 1, true, false); // dw += xᵀ·dy

#include "lamina/core/tensor.h"

namespace lamina::core {

Tensor matmul(const Tensor& a, const Tensor& b, bool transpose_a = false, bool transpose_b = false);

/// out = alpha * matmul(a, b) + beta * out. `out` must already have the result's
/// shape and dtype (ShapeError / DTypeError otherwise); it may be a strided view
/// (written in place when its matrices have a unit stride, else through a
/// temporary). beta == 0 ignores the previous contents (NaN-safe). `out` may
/// share storage with a or b (a temporary is used then).
void matmul_out(const Tensor& a, const Tensor& b, Tensor& out, double alpha = 1, double beta = 0,
                bool transpose_a = false, bool transpose_b = false);

/// The shape matmul(a, b, transpose_a, transpose_b) returns; throws like matmul.
Shape matmul_shape(const Shape& a, const Shape& b, bool transpose_a = false, bool transpose_b = false);

}  // namespace lamina::core
