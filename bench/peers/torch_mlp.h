#pragma once
// libtorch side of mlp/step, mlp/epoch and bench_mlp_accuracy: the
// 784-256-128-10 ReLU MLP (torch::nn::Linear x3) and a training loop with
// torch::optim::Adam(lr 1e-3, betas 0.9/0.999, eps 1e-7 as lamina/Keras),
// batch 128, a randperm shuffle per epoch, batches gathered with index_select
// from float32 tensors held in memory, the loss read back (item) every step
// as Model::fit does.

#include <torch/torch.h>

#include <cstdint>

#include "torch_epoch_trainer.h"

#include "../mlp_common.h"

namespace lamina::bench::mlp {

struct TorchMlp : torch::nn::Module {
  TorchMlp()
      : fc1(register_module("fc1", torch::nn::Linear(kIn, kHidden1))),
        fc2(register_module("fc2", torch::nn::Linear(kHidden1, kHidden2))),
        fc3(register_module("fc3", torch::nn::Linear(kHidden2, kClasses))) {}
  torch::Tensor forward(const torch::Tensor& x) { return fc3(torch::relu(fc2(torch::relu(fc1(x))))); }
  torch::nn::Linear fc1, fc2, fc3;
};

/// x: (N, 784) float32; y: (N,) int64.
class TorchTrainer : public TorchEpochTrainer<TorchMlp> {
 public:
  TorchTrainer(torch::Tensor x, torch::Tensor y, std::uint64_t seed = 42)
      : TorchEpochTrainer(std::move(x), std::move(y), kBatch, seed) {}
};

}  // namespace lamina::bench::mlp
