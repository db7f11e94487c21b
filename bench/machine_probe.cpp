// machine_probe(): register-only FMA chains on one and two threads and two
// read loops, timed in short batches; the best batch of each is reported (the machine only ever
// slows code down, so the best batch is the least disturbed).

#include "machine_probe.h"

#include <immintrin.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <thread>

namespace lamina::bench {
namespace {

using Clock = std::chrono::steady_clock;

volatile float g_sink_f = 0;
volatile std::uint64_t g_sink_u = 0;
volatile float g_scale = 0.999999f, g_offset = 1e-6f;

/// Sum of n 64-bit words (n a multiple of 16) with 256-bit loads.
__attribute__((target("avx2"))) std::uint64_t read_avx2(const std::uint64_t* p, std::int64_t n) {
  __m256i a0 = _mm256_setzero_si256(), a1 = a0, a2 = a0, a3 = a0;
  for (std::int64_t i = 0; i < n; i += 16) {
    a0 = _mm256_add_epi64(a0, _mm256_load_si256(reinterpret_cast<const __m256i*>(p + i)));
    a1 = _mm256_add_epi64(a1, _mm256_load_si256(reinterpret_cast<const __m256i*>(p + i + 4)));
    a2 = _mm256_add_epi64(a2, _mm256_load_si256(reinterpret_cast<const __m256i*>(p + i + 8)));
    a3 = _mm256_add_epi64(a3, _mm256_load_si256(reinterpret_cast<const __m256i*>(p + i + 12)));
  }
  alignas(32) std::uint64_t lanes[4];
  _mm256_store_si256(reinterpret_cast<__m256i*>(lanes),
                     _mm256_add_epi64(_mm256_add_epi64(a0, a1), _mm256_add_epi64(a2, a3)));
  return lanes[0] + lanes[1] + lanes[2] + lanes[3];
}

std::uint64_t read_plain(const std::uint64_t* p, std::int64_t n) {
  std::uint64_t s0 = 0, s1 = 0;
  for (std::int64_t i = 0; i < n; i += 2) {
    s0 += p[i];
    s1 += p[i + 1];
  }
  return s0 + s1;
}

/// Best rate, in units of `work` per second, of `fn` over `batches` batches
/// of `calls` calls each.
template <class F>
double best_rate(F&& fn, int calls, int batches, double work_per_call) {
  double best = 0;
  for (int b = 0; b < batches; ++b) {
    const auto t0 = Clock::now();
    for (int c = 0; c < calls; ++c) fn();
    const double s = std::chrono::duration<double>(Clock::now() - t0).count();
    if (s > 0) best = std::max(best, work_per_call * calls / s);
  }
  return best;
}

/// Best read bandwidth (bytes/s) over a buffer of `bytes`, after one pass to
/// bring it into the caches; each batch reads about 10 ms' worth.
double read_rate(std::int64_t bytes, bool avx2) {
  const std::int64_t words = bytes / 8;
  struct Free {
    void operator()(void* p) const { std::free(p); }
  };
  std::unique_ptr<std::uint64_t, Free> buf(static_cast<std::uint64_t*>(std::aligned_alloc(64, static_cast<std::size_t>(bytes))));
  if (!buf) return 0;
  std::uint64_t* p = buf.get();
  for (std::int64_t i = 0; i < words; ++i) p[i] = static_cast<std::uint64_t>(i);
  auto pass = [&] { g_sink_u = avx2 ? read_avx2(p, words) : read_plain(p, words); };
  pass();
  // ~40 GB/s: 0.4 GB per 10 ms batch.
  const int calls = static_cast<int>(std::max<std::int64_t>(1, 400'000'000 / bytes));
  return best_rate(pass, calls, 5, static_cast<double>(bytes));
}

}  // namespace

__attribute__((target("avx2,fma"))) float fma_chains(std::int64_t iterations) {
  constexpr int kChains = 12;
  const __m256 scale = _mm256_set1_ps(g_scale), offset = _mm256_set1_ps(g_offset);
  __m256 acc[kChains];
  for (int c = 0; c < kChains; ++c) acc[c] = _mm256_set1_ps(static_cast<float>(c));
  for (std::int64_t i = 0; i < iterations; ++i) {
#pragma GCC unroll 12
    for (int c = 0; c < kChains; ++c) acc[c] = _mm256_fmadd_ps(acc[c], scale, offset);
  }
  __m256 total = acc[0];
  for (int c = 1; c < kChains; ++c) total = _mm256_add_ps(total, acc[c]);
  return _mm256_cvtss_f32(total);
}

__attribute__((target("avx512f"))) float fma_chains_512(std::int64_t iterations) {
  constexpr int kChains = 12;
  const __m512 scale = _mm512_set1_ps(g_scale), offset = _mm512_set1_ps(g_offset);
  __m512 acc[kChains];
  for (int c = 0; c < kChains; ++c) acc[c] = _mm512_set1_ps(static_cast<float>(c));
  for (std::int64_t i = 0; i < iterations; ++i) {
#pragma GCC unroll 12
    for (int c = 0; c < kChains; ++c) acc[c] = _mm512_fmadd_ps(acc[c], scale, offset);
  }
  __m512 total = acc[0];
  for (int c = 1; c < kChains; ++c) total = _mm512_add_ps(total, acc[c]);
  alignas(64) float lanes[16];  // not _mm512_reduce_add_ps: GCC 12 warns inside it
  _mm512_store_ps(lanes, total);
  return lanes[0] + lanes[15];
}

std::string machine_probe() {
  const bool avx2 = __builtin_cpu_supports("avx2");
  const bool fma = avx2 && __builtin_cpu_supports("fma");
  char line[160];
  int used = std::snprintf(line, sizeof line, "probe:");
  if (fma) {
    constexpr std::int64_t kIterations = 100'000;  // 19.2 MFLOP, ~0.2 ms
    const double work = static_cast<double>(kIterations) * kFmaChainFlops;
    const double one = best_rate([] { g_sink_f = fma_chains(kIterations); }, 50, 5, work);
    // Two threads, each with its own chains: twice the one-thread figure when
    // each has a core to itself.
    const double two = best_rate(
        [] {
          std::thread other([] { g_sink_f = fma_chains(10 * kIterations); });
          g_sink_f = fma_chains(10 * kIterations);
          other.join();
        },
        5, 5, 20 * work);
    used += std::snprintf(line + used, sizeof line - used, " fma %.0f GFLOP/s (2 threads: %.0f),", one / 1e9,
                          two / 1e9);
    if (__builtin_cpu_supports("avx512f")) {
      constexpr std::int64_t kIterations512 = kIterations / 2;
      const double one512 = best_rate([] { g_sink_f = fma_chains_512(kIterations512); }, 50, 5,
                                      static_cast<double>(kIterations512) * kFmaChain512Flops);
      used += std::snprintf(line + used, sizeof line - used, " 512-bit fma %.0f GFLOP/s,", one512 / 1e9);
    }
  }
  const double l2 = read_rate(std::int64_t{256} << 10, avx2);
  const double l3 = read_rate(std::int64_t{8} << 20, avx2);
  std::snprintf(line + used, sizeof line - used, " L2 read %.0f GB/s, L3 read %.0f GB/s (1 thread)", l2 / 1e9, l3 / 1e9);
  return line;
}

}  // namespace lamina::bench
