// Drivers of the arithmetic binary kernels: dtype and broadcast checks,
// output allocation, fast paths (equal shapes, scalar, row vector) and the
// general strided case. SIMD bodies: core/kernels/elementwise_impl.h.
#include "lamina/core/ops/binary.h"

#include <algorithm>
#include <cmath>

#include "lamina/core/detail/alias.h"
#include "lamina/core/detail/binary_loop.h"
#include "lamina/core/detail/convert.h"
#include "lamina/core/detail/grain.h"
#include "lamina/core/kernels/kernel_table.h"

namespace lamina::core {

using detail::BinaryOp;

Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op) {
  if (a == b) return a;  // the common case, and part of every binary op's fixed cost
  const int n = std::max(a.ndim(), b.ndim());
  Shape out;
  out.resize(n);
  for (int i = 0; i < n; ++i) {
    const int ia = a.ndim() - n + i, ib = b.ndim() - n + i;
    const std::int64_t da = ia >= 0 ? a[ia] : 1, db = ib >= 0 ? b[ib] : 1;
    LAMINA_CHECK(da == db || da == 1 || db == 1, ShapeError, "[", op, "] cannot broadcast ", a, " with ", b);
    out[i] = da == 1 ? db : da;
  }
  return out;
}

namespace {

const char* op_name(BinaryOp op) {
  static constexpr const char* kNames[] = {"add", "sub", "mul", "div", "pow", "maximum", "minimum",
                                           "relu_backward", "sigmoid_backward", "tanh_backward"};
  static_assert(std::size(kNames) == detail::kBinaryOpCount);
  return kNames[static_cast<int>(op)];
}

bool float_only(BinaryOp op) {
  return op == BinaryOp::div || op == BinaryOp::pow || op >= BinaryOp::relu_backward;
}

template <class T>
T int_apply(BinaryOp op, T a, T b) {
  switch (op) {
    case BinaryOp::add: return detail::wrapping_add(a, b);  // wraps like NumPy's, never UB
    case BinaryOp::sub: return detail::wrapping_sub(a, b);
    case BinaryOp::mul: return detail::wrapping_mul(a, b);
    case BinaryOp::maximum: return a > b ? a : b;
    case BinaryOp::minimum: return a < b ? a : b;
    default: return a;
  }
}

/// o = a op b over n elements with strides so, sa, sb (0: a broadcast value).
/// `k` is the current ISA's table, fetched once by the caller rather than
/// per run (broadcast loops call this once per short run).
template <class T>
void float_run(const detail::FloatKernels<T>& k, BinaryOp op, T* o, const T* a, const T* b, std::int64_t n,
               std::int64_t so, std::int64_t sa, std::int64_t sb) {
  const int i = static_cast<int>(op);
  if (so == 1) {
    if (sa == 1 && sb == 1) return k.binary[i](a, b, o, n);
    if (sa == 1 && sb == 0) return k.binary_vs[i](a, *b, o, n);
    if (sa == 0 && sb == 1) return k.binary_sv[i](*a, b, o, n);
  }
  // Strided: gather into small contiguous buffers, compute, scatter.
  constexpr std::int64_t kChunk = 256;
  alignas(64) T ba[kChunk], bb[kChunk], bo[kChunk];
  for (std::int64_t s = 0; s < n; s += kChunk) {
    const std::int64_t m = std::min(kChunk, n - s);
    for (std::int64_t j = 0; j < m; ++j) {
      ba[j] = a[(s + j) * sa];
      bb[j] = b[(s + j) * sb];
    }
    k.binary[i](ba, bb, bo, m);
    for (std::int64_t j = 0; j < m; ++j) o[(s + j) * so] = bo[j];
  }
}

/// If `shape` without its leading 1s equals the last axes of `out` (and has
/// at least one axis), the number of elements of those axes; else 0.
std::int64_t trailing_extent(const Shape& shape, const Shape& out) {
  int first = 0;
  while (first < shape.ndim() && shape[first] == 1) ++first;
  const int k = shape.ndim() - first;
  if (k == 0 || k > out.ndim()) return 0;
  std::int64_t n = 1;
  for (int i = 0; i < k; ++i) {
    if (shape[first + i] != out[out.ndim() - k + i]) return 0;
    n *= shape[first + i];
  }
  return n;
}

void check_dtypes(const Tensor& a, const Tensor& b, BinaryOp op) {
  LAMINA_CHECK(a.dtype() == b.dtype(), DTypeError, "[", op_name(op), "] dtypes differ: ", a.dtype(), " and ",
               b.dtype(), "; convert one with .to()");
  const DType dt = a.dtype();
  LAMINA_CHECK(is_floating(dt) || (!float_only(op) && dt != DType::bool_), DTypeError, "[", op_name(op),
               "] unsupported dtype ", dt, float_only(op) ? "; expected float32 or float64" : "");
}

// out = a op b; out has the broadcast shape already.
void binary_into(const Tensor& a_in, const Tensor& b_in, Tensor& out, BinaryOp op) {
  const std::int64_t n = out.numel();
  if (n == 0) return;
  const std::int64_t grain = op == BinaryOp::pow ? detail::kGrainTranscendental : detail::kGrainCheap;
  // Fast paths when everything is contiguous: the same shape or a scalar
  // operand (one run), or row-vector broadcasting (a bias or a per-channel
  // value over the last axes: one operand has the output's shape, the other
  // its trailing extents; rows of `inner` elements straight to the kernel).
  if (is_floating(out.dtype()) && out.is_contiguous() && a_in.is_contiguous() && b_in.is_contiguous()) {
    const bool a_full = a_in.shape() == out.shape(), b_full = b_in.shape() == out.shape();
    const bool a_scalar = a_in.numel() == 1, b_scalar = b_in.numel() == 1;
    const bool one_run = (a_full || a_scalar) && (b_full || b_scalar) && (a_full || b_full);
    const std::int64_t inner = one_run  ? 0
                               : a_full ? trailing_extent(b_in.shape(), out.shape())
                               : b_full ? trailing_extent(a_in.shape(), out.shape())
                                        : 0;
    if (one_run || inner > 1) {
      visit_dtype(out.dtype(), [&](auto zero) {
        using T = decltype(zero);
        if constexpr (std::is_floating_point_v<T>) {
          const T* pa = static_cast<const T*>(a_in.raw_data());
          const T* pb = static_cast<const T*>(b_in.raw_data());
          T* po = static_cast<T*>(out.raw_data());
          const auto& k = detail::kernels_for<T>();
          if (one_run) {
            detail::parallel_for(n, grain, [&](std::int64_t s, std::int64_t e) {
              float_run<T>(k, op, po + s, a_full ? pa + s : pa, b_full ? pb + s : pb, e - s, 1, a_full ? 1 : 0,
                           b_full ? 1 : 0);
            });
            return;
          }
          const auto kernel = k.binary[static_cast<int>(op)];
          detail::parallel_for(n / inner, std::max<std::int64_t>(1, grain / inner), [&](std::int64_t r0, std::int64_t r1) {
            for (std::int64_t r = r0; r < r1; ++r)
              kernel(a_full ? pa + r * inner : pa, b_full ? pb + r * inner : pb, po + r * inner, inner);
          });
        }
      });
      return;
    }
  }
  Tensor a = a_in.broadcast_to(out.shape()), b = b_in.broadcast_to(out.shape());
  visit_dtype(out.dtype(), [&](auto zero) {
    using T = decltype(zero);
    const detail::FloatKernels<T>* k = nullptr;
    if constexpr (std::is_floating_point_v<T>) k = &detail::kernels_for<T>();
    detail::for_each_binary_run<T, T, T>(
        out, a, b, grain,
        [op, k](T* o, const T* pa, const T* pb, std::int64_t m, std::int64_t so, std::int64_t sa, std::int64_t sb) {
          if constexpr (std::is_floating_point_v<T>) {
            float_run<T>(*k, op, o, pa, pb, m, so, sa, sb);
          } else {
            for (std::int64_t j = 0; j < m; ++j) o[j * so] = int_apply<T>(op, pa[j * sa], pb[j * sb]);
          }
        });
  });
}

// out = a op b for contiguous float a, b and out of one shape: the common
// case of a model's elementwise ops, run without the broadcast analysis of
// binary_into (a fifth of a one-element add's instructions).
template <class T>
void same_shape_run(const Tensor& a, const Tensor& b, Tensor& out, BinaryOp op) {
  const auto kernel = detail::kernels_for<T>().binary[static_cast<int>(op)];
  const T* pa = static_cast<const T*>(a.raw_data());
  const T* pb = static_cast<const T*>(b.raw_data());
  T* po = static_cast<T*>(out.raw_data());
  const std::int64_t grain = op == BinaryOp::pow ? detail::kGrainTranscendental : detail::kGrainCheap;
  detail::parallel_for(out.numel(), grain,
                       [&](std::int64_t s, std::int64_t e) { kernel(pa + s, pb + s, po + s, e - s); });
}

Tensor binary(const Tensor& a, const Tensor& b, BinaryOp op) {
  check_dtypes(a, b, op);
  if (a.shape() == b.shape() && is_floating(a.dtype()) && a.is_contiguous() && b.is_contiguous()) {
    Tensor out = Tensor::empty(a.shape(), a.dtype());
    if (a.dtype() == DType::float32) same_shape_run<float>(a, b, out, op);
    else same_shape_run<double>(a, b, out, op);
    return out;
  }
  Tensor out = Tensor::empty(broadcast_shapes(a.shape(), b.shape(), op_name(op)), a.dtype());
  binary_into(a, b, out, op);
  return out;
}

Tensor binary_scalar(const Tensor& a, double b, BinaryOp op) {
  return binary(a, Tensor::scalar(b, a.dtype()), op);
}

void binary_out(const Tensor& a, const Tensor& b, Tensor& out, BinaryOp op) {
  check_dtypes(a, b, op);
  const Shape shape = broadcast_shapes(a.shape(), b.shape(), op_name(op));
  LAMINA_CHECK(out.shape() == shape, ShapeError, "[", op_name(op), "] out has shape ", out.shape(), ", expected ",
               shape);
  LAMINA_CHECK(out.dtype() == a.dtype(), DTypeError, "[", op_name(op), "] out has dtype ", out.dtype(),
               ", expected ", a.dtype());
  detail::check_writable(out, op_name(op));
  binary_into(detail::unaliased(a, out), detail::unaliased(b, out), out, op);
}

void binary_inplace(Tensor& a, const Tensor& b, BinaryOp op) {
  check_dtypes(a, b, op);
  const Shape shape = broadcast_shapes(a.shape(), b.shape(), op_name(op));
  LAMINA_CHECK(shape == a.shape(), ShapeError, "[", op_name(op), "_] cannot broadcast ", b.shape(),
               " into the in-place operand of shape ", a.shape());
  detail::check_writable(a, op_name(op));
  binary_into(a, detail::unaliased(b, a), a, op);
}

}  // namespace

