#pragma once
// Internal: elementwise, reduction and softmax kernels written once over
// xsimd::batch<T, Arch>. Included only by elementwise_<isa>.cpp, each
// compiled with its ISA's flags. Everything here has internal linkage
// (anonymous namespace) so code built for one ISA is never merged into
// another unit by the linker; no STL beyond <cstdint>/<limits> for that reason.
//
// Tails: the last partial vector is loaded with a masked load (or through a
// small padded buffer) and computed as a full vector, so exp of 3 elements
// costs one vector exp, not three scalar calls.

#include <cstdint>
#include <limits>

// GCC 12 reports a false "(may be) used uninitialized" inside its own
// _mm512_max_ps/_mm512_min_ps/_mm512_slli_epi32 (the _mm512_undefined_*
// pass-through operand).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif

#include <xsimd/xsimd.hpp>

#include "lamina/core/detail/simd_fma.h"

#if defined(__AVX2__) || defined(__AVX512F__)
#include <immintrin.h>
#endif

#include "lamina/core/kernels/kernel_table.h"

namespace lamina::detail {
namespace {

// The first n (0 < n < lanes) elements at p as a vector whose other lanes
// hold `fill`; never reads past p + n. AVX2 and AVX-512 use masked loads
// (masked-off lanes cannot fault), other ISAs a padded buffer.
template <class B, class T>
inline B load_partial(const T* p, std::int64_t n, T fill) {
  [[maybe_unused]] constexpr std::size_t kBytes = B::size * sizeof(T);
#if defined(__AVX512F__)
  if constexpr (kBytes == 64) {
    if constexpr (sizeof(T) == 4)
      return B(_mm512_mask_loadu_ps(_mm512_set1_ps(fill), static_cast<__mmask16>((1u << n) - 1), p));
    else
      return B(_mm512_mask_loadu_pd(_mm512_set1_pd(fill), static_cast<__mmask8>((1u << n) - 1), p));
  }
#endif
#if defined(__AVX2__)
  if constexpr (kBytes == 32) {
    if constexpr (sizeof(T) == 4) {
      const __m256i mask = _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(n)), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
      return B(_mm256_blendv_ps(_mm256_set1_ps(fill), _mm256_maskload_ps(p, mask), _mm256_castsi256_ps(mask)));
    } else {
      const __m256i mask = _mm256_cmpgt_epi64(_mm256_set1_epi64x(n), _mm256_setr_epi64x(0, 1, 2, 3));
      return B(_mm256_blendv_pd(_mm256_set1_pd(fill), _mm256_maskload_pd(p, mask), _mm256_castsi256_pd(mask)));
    }
  }
#endif
  alignas(64) T buf[B::size];
  for (std::int64_t i = 0; i < static_cast<std::int64_t>(B::size); ++i) buf[i] = i < n ? p[i] : fill;
  return B::load_aligned(buf);
}

// Stores the first n (0 < n < lanes) lanes of v at p; writes nothing past p + n.
template <class B, class T>
inline void store_partial(T* p, const B& v, std::int64_t n) {
  [[maybe_unused]] constexpr std::size_t kBytes = B::size * sizeof(T);
#if defined(__AVX512F__)
  if constexpr (kBytes == 64) {
    if constexpr (sizeof(T) == 4)
      _mm512_mask_storeu_ps(p, static_cast<__mmask16>((1u << n) - 1), v);
    else
      _mm512_mask_storeu_pd(p, static_cast<__mmask8>((1u << n) - 1), v);
    return;
  }
#endif
#if defined(__AVX2__)
  if constexpr (kBytes == 32) {
    if constexpr (sizeof(T) == 4)
      _mm256_maskstore_ps(p, _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(n)), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7)), v);
    else
      _mm256_maskstore_pd(p, _mm256_cmpgt_epi64(_mm256_set1_epi64x(n), _mm256_setr_epi64x(0, 1, 2, 3)), v);
    return;
  }
