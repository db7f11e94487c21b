#pragma once
// libtorch side of cnn/epoch: the same CNN as bench/cnn_training.h in
// torch::nn (NCHW, libtorch's native layout; Conv2d, max_pool2d, Linear,
// no dropout), Keras initialization (Glorot-uniform weights, zero biases),
// torch::optim::Adam(lr 1e-3, eps 1e-7), batch kCnnBatch, a randperm shuffle
// per epoch, batches gathered with index_select from float32 tensors in
// memory, the loss read back (item) every step as Model::fit does.

#include <torch/torch.h>

#include <cstdint>

#include "torch_epoch_trainer.h"

#include "../cnn_training.h"

namespace lamina::bench::cnn {

struct TorchCnn : torch::nn::Module {
  TorchCnn()
      : conv1(register_module("conv1", torch::nn::Conv2d(torch::nn::Conv2dOptions(1, 32, 3)))),
        conv2(register_module("conv2", torch::nn::Conv2d(torch::nn::Conv2dOptions(32, 64, 3)))),
        fc1(register_module("fc1", torch::nn::Linear(64 * 5 * 5, 128))),
        fc2(register_module("fc2", torch::nn::Linear(128, 10))) {
    torch::NoGradGuard no_grad;
    for (auto& p : named_parameters()) {
      if (p.key().find("weight") != std::string::npos) torch::nn::init::xavier_uniform_(p.value());
      else p.value().zero_();
    }
  }
  torch::Tensor forward(const torch::Tensor& x) {
    torch::Tensor h = torch::max_pool2d(torch::relu(conv1(x)), 2);
    h = torch::max_pool2d(torch::relu(conv2(h)), 2).flatten(1);
    h = torch::relu(fc1(h));
    return fc2(h);
  }
  torch::nn::Conv2d conv1, conv2;
  torch::nn::Linear fc1, fc2;
};

/// x: (N, 1, 28, 28) float32; y: (N,) int64.
class TorchCnnTrainer : public TorchEpochTrainer<TorchCnn> {
 public:
  TorchCnnTrainer(torch::Tensor x, torch::Tensor y, std::uint64_t seed = 42)
      : TorchEpochTrainer(std::move(x), std::move(y), kCnnBatch, seed) {}
};

}  // namespace lamina::bench::cnn
