#pragma once
/// Elementwise unary kernels on raw tensors (no autograd recording; the
/// differentiable versions live in autograd/). Float ops accept float32 and
/// float64; neg, abs, square, sign, relu and clip also accept int32/int64.
/// Inputs may be any strided view; outputs are new contiguous tensors unless
/// an `_out` form is used. NaN stays NaN (relu and clip included); integer
/// neg, abs and square wrap modulo 2^bits (as NumPy).

#include "lamina/core/tensor.h"

namespace lamina::core {

Tensor neg(const Tensor& x);
Tensor abs(const Tensor& x);
Tensor exp(const Tensor& x);
Tensor log(const Tensor& x);
/// log(1 + x), accurate for small x.
Tensor log1p(const Tensor& x);
Tensor sqrt(const Tensor& x);
/// 1 / sqrt(x).
Tensor rsqrt(const Tensor& x);
Tensor square(const Tensor& x);
Tensor tanh(const Tensor& x);
/// 1 / (1 + exp(-x)), stable for large |x|.
Tensor sigmoid(const Tensor& x);
Tensor relu(const Tensor& x);
/// x if x > 0 else alpha * x (Keras default alpha 0.3; torch 0.01).
Tensor leaky_relu(const Tensor& x, double alpha = 0.3);
/// x if x > 0 else alpha * (exp(x) - 1).
Tensor elu(const Tensor& x, double alpha = 1.0);
/// Gaussian error linear unit: exact erf form, or the tanh approximation
/// 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) when `approximate`.
Tensor gelu(const Tensor& x, bool approximate = false);
/// log(1 + exp(x)), stable for large |x|.
Tensor softplus(const Tensor& x);
/// -1, 0 or 1.
Tensor sign(const Tensor& x);
/// min(max(x, lo), hi); throws ValueError when lo > hi.
Tensor clip(const Tensor& x, double lo, double hi);

/// Writes relu(x) into `out` (same shape as x, contiguous; may alias x).
void relu_out(const Tensor& x, Tensor& out);
/// In-place forms of the hot ops (x must be contiguous and floating).
void relu_(Tensor& x);
void exp_(Tensor& x);
void neg_(Tensor& x);

}  // namespace lamina::core

namespace lamina::core {
/// Fused backward kernels of activations, from the forward output y:
/// relu: g * (y > 0); sigmoid: g * y * (1 - y); tanh: g * (1 - y^2).
Tensor relu_backward(const Tensor& grad, const Tensor& output);
Tensor sigmoid_backward(const Tensor& grad, const Tensor& output);
Tensor tanh_backward(const Tensor& grad, const Tensor& output);
}  // namespace lamina::core