#endif
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
// NaN stays NaN in relu, clip, maximum, minimum and the max/min reductions,
// as in NumPy, TensorFlow and PyTorch (a NaN hidden by relu would hide a
// diverging model). x86's max/min return their second operand when either
// is NaN, so the NaN cases are selected explicitly (with isnan: xsimd 8.1's
// batch != is an ordered compare on AVX, false for NaN).
struct Relu {
  template <class B, class T> static B apply(const B& x, T, T) {
    return xsimd::select(xsimd::isnan(x), x, xsimd::max(x, B(T(0))));
  }
};
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
    const B clipped = xsimd::min(xsimd::max(x, B(lo)), B(hi));
    return xsimd::select(xsimd::isnan(x), x, clipped);
  }
};

// ---- non-temporal stores ----
// Runs writing at least this many bytes use streaming stores: such an output
// cannot stay in cache for the next op anyway, and skipping the read for
// ownership of every destination line cuts the traffic of a unary op from
// three streams (read x, read y, write y) to two.
constexpr std::int64_t kStreamBytes = std::int64_t{8} << 20;

#if defined(__AVX512F__)
inline void stream(float* p, __m512 v) { _mm512_stream_ps(p, v); }
inline void stream(double* p, __m512d v) { _mm512_stream_pd(p, v); }
#endif
#if defined(__AVX__)
inline void stream(float* p, __m256 v) { _mm256_stream_ps(p, v); }
inline void stream(double* p, __m256d v) { _mm256_stream_pd(p, v); }
#endif
inline void stream(float* p, __m128 v) { _mm_stream_ps(p, v); }
inline void stream(double* p, __m128d v) { _mm_stream_pd(p, v); }

// Non-temporal store of v to p, which must be aligned to the vector size.
template <class B, class T>
inline void stream_store(T* p, const B& v) {
  stream(p, static_cast<typename B::register_type>(v));
}

// Elements before y reaches vector alignment.
template <class B, class T>
inline std::int64_t elements_to_aligned(const T* y) {
  constexpr std::uintptr_t bytes = B::size * sizeof(T);
  return static_cast<std::int64_t>((bytes - reinterpret_cast<std::uintptr_t>(y) % bytes) % bytes / sizeof(T));
}

// The streaming body of an elementwise op: y[i, i + W) = value(i) for the
// m vectors from y (aligned), by non-temporal stores. The range is cut in S
// equal parts walked in step, a cache line of each in turn: S read streams
// keep more hardware prefetches in flight than one (see reduce_blocks).
// Measured on this project's VM over 40 MB, one thread: relu 22 -> 28 GB/s
// with four parts; add, which reads two inputs already, 22 -> 25.5 GB/s
// with two and no better with four.
template <int S, class B, class T, class F>
inline void stream_parts(T* y, std::int64_t m, F value) {
  constexpr std::int64_t W = B::size;
  constexpr std::int64_t L = 64 / static_cast<std::int64_t>(W * sizeof(T)) > 0 ? 64 / (W * sizeof(T)) : 1;
  const std::int64_t part = m / (S * L) * L;  // vectors per part, whole lines
  for (std::int64_t v = 0; v < part; v += L)
    for (int s = 0; s < S; ++s)
      for (std::int64_t l = 0; l < L; ++l) {
        const std::int64_t i = (s * part + v + l) * W;
        stream_store(y + i, value(i));
      }
  for (std::int64_t v = S * part; v < m; ++v) stream_store(y + v * W, value(v * W));
}

