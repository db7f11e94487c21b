// Differentiable reductions and softmax. The backward of a reduction
// broadcasts the output gradient back over the reduced axes.
#include <algorithm>

#include "lamina/autograd/detail/record.h"
#include "lamina/autograd/ops.h"

namespace lamina {

namespace {

using detail::Grads;
using detail::Needs;

// x's shape with the reduced axes kept as extent 1.
Shape keepdims_shape(const Shape& in, const Axes& axes) {
  Shape out = in;
  if (axes.empty()) {
    for (auto& d : out) d = 1;
    return out;
  }
  for (int a : axes) out[normalize_axis(a, in.ndim(), "reduce")] = 1;
  return out;
}

std::int64_t reduced_count(const Shape& in, const Axes& axes) {
  return in.numel() / std::max<std::int64_t>(1, keepdims_shape(in, axes).numel());
}

// g (reduced shape) broadcast back to the input shape.
Tensor expand_grad(const Tensor& g, const Shape& in, const Axes& axes) {
  return broadcast_to(reshape(g, keepdims_shape(in, axes)), in);
}

}  // namespace

Tensor sum(const Tensor& x, const Axes& axes, bool keepdims) {
  Tensor y = core::sum(x, axes, keepdims);
  detail::record_unary(x, y, [shape = x.shape(), axes](const Tensor& g, Grads& gi, const Needs&) {
    gi[0] = expand_grad(g, shape, axes);
  });
  return y;
}

Tensor mean(const Tensor& x, const Axes& axes, bool keepdims) {
  Tensor y = core::mean(x, axes, keepdims);
  detail::record_unary(x, y, [shape = x.shape(), axes](const Tensor& g, Grads& gi, const Needs&) {
    const double n = static_cast<double>(reduced_count(shape, axes));
    gi[0] = expand_grad(mul(g, 1.0 / n), shape, axes);
  });
  return y;
}

namespace {

Tensor extremum(const Tensor& x, const Axes& axes, bool keepdims, bool is_max) {
  Tensor y = is_max ? core::max(x, axes, keepdims) : core::min(x, axes, keepdims);
  detail::record_unary(x, y, [x, y, axes](const Tensor& g, Grads& gi, const Needs&) {
    const Shape kd = keepdims_shape(x.shape(), axes);
    // Split the gradient equally among tied extrema.
    Tensor hit = core::equal(x, y.reshape(kd)).to(x.dtype());
    Tensor count = core::sum(hit, axes, /*keepdims=*/true);
    gi[0] = mul(broadcast_to(reshape(g, kd), x.shape()), core::div(hit, count));
  });
  return y;
}

}  // namespace

Tensor max(const Tensor& x, const Axes& axes, bool keepdims) { return extremum(x, axes, keepdims, true); }
Tensor min(const Tensor& x, const Axes& axes, bool keepdims) { return extremum(x, axes, keepdims, false); }

Tensor var(const Tensor& x, const Axes& axes, bool keepdims, int ddof) {
  if (!detail::should_record({&x})) return core::var(x, axes, keepdims, ddof);
  // Composite when recording: mean of squared deviations, rescaled for ddof.
  const double n = static_cast<double>(reduced_count(x.shape(), axes));
  Tensor d = sub(x, mean(x, axes, /*keepdims=*/true));
  return mul(sum(square(d), axes, keepdims), 1.0 / (n - ddof));
}

Tensor sum_to(const Tensor& x, const Shape& shape) {
  if (x.shape() == shape) return x;
  Tensor y = core::sum_to(x, shape);
  detail::record_unary(x, y, [shape = x.shape()](const Tensor& g, Grads& gi, const Needs&) {
    gi[0] = broadcast_to(g, shape);
  });
  return y;
}

Tensor softmax(const Tensor& x, int axis) {
  Tensor y = core::softmax(x, axis);
  // dx = y * (g - sum(g * y, axis))
  detail::record_unary(x, y, [y, axis](const Tensor& g, Grads& gi, const Needs&) {
    gi[0] = mul(y, sub(g, sum(mul(g, y), {axis}, /*keepdims=*/true)));
  });
  return y;
}

Tensor log_softmax(const Tensor& x, int axis) {
  Tensor y = core::log_softmax(x, axis);
  // dx = g - exp(y) * sum(g, axis)
  detail::record_unary(x, y, [y, axis](const Tensor& g, Grads& gi, const Needs&) {
    gi[0] = sub(g, mul(exp(y), sum(g, {axis}, /*keepdims=*/true)));
  });
  return y;
}

}  // namespace lamina
