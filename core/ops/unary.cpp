// Drivers of the unary kernels: dtype checks, output allocation, threading.
// The SIMD bodies live in core/kernels/elementwise_impl.h.
#include "lamina/core/ops/unary.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>

#include "lamina/core/detail/alias.h"
#include "lamina/core/detail/convert.h"
#include "lamina/core/detail/grain.h"
#include "lamina/core/detail/parallel.h"
#include "lamina/core/kernels/kernel_table.h"

namespace lamina::core {

namespace {

using detail::UnaryOp;

bool is_transcendental(UnaryOp op) {
  switch (op) {
    case UnaryOp::neg: case UnaryOp::abs: case UnaryOp::square: case UnaryOp::relu:
    case UnaryOp::leaky_relu: case UnaryOp::sign: case UnaryOp::clip:
      return false;
    default:
      return true;
  }
}

// Runs the float kernel of `op` from contiguous `x` into contiguous `out`.
void run_float(const Tensor& x, Tensor& out, UnaryOp op, double p0, double p1) {
  const std::int64_t n = x.numel();
  const std::int64_t grain = is_transcendental(op) ? detail::kGrainTranscendental : detail::kGrainCheap;
  auto run = [&](auto zero) {
    using T = decltype(zero);
    auto fn = detail::kernels_for<T>().unary[static_cast<int>(op)];
    const T* xp = static_cast<const T*>(x.raw_data());
    T* yp = static_cast<T*>(out.raw_data());
    const T a = detail::saturate_cast<T>(p0), b = detail::saturate_cast<T>(p1);
    detail::parallel_for(n, grain, [&](std::int64_t s, std::int64_t e) { fn(xp + s, yp + s, e - s, a, b); });
  };
  if (x.dtype() == DType::float32) run(float{});
  else run(double{});
}

// Integer versions of the few ops that make sense on integers.
template <class T>
T int_apply(UnaryOp op, T v, double p0, double p1) {
  switch (op) {
    // neg, abs and square wrap like NumPy's (abs of the lowest value is itself).
    case UnaryOp::neg: return detail::wrapping_neg(v);
    case UnaryOp::abs: return v < 0 ? detail::wrapping_neg(v) : v;
    case UnaryOp::square: return detail::wrapping_mul(v, v);
    case UnaryOp::relu: return v > 0 ? v : T(0);
    case UnaryOp::sign: return static_cast<T>((v > 0) - (v < 0));
    case UnaryOp::clip: {
      // Bounds beyond the type's range saturate; fractional ones round inward.
      if (static_cast<double>(v) < p0) return detail::saturate_cast<T>(std::ceil(p0));
      if (static_cast<double>(v) > p1) return detail::saturate_cast<T>(std::floor(p1));
      return v;
    }
    default: return v;
  }
}

bool int_supported(UnaryOp op) {
  return op == UnaryOp::neg || op == UnaryOp::abs || op == UnaryOp::square || op == UnaryOp::relu ||
         op == UnaryOp::sign || op == UnaryOp::clip;
}

void run_int(const Tensor& x, Tensor& out, UnaryOp op, double p0, double p1) {
  visit_dtype(x.dtype(), [&](auto zero) {
    using T = decltype(zero);
    const T* xp = static_cast<const T*>(x.raw_data());
    T* yp = static_cast<T*>(out.raw_data());
    detail::parallel_for(x.numel(), detail::kGrainCheap, [&](std::int64_t s, std::int64_t e) {
      for (std::int64_t i = s; i < e; ++i) yp[i] = int_apply<T>(op, xp[i], p0, p1);
    });
  });
}

void check_dtype(const Tensor& x, UnaryOp op, const char* name) {
  const DType dt = x.dtype();
  const bool ok = is_floating(dt) || ((dt == DType::int32 || dt == DType::int64) && int_supported(op));
  LAMINA_CHECK(ok, DTypeError, "[", name, "] unsupported dtype ", dt,
               int_supported(op) ? "; expected float32, float64, int32 or int64"
                                 : "; expected float32 or float64");
}

Tensor unary(const Tensor& x, UnaryOp op, const char* name, double p0 = 0, double p1 = 0) {
  check_dtype(x, op, name);
  Tensor out = Tensor::empty(x.shape(), x.dtype());
  // x itself when contiguous: contiguous() would return a new handle, two
  // atomic reference-count updates for nothing.
  const Tensor copy = x.is_contiguous() ? Tensor() : x.clone();
  const Tensor& xc = copy.defined() ? copy : x;
  if (is_floating(x.dtype())) run_float(xc, out, op, p0, p1);
  else run_int(xc, out, op, p0, p1);
  return out;
}

void unary_inplace(Tensor& x, UnaryOp op, const char* name) {
  check_dtype(x, op, name);
  LAMINA_CHECK(x.is_contiguous(), ValueError, "[", name, "] in-place op needs a contiguous tensor, got strides ",
               x.strides(), " for shape ", x.shape());
  if (is_floating(x.dtype())) run_float(x, x, op, 0, 0);
  else run_int(x, x, op, 0, 0);
}

}  // namespace

Tensor neg(const Tensor& x) { return unary(x, UnaryOp::neg, "neg"); }
Tensor abs(const Tensor& x) { return unary(x, UnaryOp::abs, "abs"); }
Tensor exp(const Tensor& x) { return unary(x, UnaryOp::exp, "exp"); }
Tensor log(const Tensor& x) { return unary(x, UnaryOp::log, "log"); }
Tensor log1p(const Tensor& x) { return unary(x, UnaryOp::log1p, "log1p"); }
Tensor sqrt(const Tensor& x) { return unary(x, UnaryOp::sqrt, "sqrt"); }
Tensor rsqrt(const Tensor& x) { return unary(x, UnaryOp::rsqrt, "rsqrt"); }
Tensor square(const Tensor& x) { return unary(x, UnaryOp::square, "square"); }
Tensor tanh(const Tensor& x) { return unary(x, UnaryOp::tanh, "tanh"); }
Tensor sigmoid(const Tensor& x) { return unary(x, UnaryOp::sigmoid, "sigmoid"); }
Tensor relu(const Tensor& x) { return unary(x, UnaryOp::relu, "relu"); }
Tensor leaky_relu(const Tensor& x, double alpha) { return unary(x, UnaryOp::leaky_relu, "leaky_relu", alpha); }
Tensor elu(const Tensor& x, double alpha) { return unary(x, UnaryOp::elu, "elu", alpha); }
Tensor gelu(const Tensor& x, bool approximate) {
  return unary(x, approximate ? UnaryOp::gelu_tanh : UnaryOp::gelu_erf, "gelu");
}
Tensor softplus(const Tensor& x) { return unary(x, UnaryOp::softplus, "softplus"); }
Tensor sign(const Tensor& x) { return unary(x, UnaryOp::sign, "sign"); }
Tensor clip(const Tensor& x, double lo, double hi) {
  LAMINA_CHECK(lo <= hi, ValueError, "[clip] expected lo <= hi, got lo=", lo, " hi=", hi);
  return unary(x, UnaryOp::clip, "clip", lo, hi);
}

void relu_out(const Tensor& x, Tensor& out) {
  check_dtype(x, UnaryOp::relu, "relu");
  LAMINA_CHECK(out.dtype() == x.dtype(), DTypeError, "[relu] out has dtype ", out.dtype(), ", expected ",
               x.dtype());
  LAMINA_CHECK(out.shape() == x.shape() && out.is_contiguous(), ShapeError, "[relu] out must be a contiguous ",
               "tensor of shape ", x.shape(), ", got shape ", out.shape(), " with strides ", out.strides());
  Tensor xc = detail::unaliased(x, out).contiguous();
  if (is_floating(x.dtype())) run_float(xc, out, UnaryOp::relu, 0, 0);
  else run_int(xc, out, UnaryOp::relu, 0, 0);
}

void relu_(Tensor& x) { unary_inplace(x, UnaryOp::relu, "relu_"); }
void exp_(Tensor& x) { unary_inplace(x, UnaryOp::exp, "exp_"); }
void neg_(Tensor& x) { unary_inplace(x, UnaryOp::neg, "neg_"); }

}  // namespace lamina::core
