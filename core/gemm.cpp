// ISA-neutral GEMM driver: orientation choice, GEMV path, cache blocking,
// packing buffers and oneTBB parallelism over macro-tiles of C. The per-ISA
// micro-kernels and packing routines come from core/kernels/gemm_*.cpp.
//
// Loop nest of one macro-tile (BLIS order), per thread:
//   jc (nc columns of B, L3) -> pc (kc, K never split across threads)
//     -> pack B block kc x nc (or read it in place for small M)
//     -> ic (mc rows of A, L2) -> pack A block (or read it in place)
//       -> jr (nr-wide B panel, L1; with one A block, column-read B is
//          packed here, one panel at a time)
//         -> panel kernel (one call per panel): ir (mr rows) -> micro-kernel.
// Every element of C sees the same arithmetic whatever the tiling, so the
// split of M and N among threads cannot change results.

#include "lamina/core/gemm.h"

#include <tbb/task_arena.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <new>

#include "lamina/core/detail/parallel.h"
#include "lamina/core/isa.h"
#include "lamina/core/kernels/gemm_kernels.h"
#include "lamina/core/threading.h"

namespace lamina {
namespace {

using i64 = std::int64_t;
using detail::GemmKernels;

template <class T>
const GemmKernels<T>* kernels_for(Isa isa) {
  if constexpr (sizeof(T) == 4) {
    switch (isa) {
      case Isa::avx512: return detail::gemm_kernels_f32_avx512();
      case Isa::avx2: return detail::gemm_kernels_f32_avx2();
      case Isa::sse42: break;
    }
    return detail::gemm_kernels_f32_sse42();
  } else {
    switch (isa) {
      case Isa::avx512: return detail::gemm_kernels_f64_avx512();
      case Isa::avx2: return detail::gemm_kernels_f64_avx2();
      case Isa::sse42: break;
    }
    return detail::gemm_kernels_f64_sse42();
  }
}

/// A growable 64-byte-aligned scratch block; one per thread and purpose, kept
/// for the life of the thread so steady-state calls never allocate.
class Scratch {
 public:
  ~Scratch() { release(); }
  void* get(std::size_t bytes) {
    if (bytes > cap_) {
      const std::size_t want = std::max<std::size_t>(bytes, 2 * cap_);
      release();
      cap_ = 0;  // consistent if the allocation below throws
      p_ = ::operator new(want, std::align_val_t{64});
      cap_ = want;
    }
    return p_;
  }

