// GEMM kernel (lamina::gemm) and matmul op tests against a naive float64
// triple loop: edge sizes, sizes around every block size, all transpose
// combinations, alpha/beta, strided operands, batched broadcasting,
// matrix·vector, every ISA this CPU runs, and 1 vs 2 threads bitwise.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "lamina/autograd/ops.h"
#include "lamina/core/allocator.h"
#include "lamina/core/error.h"
#include "lamina/core/gemm.h"
#include "lamina/core/isa.h"
#include "lamina/core/ops/matmul.h"
#include "lamina/core/tensor.h"
#include "lamina/core/threading.h"

namespace {

using i64 = std::int64_t;
using lamina::Shape;
using lamina::Tensor;

/// 64-byte-aligned storage, as lamina's tensors have: GEMM's packing plan
/// depends on whether B's rows start on cache lines (read_b_in_place).
template <class T>
struct Aligned64 {
  using value_type = T;
  Aligned64() = default;
  template <class U>
  explicit Aligned64(const Aligned64<U>&) {}
  T* allocate(std::size_t n) { return static_cast<T*>(::operator new(n * sizeof(T), std::align_val_t{64})); }
  void deallocate(T* p, std::size_t) { ::operator delete(p, std::align_val_t{64}); }
  bool operator==(const Aligned64&) const = default;
};
template <class T>
using AlignedVec = std::vector<T, Aligned64<T>>;

template <class T>
AlignedVec<T> random_vec(i64 n, unsigned seed) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<double> d(-1.0, 1.0);
  AlignedVec<T> v(static_cast<std::size_t>(n));
  for (auto& x : v) x = static_cast<T>(d(gen));
  return v;
}

/// Runs fn once per supported ISA, restoring the current one afterwards.
template <class F>
void for_each_isa(F&& fn) {
  const lamina::Isa saved = lamina::current_isa();
  for (lamina::Isa isa : lamina::supported_isas()) {
    SCOPED_TRACE(std::string("isa=") + std::string(lamina::isa_name(isa)));
    lamina::set_isa(isa);
    fn();
  }
  lamina::set_isa(saved);
}

class ThreadsGuard {
 public:
  explicit ThreadsGuard(int n) : saved_(lamina::get_num_threads()) { lamina::set_num_threads(n); }
  ~ThreadsGuard() { lamina::set_num_threads(saved_); }

 private:
  int saved_;
};

/// One strided GEMM problem stored in column-padded buffers.
struct Problem {
  i64 M, N, K;
  bool ta, tb;  // operands stored transposed
  i64 pad;      // extra elements per leading dimension
  i64 step;     // element step along the contiguous dimension (1 = unit stride)
  i64 b_shift = 0;  // B starts this many elements past a 64-byte boundary
};

/// Checks gemm<T> on `p` with the given alpha/beta against float64.
template <class T>
void check_gemm(const Problem& p, T alpha, T beta, unsigned seed) {
  const i64 M = p.M, N = p.N, K = p.K, s = p.step;
  // A is M x K (or stored K x M when ta); leading dimension padded.
  const i64 a_rows = p.ta ? K : M, a_cols = p.ta ? M : K;
  const i64 lda = a_cols * s + p.pad;
  const i64 b_rows = p.tb ? N : K, b_cols = p.tb ? K : N;
  const i64 ldb = b_cols * s + p.pad;
  const i64 ldc = N + p.pad;
  auto A = random_vec<T>(a_rows * lda + 1, seed);
  const auto B_storage = random_vec<T>(b_rows * ldb + 1 + p.b_shift, seed + 1);
  const T* B = B_storage.data() + p.b_shift;
  auto C = random_vec<T>(M * ldc + 1, seed + 2);
  if (beta == T(0))
    for (auto& c : C) c = std::numeric_limits<T>::quiet_NaN();
  const auto C0 = C;
  const i64 rs_a = p.ta ? s : lda, cs_a = p.ta ? lda : s;
  const i64 rs_b = p.tb ? s : ldb, cs_b = p.tb ? ldb : s;
  lamina::gemm<T>(M, N, K, alpha, A.data(), rs_a, cs_a, B, rs_b, cs_b, beta, C.data(), ldc, 1);

  const double eps = std::numeric_limits<T>::epsilon();
  int failures = 0;
  for (i64 i = 0; i < M && failures < 3; ++i)
    for (i64 j = 0; j < N && failures < 3; ++j) {
      double acc = 0, mag = 0;
      for (i64 k = 0; k < K; ++k) {
        const double prod = static_cast<double>(A[i * rs_a + k * cs_a]) * static_cast<double>(B[k * rs_b + j * cs_b]);
        acc += prod;
        mag += std::fabs(prod);
      }
      double ref = static_cast<double>(alpha) * acc;
      double bound = std::fabs(static_cast<double>(alpha)) * mag;
      if (beta != T(0)) {
        ref += static_cast<double>(beta) * static_cast<double>(C0[i * ldc + j]);
        bound += std::fabs(static_cast<double>(beta) * static_cast<double>(C0[i * ldc + j]));
      }
      const double got = static_cast<double>(C[i * ldc + j]);
      // (K + 3)·eps·Σ|terms| bounds any summation order; it grows with K
      // faster than the error does, so that at K = 3000 one dropped product
      // would pass. Rounding errors of a blocked sum grow like √K: the
      // largest seen over this file's shapes and every ISA was 0.78·√(K+1)·
      // eps·Σ|terms| (K = 3), so 4·√(K+1) + 2 keeps a factor of five.
      const double growth = std::min(static_cast<double>(K) + 3.0, 4.0 * std::sqrt(static_cast<double>(K) + 1.0) + 2.0);
      const double tol = growth * eps * bound + 1e-300;
      if (!(std::fabs(got - ref) <= tol)) {
        ++failures;
        ADD_FAILURE() << "C(" << i << ", " << j << ") = " << got << ", expected " << ref << " (tol " << tol
                      << ") for M=" << M << " N=" << N << " K=" << K << " ta=" << p.ta << " tb=" << p.tb
                      << " pad=" << p.pad << " step=" << s << " alpha=" << alpha << " beta=" << beta;
      }
    }
  // Padding columns of C are never touched.
  for (i64 i = 0; i < M; ++i)
    for (i64 j = N; j < ldc; ++j) {
      const T a = C[i * ldc + j], b = C0[i * ldc + j];
      ASSERT_TRUE(std::memcmp(&a, &b, sizeof(T)) == 0) << "wrote outside C at (" << i << ", " << j << ")";
    }
}

