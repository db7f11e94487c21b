#pragma once
// Internal: ThreadSanitizer annotations for synchronization TSan cannot see.
// oneTBB comes from Debian uninstrumented, so TSan does not know that a task
// starts after the code that spawned it, nor that wait() returns after the
// tasks end; without these edges it reports races on every tensor a parallel
// kernel reads or writes. The wrappers that hand work to TBB
// (detail::parallel_for, the dataset prefetch) state those edges here. In
// builds without TSan the functions are empty.

#if defined(__SANITIZE_THREAD__)
#define LAMINA_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define LAMINA_TSAN 1
#endif
#endif

#ifdef LAMINA_TSAN
extern "C" void __tsan_acquire(void* addr);
extern "C" void __tsan_release(void* addr);
#endif

namespace lamina::detail {

/// Everything this thread did before is visible to a later tsan_acquire(token).
inline void tsan_release([[maybe_unused]] void* token) {
#ifdef LAMINA_TSAN
  __tsan_release(token);
#endif
}

/// Sees everything done before any earlier tsan_release(token).
inline void tsan_acquire([[maybe_unused]] void* token) {
#ifdef LAMINA_TSAN
  __tsan_acquire(token);
#endif
}

}  // namespace lamina::detail
