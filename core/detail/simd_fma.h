#pragma once
// Internal: fused multiply-add on xsimd batches that is always one rounding.
//
// Why not xsimd::fma: xsimd 8.1 (Debian 12) has no AVX-512 fma; for
// batch<T, avx512f> it falls back to the generic x * y + z, two roundings that
// the compiler may or may not contract into one FMA (GCC's C++ default is
// -ffp-contract=fast), differently in different inlined copies of the same
// kernel. On an AVX-512 machine that made GEMM results depend on the row
// tiling, and so on the thread count. These helpers emit the AVX-512 FMA
// instructions directly and defer to xsimd elsewhere (FMA3 on AVX2, a multiply
// then an add on SSE4.2, which has no FMA).

#include <type_traits>

#include <xsimd/xsimd.hpp>

#if defined(__AVX512F__)
#include <immintrin.h>
#endif

namespace lamina::detail {

/// x * y + z, rounded once where the ISA has FMA.
template <class T, class A>
inline xsimd::batch<T, A> fmadd(const xsimd::batch<T, A>& x, const xsimd::batch<T, A>& y,
                                const xsimd::batch<T, A>& z) {
#if defined(__AVX512F__)
  if constexpr (std::is_base_of_v<xsimd::avx512f, A> && std::is_same_v<T, float>)
    return _mm512_fmadd_ps(x, y, z);
  else if constexpr (std::is_base_of_v<xsimd::avx512f, A> && std::is_same_v<T, double>)
    return _mm512_fmadd_pd(x, y, z);
  else
#endif
    return xsimd::fma(x, y, z);
}

/// z - x * y, rounded once where the ISA has FMA.
template <class T, class A>
inline xsimd::batch<T, A> fnmadd(const xsimd::batch<T, A>& x, const xsimd::batch<T, A>& y,
                                 const xsimd::batch<T, A>& z) {
#if defined(__AVX512F__)
  if constexpr (std::is_base_of_v<xsimd::avx512f, A> && std::is_same_v<T, float>)
    return _mm512_fnmadd_ps(x, y, z);
  else if constexpr (std::is_base_of_v<xsimd::avx512f, A> && std::is_same_v<T, double>)
    return _mm512_fnmadd_pd(x, y, z);
  else
#endif
    return xsimd::fnma(x, y, z);
}

}  // namespace lamina::detail
