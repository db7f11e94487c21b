#pragma once
// Internal: elementwise, reduction and softmax kernels written once over
// xsimd::batch<T, Arch>. Included only by elementwise_<isa>.cpp, each
// compiled with its ISA's flags. Everything here has internal linkage
// (anonymous namespace) so code built for one ISA is never merged into
// another unit by the linker; no STL beyond <cstdint>/<limits> for that reason.
//
// Tails: the last partial vector is loaded through a small padded buffer and
// computed as a full vector, so exp of 3 elements costs one vector exp, not
// three scalar calls.

#include <cstdint>
#include <limits>

#include <xsimd/xsimd.hpp>

#include "lamina/core/kernels/kernel_table.h"

namespace lamina::detail {
namespace {

template <class B, class T>
inline B load_partial(const T* p, std::int64_t n, T fill) {
  alignas(64) T buf[B::size];
  for (std::int64_t i = 0; i < static_cast<std::int64_t>(B::size); ++i) buf[i] = i < n ? p[i] : fill;
  return B::load_aligned(buf);
}

template <class B, class T>
inline void store_partial(T* p, const B& v, std::int64_t n) {
  alignas(64) T buf[B::size];
  v.store_aligned(buf);
  for (std::int64_t i = 0; i < n; ++i) p[i] = buf[i];
}

// ---- unary functors: apply(x, p0, p1) ----
struct Neg { template <class B, class T> static B apply(const B& x, T, T) { return -x; } };
struct Abs { template <class B, class T> static B apply(const B& x, T, T) { return xsimd::abs(x); } };
struct Exp { template <class B, class T> static B apply(const B& x, T, T) { return xsimd::exp(x); } };
struct Log { template <class B, class T> static B apply(const B& x, T, T) { return xsimd::log(x); } };
struct Log1p { template <class B, class T> static B apply(const B& x, T, T) { return xsimd::log1p(x); } };
struct Sqrt { template <class B, class T> static B apply(const B& x, T, T) { return xsimd::sqrt(x); } };
struct Rsqrt { template <class B, class T> static B apply(const B& x, T, T) { return B(T(1)) / xsimd::sqrt(x); } };
struct Square { template <class B, class T> static B apply(const B& x, T, T) { return x * x; } };
struct Tanh { template <class B, class T> static B apply(const B& x, T, T) { return xsimd::tanh(x); } };
struct Sigmoid {
  // e = exp(-|x|) never overflows; sigmoid = 1/(1+e) for x >= 0, e/(1+e) otherwise.
  template <class B, class T> static B apply(const B& x, T, T) {
    B e = xsimd::exp(-xsimd::abs(x));
    B r = B(T(1)) / (B(T(1)) + e);
    return xsimd::select(x >= B(T(0)), r, e * r);
  }
};
struct Relu { template <class B, class T> static B apply(const B& x, T, T) { return xsimd::max(x, B(T(0))); } };
struct LeakyRelu {
  template <class B, class T> static B apply(const B& x, T alpha, T) {
    return xsimd::select(x > B(T(0)), x, x * B(alpha));
  }
};
struct Elu {
  template <class B, class T> static B apply(const B& x, T alpha, T) {
    return xsimd::select(x > B(T(0)), x, B(alpha) * xsimd::expm1(x));
  }
};
struct GeluTanh {
  template <class B, class T> static B apply(const B& x, T, T) {
    const B k(T(0.7978845608028654)), c(T(0.044715));
    B inner = k * (x + c * x * x * x);
    return B(T(0.5)) * x * (B(T(1)) + xsimd::tanh(inner));
  }
};
struct GeluErf {
  template <class B, class T> static B apply(const B& x, T, T) {
    return B(T(0.5)) * x * (B(T(1)) + xsimd::erf(x * B(T(0.7071067811865476))));
  }
};
struct Softplus {
  // max(x, 0) + log1p(exp(-|x|)): no overflow for large x.
  template <class B, class T> static B apply(const B& x, T, T) {
    return xsimd::max(x, B(T(0))) + xsimd::log1p(xsimd::exp(-xsimd::abs(x)));
  }
};
struct Sign {
  template <class B, class T> static B apply(const B& x, T, T) {
    const B zero(T(0));
    return xsimd::select(x > zero, B(T(1)), xsimd::select(x < zero, B(T(-1)), x * zero));
  }
};
struct Clip {
  template <class B, class T> static B apply(const B& x, T lo, T hi) {
    return xsimd::min(xsimd::max(x, B(lo)), B(hi));
  }
};

template <class Arch, class T, class Op>
void unary_loop(const T* x, T* y, std::int64_t n, T p0, T p1) {
  using B = xsimd::batch<T, Arch>;
  constexpr std::int64_t W = B::size;
  std::int64_t i = 0;
  for (; i + 2 * W <= n; i += 2 * W) {
    B a = B::load_unaligned(x + i), b = B::load_unaligned(x + i + W);
    Op::apply(a, p0, p1).store_unaligned(y + i);
    Op::apply(b, p0, p1).store_unaligned(y + i + W);
  }
  for (; i + W <= n; i += W) Op::apply(B::load_unaligned(x + i), p0, p1).store_unaligned(y + i);
  if (i < n) store_partial(y + i, Op::apply(load_partial<B>(x + i, n - i, T(1)), p0, p1), n - i);
}

// ---- binary functors: apply(a, b) ----
struct Add { template <class B> static B apply(const B& a, const B& b) { return a + b; } };
struct Sub { template <class B> static B apply(const B& a, const B& b) { return a - b; } };
struct Mul { template <class B> static B apply(const B& a, const B& b) { return a * b; } };
struct Div { template <class B> static B apply(const B& a, const B& b) { return a / b; } };
struct Pow { template <class B> static B apply(const B& a, const B& b) { return xsimd::pow(a, b); } };
struct Maximum { template <class B> static B apply(const B& a, const B& b) { return xsimd::max(a, b); } };
struct Minimum { template <class B> static B apply(const B& a, const B& b) { return xsimd::min(a, b); } };
struct ReluBackward {
  template <class B> static B apply(const B& g, const B& y) {
    using T = typename B::value_type;
    return xsimd::select(y > B(T(0)), g, B(T(0)));
  }
};
struct SigmoidBackward {
  template <class B> static B apply(const B& g, const B& y) {
    using T = typename B::value_type;
    return g * y * (B(T(1)) - y);
  }
};
struct TanhBackward {
  template <class B> static B apply(const B& g, const B& y) {
    using T = typename B::value_type;
    return g * (B(T(1)) - y * y);
  }
};

template <class Arch, class T, class Op>
void binary_vv(const T* a, const T* b, T* y, std::int64_t n) {
  using B = xsimd::batch<T, Arch>;
  constexpr std::int64_t W = B::size;
  std::int64_t i = 0;
  for (; i + 2 * W <= n; i += 2 * W) {
    B a0 = B::load_unaligned(a + i), a1 = B::load_unaligned(a + i + W);
    B b0 = B::load_unaligned(b + i), b1 = B::load_unaligned(b + i + W);
    Op::apply(a0, b0).store_unaligned(y + i);
    Op::apply(a1, b1).store_unaligned(y + i + W);
  }
  for (; i + W <= n; i += W) Op::apply(B::load_unaligned(a + i), B::load_unaligned(b + i)).store_unaligned(y + i);
  if (i < n)
    store_partial(y + i, Op::apply(load_partial<B>(a + i, n - i, T(1)), load_partial<B>(b + i, n - i, T(1))), n - i);
}

template <class Arch, class T, class Op>
void binary_vs(const T* a, T s, T* y, std::int64_t n) {
  using B = xsimd::batch<T, Arch>;
  constexpr std::int64_t W = B::size;
  const B bs(s);
  std::int64_t i = 0;
  for (; i + W <= n; i += W) Op::apply(B::load_unaligned(a + i), bs).store_unaligned(y + i);
  if (i < n) store_partial(y + i, Op::apply(load_partial<B>(a + i, n - i, T(1)), bs), n - i);
}

template <class Arch, class T, class Op>
void binary_sv(T s, const T* b, T* y, std::int64_t n) {
  using B = xsimd::batch<T, Arch>;
  constexpr std::int64_t W = B::size;
  const B as(s);
  std::int64_t i = 0;
  for (; i + W <= n; i += W) Op::apply(as, B::load_unaligned(b + i)).store_unaligned(y + i);
  if (i < n) store_partial(y + i, Op::apply(as, load_partial<B>(b + i, n - i, T(1))), n - i);
}

// ---- reductions ----
template <class T>
struct SumOp {
  static constexpr T identity() { return T(0); }
  template <class B> static B combine(const B& a, const B& b) { return a + b; }
  static T scalar(T a, T b) { return a + b; }
};
template <class T>
struct MaxOp {
  static constexpr T identity() { return -std::numeric_limits<T>::infinity(); }
  template <class B> static B combine(const B& a, const B& b) { return xsimd::max(a, b); }
  static T scalar(T a, T b) { return a > b ? a : b; }
};
template <class T>
struct MinOp {
  static constexpr T identity() { return std::numeric_limits<T>::infinity(); }
  template <class B> static B combine(const B& a, const B& b) { return xsimd::min(a, b); }
  static T scalar(T a, T b) { return a < b ? a : b; }
};

template <class B, class Op>
inline typename B::value_type horizontal(const B& v) {
  using T = typename B::value_type;
  alignas(64) T buf[B::size];
  v.store_aligned(buf);
  // Pairwise, in a fixed order.
  for (std::int64_t w = B::size / 2; w >= 1; w /= 2)
    for (std::int64_t i = 0; i < w; ++i) buf[i] = Op::scalar(buf[i], buf[i + w]);
  return buf[0];
}

// Four independent accumulators hide the add latency.
template <class Arch, class T, template <class> class OpT>
T reduce_loop(const T* x, std::int64_t n) {
  using B = xsimd::batch<T, Arch>;
  using Op = OpT<T>;
  constexpr std::int64_t W = B::size;
  B acc0(Op::identity()), acc1(Op::identity()), acc2(Op::identity()), acc3(Op::identity());
  std::int64_t i = 0;
  for (; i + 4 * W <= n; i += 4 * W) {
    acc0 = Op::combine(acc0, B::load_unaligned(x + i));
    acc1 = Op::combine(acc1, B::load_unaligned(x + i + W));
    acc2 = Op::combine(acc2, B::load_unaligned(x + i + 2 * W));
    acc3 = Op::combine(acc3, B::load_unaligned(x + i + 3 * W));
  }
  for (; i + W <= n; i += W) acc0 = Op::combine(acc0, B::load_unaligned(x + i));
  if (i < n) acc1 = Op::combine(acc1, load_partial<B>(x + i, n - i, Op::identity()));
  return horizontal<B, Op>(Op::combine(Op::combine(acc0, acc1), Op::combine(acc2, acc3)));
}

template <class Arch, class T, template <class> class OpT>
void accumulate_loop(T* acc, const T* x, std::int64_t n) {
  using B = xsimd::batch<T, Arch>;
  using Op = OpT<T>;
  constexpr std::int64_t W = B::size;
  std::int64_t i = 0;
  for (; i + W <= n; i += W)
    Op::combine(B::load_unaligned(acc + i), B::load_unaligned(x + i)).store_unaligned(acc + i);
  for (; i < n; ++i) acc[i] = Op::scalar(acc[i], x[i]);
}

template <class Arch, class T>
T sum_squared_deviation(const T* x, std::int64_t n, T center) {
  using B = xsimd::batch<T, Arch>;
  constexpr std::int64_t W = B::size;
  const B c(center);
  B acc0(T(0)), acc1(T(0));
  std::int64_t i = 0;
  for (; i + 2 * W <= n; i += 2 * W) {
    B d0 = B::load_unaligned(x + i) - c, d1 = B::load_unaligned(x + i + W) - c;
    acc0 = xsimd::fma(d0, d0, acc0);
    acc1 = xsimd::fma(d1, d1, acc1);
  }
  for (; i + W <= n; i += W) {
    B d = B::load_unaligned(x + i) - c;
    acc0 = xsimd::fma(d, d, acc0);
  }
  if (i < n) {
    B d = load_partial<B>(x + i, n - i, center) - c;
    acc1 = xsimd::fma(d, d, acc1);
  }
  return horizontal<B, SumOp<T>>(acc0 + acc1);
}

// ---- softmax ----
template <class Arch, class T>
void softmax_row(const T* x, T* y, std::int64_t n) {
  using B = xsimd::batch<T, Arch>;
  constexpr std::int64_t W = B::size;
  const T m = reduce_loop<Arch, T, MaxOp>(x, n);
  const B mb(m);
  B acc(T(0));
  std::int64_t i = 0;
  for (; i + W <= n; i += W) {
    B e = xsimd::exp(B::load_unaligned(x + i) - mb);
    e.store_unaligned(y + i);
    acc += e;
  }
  if (i < n) {
    B e = xsimd::exp(load_partial<B>(x + i, n - i, -std::numeric_limits<T>::infinity()) - mb);
    store_partial(y + i, e, n - i);
    acc += e;
  }
  const T inv_s = T(1) / horizontal<B, SumOp<T>>(acc);
  const B inv(inv_s);
  for (i = 0; i + W <= n; i += W) (B::load_unaligned(y + i) * inv).store_unaligned(y + i);
  for (; i < n; ++i) y[i] *= inv_s;
}

template <class Arch, class T>
void log_softmax_row(const T* x, T* y, std::int64_t n) {
  using B = xsimd::batch<T, Arch>;
  constexpr std::int64_t W = B::size;
  const T m = reduce_loop<Arch, T, MaxOp>(x, n);
  const B mb(m);
  B acc(T(0));
  std::int64_t i = 0;
  for (; i + W <= n; i += W) acc += xsimd::exp(B::load_unaligned(x + i) - mb);
  if (i < n) acc += xsimd::exp(load_partial<B>(x + i, n - i, -std::numeric_limits<T>::infinity()) - mb);
  // y = (x - max) - log(sum): x - max is exact, so the largest logit gets
  // exactly -log(sum) even when |max| is large.
  // __builtin_log, not std::log: no inline library code in ISA-specific units.
  const T log_sum = static_cast<T>(__builtin_log(static_cast<double>(horizontal<B, SumOp<T>>(acc))));
  const B lb(log_sum);
  for (i = 0; i + W <= n; i += W) ((B::load_unaligned(x + i) - mb) - lb).store_unaligned(y + i);
  for (; i < n; ++i) y[i] = (x[i] - m) - log_sum;
}

// Short rows: per-row maxima and sums are cheap scalar passes; the costly
// exp runs over the whole block as full vectors.
template <class Arch, class T>
void softmax_rows(const T* x, T* y, std::int64_t rows, std::int64_t n, bool log) {
  constexpr std::int64_t kShort = 32, kBlockRows = 128;
  if (n >= kShort || n == 0) {
    for (std::int64_t r = 0; r < rows; ++r)
      (log ? log_softmax_row<Arch, T> : softmax_row<Arch, T>)(x + r * n, y + r * n, n);
    return;
  }
  alignas(64) T shifted[kBlockRows * kShort];
  alignas(64) T e[kBlockRows * kShort];
  T maxima[kBlockRows];
  for (std::int64_t r0 = 0; r0 < rows; r0 += kBlockRows) {
    const std::int64_t nr = rows - r0 < kBlockRows ? rows - r0 : kBlockRows;
    const T* xb = x + r0 * n;
    T* yb = y + r0 * n;
    for (std::int64_t r = 0; r < nr; ++r) {
      T m = xb[r * n];
      for (std::int64_t j = 1; j < n; ++j) m = xb[r * n + j] > m ? xb[r * n + j] : m;
      maxima[r] = m;
      for (std::int64_t j = 0; j < n; ++j) shifted[r * n + j] = xb[r * n + j] - m;
    }
    unary_loop<Arch, T, Exp>(shifted, e, nr * n, T(0), T(0));
    for (std::int64_t r = 0; r < nr; ++r) {
      T s = T(0);
      for (std::int64_t j = 0; j < n; ++j) s += e[r * n + j];
      if (log) {
        const T log_s = static_cast<T>(__builtin_log(static_cast<double>(s)));
        for (std::int64_t j = 0; j < n; ++j) yb[r * n + j] = shifted[r * n + j] - log_s;
      } else {
        const T inv = T(1) / s;
        for (std::int64_t j = 0; j < n; ++j) yb[r * n + j] = e[r * n + j] * inv;
      }
    }
  }
}

template <class Arch, class T>
void axpy(T* y, T alpha, const T* x, std::int64_t n) {
  using B = xsimd::batch<T, Arch>;
  constexpr std::int64_t W = B::size;
  const B a(alpha);
  std::int64_t i = 0;
  for (; i + W <= n; i += W)
    xsimd::fma(a, B::load_unaligned(x + i), B::load_unaligned(y + i)).store_unaligned(y + i);
  for (; i < n; ++i) y[i] += alpha * x[i];
}

template <class Arch, class T>
constexpr FloatKernels<T> make_float_kernels() {
  FloatKernels<T> k{};
  auto u = [&k](UnaryOp op, auto fn) { k.unary[static_cast<int>(op)] = fn; };
  u(UnaryOp::neg, &unary_loop<Arch, T, Neg>);
  u(UnaryOp::abs, &unary_loop<Arch, T, Abs>);
  u(UnaryOp::exp, &unary_loop<Arch, T, Exp>);
  u(UnaryOp::log, &unary_loop<Arch, T, Log>);
  u(UnaryOp::log1p, &unary_loop<Arch, T, Log1p>);
  u(UnaryOp::sqrt, &unary_loop<Arch, T, Sqrt>);
  u(UnaryOp::rsqrt, &unary_loop<Arch, T, Rsqrt>);
  u(UnaryOp::square, &unary_loop<Arch, T, Square>);
  u(UnaryOp::tanh, &unary_loop<Arch, T, Tanh>);
  u(UnaryOp::sigmoid, &unary_loop<Arch, T, Sigmoid>);
  u(UnaryOp::relu, &unary_loop<Arch, T, Relu>);
  u(UnaryOp::leaky_relu, &unary_loop<Arch, T, LeakyRelu>);
  u(UnaryOp::elu, &unary_loop<Arch, T, Elu>);
  u(UnaryOp::gelu_tanh, &unary_loop<Arch, T, GeluTanh>);
  u(UnaryOp::gelu_erf, &unary_loop<Arch, T, GeluErf>);
  u(UnaryOp::softplus, &unary_loop<Arch, T, Softplus>);
  u(UnaryOp::sign, &unary_loop<Arch, T, Sign>);
  u(UnaryOp::clip, &unary_loop<Arch, T, Clip>);
  auto b = [&k](BinaryOp op, auto vv, auto vs, auto sv) {
    k.binary[static_cast<int>(op)] = vv;
    k.binary_vs[static_cast<int>(op)] = vs;
    k.binary_sv[static_cast<int>(op)] = sv;
  };
#define LAMINA_BINARY(OP, F) b(BinaryOp::OP, &binary_vv<Arch, T, F>, &binary_vs<Arch, T, F>, &binary_sv<Arch, T, F>)
  LAMINA_BINARY(add, Add);
  LAMINA_BINARY(sub, Sub);
  LAMINA_BINARY(mul, Mul);
  LAMINA_BINARY(div, Div);
  LAMINA_BINARY(pow, Pow);
  LAMINA_BINARY(maximum, Maximum);
  LAMINA_BINARY(minimum, Minimum);
  LAMINA_BINARY(relu_backward, ReluBackward);
  LAMINA_BINARY(sigmoid_backward, SigmoidBackward);
  LAMINA_BINARY(tanh_backward, TanhBackward);
#undef LAMINA_BINARY
  k.reduce[static_cast<int>(ReduceOp::sum)] = &reduce_loop<Arch, T, SumOp>;
  k.reduce[static_cast<int>(ReduceOp::max)] = &reduce_loop<Arch, T, MaxOp>;
  k.reduce[static_cast<int>(ReduceOp::min)] = &reduce_loop<Arch, T, MinOp>;
  k.accumulate[static_cast<int>(ReduceOp::sum)] = &accumulate_loop<Arch, T, SumOp>;
  k.accumulate[static_cast<int>(ReduceOp::max)] = &accumulate_loop<Arch, T, MaxOp>;
  k.accumulate[static_cast<int>(ReduceOp::min)] = &accumulate_loop<Arch, T, MinOp>;
  k.sum_squared_deviation = &sum_squared_deviation<Arch, T>;
  k.softmax_row = &softmax_row<Arch, T>;
  k.log_softmax_row = &log_softmax_row<Arch, T>;
  k.softmax_rows = &softmax_rows<Arch, T>;
  k.axpy = &axpy<Arch, T>;
  return k;
}

}  // namespace
}  // namespace lamina::detail

// Defines the two table accessors of one ISA.
#define LAMINA_DEFINE_ELEMENTWISE_TABLES(SUFFIX, ARCH)                                       \
  namespace lamina::detail {                                                                \
  namespace {                                                                               \
  constexpr FloatKernels<float> kF32Table_##SUFFIX = make_float_kernels<ARCH, float>();    \
  constexpr FloatKernels<double> kF64Table_##SUFFIX = make_float_kernels<ARCH, double>();  \
  }                                                                                         \
  const FloatKernels<float>* elementwise_f32_##SUFFIX() { return &kF32Table_##SUFFIX; }    \
  const FloatKernels<double>* elementwise_f64_##SUFFIX() { return &kF64Table_##SUFFIX; }   \
  }