Tensor add(const Tensor& a, const Tensor& b) { return binary(a, b, BinaryOp::add); }
Tensor sub(const Tensor& a, const Tensor& b) { return binary(a, b, BinaryOp::sub); }
Tensor mul(const Tensor& a, const Tensor& b) { return binary(a, b, BinaryOp::mul); }
Tensor div(const Tensor& a, const Tensor& b) { return binary(a, b, BinaryOp::div); }
Tensor pow(const Tensor& a, const Tensor& b) { return binary(a, b, BinaryOp::pow); }
Tensor maximum(const Tensor& a, const Tensor& b) { return binary(a, b, BinaryOp::maximum); }
Tensor minimum(const Tensor& a, const Tensor& b) { return binary(a, b, BinaryOp::minimum); }

Tensor add(const Tensor& a, double b) { return binary_scalar(a, b, BinaryOp::add); }
Tensor sub(const Tensor& a, double b) { return binary_scalar(a, b, BinaryOp::sub); }
Tensor mul(const Tensor& a, double b) { return binary_scalar(a, b, BinaryOp::mul); }
Tensor div(const Tensor& a, double b) { return binary_scalar(a, b, BinaryOp::div); }
Tensor pow(const Tensor& a, double b) { return binary_scalar(a, b, BinaryOp::pow); }
Tensor maximum(const Tensor& a, double b) { return binary_scalar(a, b, BinaryOp::maximum); }
Tensor minimum(const Tensor& a, double b) { return binary_scalar(a, b, BinaryOp::minimum); }

