#pragma once
// Internal: GEMM micro-kernels, packing and GEMV kernels, written once over
// xsimd::batch<T, Arch> and instantiated by gemm_{sse42,avx2,avx512}.cpp, each
// compiled with its own -m flags. Everything lives in an anonymous namespace
// (internal linkage) so the differently-compiled copies never mix at link time,
// and uses raw pointers only (no STL templates that could be merged across TUs).
//
// Micro-kernel: an MR x (NV*W) block of C accumulated in NV*MR vector registers;
// per k, NV vectors of a B row are loaded and each of the MR A values is
// broadcast and FMA'd. Variants for every row count 1..MR and vector count
// 1..NV handle fringes without padding work in M. Every C element goes through
// the same operations (FMA chain over k in order; then r = alpha*acc, or
// fma(beta, c, alpha*acc)) in every variant and in the fringe store path, which
// is what makes results independent of the tiling (and thus of threads).

#include <cstdint>

#include <xsimd/xsimd.hpp>

#include "lamina/core/detail/simd_fma.h"

#if defined(__AVX__) || defined(__SSE2__)
#include <immintrin.h>
#endif

namespace lamina::detail {
namespace {

using i64 = std::int64_t;

template <class T, class Arch>
using Vec = xsimd::batch<T, Arch>;

// ---------------------------------------------------------------------------
// Transposes: dst[q*ldd + r] = src[r*lds + q] for r < L rows (rows >= nrows
// read as zero), q < L, L = 8 floats or 4 doubles with AVX. Each dst row gets
// exactly L stored elements, written in ascending q.

#if defined(__AVX__)
/// r[0..7] (rows) -> r[0..7] (columns), in registers.
inline void transpose_8x8(__m256* r) {
  const __m256 t0 = _mm256_unpacklo_ps(r[0], r[1]), t1 = _mm256_unpackhi_ps(r[0], r[1]);
  const __m256 t2 = _mm256_unpacklo_ps(r[2], r[3]), t3 = _mm256_unpackhi_ps(r[2], r[3]);
  const __m256 t4 = _mm256_unpacklo_ps(r[4], r[5]), t5 = _mm256_unpackhi_ps(r[4], r[5]);
  const __m256 t6 = _mm256_unpacklo_ps(r[6], r[7]), t7 = _mm256_unpackhi_ps(r[6], r[7]);
  const __m256 u0 = _mm256_shuffle_ps(t0, t2, 0x44), u1 = _mm256_shuffle_ps(t0, t2, 0xEE);
  const __m256 u2 = _mm256_shuffle_ps(t1, t3, 0x44), u3 = _mm256_shuffle_ps(t1, t3, 0xEE);
  const __m256 u4 = _mm256_shuffle_ps(t4, t6, 0x44), u5 = _mm256_shuffle_ps(t4, t6, 0xEE);
  const __m256 u6 = _mm256_shuffle_ps(t5, t7, 0x44), u7 = _mm256_shuffle_ps(t5, t7, 0xEE);
  r[0] = _mm256_permute2f128_ps(u0, u4, 0x20);
  r[1] = _mm256_permute2f128_ps(u1, u5, 0x20);
  r[2] = _mm256_permute2f128_ps(u2, u6, 0x20);
  r[3] = _mm256_permute2f128_ps(u3, u7, 0x20);
  r[4] = _mm256_permute2f128_ps(u0, u4, 0x31);
  r[5] = _mm256_permute2f128_ps(u1, u5, 0x31);
  r[6] = _mm256_permute2f128_ps(u2, u6, 0x31);
  r[7] = _mm256_permute2f128_ps(u3, u7, 0x31);
}
inline void transpose_block(const float* src, i64 lds, int nrows, float* dst, i64 ldd) {
  __m256 r[8];
  for (int i = 0; i < 8; ++i)
    r[i] = i < nrows ? _mm256_loadu_ps(src + i * lds) : _mm256_setzero_ps();
  transpose_8x8(r);
  for (int q = 0; q < 8; ++q) _mm256_storeu_ps(dst + q * ldd, r[q]);
}
inline void transpose_block(const double* src, i64 lds, int nrows, double* dst, i64 ldd) {
  __m256d r[4];
  for (int i = 0; i < 4; ++i)
    r[i] = i < nrows ? _mm256_loadu_pd(src + i * lds) : _mm256_setzero_pd();
  __m256d t0 = _mm256_unpacklo_pd(r[0], r[1]), t1 = _mm256_unpackhi_pd(r[0], r[1]);
  __m256d t2 = _mm256_unpacklo_pd(r[2], r[3]), t3 = _mm256_unpackhi_pd(r[2], r[3]);
  _mm256_storeu_pd(dst + 0 * ldd, _mm256_permute2f128_pd(t0, t2, 0x20));
  _mm256_storeu_pd(dst + 1 * ldd, _mm256_permute2f128_pd(t1, t3, 0x20));
  _mm256_storeu_pd(dst + 2 * ldd, _mm256_permute2f128_pd(t0, t2, 0x31));
  _mm256_storeu_pd(dst + 3 * ldd, _mm256_permute2f128_pd(t1, t3, 0x31));
}
template <class T>
constexpr int kTransposeL = 32 / sizeof(T);
#elif defined(__SSE2__)
inline void transpose_block(const float* src, i64 lds, int nrows, float* dst, i64 ldd) {
  __m128 r[4];
  for (int i = 0; i < 4; ++i) r[i] = i < nrows ? _mm_loadu_ps(src + i * lds) : _mm_setzero_ps();
  _MM_TRANSPOSE4_PS(r[0], r[1], r[2], r[3]);
  for (int q = 0; q < 4; ++q) _mm_storeu_ps(dst + q * ldd, r[q]);
}
inline void transpose_block(const double* src, i64 lds, int nrows, double* dst, i64 ldd) {
  __m128d r0 = _mm_loadu_pd(src), r1 = nrows > 1 ? _mm_loadu_pd(src + lds) : _mm_setzero_pd();
  _mm_storeu_pd(dst, _mm_unpacklo_pd(r0, r1));
  _mm_storeu_pd(dst + ldd, _mm_unpackhi_pd(r0, r1));
}
template <class T>
constexpr int kTransposeL = 16 / sizeof(T);
#endif

#if defined(__AVX2__)
/// Stores the first M (1..8) floats of x at p with plain stores (16-, 8- and
/// 4-byte pieces): no masked store, nothing written past p + M.
template <int M>
inline void store_first(float* p, __m256 x) {
  if constexpr (M == 8) {
    _mm256_storeu_ps(p, x);
  } else {
    __m128 q = _mm256_castps256_ps128(x);
    if constexpr (M >= 4) {
      _mm_storeu_ps(p, q);
      q = _mm256_extractf128_ps(x, 1);
      p += 4;
    }
    constexpr int rest = M % 4;
    if constexpr (rest >= 2) _mm_storel_pi(reinterpret_cast<__m64*>(p), q);
    if constexpr (rest == 1) _mm_store_ss(p, q);
    if constexpr (rest == 3) _mm_store_ss(p + 2, _mm_movehl_ps(q, q));
  }
}
#endif

#if defined(__AVX2__)
/// Column store of a C tile: r holds ROWS (<= 8) rows of C, lanes = columns j0 ..
/// j0 + 7; each of those below n is stored as ROWS contiguous floats at
/// c + j * cs_c, after r is transposed in registers. beta != 0 adds beta * C
/// with one FMA per lane, as every other store path does.
template <int ROWS>
inline void store_columns_8(__m256 (&r)[8], int j0, int n, float* c, i64 cs_c, float beta) {
  transpose_8x8(r);
  const __m256i rows = _mm256_cmpgt_epi32(_mm256_set1_epi32(ROWS), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
  const __m256 vb = _mm256_set1_ps(beta);
  for (int l = 0; l < 8 && j0 + l < n; ++l) {
    float* cp = c + (j0 + l) * cs_c;
    __m256 x = r[l];
    if (beta != 0.0f) x = _mm256_fmadd_ps(vb, _mm256_maskload_ps(cp, rows), x);
    store_first<ROWS>(cp, x);
  }
}
#endif

#if defined(__AVX512F__)
/// Half h (0: lanes 0-7, 1: lanes 8-15) of v.
inline __m256 half_of(__m512 v, int h) {
  // __builtin_shufflevector (GCC 12, clang) rather than the extract
  // intrinsics, whose undefined pass-through operand GCC 12 reports as
  // "may be used uninitialized" wherever they are inlined.
  const __v16sf x = reinterpret_cast<__v16sf>(v);
  if (h == 0) return reinterpret_cast<__m256>(__builtin_shufflevector(x, x, 0, 1, 2, 3, 4, 5, 6, 7));
  return reinterpret_cast<__m256>(__builtin_shufflevector(x, x, 8, 9, 10, 11, 12, 13, 14, 15));
}
#endif

// ---------------------------------------------------------------------------
// Micro-kernel variants.

/// The store of tile_variant's accumulators when C's tile is not NV full
/// vectors of contiguous rows: the same vector arithmetic, then plain or
/// scalar stores of the n valid columns.
template <class T, class Arch, int M, int NV>
inline void store_tile_fringe(const Vec<T, Arch> (&acc)[M][NV], int n, T* c, i64 rs_c, i64 cs_c, T alpha,
                              T beta) {
  using V = Vec<T, Arch>;
  constexpr int W = static_cast<int>(V::size);
  const V va(alpha), vb(beta);
  const bool scale = alpha != T(1);
#if defined(__AVX2__)
  if constexpr (sizeof(T) == 4 && W == 8 && M <= 8) {
    if (rs_c == 1) {
      // C tile stored by columns (the Cᵀ = Bᵀ·Aᵀ orientation): column j is M
      // contiguous floats at c + j * cs_c. Transpose each block of 8 columns
      // in registers and write a column in at most three plain stores (and
      // one masked load when beta != 0) instead of M scalar stores through
      // the buffer below; same arithmetic, so the same bits.
#pragma GCC unroll 8
      for (int v = 0; v < NV; ++v) {
        __m256 r[8];
#pragma GCC unroll 8
        for (int i = 0; i < 8; ++i) r[i] = i < M ? __m256(scale ? acc[i][v] * va : acc[i][v]) : _mm256_setzero_ps();
        store_columns_8<M>(r, v * 8, n, c, cs_c, beta);
      }
      return;
    }
  }
#endif
#if defined(__AVX512F__)
  if constexpr (sizeof(T) == 4 && W == 16 && M <= 16) {
    if (rs_c == 1) {
      // The AVX2 path above for 16-lane vectors: each 8-column half of the
      // (up to 16) rows goes through 8x8 transposes, in groups of 8 rows.
      // Through the buffer below, the Cᵀ orientation of 128x10x128
      // (gemm/fwd3) ran at 59 GFLOP/s against AVX2's 80.
      constexpr int R0 = M < 8 ? M : 8;
#pragma GCC unroll 8
      for (int v = 0; v < NV; ++v) {
        __m512 s[M];
#pragma GCC unroll 16
        for (int i = 0; i < M; ++i) s[i] = scale ? acc[i][v] * va : acc[i][v];
        for (int h = 0; h < 2 && v * W + h * 8 < n; ++h) {
          __m256 r[8];
#pragma GCC unroll 8
          for (int i = 0; i < R0; ++i) r[i] = half_of(s[i], h);
#pragma GCC unroll 8
          for (int i = R0; i < 8; ++i) r[i] = _mm256_setzero_ps();
          store_columns_8<R0>(r, v * W + h * 8, n, c, cs_c, beta);
          if constexpr (M > 8) {
#pragma GCC unroll 8
            for (int i = 0; i < M - 8; ++i) r[i] = half_of(s[8 + i], h);
#pragma GCC unroll 8
            for (int i = M - 8; i < 8; ++i) r[i] = _mm256_setzero_ps();
            store_columns_8<M - 8>(r, v * W + h * 8, n, c + 8, cs_c, beta);
          }
        }
      }
      return;
    }
  }
#endif
  // Fringe or non-unit column stride: go through an aligned buffer with the
  // very same vector arithmetic.
  alignas(64) T buf[M][NV * W];
  for (int i = 0; i < M; ++i) {
    for (int j = 0; j < NV * W; ++j)
      buf[i][j] = (beta != T(0) && j < n) ? c[i * rs_c + j * cs_c] : T(0);
#pragma GCC unroll 8
    for (int v = 0; v < NV; ++v) {
      V r = scale ? acc[i][v] * va : acc[i][v];
      if (beta != T(0)) r = fmadd(vb, V::load_aligned(&buf[i][v * W]), r);
      r.store_aligned(&buf[i][v * W]);
    }
    for (int j = 0; j < n; ++j) c[i * rs_c + j * cs_c] = buf[i][j];
  }
}

/// STORE: kAnyStore handles every n and C stride; kRowStore only n == NV*W
/// with cs_c == 1 (the common full tile), which leaves the compiler no
/// fringe code to keep registers for.
enum TileStore { kAnyStore, kRowStore };

/// The M x (NV*W) tile, m == M rows exactly, n <= NV*W columns.
/// PACKED_MR > 0: A is packed with rows stride 1 and k stride PACKED_MR.
/// AHEAD: also prefetches `ahead_rows` rows of `ahead_row_lines` cache lines,
/// `ahead_stride` bytes apart from `ahead` on, a line at a time spread evenly
/// over the k loop (see panel's next_b).
template <class T, class Arch, int M, int NV, int PACKED_MR, int STORE, bool AHEAD>
[[gnu::always_inline]] inline void tile_kernel(int n, i64 k, const T* a, i64 rs_a, i64 cs_a, const T* b, i64 ldb,
                                               T* c, i64 rs_c, i64 cs_c, T alpha, T beta, const char* ahead,
                                               i64 ahead_stride, i64 ahead_rows, int ahead_row_lines) {
  using V = Vec<T, Arch>;
  constexpr int W = static_cast<int>(V::size);
  if constexpr (PACKED_MR > 0) {
    rs_a = 1;
    cs_a = PACKED_MR;
  }
  V acc[M][NV];
#pragma GCC unroll 32
  for (int i = 0; i < M; ++i)
#pragma GCC unroll 8
    for (int v = 0; v < NV; ++v) acc[i][v] = V(T(0));

  // Bring the C tile towards L1 while the k loop runs (its rows are far apart
  // in large matrices, and the stores at the end would otherwise stall).
  if (cs_c == 1) {
#pragma GCC unroll 32
    for (int i = 0; i < M; ++i) {
      __builtin_prefetch(c + i * rs_c, 1);
      __builtin_prefetch(c + i * rs_c + NV * W - 1, 1);
    }
  }
  const T* ap = a;
  const T* bp = b;
  auto step = [&]() __attribute__((always_inline)) {
    V bv[NV];
#pragma GCC unroll 8
    for (int v = 0; v < NV; ++v) bv[v] = V::load_unaligned(bp + v * W);
#pragma GCC unroll 32
    for (int i = 0; i < M; ++i) {
      const V ai(ap[i * rs_a]);
#pragma GCC unroll 8
      for (int v = 0; v < NV; ++v) acc[i][v] = fmadd(ai, bv[v], acc[i][v]);
    }
    ap += cs_a;
    bp += ldb;
  };
  if constexpr (AHEAD) {
    // One line every `every` k steps. Locality 3 (prefetcht0) measured
    // ahead of 2 and 1 on Zen 4 (2048^3: 105.5 GFLOP/s median against
    // 102.2 with prefetcht1 and 101.1 without).
    i64 left = ahead_rows * ahead_row_lines;
    const i64 every = left > 0 && k / left > 0 ? k / left : 1;
    int line = 0;
    for (i64 p0 = 0; p0 < k; p0 += every) {
      if (left > 0) {
        __builtin_prefetch(ahead + line * 64, 0, 3);
        if (++line == ahead_row_lines) {
          line = 0;
          ahead += ahead_stride;
        }
        --left;
      }
      const i64 end = p0 + every < k ? p0 + every : k;
#pragma GCC unroll 2
      for (i64 p = p0; p < end; ++p) step();
    }
  } else {
#pragma GCC unroll 2
    for (i64 p = 0; p < k; ++p) step();
  }

  const V va(alpha), vb(beta);
  const bool scale = alpha != T(1);
  if (STORE == kRowStore || (n == NV * W && cs_c == 1)) {
#pragma GCC unroll 32
    for (int i = 0; i < M; ++i) {
      T* cp = c + i * rs_c;
#pragma GCC unroll 8
      for (int v = 0; v < NV; ++v) {
        V r = scale ? acc[i][v] * va : acc[i][v];
        if (beta != T(0)) r = fmadd(vb, V::load_unaligned(cp + v * W), r);
        r.store_unaligned(cp + v * W);
      }
    }
    return;
  }
  if constexpr (STORE == kAnyStore) store_tile_fringe<T, Arch, M, NV>(acc, n, c, rs_c, cs_c, alpha, beta);
}

/// One tile, no prefetch ahead: the fringe tiles' table entries.
template <class T, class Arch, int M, int NV, int PACKED_MR>
void tile_variant(int n, i64 k, const T* a, i64 rs_a, i64 cs_a, const T* b, i64 ldb, T* c, i64 rs_c, i64 cs_c,
                  T alpha, T beta) {
  tile_kernel<T, Arch, M, NV, PACKED_MR, kAnyStore, false>(n, k, a, rs_a, cs_a, b, ldb, c, rs_c, cs_c, alpha, beta,
                                                           nullptr, 0, 0, 0);
}

template <class T>
using TileFn = void (*)(int, i64, const T*, i64, i64, const T*, i64, T*, i64, i64, T, T);

/// Table of variants indexed [packed][rows-1][vectors-1].
template <class T, class Arch, int MR, int NV>
struct TileTable {
  TileFn<T> fn[2][MR][NV];
  constexpr TileTable() : fn{} { fill<0>(); }
  template <int I>
  constexpr void fill() {
    if constexpr (I < MR * NV) {
      constexpr int m = I / NV + 1, v = I % NV + 1;
      fn[0][m - 1][v - 1] = &tile_variant<T, Arch, m, v, 0>;
      fn[1][m - 1][v - 1] = &tile_variant<T, Arch, m, v, MR>;
      fill<I + 1>();
    }
  }
};

template <class T, class Arch, int MR, int NV>
constexpr TileTable<T, Arch, MR, NV> kTileTable{};

/// `tiles` MR-row tiles down one B panel (A and C advanced by a_step and
/// c_step per tile), through one variant called directly: the loop keeps
/// its invariants in registers and pays no call per tile. AHEAD: the tiles
/// share the prefetch of `ahead_rows` rows of `ahead_row_lines` lines,
/// `ahead_stride` bytes apart from `ahead` on.
template <class T, class Arch, int MR, int NV, int PACKED_MR, int STORE, bool AHEAD = false>
void full_tiles(i64 tiles, int n, i64 k, const T* a, i64 a_step, i64 rs_a, i64 cs_a, const T* b, i64 ldb, T* c,
                i64 c_step, i64 rs_c, i64 cs_c, T alpha, T beta, const char* ahead, i64 ahead_stride,
                i64 ahead_rows, int ahead_row_lines) {
  const i64 per_tile = AHEAD ? (ahead_rows + tiles - 1) / tiles : 0;
  for (i64 t = 0; t < tiles; ++t) {
    const i64 left = ahead_rows - t * per_tile;
    const i64 rows = !AHEAD || left <= 0 ? 0 : left < per_tile ? left : per_tile;
    tile_kernel<T, Arch, MR, NV, PACKED_MR, STORE, AHEAD>(n, k, a + t * a_step, rs_a, cs_a, b, ldb, c + t * c_step,
                                                          rs_c, cs_c, alpha, beta,
                                                          ahead + t * per_tile * ahead_stride, ahead_stride, rows,
                                                          ahead_row_lines);
  }
}

template <class T>
using FullTilesFn = void (*)(i64, int, i64, const T*, i64, i64, i64, const T*, i64, T*, i64, i64, i64, T, T,
                             const char*, i64, i64, int);

/// full_tiles instances indexed [packed][vectors-1] (any store) and
/// [packed] (full-width rows of C), and [packed] for the latter with a
/// prefetch ahead.
template <class T, class Arch, int MR, int NV>
struct FullTilesTable {
  FullTilesFn<T> any[2][NV];
  FullTilesFn<T> rows[2];
  FullTilesFn<T> rows_ahead[2];
  constexpr FullTilesTable() : any{}, rows{}, rows_ahead{} {
    rows[0] = &full_tiles<T, Arch, MR, NV, 0, kRowStore>;
    rows[1] = &full_tiles<T, Arch, MR, NV, MR, kRowStore>;
    rows_ahead[0] = &full_tiles<T, Arch, MR, NV, 0, kRowStore, true>;
    rows_ahead[1] = &full_tiles<T, Arch, MR, NV, MR, kRowStore, true>;
    fill<1>();
  }
  template <int V>
  constexpr void fill() {
    if constexpr (V <= NV) {
      any[0][V - 1] = &full_tiles<T, Arch, MR, V, 0, kAnyStore>;
      any[1][V - 1] = &full_tiles<T, Arch, MR, V, MR, kAnyStore>;
      fill<V + 1>();
    }
  }
};

template <class T, class Arch, int MR, int NV>
constexpr FullTilesTable<T, Arch, MR, NV> kFullTilesTable{};

/// C[0:m, 0:n] for one B panel (n <= NV*W) and m rows of A: packed A in
/// panels of MR rows (k*MR elements each; the last panel holds the m % MR
/// remaining rows), or A in place, where a last remainder of between MR and
/// 2*MR rows is split into two near-equal tiles (few rows leave too few
/// accumulators to hide the FMA latency). next_b: a panel of k rows of NR
/// elements, next_ldb apart, to prefetch while the full tiles run (for
/// full-width rows of C only), or nullptr.
template <class T, class Arch, int MR, int NV>
void panel(i64 m, int n, i64 k, const T* a, i64 rs_a, i64 cs_a, bool a_packed, const T* b, i64 ldb, T* c,
           i64 rs_c, i64 cs_c, T alpha, T beta, const T* next_b, i64 next_ldb) {
  constexpr int W = static_cast<int>(Vec<T, Arch>::size);
  const int nv = (n + W - 1) / W;
  i64 full = m / MR;
  if (!a_packed && full > 0 && m % MR != 0) --full;
  const i64 a_step = a_packed ? k * MR : MR * rs_a, c_step = MR * rs_c;
  const int packed = a_packed ? 1 : 0;
  if (full > 0) {
    const auto& table = kFullTilesTable<T, Arch, MR, NV>;
    const bool rows = n == NV * W && cs_c == 1;
    const bool ahead = next_b != nullptr && rows;
    const FullTilesFn<T> fn = ahead ? table.rows_ahead[packed] : rows ? table.rows[packed] : table.any[packed][nv - 1];
    // The lines a row of the next panel spans: all rows start at the same
    // offset in their line when the stride is a whole number of lines.
    constexpr int kRowBytes = NV * W * static_cast<int>(sizeof(T));
    const i64 stride = next_ldb * static_cast<i64>(sizeof(T));
    // The first row's line start is computed as an integer: it may lie
    // before the operand, which prefetching tolerates and pointer
    // arithmetic does not.
    const std::uintptr_t first = reinterpret_cast<std::uintptr_t>(next_b);
    const int offset = static_cast<int>(first % 64);
    const int row_lines = stride % 64 == 0 ? (offset + kRowBytes + 63) / 64 : (kRowBytes + 63) / 64 + 1;
    fn(full, n, k, a, a_step, rs_a, cs_a, b, ldb, c, c_step, rs_c, cs_c, alpha, beta,
       reinterpret_cast<const char*>(first - offset), stride, ahead ? k : 0, row_lines);
  }
  i64 i = full * MR;
  a += full * a_step;
  c += full * c_step;
  while (i < m) {
    const i64 rem = m - i;
    const int mm = static_cast<int>(rem <= MR ? rem : (rem + 1) / 2);
    kTileTable<T, Arch, MR, NV>.fn[packed][mm - 1][nv - 1](n, k, a, rs_a, cs_a, b, ldb, c, rs_c, cs_c, alpha, beta);
    i += mm;
    a += a_packed ? a_step : mm * rs_a;
    c += mm * rs_c;
  }
}

// ---------------------------------------------------------------------------
// Packing.

/// B[0:k, 0:n] -> panels of NR columns, dst[panel*k*NR + p*NR + j], zero padded.
template <class T, class Arch, int NR>
void pack_b(i64 k, i64 n, const T* b, i64 rs, i64 cs, T* dst) {
  using V = Vec<T, Arch>;
  constexpr int W = static_cast<int>(V::size);
  i64 j_first = 0;
  if (cs == 1) {
    // Full panels in row order: each row of B is read once, front to back
    // (the hardware prefetchers follow it), and lands as whole NR-element
    // rows in the panels. Panel by panel, B would be read in columns of NR
    // with a stride of a whole row per element row.
    const i64 full = n / NR * NR;
    for (i64 p = 0; p < k; ++p) {
      const T* row = b + p * rs;
      T* d = dst + p * NR;
      for (i64 j0 = 0; j0 < full; j0 += NR, d += k * NR) {
#pragma GCC unroll 8
        for (int v = 0; v < NR / W; ++v) V::load_unaligned(row + j0 + v * W).store_aligned(d + v * W);
      }
    }
    j_first = full;
    dst += (full / NR) * k * NR;
  }
  for (i64 j0 = j_first; j0 < n; j0 += NR, dst += k * NR) {
    const int nn = static_cast<int>(n - j0 < NR ? n - j0 : NR);
    const T* bp = b + j0 * cs;
    i64 p0 = 0;
#if defined(__AVX__) || defined(__SSE2__)
    constexpr int L = kTransposeL<T>;
    if (rs == 1 && NR % L == 0) {
      for (; p0 + L <= k; p0 += L)
        for (int g = 0; g < NR / L; ++g) {
          const int rows = nn - g * L;
          if (rows > 0)
            transpose_block(bp + g * L * cs + p0, cs, rows < L ? rows : L, dst + p0 * NR + g * L, NR);
          else
            for (int q = 0; q < L; ++q)
              for (int r = 0; r < L; ++r) dst[(p0 + q) * NR + g * L + r] = T(0);
        }
    }
#endif
    for (i64 p = p0; p < k; ++p) {
      for (int j = 0; j < nn; ++j) dst[p * NR + j] = bp[p * rs + j * cs];
      for (int j = nn; j < NR; ++j) dst[p * NR + j] = T(0);
    }
  }
}

/// A[0:m, 0:k] -> panels of MR rows, dst[panel*k*MR + p*MR + i]. Rows past m in
/// the last panel are left unspecified (the variant for m rows never reads them).
/// May write up to kTransposeL elements past the end of the packed data.
template <class T, class Arch, int MR>
void pack_a(i64 m, i64 k, const T* a, i64 rs, i64 cs, T* dst) {
  for (i64 i0 = 0; i0 < m; i0 += MR, dst += k * MR) {
    const int mm = static_cast<int>(m - i0 < MR ? m - i0 : MR);
    const T* ap = a + i0 * rs;
    if (rs == 1) {
      for (i64 p = 0; p < k; ++p)
        for (int i = 0; i < mm; ++i) dst[p * MR + i] = ap[p * cs + i];
      continue;
    }
    i64 p0 = 0;
#if defined(__AVX__) || defined(__SSE2__)
    constexpr int L = kTransposeL<T>;
    if (cs == 1) {
      // Groups of L rows, last group first: its overrun past MR lands in the
      // next k row's first elements, which the earlier groups then overwrite.
      constexpr int G = (MR + L - 1) / L;
      for (; p0 + L <= k; p0 += L)
        for (int g = G - 1; g >= 0; --g) {
          const int rows = mm - g * L;
          if (rows > 0) transpose_block(ap + g * L * rs + p0, rs, rows < L ? rows : L, dst + p0 * MR + g * L, MR);
        }
    }
#endif
    for (i64 p = p0; p < k; ++p)
      for (int i = 0; i < mm; ++i) dst[p * MR + i] = ap[i * rs + p * cs];
  }
}

// ---------------------------------------------------------------------------
// GEMV.

template <class T, class Arch, int R>
inline void gemv_dot_rows(i64 k, T alpha, const T* a, i64 lda, const T* x, T beta, T* y, i64 incy) {
  using V = Vec<T, Arch>;
  constexpr int W = static_cast<int>(V::size);
  V acc[R][2];
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r) acc[r][0] = acc[r][1] = V(T(0));
  i64 p = 0;
  for (; p + 2 * W <= k; p += 2 * W) {
    const V x0 = V::load_unaligned(x + p), x1 = V::load_unaligned(x + p + W);
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) {
      acc[r][0] = fmadd(V::load_unaligned(a + r * lda + p), x0, acc[r][0]);
      acc[r][1] = fmadd(V::load_unaligned(a + r * lda + p + W), x1, acc[r][1]);
    }
  }
  if (p + W <= k) {
    const V x0 = V::load_unaligned(x + p);
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) acc[r][0] = fmadd(V::load_unaligned(a + r * lda + p), x0, acc[r][0]);
    p += W;
  }
  for (int r = 0; r < R; ++r) {
    alignas(64) T lanes[W];
    (acc[r][0] + acc[r][1]).store_aligned(lanes);
    T s = lanes[0];
    for (int q = 1; q < W; ++q) s += lanes[q];
    for (i64 q = p; q < k; ++q) s += a[r * lda + q] * x[q];
    s *= alpha;
    y[r * incy] = beta != T(0) ? s + beta * y[r * incy] : s;
  }
}

