// libtorch peer rows for the convolution cases of bench/compare (issue 8):
// conv/fwd_bwd_32x64 with at::conv2d (NCHW, oneDNN underneath) on the same
// shapes as lamina's row: forward, then torch::autograd::grad for input,
// weight and bias with a fixed output gradient.

#include <torch/csrc/autograd/autograd.h>

#include "torch_common.h"

namespace lamina::bench {
namespace {

using torch_peer::torch_time;

void register_torch_conv() {
  register_peer("conv/fwd_bwd_32x64", "libtorch", [](int threads) {
    // Leaves created outside InferenceMode so autograd may save them.
    at::manual_seed(1);
    at::Tensor x = (at::rand({128, 32, 13, 13}) * 2 - 1).set_requires_grad(true);
    at::Tensor w = ((at::rand({64, 32, 3, 3}) * 2 - 1) * 0.1).set_requires_grad(true);
    at::Tensor b = at::zeros({64}).set_requires_grad(true);
    at::Tensor gy = at::rand({128, 64, 11, 11}) * 2 - 1;
    return torch_time("conv/fwd_bwd_32x64", threads, [&] {
      c10::InferenceMode off(false);  // torch_time runs under InferenceMode
      at::Tensor y = at::conv2d(x, w, b);
      auto grads = torch::autograd::grad({y}, {x, w, b}, {gy});
    });
  });
}

const Registrar registrar(register_torch_conv);

}  // namespace
}  // namespace lamina::bench