template <class T>
void sweep_sizes(const std::vector<i64>& ms, const std::vector<i64>& ns, const std::vector<i64>& ks, unsigned seed) {
  for (i64 M : ms)
    for (i64 N : ns)
      for (i64 K : ks)
        for (int t = 0; t < 4; ++t) {
          const Problem p{M, N, K, (t & 1) != 0, (t & 2) != 0, 0, 1};
          // Cycle alpha/beta through the cases so every shape sees one.
          const int ab = static_cast<int>((M + N + K + t) % 3);
          const T alpha = ab == 2 ? T(-0.5) : T(1);
          const T beta = ab == 0 ? T(0) : ab == 1 ? T(1) : T(0.25);
          check_gemm<T>(p, alpha, beta, seed++);
          if (::testing::Test::HasFailure()) return;
        }
}

TEST(Gemm, EdgeAndPrimeSizesEveryIsa) {
  for_each_isa([] {
    const std::vector<i64> sizes = {0, 1, 2, 3, 5, 7, 13, 31};
    sweep_sizes<float>(sizes, sizes, {0, 1, 2, 7, 37}, 1);
    sweep_sizes<double>({0, 1, 3, 7, 13}, {0, 1, 2, 5, 9, 17}, {0, 1, 5, 37}, 2);
  });
}

TEST(Gemm, AroundRegisterBlocks) {
  // Tiles (core/kernels/gemm_*.cpp): float 8x32 on AVX-512 (4x64 for short
  // K, see ShortKTilesOnOneThread), 6x16 on AVX2, 6x8 on SSE4.2; double
  // 14x16, 6x8, 6x4. M and N on each side of one and two tiles.
  for_each_isa([] {
    sweep_sizes<float>({5, 6, 7, 8, 9, 11, 12, 13, 15, 16, 17, 29}, {7, 8, 9, 15, 16, 17, 31, 32, 33, 47}, {16}, 3);
    sweep_sizes<double>({5, 6, 7, 13, 14, 15}, {3, 4, 5, 7, 8, 9, 15, 16, 17}, {9}, 4);
  });
}

TEST(Gemm, AroundCacheBlocks) {
  // kc in {192, 256, 384, 512}, mc in {72, 84, 144, 168}: a few shapes straddling them.
  for_each_isa([] {
    for (i64 K : {191, 193, 255, 257, 383, 385, 513, 769})
      check_gemm<float>({9, 35, K, false, false, 0, 1}, 1.f, 0.5f, 10 + static_cast<unsigned>(K));
    for (i64 M : {143, 145, 169}) {
      check_gemm<float>({M, 40, 260, false, true, 0, 1}, 1.f, 0.f, 20);
      check_gemm<double>({M, 20, 200, true, false, 0, 1}, 2.0, 1.0, 21);
    }
    // C rows a page or more apart: A blocks of 72 rows (70 with AVX-512).
    check_gemm<float>({145, 1030, 300, false, false, 0, 1}, 1.f, 0.5f, 22);
    check_gemm<float>({73, 40, 50, true, false, 1000, 1}, 1.f, 0.f, 23);
    check_gemm<double>({75, 520, 30, false, true, 0, 1}, 1.0, 1.0, 24);
    // Packed B whose kc_narrow x N block fits in 2 MiB takes K blocks of
    // kc_narrow (512 on AVX2): K around one, two and three such blocks; N on
    // each side of the 2 MiB limit (1024 floats, 512 doubles).
    for (i64 K : {511, 513, 1025})
      check_gemm<float>({40, 1024, K, false, true, 0, 1}, 1.f, 0.5f, 25 + static_cast<unsigned>(K));
    check_gemm<float>({40, 1025, 600, false, true, 0, 1}, 1.f, 0.5f, 26);
    check_gemm<double>({30, 512, 600, false, true, 0, 1}, 1.0, 1.0, 27);
    check_gemm<double>({30, 513, 600, false, true, 0, 1}, 1.0, 1.0, 28);
    // Wide N: past nc (4080/4064 floats, 2040/2032 doubles) and the A-packing threshold.
    check_gemm<float>({13, 4097, 5, false, false, 0, 1}, 1.f, 0.f, 30);
    check_gemm<double>({7, 2049, 3, false, true, 0, 1}, 1.0, 1.0, 31);
    check_gemm<float>({40, 600, 70, true, true, 0, 1}, 1.f, 0.f, 32);
    check_gemm<float>({40, 600, 70, false, false, 0, 1}, 1.f, 1.f, 33);
    // Packed A (wide N) through the transposing pack, several row groups per panel.
    for (int t = 0; t < 4; ++t) {
      check_gemm<double>({47, 530, 45, (t & 1) != 0, (t & 2) != 0, 0, 1}, 1.0, 0.5, 34);
      check_gemm<float>({31, 530, 45, (t & 1) != 0, (t & 2) != 0, 0, 1}, 1.f, 0.f, 35);
    }
  });
}

TEST(Gemm, AroundTheRowBlockWithWideN) {
  // M around the row block mc (one or several A blocks over the same packed
  // B), N past several B panels with and without a column fringe, K around kc,
  // every transpose, padded and strided operands.
  for_each_isa([] {
    for (int t = 0; t < 4; ++t) {
      const bool ta = t & 1, tb = t & 2;
      for (i64 M : {71, 143, 144, 145, 169, 290}) {
        check_gemm<float>({M, 530, 40, ta, tb, 0, 1}, 1.f, 0.f, 60 + static_cast<unsigned>(M));
        check_gemm<double>({M / 2 + 1, 264, 30, ta, tb, 3, 1}, 0.5, 1.0, 61);
      }
      check_gemm<float>({150, 520, 385, ta, tb, 0, 1}, 1.f, 0.25f, 62);   // two row blocks, two k blocks
      check_gemm<float>({128, 784, 256, ta, tb, 0, 1}, 1.f, 0.f, 63);     // bwd1_dx shape
      check_gemm<float>({128, 256, 784, ta, tb, 0, 1}, 1.f, 1.f, 64);     // fwd1 shape
      check_gemm<float>({145, 513, 50, ta, tb, 7, 1}, 1.f, 0.5f, 65);     // padded
      check_gemm<float>({146, 517, 33, ta, tb, 1, 2}, -1.f, 1.f, 66);     // no unit stride
      check_gemm<double>({85, 530, 200, ta, tb, 1, 2}, 1.0, 0.0, 67);
    }
  });
}