template <class T, class Arch>
void gemv_dot(i64 m, i64 k, T alpha, const T* a, i64 lda, const T* x, T beta, T* y, i64 incy) {
  i64 i = 0;
  // From 16 MiB, A streams from memory: eight rows at a time keep more
  // streams in flight (0.73-0.91x the time of four on 4096x1024, 2048x2048,
  // 8192x512, 1024x4096); up to 12 MiB, still in L3, four were faster (8
  // rows: 1.05-1.19x on 1024x1024 .. 3000x1000). Each row's arithmetic is
  // the same either way.
  if (static_cast<double>(m) * static_cast<double>(k) * sizeof(T) >= 16.0 * 1024.0 * 1024.0)
    for (; i + 8 <= m; i += 8)
      gemv_dot_rows<T, Arch, 8>(k, alpha, a + i * lda, lda, x, beta, y + i * incy, incy);
  for (; i + 4 <= m; i += 4)
    gemv_dot_rows<T, Arch, 4>(k, alpha, a + i * lda, lda, x, beta, y + i * incy, incy);
  for (; i < m; ++i) gemv_dot_rows<T, Arch, 1>(k, alpha, a + i * lda, lda, x, beta, y + i * incy, incy);
}

template <class T, class Arch, int NV>
inline void gemv_axpy_cols(i64 k, T alpha, const T* a, i64 lda, const T* x, i64 incx, T beta, T* y) {
  using V = Vec<T, Arch>;
  constexpr int W = static_cast<int>(V::size);
  V acc[NV];
#pragma GCC unroll 8
  for (int v = 0; v < NV; ++v) acc[v] = V(T(0));
  for (i64 p = 0; p < k; ++p) {
    const V xv(x[p * incx]);
#pragma GCC unroll 8
    for (int v = 0; v < NV; ++v) acc[v] = fmadd(xv, V::load_unaligned(a + p * lda + v * W), acc[v]);
  }
  const V va(alpha), vb(beta);
#pragma GCC unroll 8
  for (int v = 0; v < NV; ++v) {
    V r = alpha != T(1) ? acc[v] * va : acc[v];
    if (beta != T(0)) r = fmadd(vb, V::load_unaligned(y + v * W), r);
    r.store_unaligned(y + v * W);
  }
}

