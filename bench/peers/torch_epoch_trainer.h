#pragma once
// The libtorch training loop shared by the MLP and CNN peers: Adam(lr 1e-3,
// betas 0.9/0.999, eps 1e-7 as lamina/Keras), a randperm shuffle per epoch,
// batches gathered with index_select from tensors held in memory, the loss
// read back (item) every step as Model::fit does.

#include <torch/torch.h>

#include <algorithm>
#include <cstdint>
#include <memory>

namespace lamina::bench {

/// Module: a torch::nn::Module with forward(x) -> logits, default-constructible.
template <class Module>
class TorchEpochTrainer {
 public:
  /// x: (N, ...) float32; y: (N,) int64. The model is built after
  /// torch::manual_seed(seed).
  TorchEpochTrainer(torch::Tensor x, torch::Tensor y, std::int64_t batch, std::uint64_t seed = 42)
      : x_(std::move(x)), y_(std::move(y)), batch_(batch), model_(make_model(seed)),
        opt_(model_->parameters(), torch::optim::AdamOptions(1e-3).betas({0.9, 0.999}).eps(1e-7)) {}

  /// One epoch; returns the mean batch loss.
  double run_epoch() {
    model_->train();
    const std::int64_t n = x_.size(0);
    const torch::Tensor perm = torch::randperm(n, torch::kLong);
    double total = 0;
    std::int64_t steps = 0;
    for (std::int64_t start = 0; start < n; start += batch_) {
      const torch::Tensor idx = perm.slice(0, start, std::min(start + batch_, n));
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
  static std::shared_ptr<Module> make_model(std::uint64_t seed) {
    torch::manual_seed(seed);
    return std::make_shared<Module>();
  }
  torch::Tensor x_, y_;
  std::int64_t batch_;
  std::shared_ptr<Module> model_;
  torch::optim::Adam opt_;
};

}  // namespace lamina::bench
