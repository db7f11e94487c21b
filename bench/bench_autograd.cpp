// Google Benchmark program for the tape's own cost (issue 4: "a recording
// costs <= 0.2 us"): the same differentiable add of 1-element float32 tensors,
// 64 times per iteration, outside any tape (AddPlain: nothing is recorded)
// and under a GradientTape that records each one (AddRecorded/backward:0;
// the tape's creation and release are spread over the 64 records). Each
// prints `per_add`, the time per add; the cost of one recording is
// AddRecorded's per_add minus AddPlain's. AddRecorded/backward:1 adds one
// gradient over the 64 records.
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

struct Inputs {
  Tensor x = lamina::uniform({1}, -1.0, 1.0, 1, DType::float32);
  Tensor x2 = lamina::uniform({1}, -1.0, 1.0, 2, DType::float32);
};

/// x + x2 + x2 + ... (kAdds adds), through the differentiable op.
Tensor add_chain(const Inputs& in) {
  Tensor y = in.x;
  for (int i = 0; i < kAdds; ++i) y = lamina::add(y, in.x2);
  return y;
}

void per_add(benchmark::State& state) {
  state.counters["per_add"] =
      benchmark::Counter(static_cast<double>(state.iterations()) * kAdds, benchmark::Counter::kIsRate |
                                                                              benchmark::Counter::kInvert);
}

void BM_AddPlain(benchmark::State& state) {
  const Inputs in;
  for (auto _ : state) {
    Tensor y = add_chain(in);
    benchmark::DoNotOptimize(y.impl());
  }
  per_add(state);
}
BENCHMARK(BM_AddPlain);

void BM_AddRecorded(benchmark::State& state) {
  const bool backward = state.range(0) != 0;
  const Inputs in;
  for (auto _ : state) {
    GradientTape tape;
    tape.watch(in.x);
    Tensor y = add_chain(in);
    if (backward) {
      std::vector<Tensor> g = tape.gradient(y, {in.x});
      benchmark::DoNotOptimize(g[0].impl());
    }
    benchmark::DoNotOptimize(y.impl());
  }
  per_add(state);
}
BENCHMARK(BM_AddRecorded)->ArgName("backward")->Arg(0)->Arg(1);

}  // namespace

BENCHMARK_MAIN();