TEST(Gemm, EachSideOfTheInPlaceBLimits) {
  // read_b_in_place (core/gemm.cpp) with float, B not transposed, MR = 6 (AVX2
  // and SSE): shapes just inside and just outside each of its limits. A
  // shift of 4 floats puts B's rows 16 bytes past a cache line.
  for_each_isa([] {
    check_gemm<float>({100, 48, 300, false, false, 0, 1}, 1.f, 0.5f, 70);     // narrow aligned B in place, two k blocks
    check_gemm<float>({100, 48, 300, false, false, 0, 1, 4}, 1.f, 0.f, 71);  // unaligned: packed
    check_gemm<float>({100, 37, 300, false, false, 11, 1}, 1.f, 0.f, 72);    // aligned rows (48), fringe panel
    check_gemm<float>({129, 48, 300, false, false, 0, 1}, 1.f, 0.f, 73);     // M past 128: packed
    check_gemm<float>({120, 144, 50, false, false, 0, 1}, 1.f, 0.f, 74);     // rows past 512 bytes: packed
    check_gemm<float>({20, 1000, 300, false, false, 0, 1, 4}, 1.f, 0.f, 75); // rows under 4 KiB: in place
    check_gemm<float>({20, 1100, 400, false, false, 0, 1, 4}, 1.f, 1.f, 76); // unaligned, rows past 4 KiB: packed
    check_gemm<float>({20, 1104, 300, false, false, 0, 1}, 1.f, 0.f, 77);    // aligned, 1.3 MiB: in place
    check_gemm<float>({20, 1104, 400, false, false, 0, 1}, 1.f, 0.f, 78);    // aligned, 1.7 MiB: packed
    check_gemm<float>({10, 1104, 400, false, false, 0, 1}, 1.f, 0.f, 79);    // two row tiles: in place
    check_gemm<float>({12, 1040, 1600, false, false, 0, 1}, 1.f, 0.f, 80);   // two row tiles, 6.3 MiB: packed
    check_gemm<double>({60, 16, 260, false, false, 0, 1}, 1.0, 0.5, 81);     // narrow double B in place
    // Aᵀ·B with A's columns a multiple of 4 KiB apart: A packed although N is narrow.
    check_gemm<float>({1024, 40, 70, true, false, 0, 1}, 1.f, 0.f, 82);
    check_gemm<float>({1021, 37, 300, true, false, 3, 1}, 1.f, 0.5f, 83);    // via padding, two k blocks
    check_gemm<double>({512, 20, 30, true, false, 0, 1}, 1.0, 0.0, 84);
  });
}

TEST(Gemm, LongKBlocksWideInPlaceBAndAliasedRows) {
  // The AVX-512 float plan (core/gemm.cpp): C past 1 MiB takes K blocks of
  // kc_wide (1024; the K blocking itself is the one tested above) and
  // balanced A blocks; aligned B with M <= 128 is read
  // in place (with kc_wide blocks) up to 6 MiB, and with any M up to 1 MiB
  // unless its rows are a multiple of 4 KiB apart; A whose rows are a multiple
  // of 4 KiB apart is packed. Other ISAs run the same shapes through their
  // own plans.
  for_each_isa([] {
    // C past 1 MiB, M past 128 and B rows 12 KiB apart (B packed): A blocks
    // of 72 + 72 + 56 rows.
    check_gemm<float>({200, 3072, 40, false, false, 0, 1}, 1.f, 0.5f, 90);
    check_gemm<float>({128, 272, 1100, false, false, 0, 1}, 1.f, 1.f, 91);   // B in place, two K blocks
    check_gemm<float>({101, 1001, 200, false, false, 7, 1}, 2.f, 0.f, 92);   // B in place, column fringe
    check_gemm<float>({128, 272, 1100, false, false, 0, 1, 4}, 1.f, 0.f, 93);  // unaligned B: packed
    check_gemm<float>({300, 272, 500, false, false, 0, 1}, 1.f, 0.5f, 97);   // B of 0.5 MiB in place, M > 128
    check_gemm<float>({150, 1024, 200, false, false, 0, 1}, 1.f, 0.f, 98);   // B rows 4 KiB apart: packed
    check_gemm<float>({64, 256, 1024, false, false, 0, 1}, 1.f, 0.f, 94);    // A rows 4 KiB apart: packed
    check_gemm<float>({15, 100, 2048, false, false, 0, 1}, 1.f, 0.25f, 95);  // the same, two row tiles
    check_gemm<double>({64, 136, 1100, false, false, 0, 1}, 1.0, 0.5, 96);
  });
}

TEST(Gemm, ShortKTilesOnOneThread) {
  // Products with K <= 128, N a multiple of 64, C stored by rows and at least
  // 16 rows take the AVX-512 float table's 4x64 tiles, on one thread only
  // (core/gemm.cpp): row fringes of 1-3 rows, one to three panels, K around
  // the limit, padded, transposed and strided operands; fewer than 16 rows,
  // N not a multiple of 64 and K = 129 stay on the usual tiles. Other ISAs
  // run the same shapes through their own tables.
  for_each_isa([] {
    ThreadsGuard one(1);
    check_gemm<float>({64, 64, 64, false, false, 0, 1}, 1.f, 0.5f, 99);
    check_gemm<float>({37, 128, 100, false, false, 3, 1}, 0.5f, 0.f, 100);
    check_gemm<float>({5, 192, 3, true, true, 0, 1}, 1.f, 1.f, 101);
    for (i64 M : {16, 17, 18, 19, 63, 130})
      for (i64 K : {1, 7, 64, 127, 128, 129}) {
        const unsigned seed = 102 + static_cast<unsigned>(M * 131 + K);
        check_gemm<float>({M, 64, K, false, false, 0, 1}, 1.f, 0.f, seed);
        check_gemm<float>({M, 192, K, (K & 1) != 0, (M & 1) != 0, 5, 1}, -0.5f, 1.f, seed + 1);
      }
    check_gemm<float>({40, 128, 60, false, false, 1, 2}, 1.f, 0.25f, 103);  // no unit stride
    check_gemm<float>({40, 65, 60, false, false, 0, 1}, 1.f, 0.f, 104);     // N not a multiple of 64
    check_gemm<float>({15, 64, 60, false, false, 0, 1}, 1.f, 0.f, 105);     // under 16 rows
  });
}

