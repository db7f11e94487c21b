#pragma once
/// The caching allocator behind tensor storage. Blocks are 64-byte aligned and
/// grouped in size classes (four per power of two); a freed block goes to its
/// class's free list and is reused for the next request of that class, so
/// producing an output of a size seen before never reaches the OS.
/// Blocks of 4 MiB and more start on a 2 MiB boundary and are advised to use
/// transparent huge pages (Linux; `LAMINA_HUGE_PAGES=0` switches that off).
/// Thread-safe.

#include <cstddef>
#include <cstdint>

namespace lamina {

struct AllocatorStats {
  std::int64_t allocations = 0;     ///< requests served
  std::int64_t cache_hits = 0;      ///< requests served from a free list
  std::int64_t bytes_in_use = 0;    ///< bytes handed out and not yet freed (class sizes)
  std::int64_t bytes_cached = 0;    ///< bytes held in free lists
};

/// Returns a 64-byte-aligned block of at least `nbytes` bytes (never null;
/// throws std::bad_alloc when the system is out of memory).
void* cached_allocate(std::size_t nbytes);
/// Gives back a block from cached_allocate; `nbytes` must be the requested size.
void cached_deallocate(void* p, std::size_t nbytes) noexcept;
/// Snapshot of the counters.
AllocatorStats allocator_stats();
/// Returns every cached block to the system.
void empty_cache();

namespace detail {
/// Size actually reserved for a request (the size class), exposed for tests.
std::size_t allocation_size_class(std::size_t nbytes);

/// While alive on this thread, a cached_allocate request of more than
/// `max_request_bytes` throws MemoryError naming both sizes; nested limits
/// keep the smallest. A loader building a model described by an untrusted
/// file uses it, so that a few bytes of configuration cannot make it
/// allocate gigabytes.
class AllocationLimit {
 public:
  explicit AllocationLimit(std::size_t max_request_bytes);
  ~AllocationLimit();
  AllocationLimit(const AllocationLimit&) = delete;
  AllocationLimit& operator=(const AllocationLimit&) = delete;

 private:
  std::size_t previous_;
};
}  // namespace detail

}  // namespace lamina
