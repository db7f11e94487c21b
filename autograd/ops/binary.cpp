// Differentiable elementwise binary ops. Gradients of broadcast operands are
// summed back to each operand's shape (sum_to).
#include "lamina/autograd/detail/record.h"
#include "lamina/autograd/ops.h"

namespace lamina {

namespace {

using detail::Grads;
using detail::Needs;

Tensor scalar_like(double v, const Tensor& t) { return Tensor::scalar(v, t.dtype()); }

}  // namespace

Tensor add(const Tensor& a, const Tensor& b) {
  Tensor y = core::add(a, b);
  if (detail::should_record({&a, &b}))
    detail::record({&a, &b}, y, [sa = a.shape(), sb = b.shape()](const Tensor& g, Grads& gi, const Needs& n) {
      if (n[0]) gi[0] = sum_to(g, sa);
      if (n[1]) gi[1] = sum_to(g, sb);
    });
  return y;
}

Tensor sub(const Tensor& a, const Tensor& b) {
  Tensor y = core::sub(a, b);
  if (detail::should_record({&a, &b}))
    detail::record({&a, &b}, y, [sa = a.shape(), sb = b.shape()](const Tensor& g, Grads& gi, const Needs& n) {
      if (n[0]) gi[0] = sum_to(g, sa);
      if (n[1]) gi[1] = neg(sum_to(g, sb));
    });
  return y;
}

Tensor mul(const Tensor& a, const Tensor& b) {
  Tensor y = core::mul(a, b);
  if (detail::should_record({&a, &b}))
    detail::record({&a, &b}, y, [a, b](const Tensor& g, Grads& gi, const Needs& n) {
      if (n[0]) gi[0] = sum_to(mul(g, b), a.shape());
      if (n[1]) gi[1] = sum_to(mul(g, a), b.shape());
    });
  return y;
}

Tensor div(const Tensor& a, const Tensor& b) {
  Tensor y = core::div(a, b);
  if (detail::should_record({&a, &b}))
    detail::record({&a, &b}, y, [a, b](const Tensor& g, Grads& gi, const Needs& n) {
      if (n[0]) gi[0] = sum_to(div(g, b), a.shape());
      if (n[1]) gi[1] = sum_to(neg(div(mul(g, a), square(b))), b.shape());
    });
  return y;
}

Tensor pow(const Tensor& a, const Tensor& b) {
  Tensor y = core::pow(a, b);
  if (detail::should_record({&a, &b}))
    detail::record({&a, &b}, y, [a, b, y](const Tensor& g, Grads& gi, const Needs& n) {
      if (n[0]) gi[0] = sum_to(mul(g, mul(b, pow(a, sub(b, scalar_like(1, b))))), a.shape());
      if (n[1]) {
        // log(a) only where a > 0 (TensorFlow's convention), 0 elsewhere.
        Tensor positive = core::greater(a, 0.0);
        Tensor safe_a = where(positive, a, ones({}, a.dtype()));
        gi[1] = sum_to(mul(g, mul(y, where(positive, log(safe_a), zeros({}, a.dtype())))), b.shape());
      }
    });
  return y;
}

Tensor maximum(const Tensor& a, const Tensor& b) {
  Tensor y = core::maximum(a, b);
  if (detail::should_record({&a, &b}))
    detail::record({&a, &b}, y, [a, b](const Tensor& g, Grads& gi, const Needs& n) {
      Tensor pick_a = core::greater_equal(a, b);
      Tensor zero = zeros({}, g.dtype());
      if (n[0]) gi[0] = sum_to(where(pick_a, g, zero), a.shape());
      if (n[1]) gi[1] = sum_to(where(pick_a, zero, g), b.shape());
    });
  return y;
}

Tensor minimum(const Tensor& a, const Tensor& b) {
  Tensor y = core::minimum(a, b);
  if (detail::should_record({&a, &b}))
    detail::record({&a, &b}, y, [a, b](const Tensor& g, Grads& gi, const Needs& n) {
      Tensor pick_a = core::less_equal(a, b);
      Tensor zero = zeros({}, g.dtype());
      if (n[0]) gi[0] = sum_to(where(pick_a, g, zero), a.shape());
      if (n[1]) gi[1] = sum_to(where(pick_a, zero, g), b.shape());
    });
  return y;
}

Tensor add(const Tensor& a, double b) { return add(a, scalar_like(b, a)); }
Tensor sub(const Tensor& a, double b) { return sub(a, scalar_like(b, a)); }
Tensor mul(const Tensor& a, double b) { return mul(a, scalar_like(b, a)); }
Tensor div(const Tensor& a, double b) { return div(a, scalar_like(b, a)); }
Tensor pow(const Tensor& a, double b) { return pow(a, scalar_like(b, a)); }
Tensor maximum(const Tensor& a, double b) { return maximum(a, scalar_like(b, a)); }
Tensor minimum(const Tensor& a, double b) { return minimum(a, scalar_like(b, a)); }
Tensor operator/(double a, const Tensor& b) { return div(scalar_like(a, b), b); }

Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b) {
  Tensor y = core::where(cond, a, b);
  if (detail::should_record({&a, &b}))
    detail::record({&a, &b}, y, [cond, sa = a.shape(), sb = b.shape()](const Tensor& g, Grads& gi, const Needs& n) {
      Tensor zero = zeros({}, g.dtype());
      if (n[0]) gi[0] = sum_to(where(cond, g, zero), sa);
      if (n[1]) gi[1] = sum_to(where(cond, zero, g), sb);
    });
  return y;
}

}  // namespace lamina
