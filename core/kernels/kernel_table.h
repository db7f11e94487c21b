#pragma once
// Internal: the function tables of the elementwise, reduction and softmax
// kernels. Each ISA's translation unit (elementwise_<isa>.cpp) fills one
// table per float type; kernels_for<T>() returns the table of the current ISA.
// Plain C arrays only: this header is included by ISA-specific units.

#include <cstdint>

namespace lamina::detail {

enum class UnaryOp : int {
  neg, abs, exp, log, log1p, sqrt, rsqrt, square, tanh, sigmoid, relu,
  leaky_relu, elu, gelu_tanh, gelu_erf, softplus, sign, clip,
  count
};
// Binary ops; the *_backward ops take (grad, saved output).
enum class BinaryOp : int {
  add, sub, mul, div, pow, maximum, minimum,
  relu_backward, sigmoid_backward, tanh_backward,
  count
};
enum class ReduceOp : int { sum, max, min, count };

inline constexpr int kUnaryOpCount = static_cast<int>(UnaryOp::count);
inline constexpr int kBinaryOpCount = static_cast<int>(BinaryOp::count);
inline constexpr int kReduceOpCount = static_cast<int>(ReduceOp::count);
static_assert(kUnaryOpCount == 18 && kBinaryOpCount == 10 && kReduceOpCount == 3,
              "update the op name tables in core/kernels/dispatch.cpp and every ISA table");

template <class T>
struct FloatKernels {
  // y[i] = op(x[i]; p0, p1) for i < n (y may alias x).
  void (*unary[kUnaryOpCount])(const T* x, T* y, std::int64_t n, T p0, T p1);
  // y[i] = op(a[i], b[i]); the _vs form takes a scalar b, the _sv form a scalar a.
  void (*binary[kBinaryOpCount])(const T* a, const T* b, T* y, std::int64_t n);
  void (*binary_vs[kBinaryOpCount])(const T* a, T b, T* y, std::int64_t n);
  void (*binary_sv[kBinaryOpCount])(T a, const T* b, T* y, std::int64_t n);
  // Reduction of a contiguous run to one value (identity for n == 0).
  T (*reduce[kReduceOpCount])(const T* x, std::int64_t n);
  // out[b] = reduction of x[b * len, (b + 1) * len) for b < blocks; a block's
  // result is the same whichever blocks are reduced in the same call.
  void (*reduce_blocks[kReduceOpCount])(const T* x, std::int64_t blocks, std::int64_t len, T* out);
  // acc[i] = op(acc[i], x[i]).
  void (*accumulate[kReduceOpCount])(T* acc, const T* x, std::int64_t n);
  // Sum of (x[i] - center)^2.
  T (*sum_squared_deviation)(const T* x, std::int64_t n, T center);
  // One row of softmax / log-softmax (y may alias x).
  void (*softmax_row)(const T* x, T* y, std::int64_t n);
  void (*log_softmax_row)(const T* x, T* y, std::int64_t n);
  // `rows` contiguous rows of length n; short rows are batched so the
  // exponentials run on full vectors across row boundaries.
  void (*softmax_rows)(const T* x, T* y, std::int64_t rows, std::int64_t n, bool log);
  // y[i] += alpha * x[i].
  void (*axpy)(T* y, T alpha, const T* x, std::int64_t n);
};

// One table per ISA and float type (defined in elementwise_<isa>.cpp).
const FloatKernels<float>* elementwise_f32_sse42();
const FloatKernels<double>* elementwise_f64_sse42();
const FloatKernels<float>* elementwise_f32_avx2();
const FloatKernels<double>* elementwise_f64_avx2();
const FloatKernels<float>* elementwise_f32_avx512();
const FloatKernels<double>* elementwise_f64_avx512();

/// The table of the current ISA (core/isa.h).
template <class T>
const FloatKernels<T>& kernels_for();

}  // namespace lamina::detail
