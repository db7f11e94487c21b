// Differentiable elementwise unary ops: forward (raw kernel) and backward in
// one place per op. Backward formulas prefer the saved output.
#include <cmath>

#include "lamina/autograd/detail/record.h"
#include "lamina/autograd/ops.h"

namespace lamina {

namespace {

using detail::Grads;
using detail::Needs;

// 1.0 where cond holds, else 0.0, in `dtype` (not differentiable).
Tensor mask(const Tensor& cond, DType dtype) { return cond.to(dtype); }

}  // namespace

Tensor neg(const Tensor& x) {
  Tensor y = core::neg(x);
  detail::record_unary(x, y, [](const Tensor& g, Grads& gi, const Needs&) { gi[0] = neg(g); });
  return y;
}

Tensor abs(const Tensor& x) {
  Tensor y = core::abs(x);
  detail::record_unary(x, y, [x](const Tensor& g, Grads& gi, const Needs&) { gi[0] = mul(g, core::sign(x)); });
  return y;
}

Tensor exp(const Tensor& x) {
  Tensor y = core::exp(x);
  detail::record_unary(x, y, [y](const Tensor& g, Grads& gi, const Needs&) { gi[0] = mul(g, y); });
  return y;
}

Tensor log(const Tensor& x) {
  Tensor y = core::log(x);
  detail::record_unary(x, y, [x](const Tensor& g, Grads& gi, const Needs&) { gi[0] = div(g, x); });
  return y;
}

Tensor log1p(const Tensor& x) {
  Tensor y = core::log1p(x);
  detail::record_unary(x, y, [x](const Tensor& g, Grads& gi, const Needs&) { gi[0] = div(g, add(x, 1.0)); });
  return y;
}

Tensor sqrt(const Tensor& x) {
  Tensor y = core::sqrt(x);
  detail::record_unary(x, y, [y](const Tensor& g, Grads& gi, const Needs&) { gi[0] = div(mul(g, 0.5), y); });
  return y;
}

Tensor rsqrt(const Tensor& x) {
  Tensor y = core::rsqrt(x);
  // d/dx x^(-1/2) = -0.5 * y^3
  detail::record_unary(x, y, [y](const Tensor& g, Grads& gi, const Needs&) {
    gi[0] = mul(g, mul(mul(y, square(y)), -0.5));
  });
  return y;
}

Tensor square(const Tensor& x) {
  Tensor y = core::square(x);
  detail::record_unary(x, y, [x](const Tensor& g, Grads& gi, const Needs&) { gi[0] = mul(g, mul(x, 2.0)); });
  return y;
}

Tensor tanh(const Tensor& x) {
  Tensor y = core::tanh(x);
  detail::record_unary(x, y, [y](const Tensor& g, Grads& gi, const Needs&) {
    gi[0] = is_recording() ? mul(g, (1.0 - square(y))) : core::tanh_backward(g, y);
  });
  return y;
}

Tensor sigmoid(const Tensor& x) {
  Tensor y = core::sigmoid(x);
  detail::record_unary(x, y, [y](const Tensor& g, Grads& gi, const Needs&) {
    gi[0] = is_recording() ? mul(g, mul(y, (1.0 - y))) : core::sigmoid_backward(g, y);
  });
  return y;
}

Tensor relu(const Tensor& x) {
  Tensor y = core::relu(x);
  detail::record_unary(x, y, [y](const Tensor& g, Grads& gi, const Needs&) {
    gi[0] = is_recording() ? mul(g, mask(core::greater(y, 0.0), y.dtype())) : core::relu_backward(g, y);
  });
  return y;
}

Tensor leaky_relu(const Tensor& x, double alpha) {
  Tensor y = core::leaky_relu(x, alpha);
  detail::record_unary(x, y, [x, alpha](const Tensor& g, Grads& gi, const Needs&) {
    Tensor slope = core::where(core::greater(x, 0.0), ones({}, x.dtype()), full({}, alpha, x.dtype()));
    gi[0] = mul(g, slope);
  });
  return y;
}

Tensor elu(const Tensor& x, double alpha) {
  Tensor y = core::elu(x, alpha);
  // x > 0: 1; else alpha * exp(x) = y + alpha.
  detail::record_unary(x, y, [x, y, alpha](const Tensor& g, Grads& gi, const Needs&) {
    gi[0] = mul(g, where(core::greater(x, 0.0), ones({}, x.dtype()), add(y, alpha)));
  });
  return y;
}

namespace {

/// The standard normal density phi(x) = exp(-x^2 / 2) / sqrt(2 pi), from
/// differentiable ops.
Tensor standard_normal_pdf(const Tensor& x) {
  const double inv_sqrt_2pi = 0.3989422804014327;
  return mul(exp(mul(square(x), -0.5)), inv_sqrt_2pi);
}

/// The standard normal CDF Phi(x), differentiable (Phi' = phi) so that the
/// exact GELU's derivative Phi(x) + x phi(x) has correct higher derivatives.
/// Forward: gelu(x) / x from the core kernel (there is no erf op), 0.5 at 0.
Tensor standard_normal_cdf(const Tensor& x) {
  const Tensor zero = zeros({}, x.dtype());
  Tensor y = core::where(core::equal(x, zero), full({}, 0.5, x.dtype()), core::div(core::gelu(x, false), x));
  detail::record_unary(x, y, [x](const Tensor& g, Grads& gi, const Needs&) { gi[0] = mul(g, standard_normal_pdf(x)); });
  return y;
}

}  // namespace

Tensor gelu(const Tensor& x, bool approximate) {
  Tensor y = core::gelu(x, approximate);
  detail::record_unary(x, y, [x, approximate](const Tensor& g, Grads& gi, const Needs&) {
    Tensor d;
    if (approximate) {
      // u = k (x + c x^3); d = 0.5 (1 + tanh u) + 0.5 x (1 - tanh^2 u) k (1 + 3 c x^2)
      const double k = 0.7978845608028654, c = 0.044715;
      Tensor x2 = square(x);
      Tensor t = tanh(mul(mul(x, add(mul(x2, c), 1.0)), k));
      Tensor left = mul(add(t, 1.0), 0.5);
      Tensor right = mul(mul(x, (1.0 - square(t))), mul(add(mul(x2, 3 * c), 1.0), 0.5 * k));
      d = add(left, right);
    } else {
      // d = Phi(x) + x phi(x), both differentiable: d' = 2 phi(x) - x^2 phi(x).
      d = add(standard_normal_cdf(x), mul(x, standard_normal_pdf(x)));
    }
    gi[0] = mul(g, d);
  });
  return y;
}

Tensor softplus(const Tensor& x) {
  Tensor y = core::softplus(x);
  detail::record_unary(x, y, [x](const Tensor& g, Grads& gi, const Needs&) { gi[0] = mul(g, sigmoid(x)); });
  return y;
}

Tensor sign(const Tensor& x) {
  Tensor y = core::sign(x);
  detail::record_unary(x, y, [x](const Tensor& g, Grads& gi, const Needs&) { gi[0] = zeros_like(x); });
  return y;
}

Tensor clip(const Tensor& x, double lo, double hi) {
  Tensor y = core::clip(x, lo, hi);
  detail::record_unary(x, y, [x, lo, hi](const Tensor& g, Grads& gi, const Needs&) {
    Tensor inside = core::mul(mask(core::greater_equal(x, full({}, lo, x.dtype())), x.dtype()),
                              mask(core::less_equal(x, full({}, hi, x.dtype())), x.dtype()));
    gi[0] = mul(g, inside);
  });
  return y;
}

}  // namespace lamina
