// Case registry, timing and peer thread-pool helpers for bench/compare.

#include "compare_registry.h"

#include <dlfcn.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

namespace lamina::bench {

std::vector<CaseEntry>& cases() {
  static std::vector<CaseEntry> all;
  return all;
}

namespace {

CaseEntry& find_or_add(const std::string& name) {
  auto& all = cases();
  auto it = std::find_if(all.begin(), all.end(), [&](const CaseEntry& c) { return c.name == name; });
  if (it != all.end()) return *it;
  all.push_back(CaseEntry{name, {}, {}});
  return all.back();
}

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

/// LAMINA_BENCH_TIME_SCALE (default 1) scales every measurement's duration:
/// 0.2 for a quick look, 3 for quieter numbers.
double time_scale() {
  static const double scale = [] {
    const char* env = std::getenv("LAMINA_BENCH_TIME_SCALE");
    double s = env ? std::atof(env) : 1.0;
    return s > 0 ? s : 1.0;
  }();
  return scale;
}

double g_round_scale = 1.0;

}  // namespace

void set_round_scale(double scale) { g_round_scale = scale > 0 ? scale : 1.0; }

void register_case(const std::string& name, TimedFn lamina) {
  find_or_add(name).lamina = std::move(lamina);
}

void register_peer(const std::string& name, const std::string& peer, TimedFn run) {
  find_or_add(name).peers.push_back(PeerEntry{peer, std::move(run)});
}

// Warm-up (pools awake, caches and allocator free lists filled, clocks up),
// then batches of a calibrated number of calls; the result is the median of
// the per-call times of the batches, which ignores the odd batch disturbed
// by the rest of the machine.
double time_ns(const std::function<void()>& fn, double min_seconds) {
  min_seconds *= time_scale() * g_round_scale;
  const double batch_target = std::max(min_seconds / 15.0, 1e-3);
  constexpr int kMinBatches = 7;
  constexpr int kMaxBatches = 200;

  // Warm-up: at least two calls and about a tenth of the budget.
  auto start = Clock::now();
  double first_call = 0;
  for (int i = 0;; ++i) {
    auto t0 = Clock::now();
    fn();
    if (i == 0) first_call = seconds_since(t0);
    if (i >= 1 && seconds_since(start) >= min_seconds / 10.0) break;
  }

  // Calibrate the batch size: double until a batch lasts batch_target.
  long iters = 1;
  if (first_call < batch_target) {
    for (;;) {
      auto t0 = Clock::now();
      for (long i = 0; i < iters; ++i) fn();
      double dt = seconds_since(t0);
      if (dt >= batch_target || iters >= (1L << 40)) break;
      // Jump close to the target, at most 10x at a time.
      double want = dt > 0 ? batch_target / dt * 1.2 : 10.0;
      iters = std::max(iters * 2, static_cast<long>(iters * std::min(want, 10.0)));
    }
  }

  std::vector<double> per_call;
  auto measure_start = Clock::now();
  while (static_cast<int>(per_call.size()) < kMinBatches ||
         (seconds_since(measure_start) < min_seconds &&
          static_cast<int>(per_call.size()) < kMaxBatches)) {
    auto t0 = Clock::now();
    for (long i = 0; i < iters; ++i) fn();
    per_call.push_back(seconds_since(t0) * 1e9 / static_cast<double>(iters));
  }
  std::sort(per_call.begin(), per_call.end());
  std::size_t n = per_call.size();
  return n % 2 ? per_call[n / 2] : 0.5 * (per_call[n / 2 - 1] + per_call[n / 2]);
}

bool set_openblas_threads(int n) {
  using SetFn = void (*)(int);
  static const auto fn = reinterpret_cast<SetFn>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"));
  if (!fn) return false;
  fn(n);
  return true;
}

void note(const std::string& text) {
  std::fprintf(stderr, "[compare] %s\n", text.c_str());
}

}  // namespace lamina::bench