void add_out(const Tensor& a, const Tensor& b, Tensor& out) { binary_out(a, b, out, BinaryOp::add); }
void sub_out(const Tensor& a, const Tensor& b, Tensor& out) { binary_out(a, b, out, BinaryOp::sub); }
void mul_out(const Tensor& a, const Tensor& b, Tensor& out) { binary_out(a, b, out, BinaryOp::mul); }
void add_(Tensor& a, const Tensor& b) { binary_inplace(a, b, BinaryOp::add); }
void sub_(Tensor& a, const Tensor& b) { binary_inplace(a, b, BinaryOp::sub); }
void mul_(Tensor& a, const Tensor& b) { binary_inplace(a, b, BinaryOp::mul); }
void mul_(Tensor& a, double b) { binary_inplace(a, Tensor::scalar(b, a.dtype()), BinaryOp::mul); }

void axpy_(Tensor& a, double alpha, const Tensor& b) {
  LAMINA_CHECK(a.dtype() == b.dtype() && is_floating(a.dtype()), DTypeError, "[axpy_] expected matching float dtypes, got ",
               a.dtype(), " and ", b.dtype());
  if (a.is_contiguous() && b.is_contiguous() && a.shape() == b.shape()) {
    visit_dtype(a.dtype(), [&](auto zero) {
      using T = decltype(zero);
      if constexpr (std::is_floating_point_v<T>) {
        auto fn = detail::kernels_for<T>().axpy;
        T* pa = static_cast<T*>(a.raw_data());
        const T* pb = static_cast<const T*>(b.raw_data());
        const T al = static_cast<T>(alpha);
        detail::parallel_for(a.numel(), detail::kGrainCheap,
                             [&](std::int64_t s, std::int64_t e) { fn(pa + s, al, pb + s, e - s); });
      }
    });
    return;
  }
  add_(a, mul(b, alpha));
}

// Backward helpers used by autograd (declared in core/ops/unary.h).
Tensor relu_backward(const Tensor& grad, const Tensor& output) { return binary(grad, output, BinaryOp::relu_backward); }
Tensor sigmoid_backward(const Tensor& grad, const Tensor& output) {
  return binary(grad, output, BinaryOp::sigmoid_backward);
}
Tensor tanh_backward(const Tensor& grad, const Tensor& output) { return binary(grad, output, BinaryOp::tanh_backward); }

}  // namespace lamina::core
