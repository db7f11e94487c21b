// "fma_peak" rows for the compute-bound cases of bench/compare (gemm/* and
// mlp/step): how long this machine's cores take, in the same run, to do the
// case's floating-point work at their FMA peak. Not a library to beat but a
// floor, like raw_loop for the memory-bound cases: a row's ratio is
// lamina_ns / peak_ns, and 1 / ratio is the fraction of the peak lamina
// reached. It also says what a target against a peer asks for: a row
// lamina / libtorch <= r is only reachable when libtorch_ns * r >= peak_ns.
//
// The work is 2*M*N*K flops per matrix product (mlp/step: the three forward
// products, the three weight gradients and the input gradients of layers 2
// and 3), done by fma_chains (machine_probe.h): FMAs on registers only. At
// 2 threads the work is split in halves over oneTBB, the pool lamina itself
// uses, so the row pays the same thread wake-up lamina pays. Registered only
// on CPUs with AVX2+FMA and without AVX-512 (there lamina's kernels would use
// 512-bit FMAs and this floor would be too high by up to two).

#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>
#include <tbb/partitioner.h>

#include <cstdint>
#include <string>

#include "../compare_registry.h"
#include "../gemm_cases.h"
#include "../machine_probe.h"

namespace lamina::bench {
namespace {

volatile float g_sink = 0;

/// Nanoseconds per call of `flops` of FMA work on `threads` threads (1 or 2).
double time_peak(double flops, int threads) {
  const auto parts = threads < 2 ? 1 : 2;
  const auto iterations = static_cast<std::int64_t>(flops / kFmaChainFlops / parts + 0.5);
  return time_ns([&] {
    if (parts == 1) {
      g_sink = fma_chains(iterations);
      return;
    }
    float part[2] = {0, 0};
    tbb::parallel_for(
        tbb::blocked_range<int>(0, 2, 1),
        [&](const tbb::blocked_range<int>& r) {
          for (int p = r.begin(); p < r.end(); ++p) part[p] = fma_chains(iterations);
        },
        tbb::static_partitioner{});
    g_sink = part[0] + part[1];
  });
}

double product_flops(double m, double n, double k) { return 2.0 * m * n * k; }

void register_fma_peak() {
  if (!__builtin_cpu_supports("avx2") || !__builtin_cpu_supports("fma") || __builtin_cpu_supports("avx512f"))
    return;
  for (const GemmCase& c : gemm_cases()) {
    const double flops = product_flops(static_cast<double>(c.M), static_cast<double>(c.N), static_cast<double>(c.K));
    register_peer(std::string("gemm/") + c.name, "fma_peak", [flops](int threads) { return time_peak(flops, threads); });
  }
  // mlp/step: 784-256-128-10 at batch 128 (bench/cases_autograd.cpp).
  constexpr double kBatch = 128, kIn = 784, kH1 = 256, kH2 = 128, kOut = 10;
  const double forward = product_flops(kBatch, kH1, kIn) + product_flops(kBatch, kH2, kH1) + product_flops(kBatch, kOut, kH2);
  const double input_grads = product_flops(kBatch, kH1, kH2) + product_flops(kBatch, kH2, kOut);
  const double step = 2 * forward + input_grads;  // weight gradients cost what the forward costs
  register_peer("mlp/step", "fma_peak", [step](int threads) { return time_peak(step, threads); });
}

const Registrar registrar(register_fma_peak);

}  // namespace
}  // namespace lamina::bench
