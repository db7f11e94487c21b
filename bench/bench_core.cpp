// Google Benchmark programs for lamina's core kernels: elementwise unary and
// binary ops (allocating, out/in-place, broadcasting), reductions and softmax.
// Every benchmark takes the thread count as its last argument.
//
//   build/release/bench/bench_core --benchmark_filter='relu'
//
// bytes/s counts reads + writes of the tensors' elements.

#include <benchmark/benchmark.h>

#include <cstdint>
#include <vector>

#include "lamina/core/ops/binary.h"
#include "lamina/core/ops/reduce.h"
#include "lamina/core/ops/softmax.h"
#include "lamina/core/ops/unary.h"
#include "lamina/core/random.h"
#include "lamina/core/tensor.h"
#include "lamina/core/threading.h"

namespace {

using lamina::DType;
using lamina::Shape;
using lamina::Tensor;
namespace core = lamina::core;

Tensor input(const Shape& shape, std::uint64_t seed) {
  return lamina::uniform(shape, -1.0, 1.0, seed, DType::float32);
}

void set_counters(benchmark::State& state, std::int64_t elements, std::int64_t bytes) {
  state.SetItemsProcessed(state.iterations() * elements);
  state.SetBytesProcessed(state.iterations() * bytes);
}

// Sizes: per-op overhead, L1, L2, L3 and DRAM-resident.
void elementwise_args(benchmark::internal::Benchmark* b) {
  for (std::int64_t n : {std::int64_t{1}, std::int64_t{4096}, std::int64_t{1} << 16,
                         std::int64_t{1} << 20, std::int64_t{10'000'000}})
    for (int t : {1, 2}) b->Args({n, t});
  b->ArgNames({"n", "threads"})->UseRealTime();
}

// ---- unary --------------------------------------------------------------------

template <Tensor (*Op)(const Tensor&)>
void BM_Unary(benchmark::State& state) {
  lamina::set_num_threads(static_cast<int>(state.range(1)));
  const std::int64_t n = state.range(0);
  Tensor x = input({n}, 1);
  for (auto _ : state) {
    Tensor y = Op(x);
    benchmark::DoNotOptimize(y.raw_data());
  }
  set_counters(state, n, 2 * n * 4);
}

Tensor relu(const Tensor& x) { return core::relu(x); }
Tensor neg(const Tensor& x) { return core::neg(x); }
Tensor abs(const Tensor& x) { return core::abs(x); }
Tensor exp(const Tensor& x) { return core::exp(x); }
Tensor log(const Tensor& x) { return core::log(core::abs(x)); }
Tensor sqrt(const Tensor& x) { return core::sqrt(x); }
Tensor tanh(const Tensor& x) { return core::tanh(x); }
Tensor sigmoid(const Tensor& x) { return core::sigmoid(x); }
Tensor gelu_erf(const Tensor& x) { return core::gelu(x, false); }
Tensor gelu_tanh(const Tensor& x) { return core::gelu(x, true); }
Tensor softplus(const Tensor& x) { return core::softplus(x); }
Tensor leaky_relu(const Tensor& x) { return core::leaky_relu(x); }

BENCHMARK(BM_Unary<relu>)->Name("relu")->Apply(elementwise_args);
BENCHMARK(BM_Unary<neg>)->Name("neg")->Apply(elementwise_args);
BENCHMARK(BM_Unary<abs>)->Name("abs")->Apply(elementwise_args);
BENCHMARK(BM_Unary<leaky_relu>)->Name("leaky_relu")->Apply(elementwise_args);
BENCHMARK(BM_Unary<exp>)->Name("exp")->Apply(elementwise_args);
BENCHMARK(BM_Unary<sqrt>)->Name("sqrt")->Apply(elementwise_args);
BENCHMARK(BM_Unary<tanh>)->Name("tanh")->Apply(elementwise_args);
BENCHMARK(BM_Unary<sigmoid>)->Name("sigmoid")->Apply(elementwise_args);
BENCHMARK(BM_Unary<gelu_erf>)->Name("gelu_erf")->Apply(elementwise_args);
BENCHMARK(BM_Unary<gelu_tanh>)->Name("gelu_tanh")->Apply(elementwise_args);
BENCHMARK(BM_Unary<softplus>)->Name("softplus")->Apply(elementwise_args);
// log of |x| includes an abs pass; the pair shows log's own cost against abs.
BENCHMARK(BM_Unary<log>)->Name("abs_then_log")->Apply(elementwise_args);

void BM_ReluOut(benchmark::State& state) {
  lamina::set_num_threads(static_cast<int>(state.range(1)));
  const std::int64_t n = state.range(0);
  Tensor x = input({n}, 1);
  Tensor y = lamina::empty({n});
  for (auto _ : state) {
    core::relu_out(x, y);
    benchmark::DoNotOptimize(y.raw_data());
  }
  set_counters(state, n, 2 * n * 4);
}
BENCHMARK(BM_ReluOut)->Name("relu_out")->Apply(elementwise_args);

void BM_ReluInPlace(benchmark::State& state) {
  lamina::set_num_threads(static_cast<int>(state.range(1)));
  const std::int64_t n = state.range(0);
  Tensor x = input({n}, 1);
  for (auto _ : state) {
    core::relu_(x);
    benchmark::DoNotOptimize(x.raw_data());
  }
  set_counters(state, n, 2 * n * 4);
}
BENCHMARK(BM_ReluInPlace)->Name("relu_")->Apply(elementwise_args);

// ---- binary -------------------------------------------------------------------

template <Tensor (*Op)(const Tensor&, const Tensor&)>
void BM_Binary(benchmark::State& state) {
  lamina::set_num_threads(static_cast<int>(state.range(1)));
  const std::int64_t n = state.range(0);
  Tensor a = input({n}, 1);
  Tensor b = input({n}, 2);
  for (auto _ : state) {
    Tensor y = Op(a, b);
    benchmark::DoNotOptimize(y.raw_data());
  }
  set_counters(state, n, 3 * n * 4);
}

Tensor add(const Tensor& a, const Tensor& b) { return core::add(a, b); }
Tensor mul(const Tensor& a, const Tensor& b) { return core::mul(a, b); }
Tensor div(const Tensor& a, const Tensor& b) { return core::div(a, b); }
Tensor maximum(const Tensor& a, const Tensor& b) { return core::maximum(a, b); }
Tensor greater(const Tensor& a, const Tensor& b) { return core::greater(a, b); }

BENCHMARK(BM_Binary<add>)->Name("add")->Apply(elementwise_args);
BENCHMARK(BM_Binary<mul>)->Name("mul")->Apply(elementwise_args);
BENCHMARK(BM_Binary<div>)->Name("div")->Apply(elementwise_args);
BENCHMARK(BM_Binary<maximum>)->Name("maximum")->Apply(elementwise_args);
BENCHMARK(BM_Binary<greater>)->Name("greater")->Apply(elementwise_args);

void BM_AddScalar(benchmark::State& state) {
  lamina::set_num_threads(static_cast<int>(state.range(1)));
  const std::int64_t n = state.range(0);
  Tensor a = input({n}, 1);
  for (auto _ : state) {
    Tensor y = core::add(a, 0.5);
    benchmark::DoNotOptimize(y.raw_data());
  }
  set_counters(state, n, 2 * n * 4);
}
BENCHMARK(BM_AddScalar)->Name("add_scalar")->Apply(elementwise_args);

void BM_AddInPlace(benchmark::State& state) {
  lamina::set_num_threads(static_cast<int>(state.range(1)));
  const std::int64_t n = state.range(0);
  Tensor a = input({n}, 1);
  Tensor b = input({n}, 2);
  for (auto _ : state) {
    core::add_(a, b);
    benchmark::DoNotOptimize(a.raw_data());
  }
  set_counters(state, n, 3 * n * 4);
}
BENCHMARK(BM_AddInPlace)->Name("add_")->Apply(elementwise_args);

void BM_Axpy(benchmark::State& state) {
  lamina::set_num_threads(static_cast<int>(state.range(1)));
  const std::int64_t n = state.range(0);
  Tensor a = input({n}, 1);
  Tensor b = input({n}, 2);
  for (auto _ : state) {
    core::axpy_(a, 1e-3, b);
    benchmark::DoNotOptimize(a.raw_data());
  }
  set_counters(state, n, 3 * n * 4);
}
BENCHMARK(BM_Axpy)->Name("axpy_")->Apply(elementwise_args);

// [rows, cols] + [cols]: the bias pattern of dense layers.
void BM_AddBias(benchmark::State& state) {
  lamina::set_num_threads(static_cast<int>(state.range(2)));
  const std::int64_t rows = state.range(0), cols = state.range(1);
  Tensor a = input({rows, cols}, 1);
  Tensor b = input({cols}, 2);
  for (auto _ : state) {
    Tensor y = core::add(a, b);
    benchmark::DoNotOptimize(y.raw_data());
  }
  set_counters(state, rows * cols, (2 * rows * cols + cols) * 4);
}
BENCHMARK(BM_AddBias)
    ->Name("add_bias")
    ->ArgNames({"rows", "cols", "threads"})
    ->Args({128, 10, 1})
    ->Args({128, 256, 1})
    ->Args({128, 256, 2})
    ->Args({4096, 1000, 1})
    ->Args({4096, 1000, 2})
    ->UseRealTime();

// [rows, cols] + [rows, 1]: column broadcasting (general path).
void BM_AddColumn(benchmark::State& state) {
  lamina::set_num_threads(static_cast<int>(state.range(2)));
  const std::int64_t rows = state.range(0), cols = state.range(1);
  Tensor a = input({rows, cols}, 1);
  Tensor b = input({rows, 1}, 2);
  for (auto _ : state) {
    Tensor y = core::add(a, b);
    benchmark::DoNotOptimize(y.raw_data());
  }
  set_counters(state, rows * cols, (2 * rows * cols + rows) * 4);
}
BENCHMARK(BM_AddColumn)
    ->Name("add_column")
    ->ArgNames({"rows", "cols", "threads"})
    ->Args({4096, 1000, 1})
    ->Args({4096, 1000, 2})
    ->UseRealTime();

// Strided (transposed) input: the non-contiguous iteration path.
void BM_AddTransposed(benchmark::State& state) {
  lamina::set_num_threads(static_cast<int>(state.range(1)));
  const std::int64_t n = state.range(0);
  Tensor a = input({n, n}, 1).t();
  Tensor b = input({n, n}, 2);
  for (auto _ : state) {
    Tensor y = core::add(a, b);
    benchmark::DoNotOptimize(y.raw_data());
  }
  set_counters(state, n * n, 3 * n * n * 4);
}
BENCHMARK(BM_AddTransposed)
    ->Name("add_transposed")
    ->ArgNames({"n", "threads"})
    ->Args({1024, 1})
    ->Args({1024, 2})
    ->UseRealTime();

// ---- reductions ---------------------------------------------------------------

template <Tensor (*Op)(const Tensor&)>
void BM_ReduceAll(benchmark::State& state) {
  lamina::set_num_threads(static_cast<int>(state.range(1)));
  const std::int64_t n = state.range(0);
  Tensor x = input({n}, 1);
  for (auto _ : state) {
    Tensor y = Op(x);
    benchmark::DoNotOptimize(y.raw_data());
  }
  set_counters(state, n, n * 4);
}

Tensor sum_all(const Tensor& x) { return core::sum(x); }
Tensor mean_all(const Tensor& x) { return core::mean(x); }
Tensor max_all(const Tensor& x) { return core::max(x); }
Tensor var_all(const Tensor& x) { return core::var(x); }

BENCHMARK(BM_ReduceAll<sum_all>)->Name("sum")->Apply(elementwise_args);
BENCHMARK(BM_ReduceAll<mean_all>)->Name("mean")->Apply(elementwise_args);
BENCHMARK(BM_ReduceAll<max_all>)->Name("max")->Apply(elementwise_args);
BENCHMARK(BM_ReduceAll<var_all>)->Name("var")->Apply(elementwise_args);

// Reduction of a [rows, cols] matrix along one axis (0: columns, as bias
// gradients; 1: rows, as losses).
void BM_SumAxis(benchmark::State& state) {
  lamina::set_num_threads(static_cast<int>(state.range(3)));
  const std::int64_t rows = state.range(0), cols = state.range(1);
  const int axis = static_cast<int>(state.range(2));
  Tensor x = input({rows, cols}, 1);
  for (auto _ : state) {
    Tensor y = core::sum(x, {axis});
    benchmark::DoNotOptimize(y.raw_data());
  }
  set_counters(state, rows * cols, rows * cols * 4);
}
BENCHMARK(BM_SumAxis)
    ->Name("sum_axis")
    ->ArgNames({"rows", "cols", "axis", "threads"})
    ->Args({128, 256, 0, 1})
    ->Args({4096, 1000, 0, 1})
    ->Args({4096, 1000, 0, 2})
    ->Args({4096, 1000, 1, 1})
    ->Args({4096, 1000, 1, 2})
    ->UseRealTime();

void BM_Argmax(benchmark::State& state) {
  lamina::set_num_threads(static_cast<int>(state.range(2)));
  const std::int64_t rows = state.range(0), cols = state.range(1);
  Tensor x = input({rows, cols}, 1);
  for (auto _ : state) {
    Tensor y = core::argmax(x, -1);
    benchmark::DoNotOptimize(y.raw_data());
  }
  set_counters(state, rows * cols, rows * cols * 4);
}
BENCHMARK(BM_Argmax)
    ->Name("argmax")
    ->ArgNames({"rows", "cols", "threads"})
    ->Args({128, 10, 1})
    ->Args({4096, 1000, 1})
    ->Args({4096, 1000, 2})
    ->UseRealTime();

// ---- softmax ------------------------------------------------------------------

template <bool Log>
void BM_Softmax(benchmark::State& state) {
  lamina::set_num_threads(static_cast<int>(state.range(2)));
  const std::int64_t rows = state.range(0), cols = state.range(1);
  Tensor x = input({rows, cols}, 3);
  for (auto _ : state) {
    Tensor y = Log ? core::log_softmax(x, -1) : core::softmax(x, -1);
    benchmark::DoNotOptimize(y.raw_data());
  }
  set_counters(state, rows * cols, 2 * rows * cols * 4);
}
void softmax_args(benchmark::internal::Benchmark* b) {
  b->ArgNames({"rows", "cols", "threads"});
  for (int t : {1, 2}) {
    b->Args({128, 10, t});
    b->Args({128, 1000, t});
    b->Args({4096, 1000, t});
  }
  b->UseRealTime();
}
BENCHMARK(BM_Softmax<false>)->Name("softmax")->Apply(softmax_args);
BENCHMARK(BM_Softmax<true>)->Name("log_softmax")->Apply(softmax_args);

// Softmax along axis 0 (strided rows).
void BM_SoftmaxAxis0(benchmark::State& state) {
  lamina::set_num_threads(static_cast<int>(state.range(2)));
  const std::int64_t rows = state.range(0), cols = state.range(1);
  Tensor x = input({rows, cols}, 3);
  for (auto _ : state) {
    Tensor y = core::softmax(x, 0);
    benchmark::DoNotOptimize(y.raw_data());
  }
  set_counters(state, rows * cols, 2 * rows * cols * 4);
}
BENCHMARK(BM_SoftmaxAxis0)
    ->Name("softmax_axis0")
    ->ArgNames({"rows", "cols", "threads"})
    ->Args({1000, 4096, 1})
    ->Args({1000, 4096, 2})
    ->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
