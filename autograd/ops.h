#pragma once
/// Differentiable ops: the `lamina::` functions users call. Each computes its
/// result with the raw kernel of the same name in `lamina::core` and, when a
/// GradientTape on this thread tracks an input, records its backward. Outside
/// any tape they cost what the raw kernels cost.
///
/// Note: the view and copy methods of Tensor (t.reshape(), t.transpose(),
/// t.contiguous(), t.clone(), t.to(), ...) are raw and never recorded: a
/// gradient does not flow through them. Inside a tape use the free functions
/// below (reshape(), transpose(), cast(), ...).
///
/// Shapes, dtypes and errors are those of the core ops (core/ops/*.h).

#include <vector>

#include "lamina/autograd/tape.h"
#include "lamina/autograd/variable.h"
#include "lamina/core/ops/binary.h"
#include "lamina/core/ops/matmul.h"
#include "lamina/core/ops/reduce.h"
#include "lamina/core/ops/softmax.h"
#include "lamina/core/ops/unary.h"
#include "lamina/core/tensor.h"

namespace lamina {

using core::Axes;

// ---- elementwise unary ----
Tensor neg(const Tensor& x);
Tensor abs(const Tensor& x);
Tensor exp(const Tensor& x);
/// Gradient 1/x: +inf at x = 0 (as TensorFlow), never NaN. Losses that take
/// logs of probabilities clip them to [1e-7, 1 - 1e-7] first, as Keras does.
Tensor log(const Tensor& x);
Tensor log1p(const Tensor& x);
/// Gradient 1/(2 sqrt(x)): +inf at x = 0 (as TensorFlow), never NaN.
Tensor sqrt(const Tensor& x);
Tensor rsqrt(const Tensor& x);
Tensor square(const Tensor& x);
Tensor tanh(const Tensor& x);
Tensor sigmoid(const Tensor& x);
Tensor relu(const Tensor& x);
Tensor leaky_relu(const Tensor& x, double alpha = 0.3);
Tensor elu(const Tensor& x, double alpha = 1.0);
Tensor gelu(const Tensor& x, bool approximate = false);
Tensor softplus(const Tensor& x);
/// Piecewise constant: its gradient is zero.
Tensor sign(const Tensor& x);
/// Gradient flows where lo <= x <= hi.
Tensor clip(const Tensor& x, double lo, double hi);

// ---- elementwise binary (NumPy broadcasting; gradients reduced to each input's shape) ----
Tensor add(const Tensor& a, const Tensor& b);
Tensor sub(const Tensor& a, const Tensor& b);
Tensor mul(const Tensor& a, const Tensor& b);
Tensor div(const Tensor& a, const Tensor& b);
/// a ** b; the gradient for b uses log(a) where a > 0 and 0 elsewhere.
Tensor pow(const Tensor& a, const Tensor& b);
/// Ties send the gradient to a (maximum: a >= b; minimum: a <= b), as TensorFlow.
Tensor maximum(const Tensor& a, const Tensor& b);
Tensor minimum(const Tensor& a, const Tensor& b);
Tensor add(const Tensor& a, double b);
Tensor sub(const Tensor& a, double b);
Tensor mul(const Tensor& a, double b);
Tensor div(const Tensor& a, double b);
Tensor pow(const Tensor& a, double b);
Tensor maximum(const Tensor& a, double b);
Tensor minimum(const Tensor& a, double b);
/// cond ? a : b (cond is bool and not differentiated).
Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b);

// Comparisons and arg-reductions are not differentiable: nothing is recorded.
using core::argmax;
using core::argmin;
using core::equal;
using core::greater;
using core::greater_equal;
using core::less;
using core::less_equal;
using core::not_equal;

// ---- reductions ----
Tensor sum(const Tensor& x, const Axes& axes = {}, bool keepdims = false);
Tensor mean(const Tensor& x, const Axes& axes = {}, bool keepdims = false);
/// The gradient is shared equally between tied maxima (as TensorFlow).
Tensor max(const Tensor& x, const Axes& axes = {}, bool keepdims = false);
Tensor min(const Tensor& x, const Axes& axes = {}, bool keepdims = false);
Tensor var(const Tensor& x, const Axes& axes = {}, bool keepdims = false, int ddof = 0);
/// Sums x down to `shape` (inverse of broadcasting).
Tensor sum_to(const Tensor& x, const Shape& shape);

Tensor softmax(const Tensor& x, int axis = -1);
Tensor log_softmax(const Tensor& x, int axis = -1);

// ---- linear algebra ----
Tensor matmul(const Tensor& a, const Tensor& b, bool transpose_a = false, bool transpose_b = false);

// ---- shape and type ----
Tensor reshape(const Tensor& x, const Shape& shape);
Tensor transpose(const Tensor& x, int axis0, int axis1);
Tensor permute(const Tensor& x, const std::vector<int>& dims);
Tensor slice(const Tensor& x, int axis, std::int64_t start, std::int64_t stop, std::int64_t step = 1);
Tensor select(const Tensor& x, int axis, std::int64_t index);
Tensor broadcast_to(const Tensor& x, const Shape& shape);
Tensor squeeze(const Tensor& x, int axis);
Tensor unsqueeze(const Tensor& x, int axis);
Tensor flatten(const Tensor& x, int start_axis = 0, int end_axis = -1);
/// Converts dtype; between float dtypes the gradient is converted back.
Tensor cast(const Tensor& x, DType dtype);

// ---- operators ----
inline Tensor operator-(const Tensor& x) { return neg(x); }
inline Tensor operator+(const Tensor& a, const Tensor& b) { return add(a, b); }
inline Tensor operator-(const Tensor& a, const Tensor& b) { return sub(a, b); }
inline Tensor operator*(const Tensor& a, const Tensor& b) { return mul(a, b); }
inline Tensor operator/(const Tensor& a, const Tensor& b) { return div(a, b); }
inline Tensor operator+(const Tensor& a, double b) { return add(a, b); }
inline Tensor operator-(const Tensor& a, double b) { return sub(a, b); }
inline Tensor operator*(const Tensor& a, double b) { return mul(a, b); }
inline Tensor operator/(const Tensor& a, double b) { return div(a, b); }
inline Tensor operator+(double a, const Tensor& b) { return add(b, a); }
inline Tensor operator-(double a, const Tensor& b) { return add(neg(b), a); }
inline Tensor operator*(double a, const Tensor& b) { return mul(b, a); }
Tensor operator/(double a, const Tensor& b);

}  // namespace lamina
