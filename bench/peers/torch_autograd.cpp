// libtorch peer rows for the autograd cases of bench/compare (issue 4), with
// autograd on (no InferenceMode):
//   tape/record_add_1  a (1 element, requires_grad) + b (1 element), then
//                      y.backward(); a.grad is reset to undefined before each
//                      call (zero_grad(set_to_none)), so backward hands its
//                      gradient over instead of accumulating into an old one.
//   mlp/step           torch::nn::Linear x3 (784-256-128-10), relu,
//                      torch::nn::functional::cross_entropy (mean), backward;
//                      the same fixed batch as lamina's row (mlp_common.h);
//                      grads set to none before each call.

#include <torch/torch.h>

#include <cstdint>
#include <vector>

#include "torch_mlp.h"
#include "torch_grad_common.h"

namespace lamina::bench {
namespace {

using torch_peer::torch_time_grad;

void* volatile g_sink = nullptr;

void register_torch_autograd() {
  register_peer("tape/record_add_1", "libtorch", [](int threads) {
    torch::manual_seed(1);
    torch::Tensor a = (torch::rand({1}) * 2 - 1).set_requires_grad(true);
    torch::Tensor b = torch::rand({1}) * 2 - 1;
    return torch_time_grad("tape/record_add_1", threads, [&] {
      a.mutable_grad() = torch::Tensor();
      torch::Tensor y = a + b;
      y.backward();
      g_sink = a.grad().data_ptr();
    });
  });

  register_peer("mlp/step", "libtorch", [](int threads) {
    torch::manual_seed(1);
    mlp::TorchMlp model;
    std::vector<float> xv = mlp::step_batch_x();
    std::vector<std::int64_t> yv = mlp::step_batch_y();
    const torch::Tensor x = torch::from_blob(xv.data(), {mlp::kBatch, mlp::kIn}, torch::kFloat).clone();
    const torch::Tensor y = torch::from_blob(yv.data(), {mlp::kBatch}, torch::kLong).clone();
    std::vector<torch::Tensor> params = model.parameters();
    return torch_time_grad("mlp/step", threads, [&] {
      for (auto& p : params) p.mutable_grad() = torch::Tensor();
      torch::Tensor loss = torch::nn::functional::cross_entropy(model.forward(x), y);
      loss.backward();
      g_sink = params[0].grad().data_ptr();
    });
  });
}

const Registrar registrar(register_torch_autograd);

}  // namespace
}  // namespace lamina::bench