TEST(Gemm, LargeBInPlaceWithPrefetch) {
  // B of 1 MiB or more read in place prefetches each next panel (rows a B
  // row apart) during the current one; on AVX-512 float, B past 6 MiB is
  // read in place for M <= 256, aligned or not, with K blocks of 512. Full
  // tiles of packed A (24 rows) and of A in place (16), one tile (8), a
  // column fringe, unaligned rows; 1 thread on every ISA (other ISAs run
  // the shapes through their own plans), 2 threads (whose split counts B
  // per tile then) on the machine's. Kept small: the float64 reference
  // dominates the time, and more so under the sanitizers.
  for_each_isa([] {
    ThreadsGuard one(1);
    check_gemm<float>({8, 3200, 520, false, false, 0, 1}, 1.f, 0.f, 110);    // 6.3 MiB, one row tile
    check_gemm<float>({16, 1601, 1000, false, false, 0, 1}, 2.f, 0.f, 112);  // rows not aligned, fringe
    check_gemm<float>({40, 1024, 300, false, false, 0, 1}, 1.f, 1.f, 113);   // 1.2 MiB, rows 4 KiB apart
  });
  ThreadsGuard two(2);
  check_gemm<float>({24, 1600, 1040, false, false, 0, 1}, 1.f, 0.5f, 111);  // 6.3 MiB, packed A, two K blocks
  check_gemm<float>({16, 1601, 1000, false, false, 0, 1}, 2.f, 0.f, 112);
}

TEST(Gemm, TallSkinnyAndVectors) {
  for_each_isa([] {
    for (int t = 0; t < 4; ++t) {
      const bool ta = t & 1, tb = t & 2;
      check_gemm<float>({1000, 3, 20, ta, tb, 0, 1}, 1.f, 0.f, 40);
      check_gemm<float>({3, 1000, 20, ta, tb, 0, 1}, 1.f, 1.f, 41);
      check_gemm<float>({20, 20, 3000, ta, tb, 0, 1}, 1.f, 0.f, 42);
      check_gemm<float>({1, 1000, 70, ta, tb, 0, 1}, 0.5f, 0.f, 43);  // vector·matrix
      check_gemm<float>({1000, 1, 70, ta, tb, 0, 1}, 1.f, 2.f, 44);   // matrix·vector
      check_gemm<double>({1, 33, 1000, ta, tb, 0, 1}, 1.0, 0.0, 45);
      check_gemm<double>({33, 1, 1000, ta, tb, 0, 1}, 1.0, 1.0, 46);
      check_gemm<float>({1, 1, 1000, ta, tb, 0, 1}, 1.f, 0.f, 47);     // dot
      // Past 128 KiB the axpy form reads A by rows (16 KiB of a row per pass):
      // a vector tail with k % 4 = 3, then a second pass and a tail.
      check_gemm<float>({1, 1030, 203, ta, tb, 0, 1}, 0.5f, 1.f, 56);
      check_gemm<float>({1, 4203, 40, ta, tb, 0, 1}, 1.f, 0.5f, 59);
      check_gemm<double>({1, 2101, 40, ta, tb, 0, 1}, 1.0, 0.0, 55);
      {
        // From 16 MiB the dot form takes eight rows at a time (then four,
        // then one); one thread, so that no split takes it under 16 MiB.
        ThreadsGuard one(1);
        check_gemm<float>({4101, 1, 1030, ta, tb, 0, 1}, 1.f, 0.5f, 54);
      }
      check_gemm<float>({1027, 1, 300, ta, tb, 0, 1}, 1.f, 0.f, 57);
      check_gemm<double>({1, 301, 130, ta, tb, 0, 1}, 1.0, 0.5, 58);
      check_gemm<float>({128, 10, 128, ta, tb, 0, 1}, 1.f, 0.f, 48);   // MLP output layer
      // Narrow N runs as Cᵀ = Bᵀ·Aᵀ, whose tiles store C by columns: packed
      // row tiles of 6, 6 and 1 (N = 13 over 600 columns), two k blocks.
      check_gemm<float>({600, 13, 300, ta, tb, 0, 1}, 1.f, 0.5f, 49);
      check_gemm<float>({600, 13, 300, ta, tb, 0, 1}, 2.f, 0.f, 49);
    }
  });
}

TEST(Gemm, StridedOperands) {
  for_each_isa([] {
    for (int t = 0; t < 4; ++t) {
      const bool ta = t & 1, tb = t & 2;
      // Padded leading dimensions.
      check_gemm<float>({17, 19, 23, ta, tb, 5, 1}, 1.f, 0.f, 50);
      check_gemm<double>({17, 19, 23, ta, tb, 3, 1}, 1.0, 0.5, 51);
      // No unit stride at all (every other element): the general packing path.
      check_gemm<float>({17, 21, 29, ta, tb, 1, 2}, 1.f, 1.f, 52);
      check_gemm<float>({1, 21, 29, ta, tb, 1, 3}, 1.f, 0.f, 53);
      check_gemm<float>({21, 1, 29, ta, tb, 1, 3}, 1.f, 0.f, 54);
    }
  });
}

template <class T>
void check_alpha_zero_and_k_zero() {
  const T nan = std::numeric_limits<T>::quiet_NaN();
  std::vector<T> A = {nan}, B = {nan};
  std::vector<T> C = {1, 2, 3, 4};
  lamina::gemm<T>(2, 2, 1, T(0), A.data(), 0, 0, B.data(), 0, 0, T(2), C.data(), 2, 1);
  EXPECT_THAT(C, ::testing::ElementsAre(2, 4, 6, 8));
  C = {nan, 1, 2, 3};
  lamina::gemm<T>(2, 2, 0, T(1), nullptr, 0, 0, nullptr, 0, 0, T(0), C.data(), 2, 1);
  EXPECT_THAT(C, ::testing::ElementsAre(0, 0, 0, 0));
  // K = 0 with beta: only the scaling, strided C untouched outside its view.
  C = {1, -7, 3, -7};
  lamina::gemm<T>(2, 1, 0, T(1), nullptr, 0, 0, nullptr, 0, 0, T(-0.5), C.data(), 2, 1);
  EXPECT_THAT(C, ::testing::ElementsAre(-0.5, -7, -1.5, -7));
}

TEST(Gemm, AlphaZeroAndKZeroOnlyScale) {
  for_each_isa([] {
    check_alpha_zero_and_k_zero<float>();
    check_alpha_zero_and_k_zero<double>();
  });
}

template <class T>
AlignedVec<T> run_gemm(int threads, i64 M, i64 N, i64 K, bool ta, bool tb) {
  ThreadsGuard g(threads);
  auto A = random_vec<T>(M * K, 7), B = random_vec<T>(K * N, 8), C = random_vec<T>(M * N, 9);
  lamina::gemm<T>(M, N, K, T(0.75), A.data(), ta ? 1 : K, ta ? M : 1, B.data(), tb ? 1 : N, tb ? K : 1, T(0.5),
                  C.data(), N, 1);
  return C;
}