template <class Arch, class T, class Op>
void unary_loop(const T* x, T* y, std::int64_t n, T p0, T p1) {
  using B = xsimd::batch<T, Arch>;
  constexpr std::int64_t W = B::size;
  std::int64_t i = 0;
  if (n * static_cast<std::int64_t>(sizeof(T)) >= kStreamBytes) {
    const std::int64_t head = elements_to_aligned<B>(y);
    if (head > 0) store_partial(y, Op::apply(load_partial<B>(x, head, T(1)), p0, p1), head);
    const std::int64_t m = (n - head) / W;
    stream_parts<4, B>(y + head, m, [&](std::int64_t j) { return Op::apply(B::load_unaligned(x + head + j), p0, p1); });
    i = head + m * W;
    if (i < n) store_partial(y + i, Op::apply(load_partial<B>(x + i, n - i, T(1)), p0, p1), n - i);
    _mm_sfence();  // streaming stores are weakly ordered: publish them before returning
    return;
  }
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
struct Maximum {
  template <class B> static B apply(const B& a, const B& b) {
    return xsimd::select(xsimd::isnan(a), a, xsimd::max(a, b));
  }
};
struct Minimum {
  template <class B> static B apply(const B& a, const B& b) {
    return xsimd::select(xsimd::isnan(a), a, xsimd::min(a, b));
  }
};
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
  if (n * static_cast<std::int64_t>(sizeof(T)) >= kStreamBytes) {  // see unary_loop
    const std::int64_t head = elements_to_aligned<B>(y);
    if (head > 0) store_partial(y, Op::apply(load_partial<B>(a, head, T(1)), load_partial<B>(b, head, T(1))), head);
    const std::int64_t m = (n - head) / W;
    stream_parts<2, B>(y + head, m, [&](std::int64_t j) {
      return Op::apply(B::load_unaligned(a + head + j), B::load_unaligned(b + head + j));
    });
    i = head + m * W;
    if (i < n)
      store_partial(y + i, Op::apply(load_partial<B>(a + i, n - i, T(1)), load_partial<B>(b + i, n - i, T(1))), n - i);
    _mm_sfence();
    return;
  }
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
// max/min reductions: a NaN anywhere makes the result NaN.
template <class T>
struct MaxOp {
  static constexpr T identity() { return -std::numeric_limits<T>::infinity(); }
  template <class B> static B combine(const B& a, const B& b) {
    return xsimd::select(xsimd::isnan(a), a, xsimd::max(a, b));
  }
  static T scalar(T a, T b) { return (a > b || a != a) ? a : b; }
};
template <class T>
struct MinOp {
  static constexpr T identity() { return std::numeric_limits<T>::infinity(); }
  template <class B> static B combine(const B& a, const B& b) {
    return xsimd::select(xsimd::isnan(a), a, xsimd::min(a, b));
  }
  static T scalar(T a, T b) { return (a < b || a != a) ? a : b; }
};
// The row maximum inside softmax: NaN need not win here, since a NaN in a
// row makes its exp pass, and so the whole row, NaN anyway.
template <class T>
struct RowMaxOp {
  static constexpr T identity() { return -std::numeric_limits<T>::infinity(); }
  template <class B> static B combine(const B& a, const B& b) { return xsimd::max(a, b); }
  static T scalar(T a, T b) { return a > b ? a : b; }
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

// Reductions of S blocks of `len` elements (x, x + len, ...) read in one
// pass: out[s] is block s's result. Each block has two accumulators (even
// and odd vectors) and the same arithmetic for any S.
template <int S, class Arch, class T, template <class> class OpT>
inline void reduce_streams(const T* x, std::int64_t len, T* out) {
  using B = xsimd::batch<T, Arch>;
  using Op = OpT<T>;
  constexpr std::int64_t W = B::size;
  B even[S], odd[S];
  for (int s = 0; s < S; ++s) even[s] = odd[s] = B(Op::identity());
  std::int64_t i = 0;
  for (; i + 2 * W <= len; i += 2 * W) {
#pragma GCC unroll 8
    for (int s = 0; s < S; ++s) {
      even[s] = Op::combine(even[s], B::load_unaligned(x + s * len + i));
      odd[s] = Op::combine(odd[s], B::load_unaligned(x + s * len + i + W));
    }
  }
  for (int s = 0; s < S; ++s) {
    const T* p = x + s * len;
    std::int64_t j = i;
    if (j + W <= len) {
      even[s] = Op::combine(even[s], B::load_unaligned(p + j));
      j += W;
    }
    if (j < len) odd[s] = Op::combine(odd[s], load_partial<B>(p + j, len - j, Op::identity()));
    out[s] = horizontal<B, Op>(Op::combine(even[s], odd[s]));
  }
}

// out[b] = reduction of block b, x's blocks of `len` elements. Four blocks
// at a time: four read streams keep more hardware prefetches in flight than
// one, and a single core's read bandwidth is bound by those. Measured on
// this project's 2-core VM over 40 MB: 17 GB/s one block after another,
// 21-22 GB/s four at a time (six or eight gained nothing more). A block's
// result does not depend on which blocks share its pass, so callers may
// split the blocks between threads anywhere.
template <class Arch, class T, template <class> class OpT>
void reduce_blocks(const T* x, std::int64_t blocks, std::int64_t len, T* out) {
  constexpr int kStreams = 4;
  std::int64_t b = 0;
  for (; b + kStreams <= blocks; b += kStreams) reduce_streams<kStreams, Arch, T, OpT>(x + b * len, len, out + b);
  for (; b < blocks; ++b) reduce_streams<1, Arch, T, OpT>(x + b * len, len, out + b);
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
    acc0 = fmadd(d0, d0, acc0);
    acc1 = fmadd(d1, d1, acc1);
  }
  for (; i + W <= n; i += W) {
    B d = B::load_unaligned(x + i) - c;
    acc0 = fmadd(d, d, acc0);
  }
  if (i < n) {
    B d = load_partial<B>(x + i, n - i, center) - c;
    acc1 = fmadd(d, d, acc1);
  }
  return horizontal<B, SumOp<T>>(acc0 + acc1);
}

// ---- softmax ----
// exp(x) for the x <= 0 of softmax (after the max is subtracted), about 14
// instructions against ~26 for xsimd::exp: no overflow handling, results
// below the smallest normal float flush to 0 (the true values are
// < 1.2e-38), and a degree-5 minimax polynomial on the reduced argument
// (oneDNN's coefficients; within 2 ulp of exp over [-87.3, 0], checked
// exhaustively on every other float). NaN stays NaN. Double keeps xsimd::exp.
template <class A>
inline xsimd::batch<float, A> exp_nonpositive(const xsimd::batch<float, A>& x) {
  using B = xsimd::batch<float, A>;
  using I = xsimd::batch<std::int32_t, A>;
  // Adding 1.5 * 2^23 rounds x * log2(e) to the integer k held in the low
  // mantissa bits of t.
  const B magic(12582912.0f);
  const B t = fmadd(x, B(1.44269504088896341f), magic);
  const B k = t - magic;
  B r = fnmadd(k, B(0.693359375f), x);  // x - k * ln2 in two steps (Cephes)
  r = fnmadd(k, B(-2.12194440e-4f), r);
  B p = fmadd(B(0x1.0f9f9cp-7f), r, B(0x1.573a1ap-5f));
  p = fmadd(p, r, B(0x1.555a80p-3f));
  p = fmadd(p, r, B(0x1.fffdc6p-2f));
  p = fmadd(p, r, B(0x1.fffff6p-1f));
  p = fmadd(p, r, B(1.0f));
  // 2^k: the bits of t are 0x4B400000 + k, so t << 23 is k << 23 (mod 2^32).
  const B scale = xsimd::bitwise_cast<B>((xsimd::bitwise_cast<I>(t) << 23) + I(127 << 23));
  return xsimd::select(x < B(-87.33654f), B(0.0f), p * scale);
}
template <class A>
inline xsimd::batch<double, A> exp_nonpositive(const xsimd::batch<double, A>& x) {
  return xsimd::exp(x);
}

// One row of softmax. `next` (or nullptr) is the row computed after this
// one: its lines are prefetched during the exp pass, which computes from L1
// and would otherwise leave memory idle until the next row's max pass
// stalls on it (measured on 4096x1000 floats, one thread: ~30 % faster).
template <class Arch, class T>
void softmax_row_then(const T* x, T* y, std::int64_t n, const T* next) {
  using B = xsimd::batch<T, Arch>;
  constexpr std::int64_t W = B::size;
  const T m = reduce_loop<Arch, T, RowMaxOp>(x, n);
  const B mb(m);
  B acc(T(0));
  std::int64_t i = 0;
  for (; i + W <= n; i += W) {
    if (next) __builtin_prefetch(next + i);
    B e = exp_nonpositive(B::load_unaligned(x + i) - mb);
    e.store_unaligned(y + i);
    acc += e;
  }
  if (i < n) {
    B e = exp_nonpositive(load_partial<B>(x + i, n - i, -std::numeric_limits<T>::infinity()) - mb);
    store_partial(y + i, e, n - i);
    acc += e;
  }
  const T inv_s = T(1) / horizontal<B, SumOp<T>>(acc);
  const B inv(inv_s);
  for (i = 0; i + W <= n; i += W) (B::load_unaligned(y + i) * inv).store_unaligned(y + i);
  for (; i < n; ++i) y[i] *= inv_s;
}

template <class Arch, class T>
void softmax_row(const T* x, T* y, std::int64_t n) {
  softmax_row_then<Arch, T>(x, y, n, nullptr);
}

// One row of log-softmax; `next` as in softmax_row_then.
template <class Arch, class T>
void log_softmax_row_then(const T* x, T* y, std::int64_t n, const T* next) {
  using B = xsimd::batch<T, Arch>;
  constexpr std::int64_t W = B::size;
  const T m = reduce_loop<Arch, T, RowMaxOp>(x, n);
  const B mb(m);
  B acc(T(0));
  std::int64_t i = 0;
  for (; i + W <= n; i += W) {
    if (next) __builtin_prefetch(next + i);
    acc += exp_nonpositive(B::load_unaligned(x + i) - mb);
  }
  if (i < n) acc += exp_nonpositive(load_partial<B>(x + i, n - i, -std::numeric_limits<T>::infinity()) - mb);
  // y = (x - max) - log(sum): x - max is exact, so the largest logit gets
  // exactly -log(sum) even when |max| is large.
  // __builtin_log, not std::log: no inline library code in ISA-specific units.
  const T log_sum = static_cast<T>(__builtin_log(static_cast<double>(horizontal<B, SumOp<T>>(acc))));
  const B lb(log_sum);
  for (i = 0; i + W <= n; i += W) ((B::load_unaligned(x + i) - mb) - lb).store_unaligned(y + i);
  for (; i < n; ++i) y[i] = (x[i] - m) - log_sum;
}

template <class Arch, class T>
void log_softmax_row(const T* x, T* y, std::int64_t n) {
  log_softmax_row_then<Arch, T>(x, y, n, nullptr);
}

// ---- short-row softmax ----
// Lane permutation with run-time indices, on 32-bit lanes (a double lane is
// two of them): lane i of the result is lane c[i] of v, with c from
// lane_control(). xsimd 8.1 only permutes by compile-time constants.
#if defined(__SSSE3__)
inline __m128 permute32(__m128 v, const std::int32_t* c) {
  return _mm_castsi128_ps(_mm_shuffle_epi8(_mm_castps_si128(v), _mm_load_si128(reinterpret_cast<const __m128i*>(c))));
}
inline __m128d permute32(__m128d v, const std::int32_t* c) { return _mm_castps_pd(permute32(_mm_castpd_ps(v), c)); }
#endif
#if defined(__AVX2__)
inline __m256 permute32(__m256 v, const std::int32_t* c) {
  return _mm256_permutevar8x32_ps(v, _mm256_load_si256(reinterpret_cast<const __m256i*>(c)));
}
inline __m256d permute32(__m256d v, const std::int32_t* c) {
  return _mm256_castps_pd(permute32(_mm256_castpd_ps(v), c));
}
#endif
#if defined(__AVX512F__)
inline __m512 permute32(__m512 v, const std::int32_t* c) { return _mm512_permutexvar_ps(_mm512_load_si512(c), v); }
inline __m512d permute32(__m512d v, const std::int32_t* c) {
  return _mm512_castps_pd(permute32(_mm512_castpd_ps(v), c));
}
#endif

template <class B>
inline B permute_lanes(const B& v, const std::int32_t* c) {
  return B(permute32(static_cast<typename B::register_type>(v), c));
}

// The control word of 32-bit lane `lane` for a register of `bytes` bytes:
// SSE permutes bytes (pshufb), AVX2 and AVX-512 take lane numbers.
inline std::int32_t lane_control(std::int32_t lane, std::int64_t bytes) {
  return bytes == 16 ? lane * 0x04040404 + 0x03020100 : lane;
}

template <unsigned S>
struct XorLanes {
  static constexpr unsigned get(unsigned i, unsigned) { return i ^ S; }
};
template <unsigned S>
struct LaneBitClear {
  static constexpr bool get(unsigned i, unsigned) { return (i & S) == 0; }
};

// The lanes i with (i & S) == 0. On AVX-512, xsimd 8.1 turns a
// batch_bool_constant into a k-mask lane by lane at run time (a quarter of
// the time of softmax on 128x10 floats, which made it 3.6x slower than
// AVX2); there the mask is built from one integer instead.
template <unsigned S, class B>
inline auto lanes_with_bit_clear() {
#if defined(__AVX512F__)
  if constexpr (sizeof(typename B::register_type) == 64) {
    using Mask = typename B::batch_bool_type::register_type;
    unsigned bits = 0;
    for (unsigned i = 0; i < B::size; ++i)
      if ((i & S) == 0) bits |= 1u << i;
    return typename B::batch_bool_type(Mask(bits));
  } else
#endif
    return xsimd::make_batch_bool_constant<B, LaneBitClear<S>>();
}

// One level of a transposing reduction: lanes whose bit S is clear combine
// lanes i and i^S of a, the others those of b.
template <class Op, unsigned S, class B>
inline B merge_level(const B& a, const B& b) {
  using I = xsimd::batch<xsimd::as_unsigned_integer_t<typename B::value_type>, typename B::arch_type>;
  const auto clear = lanes_with_bit_clear<S, B>();
  return Op::combine(xsimd::select(clear, a, b),
                     xsimd::swizzle(xsimd::select(clear, b, a), xsimd::make_batch_constant<I, XorLanes<S>>()));
}
template <class Op, unsigned S, class B>
inline void merge_levels(B* v) {
  if constexpr (S > 0) {
    for (unsigned j = 0; j < S; ++j) v[j] = merge_level<Op, S>(v[j], v[j + S]);
    merge_levels<Op, S / 2>(v);
  }
}
// Lane r of the result is the reduction of all lanes of v[r] (v is
// overwritten). Every row goes through the same tree of pairings, so its
// result does not depend on its position among the W rows.
template <class Op, class B>
inline B transpose_reduce(B* v) {
  merge_levels<Op, B::size / 2>(v);
  return v[0];
}

// Rows shorter than this take the grouped path (softmax_short_rows).
constexpr std::int64_t kShortRow = 32;

template <class T>
struct LaneIndex {
  alignas(64) static constexpr T value[16] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
};

// Op-reduction of one row of n elements: full vectors at p, p + W, ...
// below `last`, and a last vector at p + last whose lanes outside `tail`
// (already counted, or past the row) are replaced by `fill`. K is the number
// of vectors (0: known at run time only).
template <int K, class Op, class B, class T>
inline B reduce_row(const T* p, std::int64_t last, const typename B::batch_bool_type& tail, const B& fill) {
  constexpr std::int64_t W = B::size;
  B acc = xsimd::select(tail, B::load_unaligned(p + last), fill);
  if constexpr (K > 0) {
    for (int j = 0; j < K - 1; ++j) acc = Op::combine(acc, B::load_unaligned(p + j * W));
  } else {
    for (std::int64_t j = 0; j < last; j += W) acc = Op::combine(acc, B::load_unaligned(p + j));
  }
  return acc;
}

// Where the last vector of a row of length n starts and which of its lanes
// are new: rows of at least W end it at the row's end (no read past the row),
// shorter rows start it at the row and read W - n elements past it.
template <class B>
inline std::int64_t row_last_offset(std::int64_t n) {
  return n >= static_cast<std::int64_t>(B::size) ? n - static_cast<std::int64_t>(B::size) : 0;
}
template <class B>
inline typename B::batch_bool_type row_last_lanes(std::int64_t n) {
  using T = typename B::value_type;
  constexpr std::int64_t W = B::size;
  const B lane = B::load_aligned(LaneIndex<T>::value);
  if (n < W) return lane < B(static_cast<T>(n));
  return lane >= B(static_cast<T>((n + W - 1) / W * W - n));  // lanes before it overlap the previous vector
}

// Softmax of `groups` groups of W rows of length n < kShortRow, W the vector
// width, K = ceil(n / W) or 0. A group is exactly n vectors, so the
// elementwise passes run on the packed data with full vectors: per-row
// statistics are reduced into one vector (lane r = row r) and spread back
// over the group's vectors by lane permutations (ctl: n control vectors).
// Rows shorter than W are read W - n elements past their end, so x must be
// readable that far past the last group.
template <class Arch, class T, int K>
void softmax_groups(const T* x, T* y, std::int64_t groups, std::int64_t n, bool log, const std::int32_t* ctl) {
  using B = xsimd::batch<T, Arch>;
  constexpr std::int64_t W = B::size;
  constexpr std::int64_t W32 = W * static_cast<std::int64_t>(sizeof(T)) / 4;  // 32-bit lanes
  constexpr std::int64_t kBlock = 4096, kMaxBlockRows = 512;  // scratch stays in L1/L2
  const std::int64_t gn = W * n;                               // elements of a group
  const std::int64_t last = row_last_offset<B>(n);
  const auto tail = row_last_lanes<B>(n);
  const B neg_inf(-std::numeric_limits<T>::infinity()), zero(T(0));
  const std::int64_t per_block = kBlock / gn < kMaxBlockRows / W ? kBlock / gn : kMaxBlockRows / W;
  alignas(64) T shifted[kBlock];  // x - max, kept for log-softmax only
  alignas(64) T expd[kBlock + W];
  alignas(64) T stat[kMaxBlockRows];
  B v[W];
  for (std::int64_t g0 = 0; g0 < groups; g0 += per_block) {
    const std::int64_t ng = groups - g0 < per_block ? groups - g0 : per_block;
    const T* xb = x + g0 * gn;
    T* yb = y + g0 * gn;
    for (std::int64_t g = 0; g < ng; ++g) {
      for (std::int64_t r = 0; r < W; ++r)
        v[r] = reduce_row<K, RowMaxOp<T>>(xb + g * gn + r * n, last, tail, neg_inf);
      // + 0 turns a -0 maximum into +0, so the pairing order cannot show.
      (transpose_reduce<RowMaxOp<T>>(v) + zero).store_aligned(stat + g * W);
    }
    for (std::int64_t g = 0; g < ng; ++g) {
      const B m = B::load_aligned(stat + g * W);
      const T* xg = xb + g * gn;
      T* eg = expd + g * gn;
      if (log) {
        T* sg = shifted + g * gn;
        for (std::int64_t k = 0; k < n; ++k) {
          const B s = B::load_unaligned(xg + k * W) - permute_lanes(m, ctl + k * W32);
          s.store_aligned(sg + k * W);
          exp_nonpositive(s).store_aligned(eg + k * W);
        }
      } else {
        for (std::int64_t k = 0; k < n; ++k)
          exp_nonpositive(B::load_unaligned(xg + k * W) - permute_lanes(m, ctl + k * W32)).store_aligned(eg + k * W);
      }
    }
    zero.store_aligned(expd + ng * gn);  // read (and masked off) past the last row below
    for (std::int64_t g = 0; g < ng; ++g) {
      for (std::int64_t r = 0; r < W; ++r) v[r] = reduce_row<K, SumOp<T>>(expd + g * gn + r * n, last, tail, zero);
      transpose_reduce<SumOp<T>>(v).store_aligned(stat + g * W);
    }
    if (log) {
      unary_loop<Arch, T, Log>(stat, stat, ng * W, T(0), T(0));
      for (std::int64_t g = 0; g < ng; ++g) {
        const B ls = B::load_aligned(stat + g * W);
        for (std::int64_t k = 0; k < n; ++k)
          (B::load_aligned(shifted + g * gn + k * W) - permute_lanes(ls, ctl + k * W32))
              .store_unaligned(yb + g * gn + k * W);
      }
    } else {
      for (std::int64_t g = 0; g < ng; ++g) {
        const B inv = B(T(1)) / B::load_aligned(stat + g * W);
        for (std::int64_t k = 0; k < n; ++k)
          (B::load_aligned(expd + g * gn + k * W) * permute_lanes(inv, ctl + k * W32))
              .store_unaligned(yb + g * gn + k * W);
      }
    }
  }
}

template <class Arch, class T>
void softmax_groups_any(const T* x, T* y, std::int64_t groups, std::int64_t n, bool log, const std::int32_t* ctl) {
  constexpr std::int64_t W = xsimd::batch<T, Arch>::size;
  switch ((n + W - 1) / W) {
    case 1: return softmax_groups<Arch, T, 1>(x, y, groups, n, log, ctl);
    case 2: return softmax_groups<Arch, T, 2>(x, y, groups, n, log, ctl);
    case 3: return softmax_groups<Arch, T, 3>(x, y, groups, n, log, ctl);
    case 4: return softmax_groups<Arch, T, 4>(x, y, groups, n, log, ctl);
    default: return softmax_groups<Arch, T, 0>(x, y, groups, n, log, ctl);
  }
}

template <class Arch, class T>
void copy_run(const T* x, T* y, std::int64_t n) {
  using B = xsimd::batch<T, Arch>;
  constexpr std::int64_t W = B::size;
  std::int64_t i = 0;
  for (; i + W <= n; i += W) B::load_unaligned(x + i).store_unaligned(y + i);
  for (; i < n; ++i) y[i] = x[i];
}

// Rows shorter than kShortRow. A row-at-a-time kernel would run exp on
// mostly empty vectors and pay horizontal reductions per row; here whole
// groups of W rows go through softmax_groups. The last rows (fewer than W,
// or too close to the end of x for its over-read) are copied to a
// zero-padded buffer and run through the same code, so every row is
// computed the same way wherever the row range is split.
template <class Arch, class T>
void softmax_short_rows(const T* x, T* y, std::int64_t rows, std::int64_t n, bool log) {
  using B = xsimd::batch<T, Arch>;
  constexpr std::int64_t W = B::size;
  constexpr std::int64_t W32 = W * static_cast<std::int64_t>(sizeof(T)) / 4;
  constexpr std::int64_t kPer = W32 / W;  // 32-bit lanes per element
  alignas(64) std::int32_t ctl[kShortRow * W32];
  // Element i = k * W + l of a group (lane l of vector k) is in row i / n.
  for (std::int64_t r = 0; r < W; ++r)
    for (std::int64_t h = 0; h < kPer; ++h) {
      const std::int32_t c = lane_control(static_cast<std::int32_t>(r * kPer + h), W32 * 4);
      for (std::int64_t i = r * n; i < (r + 1) * n; ++i) ctl[i * kPer + h] = c;
    }
  std::int64_t main = rows / W;
  if (main > 0 && n < W && main * W * n + W - n > rows * n) --main;
  if (main > 0) softmax_groups_any<Arch, T>(x, y, main, n, log, ctl);
  const std::int64_t rest = rows - main * W;  // < 2W rows
  if (rest == 0) return;
  const std::int64_t rest_groups = (rest + W - 1) / W;
  alignas(64) T xt[2 * W * kShortRow + W];
  alignas(64) T yt[2 * W * kShortRow];
  for (std::int64_t i = 0; i < rest_groups * W * n + W; i += W) B(T(0)).store_aligned(xt + i);
  copy_run<Arch, T>(x + main * W * n, xt, rest * n);
  softmax_groups_any<Arch, T>(xt, yt, rest_groups, n, log, ctl);
  copy_run<Arch, T>(yt, y + main * W * n, rest * n);
}

// `rows` contiguous rows of length n: long rows one at a time, short ones
// batched (softmax_short_rows).
template <class Arch, class T>
void softmax_rows(const T* x, T* y, std::int64_t rows, std::int64_t n, bool log) {
  if (n == 0 || rows == 0) return;
  if (n < kShortRow) return softmax_short_rows<Arch, T>(x, y, rows, n, log);
  for (std::int64_t r = 0; r < rows; ++r) {
    const T* next = r + 1 < rows ? x + (r + 1) * n : nullptr;
    (log ? log_softmax_row_then<Arch, T> : softmax_row_then<Arch, T>)(x + r * n, y + r * n, n, next);
  }
}

template <class Arch, class T>
void axpy(T* y, T alpha, const T* x, std::int64_t n) {
  using B = xsimd::batch<T, Arch>;
  constexpr std::int64_t W = B::size;
  const B a(alpha);
  std::int64_t i = 0;
  for (; i + W <= n; i += W)
    fmadd(a, B::load_unaligned(x + i), B::load_unaligned(y + i)).store_unaligned(y + i);
  // The tail through the same fused vector operation: a scalar y += alpha*x
  // rounds twice (kernel units do not contract), and a thread split moves
  // elements between the body and the tail.
  if (i < n)
    store_partial(y + i, fmadd(a, load_partial<B>(x + i, n - i, T(0)), load_partial<B>(y + i, n - i, T(0))), n - i);
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
  k.reduce_blocks[static_cast<int>(ReduceOp::sum)] = &reduce_blocks<Arch, T, SumOp>;
  k.reduce_blocks[static_cast<int>(ReduceOp::max)] = &reduce_blocks<Arch, T, MaxOp>;
  k.reduce_blocks[static_cast<int>(ReduceOp::min)] = &reduce_blocks<Arch, T, MinOp>;
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
