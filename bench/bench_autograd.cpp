// Google Benchmark program for the tape's own cost (issue 4: "a recording
// costs <= 0.2 us"): the same differentiable add of 1-element float32 tensors,
// 64 times per iteration, outside any tape (Plain: nothing is recorded) and
// under a GradientTape that records each one (Recorded; the tape's creation
// and release are spread over the 64 records). Each prints `per_add`, the
// time per add; the cost of one recording is Recorded's per_add minus
// Plain's. RecordedThenBackward adds one gradient over the 64 records.
//
//   build/release/bench/bench_autograd

#include <benchmark/benchmark.h>

#include <vector>

#include "lamina/autograd/ops.h"
#include "lamina/autograd/tape.h"
#include "lamina/core/random.h"
#include "lamina/core/tensor.h"

namespace {

using lamina::DType;
using lamina::GradientTape;
using lamina::Tensor;

constexpr int kAdds = 64;

void per_add(benchmark::State& state) {
  state.counters["per_add"] =
      benchmark::Counter(static_cast<double>(state.iterations()) * kAdds, benchmark::Counter::kIsRate |
                                                                              benchmark::Counter::kInvert);
}

void BM_AddPlain(benchmark::State& state) {
  const Tensor x = lamina::uniform({1}, -1.0, 1.0, 1, DType::float32);
  const Tensor x2 = lamina::uniform({1}, -1.0, 1.0, 2, DType::float32);
  for (auto _ : state) {
    Tensor y = x;
    for (int i = 0; i < kAdds; ++i) y = lamina::add(y, x2);
    benchmark::DoNotOptimize(y.impl());
  }
  per_add(state);
}
BENCHMARK(BM_AddPlain);

void BM_AddRecorded(benchmark::State& state) {
  const Tensor x = lamina::uniform({1}, -1.0, 1.0, 1, DType::float32);
  const Tensor x2 = lamina::uniform({1}, -1.0, 1.0, 2, DType::float32);
  for (auto _ : state) {
    GradientTape tape;
    tape.watch(x);
    Tensor y = x;
    for (int i = 0; i < kAdds; ++i) y = lamina::add(y, x2);
    benchmark::DoNotOptimize(y.impl());
  }
  per_add(state);
}
BENCHMARK(BM_AddRecorded);

void BM_AddRecordedThenBackward(benchmark::State& state) {
  const Tensor x = lamina::uniform({1}, -1.0, 1.0, 1, DType::float32);
  const Tensor x2 = lamina::uniform({1}, -1.0, 1.0, 2, DType::float32);
  for (auto _ : state) {
    GradientTape tape;
    tape.watch(x);
    Tensor y = x;
    for (int i = 0; i < kAdds; ++i) y = lamina::add(y, x2);
    std::vector<Tensor> g = tape.gradient(y, {x});
    benchmark::DoNotOptimize(g[0].impl());
  }
  per_add(state);
}
BENCHMARK(BM_AddRecordedThenBackward);

}  // namespace

BENCHMARK_MAIN();