// Each product is added with one rounding on the ISAs that have FMA, in every
// tile variant and orientation: (-1)·1 + (1+2⁻¹²)·(1+2⁻¹²) is 2⁻¹¹ + 2⁻²⁴
// fused, but 2⁻¹¹ when the product is rounded first (its 2⁻²⁴ is a tie that
// rounds to even). xsimd 8.1 has no AVX-512 fma (it is x*y + z, which the
// compiler contracted in some tile variants and not in others, so results
// depended on the thread split); core/detail/simd_fma.h supplies it.
TEST(Gemm, FusedMultiplyAddRoundsOnce) {
  const float e = std::ldexp(1.0f, -12);
  for_each_isa([&] {
    const bool fused = lamina::current_isa() != lamina::Isa::sse42;
    const float expected = fused ? std::ldexp(1.0f, -11) + std::ldexp(1.0f, -24) : std::ldexp(1.0f, -11);
    for (i64 M : {2, 3, 7, 14, 20, 37})
      for (i64 N : {2, 5, 16, 33, 100}) {
        AlignedVec<float> A(M * 2), B(2 * N), C(M * N, 5.0f);
        for (i64 i = 0; i < M; ++i) A[i * 2] = -1.0f, A[i * 2 + 1] = 1.0f + e;
        for (i64 j = 0; j < N; ++j) B[j] = 1.0f, B[N + j] = 1.0f + e;
        lamina::gemm<float>(M, N, 2, 1.0f, A.data(), 2, 1, B.data(), N, 1, 0.0f, C.data(), N, 1);
        for (i64 i = 0; i < M * N; ++i) ASSERT_EQ(C[i], expected) << M << "x" << N << " element " << i;
        // The beta step too: (1+2⁻¹²)·(1+2⁻¹²) + (-1)·1 with beta = C = 1+2⁻¹².
        AlignedVec<float> A1(M, -1.0f), B1(N, 1.0f), C1(M * N, 1.0f + e);
        lamina::gemm<float>(M, N, 1, 1.0f, A1.data(), 1, 1, B1.data(), N, 1, 1.0f + e, C1.data(), N, 1);
        for (i64 i = 0; i < M * N; ++i) ASSERT_EQ(C1[i], expected) << M << "x" << N << " beta, element " << i;
      }
    // Large enough to be split over two threads.
    ThreadsGuard g(2);
    const i64 M = 600, N = 601;
    AlignedVec<float> A(M * 2), B(2 * N), C(M * N);
    for (i64 i = 0; i < M; ++i) A[i * 2] = -1.0f, A[i * 2 + 1] = 1.0f + e;
    for (i64 j = 0; j < N; ++j) B[j] = 1.0f, B[N + j] = 1.0f + e;
    lamina::gemm<float>(M, N, 2, 1.0f, A.data(), 2, 1, B.data(), N, 1, 0.0f, C.data(), N, 1);
    for (i64 i = 0; i < M * N; ++i) ASSERT_EQ(C[i], expected) << "600x601 on 2 threads, element " << i;
  });
}

struct GemmShape {
  i64 M, N, K;
};

/// gemm<T> on 1 and 2 threads gives the same bits, every transpose combination.
template <class T>
void expect_threads_bitwise_equal(std::initializer_list<GemmShape> shapes) {
  for (GemmShape s : shapes)
    for (int t = 0; t < 4; ++t) {
      const bool ta = t & 1, tb = t & 2;
      auto one = run_gemm<T>(1, s.M, s.N, s.K, ta, tb);
      auto two = run_gemm<T>(2, s.M, s.N, s.K, ta, tb);
      EXPECT_EQ(0, std::memcmp(one.data(), two.data(), one.size() * sizeof(T)))
          << sizeof(T) * 8 << "-bit " << s.M << "x" << s.N << "x" << s.K << " ta=" << ta << " tb=" << tb;
    }
}

TEST(Gemm, OneAndTwoThreadsBitwiseEqual) {
  for_each_isa([] {
    expect_threads_bitwise_equal<float>(
        {{300, 301, 150}, {128, 10, 128}, {128, 784, 256}, {784, 256, 128}, {37, 1000, 300}, {1000, 37, 300},
         {1, 3000, 700}, {3000, 1, 700}, {2, 2, 5000}, {290, 530, 400}, {150, 1030, 385}, {64, 64, 64},
         {128, 128, 10}, {100, 48, 300}, {20, 1104, 300}, {1, 4100, 800}, {4100, 1, 800}, {200, 3072, 40},
         {128, 272, 300}, {64, 256, 1024}, {300, 272, 200}, {128, 128, 128}, {96, 192, 64}});
    expect_threads_bitwise_equal<double>(
        {{200, 210, 300}, {128, 10, 128}, {300, 1, 700}, {1, 2100, 300}, {97, 530, 100}, {530, 47, 45}});
  });
}

// ---------------------------------------------------------------------------
// matmul op

Tensor rand_tensor(const Shape& shape, unsigned seed, lamina::DType dt = lamina::DType::float32) {
  auto v = random_vec<double>(shape.numel(), seed);
  return Tensor::from<double>(v, shape).to(dt);
}

/// Naive NumPy-matmul reference on float64 values.
std::vector<double> ref_matmul(const Tensor& a0, const Tensor& b0, bool ta, bool tb, Shape* out_shape) {
  Tensor a = a0, b = b0;
  if (ta && a.ndim() >= 2) a = a.transpose(-1, -2);
  if (tb && b.ndim() >= 2) b = b.transpose(-1, -2);
  const bool av = a.ndim() == 1, bv = b.ndim() == 1;
  if (av) a = a.unsqueeze(0);
  if (bv) b = b.unsqueeze(1);
  const int nb = std::max(a.ndim(), b.ndim()) - 2;
  Shape batch;
  batch.resize(nb, 1);
  for (int d = 0; d < nb; ++d) {
    const int da = d - (nb - (a.ndim() - 2)), db = d - (nb - (b.ndim() - 2));
    const i64 xa = da >= 0 ? a.shape()[da] : 1, xb = db >= 0 ? b.shape()[db] : 1;
    batch[d] = std::max(xa, xb);
  }
  Shape full_a = batch, full_b = batch;
  full_a.push_back(a.size(-2));
  full_a.push_back(a.size(-1));
  full_b.push_back(b.size(-2));
  full_b.push_back(b.size(-1));
  auto va = a.broadcast_to(full_a).contiguous().to_vector<double>();
  auto vb = b.broadcast_to(full_b).contiguous().to_vector<double>();
  const i64 M = a.size(-2), K = a.size(-1), N = b.size(-1), nbatch = batch.numel();
  std::vector<double> out(static_cast<std::size_t>(nbatch * M * N));
  for (i64 t = 0; t < nbatch; ++t)
    for (i64 i = 0; i < M; ++i)
      for (i64 j = 0; j < N; ++j) {
        double s = 0;
        for (i64 k = 0; k < K; ++k) s += va[(t * M + i) * K + k] * vb[(t * K + k) * N + j];
        out[(t * M + i) * N + j] = s;
      }
  *out_shape = batch;
  if (!av) out_shape->push_back(M);
  if (!bv) out_shape->push_back(N);
  return out;
}

