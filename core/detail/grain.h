#pragma once
// Internal: grain sizes (elements per task) below which kernels stay on one
// thread. Chosen so a task runs for roughly 10+ microseconds.

#include <cstdint>

namespace lamina::detail {

inline constexpr std::int64_t kGrainCheap = 1 << 15;      // add, relu, copies
inline constexpr std::int64_t kGrainTranscendental = 1 << 12;  // exp, tanh, erf, pow
inline constexpr std::int64_t kReduceBlock = 1 << 14;    // fixed partial-sum block size

}  // namespace lamina::detail
