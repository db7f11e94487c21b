#pragma once
/// Thread pool size for lamina's kernels (oneTBB underneath).

namespace lamina {

/// Sets how many threads kernels may use (>= 1). The environment variable
/// LAMINA_NUM_THREADS sets the initial value; otherwise all hardware threads.
/// Results never depend on this number: reductions use fixed partitions.
void set_num_threads(int n);
/// The current limit set by set_num_threads / LAMINA_NUM_THREADS.
int get_num_threads();

}  // namespace lamina
