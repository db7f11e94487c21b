// libtorch peer rows for the layer cases of bench/compare (issue 5):
//   layer/dense_small  torch::nn::Linear(8, 8) forward on a 1x8 float32
//                      input under torch::NoGradGuard (not InferenceMode).

#include <torch/nn/modules/linear.h>
#include <torch/torch.h>

#include "torch_grad_common.h"

namespace lamina::bench {
namespace {

using torch_peer::torch_time_grad;

void* volatile g_sink = nullptr;

void register_torch_layers() {
  register_peer("layer/dense_small", "libtorch", [](int threads) {
    torch::manual_seed(1);
    torch::nn::Linear linear(8, 8);
    const torch::Tensor x = torch::rand({1, 8}) * 2 - 1;
    torch::NoGradGuard no_grad;  // around the whole timing, as around an inference loop
    return torch_time_grad("layer/dense_small", threads, [&] {
      torch::Tensor y = linear(x);
      g_sink = y.data_ptr();
    });
  });
}

const Registrar registrar(register_torch_layers);

}  // namespace
}  // namespace lamina::bench
