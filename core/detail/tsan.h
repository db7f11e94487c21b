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

#include <cstdint>

#ifdef LAMINA_TSAN
extern "C" void __tsan_acquire(void* addr);
extern "C" void __tsan_release(void* addr);
extern "C" void AnnotateIgnoreReadsBegin(const char* file, int line);
extern "C" void AnnotateIgnoreReadsEnd(const char* file, int line);
extern "C" void AnnotateIgnoreWritesBegin(const char* file, int line);
extern "C" void AnnotateIgnoreWritesEnd(const char* file, int line);
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

/// TSan stops (begin) or resumes (end) checking this thread's memory
/// accesses; calls nest. TBB's inlined bookkeeping (task objects, ranges,
/// wait contexts) is synchronized inside the uninstrumented library, so it
/// runs ignored: worker threads are ignored from the moment they join the
/// arena (an observer in threading.cpp) and lamina's task bodies turn checking
/// back on (TsanTaskBody).
#ifdef LAMINA_TSAN
/// Nesting depth of the calling thread's ignores (TSan aborts when a thread
/// exits with ignores on: see TsanEndIgnoresAtThreadExit in threading.cpp).
inline thread_local int tsan_ignore_depth = 0;
#endif
inline void tsan_ignore_begin() {
#ifdef LAMINA_TSAN
  AnnotateIgnoreReadsBegin(__FILE__, __LINE__);
  AnnotateIgnoreWritesBegin(__FILE__, __LINE__);
  ++tsan_ignore_depth;
#endif
}
inline void tsan_ignore_end() {
#ifdef LAMINA_TSAN
  AnnotateIgnoreWritesEnd(__FILE__, __LINE__);
  AnnotateIgnoreReadsEnd(__FILE__, __LINE__);
  --tsan_ignore_depth;
#endif
}

/// Makes sure TBB workers entering the calling thread's arena run ignored.
/// A task_scheduler_observer only sees the arena of the thread that started
/// it, and every external thread (each std::thread using lamina) has its own
/// implicit arena, so each gets its observer on its first spawn (defined in
/// threading.cpp; nothing to do on TBB's own workers).
#ifdef LAMINA_TSAN
void tsan_observe_calling_threads_arena();
#else
inline void tsan_observe_calling_threads_arena() {}
#endif

/// The two synchronization addresses of one spawn-and-join. The spawning
/// thread releases `spawn`, which every task acquires when it starts; tasks
/// release `join`, which only the joining thread acquires. With a single
/// address, a task starting after a sibling had finished would acquire that
/// sibling's release, and TSan would take the two for ordered and miss their
/// conflicting accesses unless they happened at the same moment.
struct TsanTokens {
  std::uint64_t spawn = 0, join = 0;  // distinct 8-byte cells: TSan keys sync objects by address
};

/// RAII for the body of a task handed to TBB: checked accesses, ordered after
/// the spawning code (acquire of `spawn`) and before the join (release of
/// `join`), never after its siblings. Whatever the ignore depth of the
/// thread that runs it (a worker may have entered several observed arenas,
/// or none), the body runs fully checked and the depth is restored after it.
class TsanTaskBody {
 public:
  explicit TsanTaskBody(TsanTokens& tokens) : tokens_(tokens) {
#ifdef LAMINA_TSAN
    saved_depth_ = tsan_ignore_depth;
    while (tsan_ignore_depth > 0) tsan_ignore_end();
#endif
    tsan_acquire(&tokens_.spawn);
  }
  ~TsanTaskBody() {
    tsan_release(&tokens_.join);
#ifdef LAMINA_TSAN
    while (tsan_ignore_depth < saved_depth_) tsan_ignore_begin();
#endif
  }
  TsanTaskBody(const TsanTaskBody&) = delete;
  TsanTaskBody& operator=(const TsanTaskBody&) = delete;

 private:
  TsanTokens& tokens_;
#ifdef LAMINA_TSAN
  int saved_depth_ = 0;
#endif
};

/// RAII around a call into TBB that only spawns (the join comes later, under
/// a TsanSpawnAndJoin): unlike TsanSpawnAndJoin it does not acquire `join`,
/// which would order the spawner after a task that already ended unseen.
class TsanSpawn {
 public:
  explicit TsanSpawn(TsanTokens& tokens) : tokens_(tokens) {
    tsan_observe_calling_threads_arena();
    tsan_release(&tokens_.spawn);
    tsan_ignore_begin();
  }
  ~TsanSpawn() { tsan_ignore_end(); }
  TsanSpawn(const TsanSpawn&) = delete;
  TsanSpawn& operator=(const TsanSpawn&) = delete;

 private:
  TsanTokens& tokens_;
};

/// RAII around a call into TBB that spawns and joins tasks (see above).
class TsanSpawnAndJoin {
 public:
  explicit TsanSpawnAndJoin(TsanTokens& tokens) : tokens_(tokens) {
    tsan_observe_calling_threads_arena();
    tsan_release(&tokens_.spawn);
    tsan_ignore_begin();
  }
  ~TsanSpawnAndJoin() {
    tsan_ignore_end();
    tsan_acquire(&tokens_.join);
  }
  TsanSpawnAndJoin(const TsanSpawnAndJoin&) = delete;
  TsanSpawnAndJoin& operator=(const TsanSpawnAndJoin&) = delete;

 private:
  TsanTokens& tokens_;
};

}  // namespace lamina::detail
