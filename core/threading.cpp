#include "lamina/core/threading.h"

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <thread>

#include <tbb/global_control.h>
#include <tbb/task_scheduler_observer.h>

#include "lamina/core/detail/tsan.h"
#include "lamina/core/error.h"

namespace lamina {

namespace {

struct ThreadLimit {
  std::mutex mutex;
  std::unique_ptr<tbb::global_control> control;
  std::atomic<int> value{0};

  ThreadLimit() {
    int n = static_cast<int>(std::thread::hardware_concurrency());
    if (const char* env = std::getenv("LAMINA_NUM_THREADS")) {
      char* end = nullptr;
      long v = std::strtol(env, &end, 10);
      if (end != env && *end == '\0' && v >= 1 && v <= 4096)
        n = static_cast<int>(v);
      else  // a typo must not pass silently; the default still works
        std::fprintf(stderr, "lamina: ignoring LAMINA_NUM_THREADS=%s: expected an integer from 1 to 4096\n", env);
    }
    apply(n < 1 ? 1 : n);
  }
  void apply(int n) {
    control.reset();  // only one control of this kind should be alive at a time
    control = std::make_unique<tbb::global_control>(tbb::global_control::max_allowed_parallelism,
                                                    static_cast<std::size_t>(n));
    value.store(n, std::memory_order_relaxed);
  }
};

ThreadLimit& limit() {
  static ThreadLimit l;
  return l;
}

#ifdef LAMINA_TSAN
// TBB workers end at process exit without leaving the arena (no
// on_scheduler_exit); C++ thread-local destructors still run before TSan's
// end-of-thread check, so this one ends the worker's ignores.
struct TsanEndIgnoresAtThreadExit {
  ~TsanEndIgnoresAtThreadExit() {
    while (detail::tsan_ignore_depth > 0) detail::tsan_ignore_end();
  }
};
thread_local TsanEndIgnoresAtThreadExit tsan_end_ignores_at_thread_exit;

// True on TBB's worker threads (set when one first enters an observed arena).
thread_local bool tsan_is_tbb_worker = false;

// Under ThreadSanitizer, TBB worker threads run with access checks off except
// inside lamina's task bodies (see detail/tsan.h). One observer per external
// thread's arena: detail::tsan_observe_calling_threads_arena.
class TsanIgnoreTbbWorkers : public tbb::task_scheduler_observer {
 public:
  TsanIgnoreTbbWorkers() { observe(true); }
  ~TsanIgnoreTbbWorkers() override { observe(false); }
  void on_scheduler_entry(bool worker) override {
    if (!worker) return;
    tsan_is_tbb_worker = true;
    static_cast<void>(&tsan_end_ignores_at_thread_exit);  // constructs this thread's
    detail::tsan_ignore_begin();
  }
  void on_scheduler_exit(bool worker) override {
    if (worker && detail::tsan_ignore_depth > 0) detail::tsan_ignore_end();
  }
};
#endif

}  // namespace

#ifdef LAMINA_TSAN
namespace detail {
void tsan_observe_calling_threads_arena() {
  if (tsan_is_tbb_worker) return;  // inside a task: its arena is observed already
  thread_local TsanIgnoreTbbWorkers observer;  // started on this thread's first spawn
  static_cast<void>(&observer);
}
}  // namespace detail
#endif

void set_num_threads(int n) {
  LAMINA_CHECK(n >= 1, ValueError, "[set_num_threads] expected n >= 1, got ", n);
  auto& l = limit();
  std::lock_guard lock(l.mutex);
  l.apply(n);
}

int get_num_threads() {
  return limit().value.load(std::memory_order_relaxed);
}

}  // namespace lamina
