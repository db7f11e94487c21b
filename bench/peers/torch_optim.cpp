// libtorch peer rows for the optimizer cases of bench/compare (issue 6):
// torch::optim::Adam on a 1M-parameter float32 tensor with the same
// hyper-parameters as lamina's row (lr 1e-3, betas 0.9/0.999, eps 1e-7) and a
// fixed gradient; one step() per call.

#include <torch/optim/adam.h>

#include <cstdint>
#include <vector>

#include "torch_common.h"

namespace lamina::bench {
namespace {

using torch_peer::input;
using torch_peer::torch_time;

constexpr std::int64_t kParams = std::int64_t{1} << 20;

void register_torch_optim() {
  register_peer("optim/adam_step", "libtorch", [](int threads) {
    at::Tensor w = input({kParams}, 1).clone().set_requires_grad(true);
    w.mutable_grad() = input({kParams}, 2).clone();
    torch::optim::Adam opt(std::vector<at::Tensor>{w},
                           torch::optim::AdamOptions(1e-3).betas({0.9, 0.999}).eps(1e-7));
    return torch_time("optim/adam_step", threads, [&] { opt.step(); });
  });
}

const Registrar registrar(register_torch_optim);

}  // namespace
}  // namespace lamina::bench
