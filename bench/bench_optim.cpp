// Google Benchmark program for lamina's optimizers: one apply_gradients step
// on a 1M-parameter float32 variable (the fused update kernel plus the
// per-call bookkeeping). The last argument is the thread count.
//
//   build/release/bench/bench_optim --benchmark_filter='Adam'
//
// bytes/s counts the reads and writes of the step: Adam reads g, w, m, v and
// writes w, m, v (7 floats per parameter).

#include <benchmark/benchmark.h>

#include <cstdint>
#include <memory>

#include "lamina/autograd/variable.h"
#include "lamina/core/random.h"
#include "lamina/core/threading.h"
#include "lamina/optim/lamina_optim.h"

namespace {

using lamina::DType;
using lamina::Tensor;
using lamina::Variable;

template <int Streams>
void BM_Step(benchmark::State& state, std::unique_ptr<lamina::optim::Optimizer> opt) {
  lamina::set_num_threads(static_cast<int>(state.range(1)));
  const std::int64_t n = state.range(0);
  Variable w(lamina::uniform({n}, -1.0, 1.0, 1, DType::float32), "w");
  const std::vector<Tensor> grads = {lamina::uniform({n}, -1.0, 1.0, 2, DType::float32)};
  const std::vector<Variable> vars = {w};
  opt->apply_gradients(grads, vars);  // creates the slots
  for (auto _ : state) {
    opt->apply_gradients(grads, vars);
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations() * n);
  state.SetBytesProcessed(state.iterations() * n * Streams * 4);
}

void BM_Adam(benchmark::State& state) {
  BM_Step<7>(state, std::make_unique<lamina::optim::Adam>(lamina::optim::AdamConfig{.learning_rate = 1e-3}));
}
void BM_AdamAmsgrad(benchmark::State& state) {
  BM_Step<9>(state, std::make_unique<lamina::optim::Adam>(lamina::optim::AdamConfig{.amsgrad = true}));
}
void BM_AdamClipnorm(benchmark::State& state) {
  // Adds the norm pass over the gradient.
  BM_Step<8>(state, std::make_unique<lamina::optim::Adam>(lamina::optim::AdamConfig{.clipnorm = 1.0}));
}
void BM_SGDMomentum(benchmark::State& state) {
  BM_Step<5>(state, std::make_unique<lamina::optim::SGD>(lamina::optim::SGDConfig{.momentum = 0.9}));
}
void BM_RMSprop(benchmark::State& state) {
  BM_Step<5>(state, std::make_unique<lamina::optim::RMSprop>());
}

void args(benchmark::internal::Benchmark* b) {
  for (std::int64_t n : {std::int64_t{1} << 20, std::int64_t{10'000'000}})
    for (int t : {1, 2}) b->Args({n, t});
  b->ArgNames({"n", "threads"})->UseRealTime();
}

BENCHMARK(BM_Adam)->Apply(args);
BENCHMARK(BM_AdamAmsgrad)->Apply(args);
BENCHMARK(BM_AdamClipnorm)->Apply(args);
BENCHMARK(BM_SGDMomentum)->Apply(args);
BENCHMARK(BM_RMSprop)->Apply(args);

}  // namespace

BENCHMARK_MAIN();
