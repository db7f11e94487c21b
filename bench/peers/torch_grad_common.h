#pragma once
// libtorch peers that need autograd (tape/, mlp/, layer/ cases): the thread
// split of torch_common.h's torch_time, but WITHOUT InferenceMode, so
// requires_grad, backward() and optimizers work (a peer that wants no
// recording adds its own torch::NoGradGuard).
//
// "1 thread" = ATen 1 + OpenBLAS 1. "2 threads" tries ATen 2 + OpenBLAS 1 and
// ATen 1 + OpenBLAS 2 and keeps the faster (both at 2 fight over the two
// cores); the split used is noted on stderr.

#include <ATen/Parallel.h>

#include <functional>
#include <string>

#include "../compare_registry.h"

namespace lamina::bench::torch_peer {

/// `timer(fn)` returns ns per call of fn (time_ns by default).
using Timer = std::function<double(const std::function<void()>&)>;

inline double torch_time_grad(const std::string& what, int threads, const std::function<void()>& fn,
                              const Timer& timer) {
  if (threads <= 1) {
    at::set_num_threads(1);
    set_openblas_threads(1);
    return timer(fn);
  }
  struct Split {
    int aten, blas;
  };
  const Split splits[] = {{threads, 1}, {1, threads}};
  double best = 0;
  Split chosen{};
  std::string all;
  for (const Split& s : splits) {
    at::set_num_threads(s.aten);
    set_openblas_threads(s.blas);
    double ns = timer(fn);
    all += " ATen " + std::to_string(s.aten) + "+OpenBLAS " + std::to_string(s.blas) + ": " +
           std::to_string(static_cast<long long>(ns)) + " ns;";
    if (best == 0 || ns < best) best = ns, chosen = s;
  }
  note(what + " libtorch " + std::to_string(threads) + " threads:" + all + " best split ATen " +
       std::to_string(chosen.aten) + " + OpenBLAS " + std::to_string(chosen.blas));
  return best;
}

inline double torch_time_grad(const std::string& what, int threads, const std::function<void()>& fn,
                              double min_seconds = 0.3) {
  return torch_time_grad(what, threads, fn, [min_seconds](const std::function<void()>& f) { return time_ns(f, min_seconds); });
}

}  // namespace lamina::bench::torch_peer
