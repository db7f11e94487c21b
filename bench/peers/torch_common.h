#pragma once
// Shared by the libtorch peers of bench/compare: thread settings and inputs.
// Only compiled when LAMINA_BENCH_PEERS is ON and Torch is found.
//
// libtorch has two independent pools: ATen's (OpenMP, at::set_num_threads)
// and OpenBLAS's (pthreads, used by matmul). "1 thread" puts both at 1. For
// "2 threads" both at 2 fight over this 2-core machine, so torch_time tries
// ATen 2 + OpenBLAS 1 and ATen 1 + OpenBLAS 2 and keeps the faster (the
// fair-peer rule of ../shared/spec/peer-benchmarking.md); the split used is
// reported on stderr.

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <c10/core/InferenceMode.h>

#include <cstdint>
#include <functional>
#include <string>

#include "../compare_registry.h"

namespace lamina::bench::torch_peer {

/// Runs `fn` without autograd bookkeeping (InferenceMode: libtorch's fastest
/// path for plain tensor ops, the counterpart of lamina's raw core ops).
inline double torch_time(const std::string& what, int threads, const std::function<void()>& fn,
                         double min_seconds = 0.3) {
  c10::InferenceMode guard;
  if (threads <= 1) {
    at::set_num_threads(1);
    set_openblas_threads(1);
    return time_ns(fn, min_seconds);
  }
  struct Split {
    int aten, blas;
  };
  const Split splits[] = {{threads, 1}, {1, threads}};
  double best = 0;
  Split chosen{};
  for (const Split& s : splits) {
    at::set_num_threads(s.aten);
    set_openblas_threads(s.blas);
    double ns = time_ns(fn, min_seconds);
    if (best == 0 || ns < best) best = ns, chosen = s;
  }
  note(what + " libtorch " + std::to_string(threads) + " threads: best split ATen " +
       std::to_string(chosen.aten) + " + OpenBLAS " + std::to_string(chosen.blas));
  return best;
}

/// Uniform [-1, 1) float32 input with a fixed seed.
inline at::Tensor input(at::IntArrayRef shape, std::uint64_t seed) {
  c10::InferenceMode guard;
  at::manual_seed(seed);
  return at::rand(shape, at::kFloat) * 2 - 1;
}

}  // namespace lamina::bench::torch_peer
