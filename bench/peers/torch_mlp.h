#pragma once
// libtorch side of mlp/step, mlp/epoch and bench_mlp_accuracy: the
// 784-256-128-10 ReLU MLP (torch::nn::Linear x3) and a training loop with
// torch::optim::Adam(lr 1e-3, betas 0.9/0.999, eps 1e-7 as lamina/Keras),
// batch 128, a randperm shuffle per epoch, batches gathered with index_select
// from float32 tensors held in memory, the loss read back (item) every step
// as Model::fit does.

#include <torch/torch.h>

#include <cstdint>

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

class TorchTrainer {
 public:
  /// x: (N, 784) float32 in [0, 1]; y: (N,) int64.
  TorchTrainer(torch::Tensor x, torch::Tensor y, std::uint64_t seed = 42)
      : x_(std::move(x)), y_(std::move(y)), model_(make_model(seed)),
        opt_(model_->parameters(), torch::optim::AdamOptions(1e-3).betas({0.9, 0.999}).eps(1e-7)) {}

  /// One epoch; returns the mean batch loss.
  double run_epoch() {
    model_->train();
    const std::int64_t n = x_.size(0);
    const torch::Tensor perm = torch::randperm(n, torch::kLong);
    double total = 0;
    std::int64_t steps = 0;
    for (std::int64_t start = 0; start < n; start += kBatch) {
      const torch::Tensor idx = perm.slice(0, start, std::min(start + kBatch, n));
      const torch::Tensor xb = x_.index_select(0, idx);
      const torch::Tensor yb = y_.index_select(0, idx);
      opt_.zero_grad();
      torch::Tensor loss = torch::nn::functional::cross_entropy(model_->forward(xb), yb);
      loss.backward();
      opt_.step();
      total += loss.item<double>();
      ++steps;
    }
    return total / static_cast<double>(steps);
  }

  double test_accuracy(const torch::Tensor& x, const torch::Tensor& y) {
    torch::NoGradGuard no_grad;
    model_->eval();
    const torch::Tensor pred = model_->forward(x).argmax(1);
    return pred.eq(y).sum().item<double>() / static_cast<double>(y.size(0));
  }

 private:
  static std::shared_ptr<TorchMlp> make_model(std::uint64_t seed) {
    torch::manual_seed(seed);
    return std::make_shared<TorchMlp>();
  }
  torch::Tensor x_, y_;
  std::shared_ptr<TorchMlp> model_;
  torch::optim::Adam opt_;
};

}  // namespace lamina::bench::mlp
