// "raw_loop" rows for the memory-bound cases of bench/compare: hand-written
// AVX2 loops that move exactly the bytes the case moves (sum/1e7 reads 40 MB;
// relu/1e7 reads 40 MB and writes 40 MB; add/1e7 reads 80 MB and writes
// 40 MB; stores bypass the cache like lamina's), into buffers allocated once
// on transparent huge pages, as lamina's allocator places blocks this large.
// They are not a library to beat but this machine's memory bandwidth measured
// in the same run, so a row's ratio says how far lamina is from what the
// hardware gives one (or two) cores at that moment. At 2 threads the loop is
// split in two halves on two std::threads created per call (about 1 % of a
// call). Rows are empty on a CPU without AVX2.

#include <immintrin.h>
#include <sys/mman.h>

#include <cstdint>
#include <cstdlib>
#include <memory>
#include <new>
#include <string>
#include <thread>

#include "../compare_registry.h"

namespace lamina::bench {
namespace {

constexpr std::int64_t kN = 10'000'000;
static_assert(kN / 2 % 64 == 0, "the loops below need parts of whole 16-float steps");
volatile float g_sink = 0;

struct Free {
  void operator()(float* p) const { std::free(p); }
};
using Buffer = std::unique_ptr<float, Free>;

// 2 MiB-aligned and advised to use huge pages (what lamina does for blocks
// of 4 MiB and more), so both sides of a row see the same TLB behaviour.
Buffer filled(std::int64_t n, float value) {
  constexpr std::size_t kHugePage = std::size_t{2} << 20;
  const std::size_t bytes = static_cast<std::size_t>(n) * sizeof(float);
  void* p = nullptr;
  if (posix_memalign(&p, kHugePage, bytes) != 0) throw std::bad_alloc();
  static_cast<void>(madvise(p, bytes & ~(kHugePage - 1), MADV_HUGEPAGE));
  Buffer b(static_cast<float*>(p));
  for (std::int64_t i = 0; i < n; ++i) b.get()[i] = value + static_cast<float>(i % 7);
  return b;
}

// Each loop cuts its range in P equal parts walked in step, one cache line
// of each in turn (lamina's kernels do the same): several read streams keep
// more hardware prefetches in flight than one, and on this VM one core read
// 40 MB ~1.3-1.5x faster that way. P = 4 for sum and relu, 2 for add (which
// reads two inputs already). n is a multiple of 16 * P and the pointers are
// 32-byte aligned: split() cuts kN in halves that are multiples of 64.
__attribute__((target("avx2"))) float read_sum(const float* x, std::int64_t n) {
  constexpr int P = 4;
  const std::int64_t part = n / P;
  __m256 even[P], odd[P];
  for (int p = 0; p < P; ++p) even[p] = odd[p] = _mm256_setzero_ps();
  for (std::int64_t i = 0; i + 16 <= part; i += 16)
    for (int p = 0; p < P; ++p) {
      even[p] = _mm256_add_ps(even[p], _mm256_load_ps(x + p * part + i));
      odd[p] = _mm256_add_ps(odd[p], _mm256_load_ps(x + p * part + i + 8));
    }
  __m256 total = _mm256_setzero_ps();
  for (int p = 0; p < P; ++p) total = _mm256_add_ps(total, _mm256_add_ps(even[p], odd[p]));
  alignas(32) float lanes[8];
  _mm256_store_ps(lanes, total);
  float s = 0;
  for (float v : lanes) s += v;
  for (std::int64_t i = part / 16 * 16; i < part; ++i)
    for (int p = 0; p < P; ++p) s += x[p * part + i];
  return s;
}

__attribute__((target("avx2"))) void relu_stream(const float* x, float* y, std::int64_t n) {
  constexpr int P = 4;
  const std::int64_t part = n / P;
  const __m256 zero = _mm256_setzero_ps();
  for (std::int64_t i = 0; i < part; i += 16)
    for (int p = 0; p < P; ++p) {
      const std::int64_t j = p * part + i;
      _mm256_stream_ps(y + j, _mm256_max_ps(_mm256_load_ps(x + j), zero));
      _mm256_stream_ps(y + j + 8, _mm256_max_ps(_mm256_load_ps(x + j + 8), zero));
    }
  _mm_sfence();
}

__attribute__((target("avx2"))) void add_stream(const float* a, const float* b, float* y, std::int64_t n) {
  constexpr int P = 2;
  const std::int64_t part = n / P;
  for (std::int64_t i = 0; i < part; i += 16)
    for (int p = 0; p < P; ++p) {
      const std::int64_t j = p * part + i;
      _mm256_stream_ps(y + j, _mm256_add_ps(_mm256_load_ps(a + j), _mm256_load_ps(b + j)));
      _mm256_stream_ps(y + j + 8, _mm256_add_ps(_mm256_load_ps(a + j + 8), _mm256_load_ps(b + j + 8)));
    }
  _mm_sfence();
}

/// Runs body(begin, end) over [0, kN) on `threads` threads (1 or 2).
template <class F>
void split(int threads, F body) {
  if (threads < 2) {
    body(std::int64_t{0}, kN);
    return;
  }
  const std::int64_t half = kN / 2;
  std::thread other([&] { body(half, kN); });
  body(0, half);
  other.join();
}

void register_raw_loops() {
  if (!__builtin_cpu_supports("avx2")) return;
  register_peer("relu/1e7", "raw_loop", [](int threads) {
    Buffer x = filled(kN, -3), y = filled(kN, 0);
    return time_ns([&] { split(threads, [&](std::int64_t b, std::int64_t e) { relu_stream(x.get() + b, y.get() + b, e - b); }); });
  });
  register_peer("add/1e7", "raw_loop", [](int threads) {
    Buffer a = filled(kN, 1), b = filled(kN, 2), y = filled(kN, 0);
    return time_ns([&] {
      split(threads, [&](std::int64_t s, std::int64_t e) { add_stream(a.get() + s, b.get() + s, y.get() + s, e - s); });
    });
  });
  register_peer("sum/1e7", "raw_loop", [](int threads) {
    Buffer x = filled(kN, 1);
    return time_ns([&] {
      float part[2] = {0, 0};
      split(threads, [&](std::int64_t b, std::int64_t e) { part[b == 0 ? 0 : 1] = read_sum(x.get() + b, e - b); });
      g_sink = part[0] + part[1];
    });
  });
}

const Registrar registrar(register_raw_loops);

}  // namespace
}  // namespace lamina::bench