void expect_matmul(const Tensor& a, const Tensor& b, bool ta = false, bool tb = false) {
  Shape expected_shape;
  auto ref = ref_matmul(a, b, ta, tb, &expected_shape);
  Tensor c = lamina::core::matmul(a, b, ta, tb);
  ASSERT_EQ(c.shape(), expected_shape) << a.shape() << " @ " << b.shape();
  ASSERT_EQ(c.dtype(), a.dtype());
  auto got = c.to_vector<double>();
  const double tol = a.dtype() == lamina::DType::float32 ? 2e-5 : 1e-13;
  const i64 K = ta && a.ndim() >= 2 ? a.size(-2) : a.size(-1);
  for (std::size_t i = 0; i < got.size(); ++i)
    ASSERT_NEAR(got[i], ref[i], tol * (1.0 + static_cast<double>(K))) << a.shape() << " @ " << b.shape() << " at " << i;
}

TEST(Matmul, TwoDAllTransposes) {
  for_each_isa([] {
    for (auto dt : {lamina::DType::float32, lamina::DType::float64}) {
      expect_matmul(rand_tensor({5, 7}, 1, dt), rand_tensor({7, 3}, 2, dt));
      expect_matmul(rand_tensor({7, 5}, 1, dt), rand_tensor({7, 3}, 2, dt), true, false);
      expect_matmul(rand_tensor({5, 7}, 1, dt), rand_tensor({3, 7}, 2, dt), false, true);
      expect_matmul(rand_tensor({7, 5}, 1, dt), rand_tensor({3, 7}, 2, dt), true, true);
      expect_matmul(rand_tensor({0, 7}, 1, dt), rand_tensor({7, 3}, 2, dt));
      expect_matmul(rand_tensor({4, 0}, 1, dt), rand_tensor({0, 3}, 2, dt));  // zeros
    }
  });
}

TEST(Matmul, VectorsPromoteAndDrop) {
  for_each_isa([] {
    for (auto dt : {lamina::DType::float32, lamina::DType::float64}) {
      expect_matmul(rand_tensor({7}, 1, dt), rand_tensor({7}, 2, dt));          // dot -> ()
      expect_matmul(rand_tensor({7}, 1, dt), rand_tensor({7, 3}, 2, dt));       // (3,)
      expect_matmul(rand_tensor({5, 7}, 1, dt), rand_tensor({7}, 2, dt));       // (5,)
      expect_matmul(rand_tensor({2, 5, 7}, 1, dt), rand_tensor({7}, 2, dt));    // (2, 5)
      expect_matmul(rand_tensor({7}, 1, dt), rand_tensor({4, 7, 3}, 2, dt));    // (4, 3)
      expect_matmul(rand_tensor({7, 5}, 1, dt), rand_tensor({7}, 2, dt), true, false);
      expect_matmul(rand_tensor({7}, 1, dt), rand_tensor({3, 7}, 2, dt), false, true);
      expect_matmul(rand_tensor({300, 130}, 3, dt), rand_tensor({130}, 4, dt));  // matrix·vector past one block
      expect_matmul(rand_tensor({130}, 3, dt), rand_tensor({130, 300}, 4, dt));
    }
  });
  EXPECT_EQ(lamina::core::matmul(rand_tensor({7}, 1), rand_tensor({7}, 2)).ndim(), 0);
}

TEST(Matmul, BatchedBroadcasting) {
  for_each_isa([] {
    for (auto dt : {lamina::DType::float32, lamina::DType::float64}) {
      SCOPED_TRACE(std::string("dtype=") + std::string(lamina::dtype_name(dt)));
      expect_matmul(rand_tensor({3, 4, 5}, 1, dt), rand_tensor({3, 5, 6}, 2, dt));
      expect_matmul(rand_tensor({2, 1, 4, 5}, 1, dt), rand_tensor({3, 5, 6}, 2, dt));
      expect_matmul(rand_tensor({4, 5}, 1, dt), rand_tensor({2, 3, 5, 6}, 2, dt));
      expect_matmul(rand_tensor({2, 3, 4, 5}, 1, dt), rand_tensor({5, 6}, 2, dt));  // folds into one GEMM
      expect_matmul(rand_tensor({2, 3, 1, 5}, 1, dt), rand_tensor({5, 6}, 2, dt));
      for (int t = 0; t < 4; ++t) {
        const bool ta = t & 1, tb = t & 2;
        expect_matmul(rand_tensor(ta ? Shape{2, 3, 5, 4} : Shape{2, 3, 4, 5}, 1, dt),
                      rand_tensor(tb ? Shape{3, 6, 5} : Shape{3, 5, 6}, 2, dt), ta, tb);
        expect_matmul(rand_tensor(ta ? Shape{1, 40, 33} : Shape{1, 33, 40}, 3, dt),
                      rand_tensor(tb ? Shape{4, 70, 40} : Shape{4, 40, 70}, 4, dt), ta, tb);
      }
      expect_matmul(rand_tensor({64, 9, 9}, 1, dt), rand_tensor({64, 9, 9}, 2, dt));
    }
  });
}

