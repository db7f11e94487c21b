#pragma once
// Internal: thread-parallel loops over oneTBB that stay serial for small work,
// so tiny tensors never pay for waking threads.

#include <cstdint>

#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>
#include <tbb/partitioner.h>

#include "lamina/core/detail/tsan.h"
#include "lamina/core/threading.h"

namespace lamina::detail {

/// f(begin, end) over [0, n) in oneTBB ranges of at least `grain` elements,
/// split as `partitioner` says (the caller has checked that threads pay).
template <class Partitioner, class F>
void tbb_ranges(std::int64_t n, std::int64_t grain, const Partitioner& partitioner, F& f) {
  TsanTokens tokens;  // TBB's spawn and join, stated for ThreadSanitizer (no-ops otherwise)
  TsanSpawnAndJoin join(tokens);
  tbb::parallel_for(
      tbb::blocked_range<std::int64_t>(0, n, grain),
      [&f, &tokens](const tbb::blocked_range<std::int64_t>& r) {
        TsanTaskBody body(tokens);
        f(r.begin(), r.end());
      },
      partitioner);
}

/// Calls f(begin, end) over [0, n) in pieces of at least `grain` elements.
/// Runs inline when n <= grain or only one thread is allowed. `f` must be
/// safe to call concurrently on disjoint ranges.
template <class F>
void parallel_for(std::int64_t n, std::int64_t grain, F&& f) {
  if (n <= 0) return;
  if (n <= grain || get_num_threads() == 1) {
    f(std::int64_t{0}, n);
    return;
  }
  tbb_ranges(n, grain, tbb::static_partitioner{}, f);
}

/// Calls f(chunk) for every chunk index in [0, chunks), handing chunks to
/// whichever thread is free (oneTBB work stealing) instead of fixing them in
/// advance: when one core runs slow (another process, a preempted vCPU, a
/// smaller core), the others take more chunks. Only for chunks whose results
/// do not depend on the thread that computes them.
template <class F>
void parallel_chunks_dynamic(std::int64_t chunks, F&& f) {
  auto each = [&f](std::int64_t b, std::int64_t e) {
    for (std::int64_t c = b; c < e; ++c) f(c);
  };
  if (chunks <= 0) return;
  if (chunks == 1 || get_num_threads() == 1) {
    each(0, chunks);
    return;
  }
  tbb_ranges(chunks, 1, tbb::simple_partitioner{}, each);
}

/// Calls f(chunk) for every chunk index in [0, chunks), possibly in parallel.
/// Used with a chunking fixed by the data size (never by the thread count),
/// so per-chunk partial results are identical for any number of threads.
template <class F>
void parallel_chunks(std::int64_t chunks, F&& f) {
  parallel_for(chunks, 1, [&f](std::int64_t b, std::int64_t e) {
    for (std::int64_t c = b; c < e; ++c) f(c);
  });
}

}  // namespace lamina::detail
