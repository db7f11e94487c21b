// The caching allocator: size classes, reuse, alignment, thread safety.
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "test_util.h"

namespace lamina {
namespace {

TEST(Allocator, SizeClassesWasteAtMostAQuarter) {
  for (std::size_t n : {1ul, 63ul, 64ul, 65ul, 300ul, 1000ul, 4097ul, 1ul << 20, (1ul << 26) + 1}) {
    const std::size_t c = detail::allocation_size_class(n);
    EXPECT_GE(c, n);
    EXPECT_LE(c, std::max<std::size_t>(64, n + n / 4 + 64));
    EXPECT_EQ(c % 64, 0u);
  }
}

// The classes: multiples of 64 up to 256, then the sizes x, 1.25x, 1.5x and
// 1.75x of each power of two x, each request rounded up to the next class.
TEST(Allocator, SizeClassesMatchTheirDefinition) {
  auto reference = [](std::size_t n) -> std::size_t {
    if (n <= 64) return 64;
    if (n <= 256) return (n + 63) / 64 * 64;
    std::size_t pow2 = 256;
    while (pow2 * 2 < n) pow2 *= 2;  // pow2 < n <= 2 * pow2
    const std::size_t step = pow2 / 4;
    return (n + step - 1) / step * step;
  };
  std::vector<std::size_t> sizes;
  for (std::size_t n = 1; n <= 5000; ++n) sizes.push_back(n);
  for (int e = 9; e <= 40; ++e)
    for (std::size_t q = 0; q <= 4; ++q)
      for (long d = -2; d <= 2; ++d) sizes.push_back((std::size_t{1} << e) + q * (std::size_t{1} << (e - 2)) + d);
  for (std::size_t n : sizes) ASSERT_EQ(detail::allocation_size_class(n), reference(n)) << "request of " << n << " bytes";
}

TEST(Allocator, FreedBlocksAreReused) {
  void* p = cached_allocate(40'000'000);
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(p) % 64, 0u);
  cached_deallocate(p, 40'000'000);
  const auto before = allocator_stats();
  void* q = cached_allocate(39'999'000);  // same size class
  const auto after = allocator_stats();
  EXPECT_EQ(q, p);
  EXPECT_EQ(after.cache_hits, before.cache_hits + 1);
  cached_deallocate(q, 39'999'000);
}

// The "THPeligible:" value of the /proc/self/smaps mapping that holds `p`
// (-1: no such mapping, or a kernel that does not report it).
int thp_eligible(const void* p) {
  std::ifstream smaps("/proc/self/smaps");
  const auto addr = reinterpret_cast<std::uintptr_t>(p);
  bool inside = false;
  for (std::string line; std::getline(smaps, line);) {
    std::uintptr_t lo = 0, hi = 0;
    char dash = 0;
    std::istringstream head(line);
    if (head >> std::hex >> lo >> dash >> hi && dash == '-') {
      inside = lo <= addr && addr < hi;
    } else if (inside && line.rfind("THPeligible:", 0) == 0) {
      return std::atoi(line.c_str() + 12);
    }
  }
  return -1;
}

// Large blocks start on a 2 MiB boundary and are advised to use transparent
// huge pages, so long passes over them do not miss the TLB every 4 KiB.
TEST(Allocator, LargeBlocksAreHugePageAligned) {
  if (const char* v = std::getenv("LAMINA_HUGE_PAGES"); v && std::string(v) == "0")
    GTEST_SKIP() << "LAMINA_HUGE_PAGES=0";
  const std::size_t n = 24'000'000;  // a fresh size class: the block comes from the system
  void* p = cached_allocate(n);
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(p) % (std::size_t{2} << 20), 0u);
  std::ifstream mode_file("/sys/kernel/mm/transparent_hugepage/enabled");
  std::string mode;
  std::getline(mode_file, mode);
  if (mode.find("[always]") != std::string::npos || mode.find("[madvise]") != std::string::npos) {
    const int eligible = thp_eligible(p);
    if (eligible >= 0) {
      EXPECT_EQ(eligible, 1) << "THP mode: " << mode;
    }
  }
  // Small blocks keep ordinary alignment and pages.
  void* q = cached_allocate(1000);
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(q) % 64, 0u);
  cached_deallocate(q, 1000);
  cached_deallocate(p, n);
}

