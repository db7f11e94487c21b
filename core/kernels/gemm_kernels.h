#pragma once
// Internal: the per-ISA GEMM building blocks the ISA-neutral driver (core/gemm.cpp)
// calls through a table of function pointers. Each table is produced by one
// translation unit compiled for that ISA (gemm_sse42.cpp, gemm_avx2.cpp,
// gemm_avx512.cpp) from the templates in gemm_impl.h.
//
// Conventions: strides in elements; A(i,k) = a[i*rs_a + k*cs_a]; "panels" of
// packed B hold `nr` columns per k (k-major, zero-padded to nr), packed A holds
// `mr` rows per k. Every element of C is computed by the same sequence of
// operations (an FMA chain over k in order, then alpha/beta applied by the same
// vector code), whatever tile or thread computes it, so results do not depend
// on the blocking of M and N or on the thread count.

#include <cstdint>

namespace lamina::detail {

template <class T>
struct GemmKernels {
  int mr;         ///< rows of the register block
  int nr;         ///< columns of the register block (a multiple of simd)
  int simd;       ///< elements per vector
  int mc, kc, nc; ///< cache blocking: A block mc x kc (L2), B block kc x nc (L3), B panel kc x nr (L1)
  /// Longer K blocks when B is packed and kc_narrow of its rows (all N
  /// columns) stay within 2 MiB, or 0 to always use kc: see gemm.cpp's plan.
  int kc_narrow;
  /// K blocks of kc_wide (and A blocks of at most mc_wide rows) when C is
  /// larger than L2, or 0 to keep the blocks above: see gemm.cpp's plan.
  int kc_wide, mc_wide;
  /// Read aligned B in place (no packing) for M up to this (B up to 6 MiB),
  /// and for any M when B is at most 1 MiB; 0: neither. See gemm.cpp's
  /// read_b_in_place.
  int b_in_place_m;

  /// C[0:m, 0:n] = alpha * A[0:m, 0:k] * B[0:k, 0:n] + beta * C (beta == 0: C not
  /// read) for one B panel, n <= nr, and any m: the micro-kernel down all of
  /// the panel's row tiles in one call. A is either packed (a_packed: panels of
  /// mr rows, k*mr elements apart, rs 1 and cs mr within one) or read in place
  /// with (rs_a, cs_a). B rows are b + k*ldb with unit stride along n; at least
  /// roundup(n, simd) readable elements per row (packed panels are padded).
  /// next_b: the panel the next call will read (k rows of nr elements,
  /// next_ldb apart), or nullptr; the row tiles prefetch it a little at a
  /// time, so that it arrives from L3 or memory while they compute rather
  /// than all at once in the next call's first tile.
  void (*panel)(std::int64_t m, int n, std::int64_t k, const T* a, std::int64_t rs_a, std::int64_t cs_a,
                bool a_packed, const T* b, std::int64_t ldb, T* c, std::int64_t rs_c, std::int64_t cs_c,
                T alpha, T beta, const T* next_b, std::int64_t next_ldb);

  /// Packs B[0:k, 0:n] into ceil(n/nr) panels of k*nr elements (dst 64-byte aligned).
  void (*pack_b)(std::int64_t k, std::int64_t n, const T* b, std::int64_t rs_b,
                 std::int64_t cs_b, T* dst);
  /// Packs A[0:m, 0:k] into ceil(m/mr) panels of k*mr elements.
  void (*pack_a)(std::int64_t m, std::int64_t k, const T* a, std::int64_t rs_a,
                 std::int64_t cs_a, T* dst);

  /// y[i] = alpha * sum_k A[i*lda + k] * x[k] + beta * y[i*incy] for i in [0, m)
  /// (rows of A and x contiguous). beta == 0: y not read.
  void (*gemv_dot)(std::int64_t m, std::int64_t k, T alpha, const T* a, std::int64_t lda,
                   const T* x, T beta, T* y, std::int64_t incy);
  /// y[0:n] = alpha * sum_k x[k*incx] * A[k*lda + 0:n] + beta * y[0:n] (y and rows of A
  /// contiguous). beta == 0: y not read.
  void (*gemv_axpy)(std::int64_t n, std::int64_t k, T alpha, const T* a, std::int64_t lda,
                    const T* x, std::int64_t incx, T beta, T* y);

  /// Another table for products with K <= short_k_max, N a multiple of its
  /// nr, C stored by rows and at least four of its row tiles, run on one
  /// thread (same arithmetic per element, other tiles), or nullptr. See
  /// gemm.cpp.
  const GemmKernels* short_k = nullptr;
  int short_k_max = 0;
};

const GemmKernels<float>* gemm_kernels_f32_sse42();
const GemmKernels<double>* gemm_kernels_f64_sse42();
const GemmKernels<float>* gemm_kernels_f32_avx2();
const GemmKernels<double>* gemm_kernels_f64_avx2();
const GemmKernels<float>* gemm_kernels_f32_avx512();
const GemmKernels<double>* gemm_kernels_f64_avx512();

}  // namespace lamina::detail