 private:
  void release() {
    if (p_) ::operator delete(p_, std::align_val_t{64});
    p_ = nullptr;
  }
  void* p_ = nullptr;
  std::size_t cap_ = 0;
};

thread_local Scratch tl_pack_a, tl_pack_b, tl_vec;

/// Tuning switches for experiments and tests, read once: LAMINA_GEMM_PACK_A
/// and LAMINA_GEMM_DIRECT_B = 0|1 force that packing choice, and
/// LAMINA_GEMM_DYNAMIC = 1 the dynamic macro-tile split (unset or 0: off).
int env_switch(const char* name) {
  const char* v = std::getenv(name);
  if (!v || !*v) return -1;
  return v[0] == '1' ? 1 : 0;
}
int force_pack_a() {
  static const int v = env_switch("LAMINA_GEMM_PACK_A");
  return v;
}
int force_direct_b() {
  static const int v = env_switch("LAMINA_GEMM_DIRECT_B");
  return v;
}
int force_dynamic() {
  static const int v = env_switch("LAMINA_GEMM_DYNAMIC");
  return v;
}

/// Work (2*M*N*K) below which a call runs on the calling thread only. Waking
/// the second thread costs ~1-2 us here. With one call per panel (kr.panel)
/// one thread got faster on small products, and two threads against one,
/// alternated in one process (15-21 rounds), took 1.0-1.8x the time on
/// 3.3e5-3.9e5 flops (128x128x10, 128x10x128, 56^3, 64x64x48, 97x61x33)
/// and 0.66-0.87x from 5.2e5 (64^3, 128x128x16, 128x20x128, 128x10x256).
constexpr double kParallelFlops = 4.5e5;
/// The dynamic split (LAMINA_GEMM_DYNAMIC=1): macro-tiles several per
/// thread (kTilesPerThread), each going to whichever thread is free. One
/// fixed tile per thread makes a call as slow as its slowest core, which
/// paid on the previous VM (a Zen 3 whose vCPUs had slow spells of seconds:
/// sq2048 at 2 threads, medians of three sets of alternated runs, 133 -> 122,
/// 135 -> 129, 123 -> 124 ms). On the current one (Zen 4, no slow spells
/// seen in any probe) it is off by default: with the K blocks of kc_wide,
/// sq2048 at 2 threads against oneDNN in the same process took 1.053-1.080x
/// oneDNN's time with it and 0.984-1.032x without (208.6 GFLOP/s against
/// 200-208), since every extra tile packs its own share of A and B again.
constexpr int kTilesPerThread = 4;
/// The same for matrix-vector products, which are memory-bound: below this
/// the matrix streams from cache faster than a second thread wakes.
constexpr double kParallelGemvFlops = 6.0e6;

template <class T>
void scale_c(i64 M, i64 N, T beta, T* C, i64 rs_c, i64 cs_c) {
  if (beta == T(1)) return;
  for (i64 i = 0; i < M; ++i)
    for (i64 j = 0; j < N; ++j) {
      T& c = C[i * rs_c + j * cs_c];
      c = beta == T(0) ? T(0) : beta * c;
    }
}

/// Whether the micro-kernels read B (K x N, rows rs_b elements of `bytes`
/// apart) in place instead of packing it. Packing costs a pass over B, paid
/// back by the row tiles (MR rows each) that reuse each packed panel; in
/// place, a panel row is NR contiguous elements of a B row. Measured on the
/// 2-core EPYC VM (Zen 3: family 25, model 1), one thread, both plans
/// alternating in one process (medians of 15-31 rounds), packed time /
/// in-place time:
/// - M <= 4*MR, B rows 64-byte aligned (lamina's tensors): 1.1-2x while B
///   is at most 1.5 MiB, or 4 MiB with rows under 4 KiB apart; with one or
///   two row tiles (M <= 2*MR) up to 6 MiB. Past that, with rows a page or
///   more apart, the panel's lines share a few L2 sets and the prefetchers
///   stop at every page: 0.4-0.8 (M=24, K=1024, N=1024..4096 floats).
/// - M <= 4*MR, rows not aligned (each panel row spans two lines; malloc's
///   large blocks sit 16 bytes past a line): 0.94-1.5 with rows under 4 KiB
///   apart and B at most 4 MiB; 0.5-0.9 otherwise.
/// - M <= 128, aligned rows of at most 512 bytes, B at most 4 MiB:
///   1.02-1.06 (64^3, 96^3, 128x128x256, 64x128x512); 0.88 unaligned
///   (128x128x256), 0.85 with wider rows (128x512x512).
/// Kernels with b_in_place_m (AVX-512 float) also read aligned B in place
/// for M up to that many rows and B up to 6 MiB, with K blocks of kc_wide:
/// measured on the Zen 4 VM, 1 thread, processes alternated, against the
/// rule above: 128x256x784 (gemm/fwd1) 110 -> 117 GFLOP/s, 128x512x512 107
/// -> 112, 128x1024x1024 101 -> 106, 128x2048x512 97 -> 104, 128x256x2048
/// 99 -> 107, 96x384x1536 98 -> 116, 256x256x784 113 -> 115, 100x3000x500
/// 101 (as before); 128x128x256 equal. Outside it, in place lost:
/// 128x1024x2048 (8 MiB of B, rows 4 KiB apart) 97 -> 84. The same
/// kernels read aligned B of up to 1 MiB in place for any M unless its rows
/// are a multiple of 4 KiB apart (their panel rows then share one L1 set):
/// in one process, call by call, 1 thread, 256^3 113.8 -> 116.6, 640x640x400
/// 110.0 -> 112.3, 4096x256x256 103.4 -> 104.7, 784x256x128 (Aᵀ, gemm/
/// bwd1_dw) 114.2 -> 115.1, 512^3 109.6 -> 110.0, 2048x512x512 107.0 ->
/// 106.3; 2 threads 512^3 203 -> 206, 640x640x400 219 -> 222, 784x256x128
/// 227 -> 224; with rows 4 KiB apart it lost (1024x1024x256 107 -> 100,
/// 512x1024x256 109 -> 105).
/// Those kernels also read B of more than 6 MiB in place for M up to twice
/// b_in_place_m, aligned or not, with the next panel prefetched and K
/// blocks of kc_narrow (gemm_impl): in one process, call by call, 1 thread,
/// GFLOP/s packed -> in place: 8x4096x1024 33 -> 41, 24x4096x1024 70 -> 96,
/// 64x4096x1024 88 -> 105, 64x3000x1000 (rows not aligned) 88 -> 106,
/// 256x3000x1000 97 -> 106, 256x4096x1024 99 -> 101 (oneDNN 34, 77, 105,
/// 112, 111, 105); 2 threads 24x4096x1024 90 -> 141, 64x4096x1024 140 ->
/// 177, 64x3000x1000 152 -> 194. At 512 rows packing won (104 against 100).
bool read_b_in_place(i64 M, i64 K, const void* B, i64 rs_b, i64 cs_b, int MR, i64 bytes, int b_in_place_m) {
  if (cs_b != 1) return false;
  constexpr double MiB = 1024.0 * 1024.0;
  const i64 row_bytes = rs_b * bytes;
  const double b_bytes = static_cast<double>(K) * static_cast<double>(row_bytes);
  const bool aligned = reinterpret_cast<std::uintptr_t>(B) % 64 == 0 && row_bytes % 64 == 0;
  if (aligned && M <= b_in_place_m && b_bytes <= 6 * MiB) return true;
  if (aligned && b_in_place_m > 0 && b_bytes <= 1 * MiB && row_bytes % 4096 != 0) return true;
  if (b_in_place_m > 0 && M <= 2 * b_in_place_m && b_bytes > 6 * MiB) return true;
  const bool near_rows = row_bytes < 4096 && b_bytes <= 4 * MiB;
  if (M <= 4 * MR)
    return near_rows || (aligned && (b_bytes <= 1.5 * MiB || (M <= 2 * MR && b_bytes <= 6 * MiB)));
  return aligned && M <= 128 && row_bytes <= 512 && b_bytes <= 4 * MiB;
}

/// How one macro-tile is computed.
struct Plan {
  bool pack_a;    // pack A blocks (else read A in place)
  bool direct_b;  // read full B panels in place (else pack B blocks)
  i64 mc;         // rows of an A block: kr.mc or fewer
  i64 kc;         // longest K block: kr.kc or kr.kc_narrow
  bool prefetch_b = false;  // with direct_b: prefetch each next panel of B
};

/// C[0:M, 0:N] on the calling thread.
template <class T>
void gemm_tile(const GemmKernels<T>& kr, const Plan& plan, i64 M, i64 N, i64 K, T alpha,
               const T* A, i64 rs_a, i64 cs_a, const T* B, i64 rs_b, i64 cs_b, T beta, T* C,
               i64 rs_c, i64 cs_c) {
  const int MR = kr.mr, NR = kr.nr, W = kr.simd;
  // K blocks of equal size (a multiple of 8 up to plan.kc) rather than a
  // short last one, which would pay the C update for little work. Depends on
  // K and the plan only, never on the tile, so every thread split sums each
  // element's products in the same blocks.
  const i64 kblocks = (K + plan.kc - 1) / plan.kc;
  const i64 kc = std::min<i64>(plan.kc, ((K + kblocks - 1) / kblocks + 7) / 8 * 8);
  const i64 kc_max = std::min<i64>(kc, K);
  const i64 nc_max = std::min<i64>(kr.nc, (N + NR - 1) / NR * NR);
  const i64 mc_max = std::min<i64>(plan.mc, (M + MR - 1) / MR * MR);
  T* buf_b = static_cast<T*>(tl_pack_b.get(sizeof(T) * static_cast<std::size_t>(
                                                  kc_max * (plan.direct_b ? NR : nc_max))));
  T* buf_a = plan.pack_a
                 ? static_cast<T*>(tl_pack_a.get(sizeof(T) * static_cast<std::size_t>(mc_max * kc_max + 64)))
                 : nullptr;

  for (i64 jc = 0; jc < N; jc += kr.nc) {
    const i64 nb = std::min<i64>(kr.nc, N - jc);
    // With B read in place, only a last panel whose width is not a multiple of
    // the vector width needs packing (the kernel reads whole vectors).
    const i64 fringe_j = plan.direct_b && nb % W != 0 ? (nb / NR) * NR : nb;
    for (i64 pc = 0; pc < K; pc += kc) {
      const i64 kb = std::min<i64>(kc, K - pc);
      const T beta_k = pc == 0 ? beta : T(1);
      const T* Bp = B + pc * rs_b + jc * cs_b;
      // B read down its columns (cs_b != 1, e.g. the weights of a backward
      // pass, dY·Wᵀ) is packed one panel at a time, just before its use,
      // when there is one A block (each panel is used once) and the whole
      // packed block would outgrow L1: a panel is then kb contiguous runs of
      // B, and the packed copy is read back from L1 instead of L2 or L3.
      // Alternated in one process against packing the block first (15-21
      // rounds): 0.94-0.97x the time on 128x784x256 (bwd1_dx), 0.93-0.95x on
      // 144x1000x300 (Aᵀ·Bᵀ), 0.97-0.99x on 100x3000x500 and 128x256x128, 1 and
      // 2 threads; 1.01-1.03x on 128x128x10 (5 KiB of B), which keeps the
      // block. B read along its rows keeps the block: per panel, kb rows a
      // whole B row apart, 1.08-1.22x on 64x8192x256 and 128x512x2048.
      const bool panel_pack = !plan.direct_b && M <= plan.mc && cs_b != 1 &&
                              kb * nb * static_cast<i64>(sizeof(T)) > 32 * 1024;
      if (plan.direct_b) {
        if (fringe_j < nb) kr.pack_b(kb, nb - fringe_j, Bp + fringe_j * cs_b, rs_b, cs_b, buf_b);
      } else if (!panel_pack) {
        kr.pack_b(kb, nb, Bp, rs_b, cs_b, buf_b);
      }

      for (i64 ic = 0; ic < M; ic += plan.mc) {
        const i64 mb = std::min<i64>(plan.mc, M - ic);
        const T* Ap = A + ic * rs_a + pc * cs_a;
        if (plan.pack_a) kr.pack_a(mb, kb, Ap, rs_a, cs_a, buf_a);
        T* Cp = C + ic * rs_c + jc * cs_c;

        for (i64 jr = 0; jr < nb; jr += NR) {
          const int nn = static_cast<int>(std::min<i64>(NR, nb - jr));
          const T* bptr;
          const T* next_b = nullptr;
          i64 ldb, next_ldb = 0;
          if (panel_pack) {
            kr.pack_b(kb, nn, Bp + jr * cs_b, rs_b, cs_b, buf_b);
            bptr = buf_b;
            ldb = NR;
          } else if (!plan.direct_b) {
            bptr = buf_b + (jr / NR) * kb * NR;
            ldb = NR;
            // The panel after this one, or the block's first for the next
            // A block: a B block outgrowing L2 (2048^3: 8 MiB) otherwise
            // comes from L3 in each panel's first row tile. Zen 4, 1
            // thread, call by call in one process, median GFLOP/s: 2048^3
            // 101.1 -> 105.5, 1500^3 108.9 -> 109.9, 1024^3 108.6 -> 109.9,
            // 512^3 108.5 -> 108.4; 2 threads 2048^3 203 -> 208.
            // Not for fewer than eight row tiles, which have little time
            // to hide it in (AVX2 kernels on Zen 4, 1 thread: 16x4096x1024
            // 59 -> 55 GFLOP/s, 24x1024x1024 78 -> 76).
            if (mb >= 8 * MR) {
              next_b = jr + NR < nb ? bptr + kb * NR : buf_b;
              next_ldb = NR;
            }
          } else if (jr >= fringe_j) {
            bptr = buf_b;
            ldb = NR;
          } else {
            bptr = Bp + jr;
            ldb = rs_b;
            // B larger than L2 read in place: the next panel's rows, each
            // a B row apart, are prefetched as the packed ones are above
            // (1 thread, in place without -> with: 24x4096x1024 75 -> 96
            // GFLOP/s, 128x1024x1024 103 -> 110, 128x2048x512 102.5 ->
            // 108, 96x384x1536 and 128x512x512 equal; below 1 MiB, where
            // it is not used, 256^3 lost 4 %).
            if (plan.prefetch_b && jr + NR < fringe_j) {
              next_b = bptr + NR;
              next_ldb = rs_b;
            }
          }
          kr.panel(mb, nn, kb, plan.pack_a ? buf_a : Ap, rs_a, cs_a, plan.pack_a, bptr, ldb, Cp + jr * cs_c, rs_c,
                   cs_c, alpha, beta_k, next_b, next_ldb);
        }
      }
    }
  }
}

/// y = alpha * A·x + beta * y with A M x K. Returns false when A has no unit stride.
template <class T>
bool gemv(const GemmKernels<T>& kr, i64 M, i64 K, T alpha, const T* A, i64 rs_a, i64 cs_a,
          const T* x, i64 incx, T beta, T* y, i64 incy) {
  const bool parallel = get_num_threads() > 1 && 2.0 * M * K >= kParallelGemvFlops;
  if (cs_a == 1) {
    // Dot form: rows of A are contiguous; x must be too.
    if (incx != 1) {
      T* xc = static_cast<T*>(tl_vec.get(sizeof(T) * static_cast<std::size_t>(K)));
      for (i64 k = 0; k < K; ++k) xc[k] = x[k * incx];
      x = xc;
    }
    auto body = [&](i64 b, i64 e) { kr.gemv_dot(e - b, K, alpha, A + b * rs_a, rs_a, x, beta, y + b * incy, incy); };
    if (parallel)
      tbb::this_task_arena::isolate([&] { detail::parallel_for(M, 64, body); });
    else
      body(0, M);
    return true;
  }
  if (rs_a == 1) {
    // Axpy form: columns of A are contiguous; y must be too.
    T* yc = y;
    if (incy != 1) {
      yc = static_cast<T*>(tl_vec.get(sizeof(T) * static_cast<std::size_t>(M)));
      if (beta != T(0))
        for (i64 i = 0; i < M; ++i) yc[i] = y[i * incy];
    }
    // One column chunk per thread (a multiple of every vector width): the
    // kernel reads A along its rows, so each chunk is one pass over A; the
    // split cannot change results (each element's FMAs keep their order).
    const i64 per_thread = (M + get_num_threads() - 1) / get_num_threads();
    const i64 chunk = parallel ? std::max<i64>(64, (per_thread + 63) / 64 * 64) : M;
    const i64 chunks = (M + chunk - 1) / chunk;
    auto body = [&](i64 c) {
      const i64 b = c * chunk, e = std::min(M, b + chunk);
      kr.gemv_axpy(e - b, K, alpha, A + b, cs_a, x, incx, beta, yc + b);
    };
    if (chunks > 1)
      tbb::this_task_arena::isolate([&] { detail::parallel_chunks(chunks, body); });
    else
      body(0);
    if (incy != 1)
      for (i64 i = 0; i < M; ++i) y[i * incy] = yc[i];
    return true;
  }
  return false;
}

template <class T>
void gemm_impl(i64 M, i64 N, i64 K, T alpha, const T* A, i64 rs_a, i64 cs_a, const T* B, i64 rs_b,
               i64 cs_b, T beta, T* C, i64 rs_c, i64 cs_c) {
  if (M <= 0 || N <= 0) return;
  if (K <= 0 || alpha == T(0)) {
    scale_c(M, N, beta, C, rs_c, cs_c);
    return;
  }
  const GemmKernels<T>* table = kernels_for<T>(current_isa());
  const int W = table->simd;

  // Orientation: C = A·B, or Cᵀ = Bᵀ·Aᵀ (swap M/N, A/B and row/column
  // strides). Products commute exactly, so both give identical bits; pick the
  // one that wastes fewer vector lanes on the N fringe and stores C rows
  // contiguously. Matrix-vector products always put the vector in the N role.
  auto cost = [&](i64 n, i64 cs) {
    return static_cast<double>((n + W - 1) / W * W) / static_cast<double>(n) * (cs == 1 ? 1.0 : 1.2);
  };
  bool swap = M == 1 ? true : N == 1 ? false : cost(M, rs_c) < cost(N, cs_c);
  if (swap) {
    std::swap(M, N);
    std::swap(A, B);
    std::swap(rs_a, cs_b);
    std::swap(cs_a, rs_b);
    std::swap(rs_c, cs_c);
  }
  if (N == 1 && gemv(*table, M, K, alpha, A, rs_a, cs_a, B, rs_b, beta, C, rs_c)) return;

  const int threads = get_num_threads();
  const double flops = 2.0 * static_cast<double>(M) * static_cast<double>(N) * static_cast<double>(K);
  const bool one_thread = threads <= 1 || flops < kParallelFlops;
  // Short products on one thread may use other tiles (AVX-512 float: 4x64
  // instead of 8x32 for K <= 128 and N a multiple of 64). Every tile shape
  // gives the same bits, so this choice, unlike the result, may depend on
  // the thread count. In one process, call by call, 1 thread, GFLOP/s
  // 8x32 -> 4x64: 64^3 107.9 -> 113.1, 32x64x64 109.0 -> 111.8, 128x64x64
  // 112.2 -> 115.2, 64x64x32 106.0 -> 108.6, 96x64x96 108.2 -> 110.5,
  // 128^3 115.9 -> 116.7, 128x256x128 115.3 -> 116.8; from K = 256 on no
  // gain (256^3 115.9 -> 116.1, 512x512x256 104.5 -> 102.9). At 2 threads
  // 64^3 measured slower with 4x64 (133 against 149 GFLOP/s).
  // Only for C stored by rows and at least 4 short tiles of rows: the Cᵀ
  // orientation of 128x10x128 (gemm/fwd3, 10 rows stored by columns) took
  // 4.66 us with them against 4.12 with 8x32.
  if (table->short_k && one_thread && K <= table->short_k_max && N % table->short_k->nr == 0 && cs_c == 1 &&
      M >= 4 * table->short_k->mr)
    table = table->short_k;
  const GemmKernels<T>& kr = *table;
  const int MR = kr.mr, NR = kr.nr;

  // Packing plan. A is read in place when it has a unit stride and the B
  // block is not wide enough to amortize packing, unless the elements one
  // tile reads together are a multiple of 4 KiB apart: every k step then
  // lands in the same few L1 and L2 sets. That is A read down its columns
  // (Aᵀ·B) with columns so far apart: packing measured 0.6-0.94x the
  // in-place time (1024x256x128, 2048x256x128, 4096x64x256; 1 and 2
  // threads; at 2 KiB, 512 floats, the sign varied); and A read along its
  // rows with rows so far apart, whose MR rows share one L1 set (8 ways):
  // on Zen 4 with AVX-512, 1 thread, K = 1024 floats, packing took 0.81-0.84x
  // the time (64x256x1024, 128x256x1024, 1024x128x1024, 2048x256x1024, from
  // 86-88 to 104-107 GFLOP/s), 0.83x on 128x128x4096; at K = 512, 768 and
  // 1000 the in-place read stayed 1.02-1.06x faster. B as read_b_in_place
  // says.
  Plan plan;
  const bool a_unit = cs_a == 1 || rs_a == 1;
  const i64 a_far_bytes = (cs_a == 1 ? rs_a : cs_a) * static_cast<i64>(sizeof(T));
  const bool a_aliases = M > 1 && a_far_bytes >= 4096 && a_far_bytes % 4096 == 0;
  plan.pack_a = !a_unit || (N >= 512 && M > 2 * MR) || a_aliases;
  plan.direct_b = read_b_in_place(M, K, B, rs_b, cs_b, MR, static_cast<i64>(sizeof(T)), kr.b_in_place_m);
  // With C's rows a page or more apart, each row of an A block's strip of C
  // takes its own TLB entry, and the strip is swept once per B panel: keep
  // it to 72 rows, about as many as an L1 data TLB holds (64 entries on this
  // VM's Zen 3, 72 on Zen 4). Against 144-row blocks, on 4 KiB pages:
  // 0.89-0.97x the time on 2048^3, 0.97-0.98x on 1536^3, 0.98-1.0x on
  // 1024^3 (1 and 2 threads); no change on 2 MiB pages or on the MLP
  // shapes. 36, 48 or 60 rows against 72 showed no consistent sign
  // (0.97-0.99x on 2048^3; 48 rows 0.99x on 1024^3, 1.04x on 1536^3).
  plan.mc = kr.mc;
  if (cs_c == 1 && rs_c * static_cast<i64>(sizeof(T)) >= 4096) plan.mc = std::min<i64>(kr.mc, 72 / MR * MR);
  if (const int f = force_pack_a(); f >= 0) plan.pack_a = f == 1 || !a_unit;
  if (const int f = force_direct_b(); f >= 0) plan.direct_b = f == 1 && cs_b == 1;
  // K blocks of kr.kc_narrow (512 on AVX2) instead of kr.kc (256) when B is
  // packed and such a block of all N columns stays within 2 MiB: the B panel
  // then outgrows L1 and is read from L2, but C is read and written, and A
  // packed or streamed, half as often. Alternated in one process against
  // kc = 256 (1 thread; 11-21 rounds): 0.95-0.98x the time on 512^3,
  // 0.95-1.0x on 1024^3 (0.98x at 2 threads), 0.94-0.95x on 2048x512x1024,
  // 1000x64x1000 and 300^3, 0.93-0.98x in double; 64x1000x1000 1.01x. Wider
  // B (2048^3: 1.02-1.11x) keeps kr.kc.
  plan.kc = kr.kc;
  if (kr.kc_narrow > kr.kc && !plan.direct_b &&
      static_cast<double>(kr.kc_narrow) * static_cast<double>(N) * sizeof(T) <= 2.0 * 1024 * 1024)
    plan.kc = kr.kc_narrow;
  // K blocks of kr.kc_wide (1024 floats on AVX-512) when C outgrows L2
  // (1 MiB): every K block reads and writes all of C, from L3 then, and
  // that traffic, not the B panel read from L2 instead of L1, is what
  // longer blocks save. A blocks shrink to kr.mc_wide rows so that one
  // (mc_wide x kc_wide) still leaves most of L2 to the B panels. Zen 4,
  // 1 thread, processes alternated: 2048^3 103-105 -> 110-111 GFLOP/s
  // (oneDNN 108-113 in the same runs), 1500^3 105 -> 111, 1536^3 109 ->
  // 111, 1024^3 109 -> 111, 4096x256x1024 104 -> 109; 2 threads 2048^3
  // 201-206 -> 210-223. With C in L2 the longer blocks lost (256x256x4096:
  // 108 -> 103, the 1 MiB B block no longer stays in L2).
  // A blocks are then balanced (100 rows as 56 + 44 rather than a full
  // block and a sliver: 84 + 16, with 14-row tiles, ran 100x3000x500 at 84
  // GFLOP/s instead of 101). B read in place (no B block to keep in L2)
  // takes kc_wide blocks too, and whole A blocks.
  //
  // B of 1 MiB or more read in place: the next panel is prefetched while
  // the current one's row tiles run (see gemm_tile); beyond 6 MiB (AVX-512
  // float, read_b_in_place) with K blocks of kc_narrow (512) rather than
  // kc_wide: 1 thread, 64x4096x1024 89 -> 106 GFLOP/s, 32x4096x1024 62 ->
  // 93, 128x4096x1024 72 -> 95; 256 gave 91-102.
  const double b_bytes = plan.direct_b ? static_cast<double>(K) * static_cast<double>(rs_b) * sizeof(T) : 0.0;
  plan.prefetch_b = b_bytes >= 1024.0 * 1024.0;
  if (kr.kc_wide > 0) {
    if (plan.direct_b) {
      plan.kc = b_bytes > 6.0 * 1024 * 1024 ? kr.kc_narrow : kr.kc_wide;
    } else if (static_cast<double>(M) * static_cast<double>(N) * sizeof(T) > 1024.0 * 1024.0) {
      plan.kc = kr.kc_wide;
      const i64 mc_cap = std::min<i64>(plan.mc, kr.mc_wide);
      const i64 blocks = (M + mc_cap - 1) / mc_cap;
      plan.mc = ((M + blocks - 1) / blocks + MR - 1) / MR * MR;
    }
  }

  // A blocks are whole MR-row panels (pack_a's buffer is sized so).
  plan.mc = std::max<i64>(MR, plan.mc / MR * MR);
  if (one_thread) {
    // One block of everything, nothing to pack (small products such as
    // 64^3): the panels straight away, without gemm_tile's blocking and
    // scratch buffers (about 20 ns of a 4.6 us call).
    if (plan.direct_b && !plan.pack_a && K <= plan.kc && M <= plan.mc && N <= kr.nc && N % W == 0) {
      for (i64 jr = 0; jr < N; jr += NR)
        kr.panel(M, static_cast<int>(std::min<i64>(NR, N - jr)), K, A, rs_a, cs_a, false, B + jr, rs_b,
                 C + jr * cs_c, rs_c, cs_c, alpha, beta, plan.prefetch_b && jr + NR < N ? B + jr + NR : nullptr,
                 rs_b);
      return;
    }
    gemm_tile(kr, plan, M, N, K, alpha, A, rs_a, cs_a, B, rs_b, cs_b, beta, C, rs_c, cs_c);
    return;
  }

  // Grid of gm x gn macro-tiles (one per thread, or kTilesPerThread for
  // long calls), boundaries on MR / NR multiples; pick the factorization with
  // the least per-tile work, counting the packing each tile repeats. Which
  // thread computes a tile never matters: K is not split.
  const int dynamic_switch = force_dynamic();
  const bool dynamic = dynamic_switch == 1;
  const int nt = dynamic ? threads * kTilesPerThread : threads;
  const i64 mblocks = (M + MR - 1) / MR, nblocks = (N + NR - 1) / NR;
  // B is repeated per tile when packed, or when read in place from beyond
  // L2 (prefetch_b): each tile streams its columns of B from L3 or memory.
  const bool b_per_tile = !plan.direct_b || plan.prefetch_b;
  int best_gm = 1, best_gn = 1;
  double best = 1e300;
  for (int gm = 1; gm <= nt; ++gm) {
    if (nt % gm) continue;
    const int gn = nt / gm;
    if (gm > mblocks || gn > nblocks) continue;
    const double mt = static_cast<double>((mblocks + gm - 1) / gm * MR);
    const double ntl = static_cast<double>((nblocks + gn - 1) / gn * NR);
    const double c = mt * ntl * static_cast<double>(K) +
                     6.0 * static_cast<double>(K) * ((b_per_tile ? ntl : 0.0) + (plan.pack_a ? mt : 0.0));
    if (c < best) {
      best = c;
      best_gm = gm;
      best_gn = gn;
    }
  }
  if (best_gm * best_gn == 1) {
    gemm_tile(kr, plan, M, N, K, alpha, A, rs_a, cs_a, B, rs_b, cs_b, beta, C, rs_c, cs_c);
    return;
  }
  // Tile edges in near-equal shares on cache-line multiples of C's
  // contiguous dimension (no line written by two threads) rather than on
  // whole MR x NR blocks: bwd1_dx's 784 columns split 400 + 384 instead of
  // 416 + 368 (NR = 32), which had one thread doing 6 % more than half the
  // work. A line is a multiple of every vector width; the panel kernel
  // takes any row count.
  const i64 line = 64 / static_cast<i64>(sizeof(T));
  const i64 row_unit = rs_c == 1 ? line : 1, col_unit = cs_c == 1 ? line : W;
  const i64 rows = ((M + row_unit - 1) / row_unit + best_gm - 1) / best_gm * row_unit;
  const i64 cols = ((N + col_unit - 1) / col_unit + best_gn - 1) / best_gn * col_unit;
  const int gn = best_gn;
  auto task = [&](i64 t) {
    const i64 m0 = (t / gn) * rows, n0 = (t % gn) * cols;
    if (m0 >= M || n0 >= N) return;
    const i64 mt = std::min(rows, M - m0), ntl = std::min(cols, N - n0);
    gemm_tile(kr, plan, mt, ntl, K, alpha, A + m0 * rs_a, rs_a, cs_a, B + n0 * cs_b, rs_b, cs_b, beta,
              C + m0 * rs_c + n0 * cs_c, rs_c, cs_c);
  };
  const i64 tiles = static_cast<i64>(best_gm) * gn;
  if (dynamic)
    tbb::this_task_arena::isolate([&] { detail::parallel_chunks_dynamic(tiles, task); });
  else
    tbb::this_task_arena::isolate([&] { detail::parallel_chunks(tiles, task); });
}

}  // namespace

template <class T>
void gemm(std::int64_t M, std::int64_t N, std::int64_t K, T alpha, const T* A, std::int64_t rs_a,
          std::int64_t cs_a, const T* B, std::int64_t rs_b, std::int64_t cs_b, T beta, T* C,
          std::int64_t rs_c, std::int64_t cs_c) {
  gemm_impl<T>(M, N, K, alpha, A, rs_a, cs_a, B, rs_b, cs_b, beta, C, rs_c, cs_c);
}

template void gemm<float>(std::int64_t, std::int64_t, std::int64_t, float, const float*, std::int64_t,
                          std::int64_t, const float*, std::int64_t, std::int64_t, float, float*,
                          std::int64_t, std::int64_t);
template void gemm<double>(std::int64_t, std::int64_t, std::int64_t, double, const double*,
                           std::int64_t, std::int64_t, const double*, std::int64_t, std::int64_t,
                           double, double*, std::int64_t, std::int64_t);

}  // namespace lamina