TEST(Allocator, TensorOfSeenSizeHitsCache) {
  { Tensor warm = core::relu(ones({1000000})); }
  Tensor x = ones({1000000});
  const auto before = allocator_stats();
  Tensor y = core::relu(x);
  const auto after = allocator_stats();
  EXPECT_EQ(after.allocations - before.allocations, 1);
  EXPECT_EQ(after.cache_hits - before.cache_hits, 1);
}

TEST(Allocator, ConcurrentUse) {
  auto work = [] {
    for (int i = 0; i < 2000; ++i) {
      Tensor t = empty({(i % 37) * 100 + 1});
      t.fill_(1);
    }
  };
  std::thread a(work), b(work);
  a.join();
  b.join();
  empty_cache();
  EXPECT_EQ(allocator_stats().bytes_cached, 0);
}

TEST(Allocator, StatisticsAddUpAcrossThreadsThatExit) {
  // Counters are per thread; a block allocated on one thread and freed on
  // another, and a thread that exits, must still leave exact totals.
  empty_cache();
  const auto before = allocator_stats();
  std::vector<void*> handed_over;
  std::thread producer([&] {
    for (int i = 0; i < 100; ++i) handed_over.push_back(cached_allocate(1000));
    void* own = cached_allocate(5000);
    cached_deallocate(own, 5000);  // cached on the producer, flushed at its exit
  });
  producer.join();
  auto mid = allocator_stats();
  EXPECT_EQ(mid.allocations - before.allocations, 101);
  EXPECT_EQ(mid.bytes_in_use - before.bytes_in_use, 100 * static_cast<std::int64_t>(detail::allocation_size_class(1000)));
  for (void* p : handed_over) cached_deallocate(p, 1000);
  auto after = allocator_stats();
  EXPECT_EQ(after.bytes_in_use, before.bytes_in_use);
  EXPECT_EQ(after.bytes_cached - before.bytes_cached,
            100 * static_cast<std::int64_t>(detail::allocation_size_class(1000)) +
                static_cast<std::int64_t>(detail::allocation_size_class(5000)));
  empty_cache();
  EXPECT_EQ(allocator_stats().bytes_cached, 0);
}

TEST(Allocator, LimitRefusesLargerRequestsOnItsThreadOnly) {
  {
    detail::AllocationLimit outer(1 << 20);
    {
      detail::AllocationLimit inner(2 << 20);  // nested: the smaller limit stays
      try {
        cached_allocate((1 << 20) + 1);
        ADD_FAILURE() << "no MemoryError";
      } catch (const MemoryError& e) {
        EXPECT_NE(std::string(e.what()).find("a request of 1048577 bytes exceeds the limit of 1048576 bytes"),
                  std::string::npos)
            << e.what();
      }
    }
    void* p = cached_allocate(1 << 20);  // at the limit: fine
    cached_deallocate(p, 1 << 20);
    // Other threads are not limited.
    std::thread other([] {
      void* q = cached_allocate(4 << 20);
      cached_deallocate(q, 4 << 20);
    });
    other.join();
    EXPECT_THROW(cached_allocate(4 << 20), MemoryError);
  }
  void* p = cached_allocate(4 << 20);  // the limit ended with its scope
  cached_deallocate(p, 4 << 20);
}

#if defined(__SANITIZE_ADDRESS__)
#define LAMINA_TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define LAMINA_TEST_ASAN 1
#endif
#endif

#if defined(LAMINA_TEST_ASAN)
}  // namespace
}  // namespace lamina
#include <sanitizer/asan_interface.h>
namespace lamina {
namespace {
// Under ASan, the cache must not hide a use of a freed tensor's data or a
// read past its end: resting blocks and the size-class slack are poisoned.
TEST(Allocator, CachedBlocksArePoisonedUnderAddressSanitizer) {
  const std::size_t n = 1000;  // size class 1024
  auto* p = static_cast<char*>(cached_allocate(n));
  EXPECT_EQ(__asan_region_is_poisoned(p, n), nullptr);
  EXPECT_EQ(__asan_address_is_poisoned(p + n), 1);
  EXPECT_EQ(__asan_address_is_poisoned(p + 1023), 1);
  cached_deallocate(p, n);
  EXPECT_EQ(__asan_address_is_poisoned(p), 1);
  auto* q = static_cast<char*>(cached_allocate(900));  // same class, from the cache
  EXPECT_EQ(q, p);
  EXPECT_EQ(__asan_region_is_poisoned(q, 900), nullptr);
  EXPECT_EQ(__asan_address_is_poisoned(q + 900), 1);
  cached_deallocate(q, 900);
}
#endif

}  // namespace
}  // namespace lamina