/// acc[0:n] (n a multiple of the vector width) += the R rows at a (lda
/// apart) times x[0], x[incx], ...: one pass along R contiguous rows, the
/// FMAs of each element in row order.
template <class T, class Arch, int R>
inline void axpy_rows(i64 n, const T* a, i64 lda, const T* x, i64 incx, T* acc) {
  using V = Vec<T, Arch>;
  constexpr int W = static_cast<int>(V::size);
  V xs[R];
#pragma GCC unroll 4
  for (int r = 0; r < R; ++r) xs[r] = V(x[r * incx]);
  for (i64 j = 0; j < n; j += W) {
    V s = V::load_aligned(acc + j);
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r) s = fmadd(xs[r], V::load_unaligned(a + r * lda + j), s);
    s.store_aligned(acc + j);
  }
}

template <class T, class Arch>
void gemv_axpy(i64 n, i64 k, T alpha, const T* a, i64 lda, const T* x, i64 incx, T beta, T* y) {
  using V = Vec<T, Arch>;
  constexpr int W = static_cast<int>(V::size);
  i64 j = 0;
  if (static_cast<double>(n) * static_cast<double>(k) * sizeof(T) > 128.0 * 1024.0) {
    // Past the L2-resident sizes, the accumulators of up to kCols columns
    // (16 KiB) live in an L1 buffer and A is read four rows at a time along
    // its contiguous rows, which the hardware prefetchers follow. Column
    // strips read down all k rows cross a row (often a page) per step, and
    // with rows 4 KiB apart their lines alias in L1 and L2. Measured, rows
    // in 512-column blocks against strips: 0.29-0.34x the time on
    // 1x4096x1024 and 4096x1x1024 (Aᵀ), 0.57x on 1x1024x1024, 0.8-0.9x on
    // 1x256x784, 0.92-0.99x on 1x1000x1000; strips stay faster below 128 KiB
    // (1.03-1.2x on 1x64x64 .. 1x128x256). Blocks of 2048 columns against
    // 512: 0.6-0.84x on 1x1024x1024 .. 1x2048x2048; of 4096 against 2048:
    // 0.6-0.72x on 1x4096x1024, 1x4096x4096, 1x3000x1000.
    constexpr i64 kCols = 16384 / static_cast<i64>(sizeof(T));
    alignas(64) T acc[kCols];
    const i64 full = n / W * W;
    const V va(alpha), vb(beta);
    for (; j < full; j += kCols) {
      const i64 nb = full - j < kCols ? full - j : kCols;
      for (i64 q = 0; q < nb; q += W) V(T(0)).store_aligned(acc + q);
      i64 p = 0;
      for (; p + 4 <= k; p += 4) axpy_rows<T, Arch, 4>(nb, a + p * lda + j, lda, x + p * incx, incx, acc);
      for (; p < k; ++p) axpy_rows<T, Arch, 1>(nb, a + p * lda + j, lda, x + p * incx, incx, acc);
      for (i64 q = 0; q < nb; q += W) {
        V r = alpha != T(1) ? V::load_aligned(acc + q) * va : V::load_aligned(acc + q);
        if (beta != T(0)) r = fmadd(vb, V::load_unaligned(y + j + q), r);
        r.store_unaligned(y + j + q);
      }
    }
    j = full;
  } else {
    for (; j + 4 * W <= n; j += 4 * W) gemv_axpy_cols<T, Arch, 4>(k, alpha, a + j, lda, x, incx, beta, y + j);
    for (; j + W <= n; j += W) gemv_axpy_cols<T, Arch, 1>(k, alpha, a + j, lda, x, incx, beta, y + j);
  }
  if (j < n) {  // last < W columns: through a padded buffer, same arithmetic
    alignas(64) T buf[W];
    T acc[W] = {};
    const int t = static_cast<int>(n - j);
    // Accumulate the scalar FMA chain in vector lanes to keep the same rounding.
    V vacc(T(0));
    for (i64 p = 0; p < k; ++p) {
      for (int q = 0; q < W; ++q) acc[q] = q < t ? a[p * lda + j + q] : T(0);
      vacc = fmadd(V(x[p * incx]), V::load_unaligned(acc), vacc);
    }
    for (int q = 0; q < W; ++q) buf[q] = (beta != T(0) && q < t) ? y[j + q] : T(0);
    V r = alpha != T(1) ? vacc * V(alpha) : vacc;
    if (beta != T(0)) r = fmadd(V(beta), V::load_aligned(buf), r);
    r.store_aligned(buf);
    for (int q = 0; q < t; ++q) y[j + q] = buf[q];
  }
}

// ---------------------------------------------------------------------------

template <class T, class Arch, int MR, int NV>
constexpr GemmKernels<T> make_gemm_kernels(int mc, int kc, int nc, int kc_narrow = 0, int kc_wide = 0,
                                           int mc_wide = 0, int b_in_place_m = 0) {
  constexpr int W = static_cast<int>(Vec<T, Arch>::size);
  return GemmKernels<T>{MR,
                        NV * W,
                        W,
                        mc,
                        kc,
                        nc,
                        kc_narrow,
                        kc_wide,
                        mc_wide,
                        b_in_place_m,
                        &panel<T, Arch, MR, NV>,
                        &pack_b<T, Arch, NV * W>,
                        &pack_a<T, Arch, MR>,
                        &gemv_dot<T, Arch>,
                        &gemv_axpy<T, Arch>};
}

}  // namespace
}  // namespace lamina::detail