TEST(Matmul, StridedViewsWithoutCopies) {
  for (auto dt : {lamina::DType::float32, lamina::DType::float64}) {
    SCOPED_TRACE(std::string("dtype=") + std::string(lamina::dtype_name(dt)));
    Tensor big = rand_tensor({12, 20}, 3, dt);
    Tensor w = rand_tensor({30, 16}, 4, dt);
    // Column slice (row stride 20, unit column stride), transposed view, row step.
    expect_matmul(big.slice(1, 2, 17), w.slice(0, 0, 15));
    expect_matmul(big.t(), rand_tensor({12, 5}, 5, dt));
    expect_matmul(big.slice(0, 0, 12, 2), w.slice(0, 1, 21));
    // No unit stride anywhere: step on the contiguous axis.
    expect_matmul(big.slice(1, 0, 20, 2), w.slice(0, 0, 30, 3).slice(1, 0, 16, 2));
    // Expanded (stride-0) operand and a batch of transposed views.
    expect_matmul(rand_tensor({1, 6}, 6, dt).expand({5, 6}), rand_tensor({6, 4}, 7, dt));
    expect_matmul(rand_tensor({3, 6, 5}, 8, dt).transpose(1, 2), rand_tensor({3, 6, 4}, 9, dt));
    // Views with the transpose flags on top.
    expect_matmul(big.slice(1, 0, 20, 2), rand_tensor({16, 24}, 10, dt).slice(1, 0, 24, 2), true, true);
  }
}

TEST(Matmul, OutAccumulatesWithAlphaBeta) {
  for (auto dt : {lamina::DType::float32, lamina::DType::float64}) {
    SCOPED_TRACE(std::string("dtype=") + std::string(lamina::dtype_name(dt)));
    const double tol = dt == lamina::DType::float32 ? 1e-5 : 1e-13;
    Tensor a = rand_tensor({6, 9}, 1, dt), b = rand_tensor({9, 5}, 2, dt), c = rand_tensor({6, 5}, 3, dt);
    Shape s;
    auto ab = ref_matmul(a, b, false, false, &s);
    auto c0 = c.to_vector<double>();
    lamina::core::matmul_out(a, b, c, 0.5, 2.0);
    auto got = c.to_vector<double>();
    for (std::size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], 0.5 * ab[i] + 2.0 * c0[i], tol);
    // beta = 0 ignores NaN in the output.
    c.fill_(std::nan(""));
    lamina::core::matmul_out(a, b, c, 1.0, 0.0);
    got = c.to_vector<double>();
    for (std::size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], ab[i], tol);
    // With the transpose flags: c = -aᵀ·bᵀ + 0.5 c, operands stored (9, 6) and (5, 9).
    Tensor at = rand_tensor({9, 6}, 4, dt), bt = rand_tensor({5, 9}, 5, dt);
    auto atbt = ref_matmul(at, bt, true, true, &s);
    c0 = c.to_vector<double>();
    lamina::core::matmul_out(at, bt, c, -1.0, 0.5, true, true);
    got = c.to_vector<double>();
    for (std::size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], -atbt[i] + 0.5 * c0[i], tol);
  }
}

TEST(Matmul, OutStridedAndAliased) {
  Tensor a = rand_tensor({6, 9}, 1), b = rand_tensor({9, 5}, 2);
  Shape s;
  auto ab = ref_matmul(a, b, false, false, &s);
  // Transposed output view (unit row stride): written in place.
  Tensor storage = lamina::zeros({5, 6});
  Tensor outT = storage.t();
  lamina::core::matmul_out(a, b, outT, 1.0, 1.0);
  auto got = outT.contiguous().to_vector<double>();
  for (std::size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], ab[i], 1e-5);
  // Output with no unit stride: goes through a temporary.
  Tensor wide = lamina::zeros({6, 10});
  Tensor out2 = wide.slice(1, 0, 10, 2);
  lamina::core::matmul_out(a, b, out2);
  got = out2.contiguous().to_vector<double>();
  for (std::size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], ab[i], 1e-5);
  EXPECT_EQ(wide.at<float>(0, 1), 0.f);
  // Output aliasing an input: x = x @ m.
  Tensor x = rand_tensor({4, 4}, 5), m = rand_tensor({4, 4}, 6);
  auto xm = ref_matmul(x, m, false, false, &s);
  lamina::core::matmul_out(x, m, x);
  got = x.to_vector<double>();
  for (std::size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], xm[i], 1e-5);
  // Through a temporary with beta != 0: the old output is carried in.
  Tensor wide3 = rand_tensor({6, 10}, 7);
  Tensor out3 = wide3.slice(1, 0, 10, 2);
  auto before = out3.contiguous().to_vector<double>();
  lamina::core::matmul_out(a, b, out3, 2.0, -0.5);
  got = out3.contiguous().to_vector<double>();
  for (std::size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], 2.0 * ab[i] - 0.5 * before[i], 1e-5);
  // Aliased with beta != 0: y = y @ m + y.
  Tensor y = rand_tensor({4, 4}, 8);
  auto y0 = y.to_vector<double>();
  auto ym = ref_matmul(y, m, false, false, &s);
  lamina::core::matmul_out(y, m, y, 1.0, 1.0);
  got = y.to_vector<double>();
  for (std::size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], ym[i] + y0[i], 1e-5);
}

TEST(Matmul, BatchedOutWithBroadcastAndAccumulation) {
  // (3, 1, 5, 6) @ (4, 6, 2) -> (3, 4, 5, 2), accumulated into an existing output.
  Tensor a = rand_tensor({3, 1, 5, 6}, 11), b = rand_tensor({4, 6, 2}, 12);
  Tensor out = rand_tensor({3, 4, 5, 2}, 13);
  const auto out0 = out.to_vector<double>();
  lamina::core::matmul_out(a, b, out, 1.0, 1.0);
  const auto got = out.to_vector<double>();
  for (std::int64_t i = 0; i < 3; ++i)
    for (std::int64_t j = 0; j < 4; ++j) {
      Shape s;
      auto ab = ref_matmul(a.select(0, i).select(0, 0), b.select(0, j), false, false, &s);
      for (std::int64_t k = 0; k < 10; ++k) {
        const std::size_t flat = static_cast<std::size_t>((i * 4 + j) * 10 + k);
        EXPECT_NEAR(got[flat], ab[static_cast<std::size_t>(k)] + out0[flat], 1e-5) << i << "," << j << "," << k;
      }
    }
}

TEST(Matmul, StridedViewsAreReadWithoutACopy) {
  // Transposed and row-sliced operands: the only allocation is the result.
  Tensor a = rand_tensor({64, 48}, 1), b = rand_tensor({40, 64}, 2);
  Tensor at = a.t(), bt = b.t();                    // (48, 64), (64, 40)
  Tensor rows = rand_tensor({96, 48}, 3).slice(0, 0, 96, 2);  // (48, 48), rows 2 apart
  Tensor warm = lamina::core::matmul(at, bt);       // warm the packing buffers
  const auto before = lamina::allocator_stats().allocations;
  Tensor c = lamina::core::matmul(at, bt);
  Tensor d = lamina::core::matmul(rows, a.slice(0, 0, 48));
  EXPECT_EQ(lamina::allocator_stats().allocations - before, 2) << "one allocation per result, no operand copies";
  Shape s;
  auto want = ref_matmul(at, bt, false, false, &s);
  auto got = c.to_vector<double>();
  for (std::size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], want[i], 1e-4);
  want = ref_matmul(rows, a.slice(0, 0, 48), false, false, &s);
  got = d.to_vector<double>();
  for (std::size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], want[i], 1e-4);
  (void)warm;
}

