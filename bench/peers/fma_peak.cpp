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
// uses, so the row pays the same thread wake-up lamina pays. Registered on
// CPUs with AVX2+FMA; on those with AVX-512 too, the work is timed with
// 256-bit and with 512-bit FMAs and the row is the faster of the two (the
// 512-bit rate is twice the 256-bit one on some cores, the same on others).

#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>
#include <tbb/partitioner.h>

#include <algorithm>
#include <cstdint>
#include <string>

#include "../compare_registry.h"
#include "../gemm_cases.h"
#include "../machine_probe.h"

namespace lamina::bench {
namespace {

volatile float g_sink = 0;

/// Nanoseconds per call of `flops` of FMA work done by `chains` (flops_per_iteration
/// each iteration) on `threads` threads (1 or 2).
double time_chains(float (*chains)(std::int64_t), double flops_per_iteration, double flops, int threads) {
  const auto parts = threads < 2 ? 1 : 2;
  const auto iterations = static_cast<std::int64_t>(flops / flops_per_iteration / parts + 0.5);
  return time_ns([&] {
    if (parts == 1) {
      g_sink = chains(iterations);
      return;
    }
    float part[2] = {0, 0};
    tbb::parallel_for(
        tbb::blocked_range<int>(0, 2, 1),
        [&](const tbb::blocked_range<int>& r) {
          for (int p = r.begin(); p < r.end(); ++p) part[p] = chains(iterations);
        },
        tbb::static_partitioner{});
    g_sink = part[0] + part[1];
  });
}

/// The faster of the 256-bit and (where the CPU has them) 512-bit FMA floors.
double time_peak(double flops, int threads) {
  double best = time_chains(fma_chains, kFmaChainFlops, flops, threads);
  if (__builtin_cpu_supports("avx512f"))
    best = std::min(best, time_chains(fma_chains_512, kFmaChain512Flops, flops, threads));
  return best;
}

double product_flops(double m, double n, double k) { return 2.0 * m * n * k; }

void register_fma_peak() {
  if (!__builtin_cpu_supports("avx2") || !__builtin_cpu_supports("fma")) return;
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
