#pragma once
// Shared by the MLP cases of bench/compare (cases_autograd, cases_training and
// their libtorch peers) and by bench_mlp_accuracy: the fixed random batch of
// mlp/step, the Fashion-MNIST location and a timer for cases too long for
// time_ns (one training epoch).
//
// The model everywhere is 784-256-128-10 with ReLU, softmax cross-entropy
// (mean over the batch), float32.

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <vector>

namespace lamina::bench::mlp {

constexpr std::int64_t kIn = 784, kHidden1 = 256, kHidden2 = 128, kClasses = 10;
constexpr std::int64_t kBatch = 128;
constexpr const char* kFashionMnistDir = "/usr/share/datasets/fashion-mnist";

/// splitmix64: the same stream in every translation unit and library.
inline std::uint64_t splitmix64(std::uint64_t& state) {
  std::uint64_t z = (state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

/// The fixed batch of mlp/step: x (kBatch, kIn) uniform in [0, 1), row-major.
inline std::vector<float> step_batch_x() {
  std::vector<float> x(static_cast<std::size_t>(kBatch * kIn));
  std::uint64_t s = 20261127;
  for (float& v : x) v = static_cast<float>(splitmix64(s) >> 40) * (1.0f / 16777216.0f);
  return x;
}

/// The fixed labels of mlp/step: kBatch class indices in [0, kClasses).
inline std::vector<std::int64_t> step_batch_y() {
  std::vector<std::int64_t> y(static_cast<std::size_t>(kBatch));
  std::uint64_t s = 7;
  for (auto& v : y) v = static_cast<std::int64_t>(splitmix64(s) % kClasses);
  return y;
}

/// LAMINA_BENCH_TIME_SCALE (default 1), as time_ns reads it.
inline double time_scale() {
  const char* env = std::getenv("LAMINA_BENCH_TIME_SCALE");
  double s = env ? std::atof(env) : 1.0;
  return s > 0 ? s : 1.0;
}

/// For calls lasting about a second (a training epoch), where time_ns's
/// minimum of 2 warm-up calls + 7 batches would be too long: one warm-up
/// call, then the median of `reps` timed calls (reps scaled by
/// LAMINA_BENCH_TIME_SCALE, at least 1). Nanoseconds per call.
inline double time_long_ns(const std::function<void()>& fn, int reps = 3) {
  using Clock = std::chrono::steady_clock;
  const int n = std::max(1, static_cast<int>(reps * time_scale() + 0.5));
  fn();  // warm-up: allocator pools, thread pools, caches
  std::vector<double> ns;
  for (int i = 0; i < n; ++i) {
    auto t0 = Clock::now();
    fn();
    ns.push_back(std::chrono::duration<double, std::nano>(Clock::now() - t0).count());
  }
  std::sort(ns.begin(), ns.end());
  return ns.size() % 2 ? ns[ns.size() / 2] : 0.5 * (ns[ns.size() / 2 - 1] + ns[ns.size() / 2]);
}

}  // namespace lamina::bench::mlp
