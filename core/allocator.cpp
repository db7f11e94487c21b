#include "lamina/core/allocator.h"

#include <array>
#include <atomic>
#include <bit>
#include <cstdlib>
#include <mutex>
#include <new>
#include <string_view>
#include <vector>

#include "lamina/core/error.h"

#if defined(__linux__)
#include <sys/mman.h>
#endif

// Under AddressSanitizer, blocks resting in the caches are poisoned, and so is
// the size-class slack past each request: ASan then reports a use of a freed
// tensor's data, or a read past its end, instead of the cache hiding them.
#if defined(__SANITIZE_ADDRESS__)
#define LAMINA_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define LAMINA_ASAN 1
#endif
#endif
#if defined(LAMINA_ASAN)
#include <sanitizer/asan_interface.h>
#endif

namespace lamina {

namespace {

constexpr std::size_t kAlignment = 64;
constexpr std::size_t kMinClass = 64;
// Blocks above this are not cached (returned to the OS on free).
constexpr std::size_t kMaxCached = std::size_t{1} << 36;
// Per size class, at most this many bytes wait in the free list.
constexpr std::size_t kMaxCachedPerClass = std::size_t{1} << 31;

// Size classes: multiples of 64 up to 256, then four classes per power of two
// (x, 1.25x, 1.5x, 1.75x), so at most 25 % of a block is wasted.
// Shifts and masks only: the class step is a power of two, and an integer
// division (there were two per allocation and two per free above 256 bytes)
// takes tens of cycles.
std::size_t size_class(std::size_t n) {
  if (n <= kMinClass) return kMinClass;
  if (n <= 256) return (n + 63) & ~std::size_t{63};
  const int e = std::bit_width(n - 1) - 1;         // 2^e < n <= 2^(e+1)
  const std::size_t step_mask = (std::size_t{1} << (e - 2)) - 1;  // step = 2^e / 4
  return (n + step_mask) & ~step_mask;
}

// Index of a class size in the free-list table: two bits of mantissa per power.
int class_index(std::size_t cls) {
  if (cls <= 256) return static_cast<int>(cls / 64);  // 1..4
  const int e = std::bit_width(cls - 1) - 1;         // pow2 = 2^e < cls <= 2^(e+1)
  const int m = static_cast<int>((cls - (std::size_t{1} << e)) >> (e - 2));  // 1..4
  return 5 + (e - 8) * 4 + (m - 1);
}

constexpr int kClassCount = 5 + (36 - 8 + 1) * 4;

struct FreeList {
  std::mutex mutex;
  std::vector<void*> blocks;
  std::size_t block_size = 0;  // the class size, set on first use
};

// The statistics counters. Each thread bumps its own set with plain loads
// and stores (it is their only writer; atomics only so that
// allocator_stats() may read them): an atomic read-modify-write per counter
// cost ~18 ns of a ~70 ns one-element op. A finished thread's counts are
// folded into `retired`, which later stray updates bump atomically.
struct Counters {
  std::atomic<std::int64_t> allocations{0}, hits{0}, in_use{0}, cached{0};
};

struct Cache {
  std::array<FreeList, kClassCount> lists;
  std::mutex counters_mutex;
  std::vector<Counters*> live;  // one per thread that has allocated
  Counters retired;
};

Cache& cache() {
  // Never destroyed: tensors in static storage may be freed after main.
  static Cache* c = new Cache;
  return *c;
}

void fold(Counters& into, const Counters& from) {
  into.allocations.fetch_add(from.allocations.load(std::memory_order_relaxed), std::memory_order_relaxed);
  into.hits.fetch_add(from.hits.load(std::memory_order_relaxed), std::memory_order_relaxed);
  into.in_use.fetch_add(from.in_use.load(std::memory_order_relaxed), std::memory_order_relaxed);
  into.cached.fetch_add(from.cached.load(std::memory_order_relaxed), std::memory_order_relaxed);
}

thread_local Counters* t_counters = nullptr;
thread_local bool t_counters_retired = false;

struct CountersRegistration {
  ~CountersRegistration() {
    Cache& c = cache();
    std::lock_guard lock(c.counters_mutex);
    fold(c.retired, *t_counters);
    std::erase(c.live, t_counters);
    delete t_counters;
    t_counters = nullptr;
    t_counters_retired = true;
  }
};
thread_local CountersRegistration t_counters_registration;

// nullptr when out of memory (the caller counts on `retired` instead).
Counters* register_thread_counters() noexcept {
  Cache& c = cache();
  auto* mine = new (std::nothrow) Counters;
  if (mine == nullptr) return nullptr;
  try {
    std::lock_guard lock(c.counters_mutex);
    c.live.push_back(mine);
  } catch (...) {
    delete mine;
    return nullptr;
  }
  t_counters = mine;
  static_cast<void>(&t_counters_registration);  // constructs this thread's registration
  return mine;
}

// The calling thread's counters, registered on first use; nullptr during
// thread exit (once the set is gone) or when registering ran out of memory,
// where callers count on `retired` instead.
inline Counters* my_counters() noexcept {
  Counters* mine = t_counters;
  if (mine == nullptr) [[unlikely]] {
    if (!t_counters_retired) mine = register_thread_counters();
  }
  return mine;
}

// counter += delta on `mine` (the calling thread's set: plain load and store)
// or atomically on `retired` when the thread has no set.
inline void bump(Counters* mine, std::atomic<std::int64_t> Counters::*counter, std::int64_t delta) noexcept {
  if (mine == nullptr) [[unlikely]] {
    (cache().retired.*counter).fetch_add(delta, std::memory_order_relaxed);
    return;
  }
  std::atomic<std::int64_t>& a = mine->*counter;
  a.store(a.load(std::memory_order_relaxed) + delta, std::memory_order_relaxed);
}

void bump(std::atomic<std::int64_t> Counters::*counter, std::int64_t delta) noexcept {
  bump(my_counters(), counter, delta);
}

// A per-thread cache of a few small blocks per class in front of the locked
// free lists: most tensors of a training step are small and short-lived.
// Trivially destructible storage plus a cleaner that returns the blocks to
// the shared lists at thread exit (and disables the cache).
constexpr std::size_t kThreadCachedMax = std::size_t{1} << 20;
constexpr int kThreadSlots = 4;
constexpr int kThreadClasses = 5 + (20 - 8 + 1) * 4;
struct ThreadCache {
  void* blocks[kThreadClasses][kThreadSlots];
  int counts[kThreadClasses];
  bool disabled;
};
thread_local ThreadCache t_cache{};
thread_local std::size_t t_sizes[kThreadClasses];  // class size of each cache row

// Puts a block (not counted as cached) on its shared free list, or frees it.
void return_to_shared(void* p, std::size_t cls);

// Moves this thread's cached blocks to the shared lists.
void flush_thread_cache() {
  for (int k = 0; k < kThreadClasses; ++k) {
    for (int i = 0; i < t_cache.counts[k]; ++i) {
      bump(&Counters::cached, -static_cast<std::int64_t>(t_sizes[k]));
      return_to_shared(t_cache.blocks[k][i], t_sizes[k]);
    }
    t_cache.counts[k] = 0;
  }
}

struct ThreadCacheCleaner {
  ~ThreadCacheCleaner() {
    flush_thread_cache();
    t_cache.disabled = true;
  }
};
thread_local ThreadCacheCleaner t_cache_cleaner;

// Blocks of at least kHugeMin bytes start on a 2 MiB boundary and ask the
// kernel for transparent huge pages. Debian's default THP mode ("madvise")
// gives them only to memory that asks, and with 4 KiB pages a pass over a
// large tensor takes a TLB miss every 4 KiB. Measured on this project's
// 2-core VM, one thread over 40 MB: a read-only sum went from 11 to 15 GB/s
// and relu with streaming stores from 18 to 22 GB/s. LAMINA_HUGE_PAGES=0
// switches this off (the blocks stay 64-byte aligned, as everywhere else).
constexpr std::size_t kHugePage = std::size_t{2} << 20;
constexpr std::size_t kHugeMin = 2 * kHugePage;

bool huge_pages_wanted() {
  static const bool wanted = [] {
    const char* v = std::getenv("LAMINA_HUGE_PAGES");
    return v == nullptr || std::string_view(v) != "0";
  }();
  return wanted;
}

void* system_allocate(std::size_t bytes) {
#if defined(MADV_HUGEPAGE)
  if (bytes >= kHugeMin && huge_pages_wanted()) {
    void* p = nullptr;
    if (posix_memalign(&p, kHugePage, bytes) != 0) throw std::bad_alloc();
    // Whole huge pages only: advising a partial one at the end would let the
    // kernel commit 2 MiB for the few bytes past the last full page. The
    // advice is a hint; if it fails the block simply keeps small pages.
    static_cast<void>(madvise(p, bytes & ~(kHugePage - 1), MADV_HUGEPAGE));
    return p;
  }
#endif
  void* p = std::aligned_alloc(kAlignment, bytes);
  if (!p) throw std::bad_alloc();
  return p;
}

}  // namespace

namespace detail {
std::size_t allocation_size_class(std::size_t nbytes) { return size_class(nbytes); }
}  // namespace detail

namespace {
thread_local std::size_t t_max_request = static_cast<std::size_t>(-1);

// A block handed out: only its first `nbytes` bytes may be touched.
inline void* handed_out(void* p, std::size_t nbytes, std::size_t cls) noexcept {
#if defined(LAMINA_ASAN)
  ASAN_POISON_MEMORY_REGION(p, cls);
  ASAN_UNPOISON_MEMORY_REGION(p, nbytes);
#else
  static_cast<void>(nbytes);
  static_cast<void>(cls);
#endif
  return p;
}

// A block going into a cache: nobody may touch it until it is handed out again.
inline void resting(void* p, std::size_t cls) noexcept {
#if defined(LAMINA_ASAN)
  ASAN_POISON_MEMORY_REGION(p, cls);
#else
  static_cast<void>(p);
  static_cast<void>(cls);
#endif
}

// A block going back to the system.
inline void release(void* p, std::size_t cls) noexcept {
#if defined(LAMINA_ASAN)
  ASAN_UNPOISON_MEMORY_REGION(p, cls);
#else
  static_cast<void>(cls);
#endif
  std::free(p);
}
}  // namespace

namespace detail {
AllocationLimit::AllocationLimit(std::size_t max_request_bytes) : previous_(t_max_request) {
  if (max_request_bytes < t_max_request) t_max_request = max_request_bytes;
}
AllocationLimit::~AllocationLimit() { t_max_request = previous_; }
}  // namespace detail

void* cached_allocate(std::size_t nbytes) {
  if (nbytes > t_max_request) [[unlikely]]
    throw MemoryError(detail::concat("[allocator] a request of ", nbytes, " bytes exceeds the limit of ", t_max_request,
                                     " bytes set on this thread (detail::AllocationLimit)"));
  const std::size_t cls = size_class(nbytes);
  // One lookup of the thread's counters per call: this path is part of every
  // op's fixed cost.
  Counters* ctr = my_counters();
  bump(ctr, &Counters::allocations, 1);
  bump(ctr, &Counters::in_use, static_cast<std::int64_t>(cls));
  if (cls <= kThreadCachedMax && !t_cache.disabled) {
    const int idx = class_index(cls);
    if (t_cache.counts[idx] > 0) {
      bump(ctr, &Counters::hits, 1);
      bump(ctr, &Counters::cached, -static_cast<std::int64_t>(cls));
      return handed_out(t_cache.blocks[idx][--t_cache.counts[idx]], nbytes, cls);
    }
  }
  if (cls <= kMaxCached) {
    FreeList& list = cache().lists[class_index(cls)];
    std::lock_guard lock(list.mutex);
    if (!list.blocks.empty()) {
      void* p = list.blocks.back();
      list.blocks.pop_back();
      bump(ctr, &Counters::hits, 1);
      bump(ctr, &Counters::cached, -static_cast<std::int64_t>(cls));
      return handed_out(p, nbytes, cls);
    }
  }
  try {
    return handed_out(system_allocate(cls), nbytes, cls);
  } catch (...) {
    // Nothing was handed out: the counters must not say otherwise.
    bump(ctr, &Counters::allocations, -1);
    bump(ctr, &Counters::in_use, -static_cast<std::int64_t>(cls));
    throw;
  }
}

void cached_deallocate(void* p, std::size_t nbytes) noexcept {
  if (!p) return;
  const std::size_t cls = size_class(nbytes);
  Counters* ctr = my_counters();
  bump(ctr, &Counters::in_use, -static_cast<std::int64_t>(cls));
  resting(p, cls);
  if (cls <= kThreadCachedMax && !t_cache.disabled) {
    const int idx = class_index(cls);
    if (t_cache.counts[idx] < kThreadSlots) {
      static_cast<void>(&t_cache_cleaner);  // constructs this thread's cleaner
      t_sizes[idx] = cls;
      t_cache.blocks[idx][t_cache.counts[idx]++] = p;
      bump(ctr, &Counters::cached, static_cast<std::int64_t>(cls));
      return;
    }
  }
  return_to_shared(p, cls);
}

namespace {
void return_to_shared(void* p, std::size_t cls) {
  Cache& c = cache();
  if (cls <= kMaxCached) {
    FreeList& list = c.lists[class_index(cls)];
    std::lock_guard lock(list.mutex);
    if (list.blocks.size() * cls < kMaxCachedPerClass) {
      try {
        list.blocks.push_back(p);
        list.block_size = cls;
        bump(&Counters::cached, static_cast<std::int64_t>(cls));
        return;
      } catch (...) {
        // Could not grow the list: fall through and free the block.
      }
    }
  }
  release(p, cls);
}
}  // namespace

AllocatorStats allocator_stats() {
  Cache& c = cache();
  std::lock_guard lock(c.counters_mutex);
  Counters sum;
  fold(sum, c.retired);
  for (const Counters* t : c.live) fold(sum, *t);
  return {sum.allocations.load(), sum.hits.load(), sum.in_use.load(), sum.cached.load()};
}

void empty_cache() {
  Cache& c = cache();
  if (!t_cache.disabled) flush_thread_cache();
  for (std::size_t i = 0; i < c.lists.size(); ++i) {
    FreeList& list = c.lists[i];
    std::lock_guard lock(list.mutex);
    for (void* p : list.blocks) release(p, list.block_size);
    bump(&Counters::cached, -static_cast<std::int64_t>(list.blocks.size() * list.block_size));
    list.blocks.clear();
  }
}

}  // namespace lamina
