#include "lamina/core/allocator.h"

#include <array>
#include <atomic>
#include <bit>
#include <cstdlib>
#include <mutex>
#include <new>
#include <vector>

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
std::size_t size_class(std::size_t n) {
  if (n <= kMinClass) return kMinClass;
  if (n <= 256) return (n + 63) & ~std::size_t{63};
  std::size_t pow2 = std::bit_floor(n - 1);
  std::size_t step = pow2 / 4;
  return (n + step - 1) / step * step;
}

// Index of a class size in the free-list table: two bits of mantissa per power.
int class_index(std::size_t cls) {
  if (cls <= 256) return static_cast<int>(cls / 64);  // 1..4
  int e = std::bit_width(cls - 1) - 1;               // pow2 = 2^e < cls <= 2^(e+1)
  std::size_t pow2 = std::size_t{1} << e;
  int m = static_cast<int>((cls - pow2) / (pow2 / 4));  // 1..4
  return 5 + (e - 8) * 4 + (m - 1);
}

constexpr int kClassCount = 5 + (36 - 8 + 1) * 4;

struct FreeList {
  std::mutex mutex;
  std::vector<void*> blocks;
};

struct Cache {
  std::array<FreeList, kClassCount> lists;
  std::atomic<std::int64_t> allocations{0}, hits{0}, in_use{0}, cached{0};
};

Cache& cache() {
  // Never destroyed: tensors in static storage may be freed after main.
  static Cache* c = new Cache;
  return *c;
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
void flush_thread_cache(Cache& c) {
  for (int k = 0; k < kThreadClasses; ++k) {
    for (int i = 0; i < t_cache.counts[k]; ++i) {
      c.cached.fetch_sub(static_cast<std::int64_t>(t_sizes[k]), std::memory_order_relaxed);
      return_to_shared(t_cache.blocks[k][i], t_sizes[k]);
    }
    t_cache.counts[k] = 0;
  }
}

struct ThreadCacheCleaner {
  ~ThreadCacheCleaner() {
    flush_thread_cache(cache());
    t_cache.disabled = true;
  }
};
thread_local ThreadCacheCleaner t_cache_cleaner;

void* system_allocate(std::size_t bytes) {
  void* p = std::aligned_alloc(kAlignment, bytes);
  if (!p) throw std::bad_alloc();
  return p;
}

}  // namespace

namespace detail {
std::size_t allocation_size_class(std::size_t nbytes) { return size_class(nbytes); }
}  // namespace detail

void* cached_allocate(std::size_t nbytes) {
  Cache& c = cache();
  std::size_t cls = size_class(nbytes);
  c.allocations.fetch_add(1, std::memory_order_relaxed);
  c.in_use.fetch_add(static_cast<std::int64_t>(cls), std::memory_order_relaxed);
  if (cls <= kThreadCachedMax && !t_cache.disabled) {
    const int idx = class_index(cls);
    if (t_cache.counts[idx] > 0) {
      c.hits.fetch_add(1, std::memory_order_relaxed);
      c.cached.fetch_sub(static_cast<std::int64_t>(cls), std::memory_order_relaxed);
      return t_cache.blocks[idx][--t_cache.counts[idx]];
    }
  }
  if (cls <= kMaxCached) {
    FreeList& list = c.lists[class_index(cls)];
    std::lock_guard lock(list.mutex);
    if (!list.blocks.empty()) {
      void* p = list.blocks.back();
      list.blocks.pop_back();
      c.hits.fetch_add(1, std::memory_order_relaxed);
      c.cached.fetch_sub(static_cast<std::int64_t>(cls), std::memory_order_relaxed);
      return p;
    }
  }
  return system_allocate(cls);
}

void cached_deallocate(void* p, std::size_t nbytes) noexcept {
  if (!p) return;
  Cache& c = cache();
  std::size_t cls = size_class(nbytes);
  c.in_use.fetch_sub(static_cast<std::int64_t>(cls), std::memory_order_relaxed);
  if (cls <= kThreadCachedMax && !t_cache.disabled) {
    const int idx = class_index(cls);
    if (t_cache.counts[idx] < kThreadSlots) {
      static_cast<void>(&t_cache_cleaner);  // constructs this thread's cleaner
      t_sizes[idx] = cls;
      t_cache.blocks[idx][t_cache.counts[idx]++] = p;
      c.cached.fetch_add(static_cast<std::int64_t>(cls), std::memory_order_relaxed);
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
        c.cached.fetch_add(static_cast<std::int64_t>(cls), std::memory_order_relaxed);
        return;
      } catch (...) {
        // Could not grow the list: fall through and free the block.
      }
    }
  }
  std::free(p);
}
}  // namespace

AllocatorStats allocator_stats() {
  Cache& c = cache();
  return {c.allocations.load(), c.hits.load(), c.in_use.load(), c.cached.load()};
}

void empty_cache() {
  Cache& c = cache();
  if (!t_cache.disabled) flush_thread_cache(c);
  for (std::size_t i = 0; i < c.lists.size(); ++i) {
    FreeList& list = c.lists[i];
    std::lock_guard lock(list.mutex);
    for (void* p : list.blocks) std::free(p);
    list.blocks.clear();
  }
  c.cached.store(0);
}

}  // namespace lamina