TEST(Matmul, ThreadsBitwiseEqual) {
  for_each_isa([] {
    for (auto dt : {lamina::DType::float32, lamina::DType::float64})
      for (int t = 0; t < 4; ++t) {
        const bool ta = t & 1, tb = t & 2;
        SCOPED_TRACE(std::string("dtype=") + std::string(lamina::dtype_name(dt)) + " ta=" + std::to_string(ta) +
                     " tb=" + std::to_string(tb));
        // Batch folded into one GEMM (b shared), a batch of small products,
        // and a broadcast batch of transposed views.
        Tensor a = rand_tensor(ta ? Shape{4, 130, 100} : Shape{4, 100, 130}, 1, dt);
        Tensor b = rand_tensor(tb ? Shape{90, 130} : Shape{130, 90}, 2, dt);
        Tensor c = rand_tensor(ta ? Shape{50, 20, 3} : Shape{50, 3, 20}, 3, dt);
        Tensor d = rand_tensor(tb ? Shape{50, 7, 20} : Shape{50, 20, 7}, 4, dt);
        Tensor e = rand_tensor({1, 200, 150}, 5, dt).transpose(1, 2);  // (1, 150, 200), not contiguous
        Tensor f = rand_tensor(tb ? Shape{3, 60, 200} : Shape{3, 200, 60}, 6, dt);
        std::vector<Tensor> one, two;
        for (int threads : {1, 2}) {
          ThreadsGuard g(threads);
          auto& out = threads == 1 ? one : two;
          out.push_back(lamina::core::matmul(a, b, ta, tb));
          out.push_back(lamina::core::matmul(c, d, ta, tb));
          out.push_back(lamina::core::matmul(e, f, false, tb));
        }
        for (std::size_t i = 0; i < one.size(); ++i)
          EXPECT_EQ(0, std::memcmp(one[i].raw_data(), two[i].raw_data(), one[i].numel() * one[i].itemsize()))
              << "product " << i;
      }
  });
}

TEST(Matmul, ErrorsNameBothShapes) {
  using ::testing::HasSubstr;
  auto message = [](auto&& fn) -> std::string {
    try {
      fn();
    } catch (const lamina::Error& e) {
      return e.what();
    }
    return "no exception";
  };
  Tensor a = lamina::zeros({3, 4}), b = lamina::zeros({5, 2});
  EXPECT_THROW(lamina::core::matmul(a, b), lamina::ShapeError);
  EXPECT_THAT(message([&] { lamina::core::matmul(a, b); }),
              HasSubstr("[matmul] inner dimensions differ: (3, 4) @ (5, 2)"));
  EXPECT_THAT(message([&] { lamina::core::matmul(a, a, false, false); }),
              HasSubstr("[matmul] inner dimensions differ: (3, 4) @ (3, 4)"));
  EXPECT_THAT(message([&] { lamina::core::matmul(lamina::zeros({2, 3, 4}), lamina::zeros({5, 4, 2})); }),
              HasSubstr("[matmul] cannot broadcast batch dimensions: (2, 3, 4) @ (5, 4, 2)"));
  EXPECT_THROW(lamina::core::matmul(lamina::Tensor::scalar(1.0), b), lamina::ShapeError);
  EXPECT_THROW(lamina::core::matmul(a, lamina::zeros({4, 2}, lamina::DType::float64)), lamina::DTypeError);
  EXPECT_THAT(message([&] { lamina::core::matmul(a, lamina::zeros({4, 2}, lamina::DType::float64)); }),
              HasSubstr("[matmul] dtypes differ: float32 @ float64"));
  EXPECT_THROW(lamina::core::matmul(lamina::zeros({3, 4}, lamina::DType::int32), lamina::zeros({4, 2}, lamina::DType::int32)),
               lamina::DTypeError);
  // Batched, matrix·vector, vector·matrix, vector·vector, transpose flags,
  // and the recording matmul of autograd.
  EXPECT_THAT(message([&] { lamina::core::matmul(lamina::zeros({2, 3, 4}), lamina::zeros({2, 5, 6})); }),
              HasSubstr("[matmul] inner dimensions differ: (2, 3, 4) @ (2, 5, 6)"));
  EXPECT_THAT(message([&] { lamina::core::matmul(a, lamina::zeros({5})); }),
              HasSubstr("[matmul] inner dimensions differ: (3, 4) @ (5,)"));
  EXPECT_THAT(message([&] { lamina::core::matmul(lamina::zeros({5}), a); }),
              HasSubstr("[matmul] inner dimensions differ: (5,) @ (3, 4)"));
  EXPECT_THAT(message([&] { lamina::core::matmul(lamina::zeros({5}), lamina::zeros({4})); }),
              HasSubstr("[matmul] inner dimensions differ: (5,) @ (4,)"));
  EXPECT_THAT(message([&] { lamina::core::matmul(a, lamina::zeros({2, 3}), false, true); }),
              HasSubstr("[matmul] inner dimensions differ: (3, 4) @ (2, 3) (with transpose_b)"));
  EXPECT_THAT(message([&] { lamina::core::matmul(a, lamina::zeros({4, 2}), true, false); }),
              HasSubstr("[matmul] inner dimensions differ: (3, 4) @ (4, 2) (with transpose_a)"));
  EXPECT_THAT(message([&] { lamina::core::matmul(a, a, true, true); }),
              HasSubstr("[matmul] inner dimensions differ: (3, 4) @ (3, 4) (with transpose_a and transpose_b)"));
  EXPECT_THAT(message([&] { lamina::matmul(a, b); }), HasSubstr("[matmul] inner dimensions differ: (3, 4) @ (5, 2)"));
  EXPECT_THAT(message([&] { lamina::matmul(lamina::zeros({5}), a); }),
              HasSubstr("[matmul] inner dimensions differ: (5,) @ (3, 4)"));
  Tensor bad_out = lamina::zeros({3, 3});
  EXPECT_THAT(message([&] { lamina::core::matmul_out(a, lamina::zeros({4, 2}), bad_out); }),
              HasSubstr("[matmul] output has shape (3, 3), expected (3, 2)"));
}

}  // namespace
