#pragma once
/// Raw-pointer GEMM, the engine under matmul, dense layers and convolutions.
///
/// BLIS/GotoBLAS design: B is packed into cache-sized blocks, A is packed or
/// read in place, and a register-blocked micro-kernel (per ISA: SSE4.2,
/// AVX2+FMA, AVX-512, chosen with lamina::current_isa()) computes tiles of C.
/// Parallel (oneTBB, lamina::set_num_threads) over blocks of M and N only; K is
/// never split, so results are bitwise identical for any thread count.
///
/// Example (row-major C[MxN] = A[MxK] * B[KxN]):
///   lamina::gemm<float>(M, N, K, 1.f, A, K, 1, B, N, 1, 0.f, C, N, 1);
/// Aᵀ·B with A stored K x M row-major: pass rs_a = 1, cs_a = M.

#include <cstdint>

namespace lamina {

/// C = alpha * A·B + beta * C for row/column-strided operands (BLIS-style strides, in elements):
/// A(i,k) = A[i*rs_a + k*cs_a], B(k,j) = B[k*rs_b + j*cs_b], C(i,j) = C[i*rs_c + j*cs_c].
/// Transposes are expressed by swapping strides. beta == 0 never reads C (NaN-safe);
/// alpha == 0 or K == 0 never reads A or B. C must not overlap A or B.
/// Strides may be any values (unit strides in one direction are fastest).
template <class T>
void gemm(std::int64_t M, std::int64_t N, std::int64_t K, T alpha, const T* A, std::int64_t rs_a,
          std::int64_t cs_a, const T* B, std::int64_t rs_b, std::int64_t cs_b, T beta, T* C,
          std::int64_t rs_c, std::int64_t cs_c);

extern template void gemm<float>(std::int64_t, std::int64_t, std::int64_t, float, const float*,
                                 std::int64_t, std::int64_t, const float*, std::int64_t,
                                 std::int64_t, float, float*, std::int64_t, std::int64_t);
extern template void gemm<double>(std::int64_t, std::int64_t, std::int64_t, double, const double*,
                                  std::int64_t, std::int64_t, const double*, std::int64_t,
                                  std::int64_t, double, double*, std::int64_t, std::int64_t);

}  // namespace lamina
