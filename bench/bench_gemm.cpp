// Google Benchmark for lamina::gemm (float32) on the shapes of issue 3: square
// 64..2048 and the MLP training products at batch 128. Arguments: case index,
// threads. Reports GFLOP (2*M*N*K per call) as a rate, shown as GFLOP=x/s.
//
//   build/release/bench/bench_gemm --benchmark_filter='sq1024'
//   build/release/bench/bench_gemm --benchmark_filter='threads:2'
//
// For the side-by-side table against OpenBLAS and oneDNN use bench/compare gemm/.

#include <benchmark/benchmark.h>

#include <cstdint>
#include <string>

#include "gemm_cases.h"
#include "lamina/core/gemm.h"
#include "lamina/core/threading.h"

namespace {

using lamina::bench::GemmCase;
using lamina::bench::gemm_cases;

void BM_Gemm(benchmark::State& state, GemmCase c) {
  lamina::set_num_threads(static_cast<int>(state.range(0)));
  lamina::bench::GemmOperands op(c);
  const std::int64_t lda = lamina::bench::gemm_lda(c), ldb = lamina::bench::gemm_ldb(c);
  for (auto _ : state) {
    lamina::gemm<float>(c.M, c.N, c.K, 1.f, op.A.data(), c.ta ? 1 : lda, c.ta ? lda : 1, op.B.data(), c.tb ? 1 : ldb,
                        c.tb ? ldb : 1, 0.f, op.C.data(), c.N, 1);
    benchmark::DoNotOptimize(op.C.data());
    benchmark::ClobberMemory();
  }
  const double flop = 2.0 * static_cast<double>(c.M) * static_cast<double>(c.N) * static_cast<double>(c.K);
  state.counters["GFLOP"] = benchmark::Counter(flop * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
  state.SetLabel(std::to_string(c.M) + "x" + std::to_string(c.N) + "x" + std::to_string(c.K) +
                 (c.ta ? " At" : "") + (c.tb ? " Bt" : ""));
}

const bool registered = [] {
  for (const GemmCase& c : gemm_cases())
    benchmark::RegisterBenchmark((std::string("gemm/") + c.name).c_str(), BM_Gemm, c)
        ->ArgName("threads")
        ->Arg(1)
        ->Arg(2)
        ->UseRealTime();
  return true;
}();

}  // namespace

BENCHMARK_MAIN();
