#pragma once
// The lamina training loop shared by mlp/epoch and cnn/epoch (and
// bench_mlp_accuracy): a Sequential built after set_random_seed(seed),
// compiled with Adam(1e-3) and SparseCategoricalCrossentropy(from_logits), no
// metrics, trained with Model::fit on a Dataset of Fashion-MNIST that keeps
// the pixels as uint8 and converts each batch to float32 in [0, 1]
// (data::cast_x, prefetched on a TBB task): lamina-train's data path.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>

#include "lamina/core/random.h"
#include "lamina/layers/data/dataset.h"
#include "lamina/layers/data/idx.h"
#include "lamina/layers/losses/losses.h"
#include "lamina/layers/model.h"
#include "lamina/optim/adam.h"

namespace lamina::bench {

class FitEpochTrainer {
 public:
  /// One epoch of fit (the next epoch's shuffle each call).
  void run_epoch() {
    FitOptions options;
    options.epochs = epoch_ + 1;
    options.initial_epoch = epoch_;
    options.verbose = 0;
    model_->fit(*train_, options);
    ++epoch_;
  }

 protected:
  FitEpochTrainer(const data::MnistData& m, std::int64_t batch, std::uint64_t seed,
                  const std::function<std::shared_ptr<Sequential>()>& make_model) {
    lamina::set_random_seed(seed);
    model_ = make_model();
    model_->compile(std::make_shared<optim::Adam>(optim::AdamConfig{.learning_rate = 1e-3}),
                    std::make_shared<losses::SparseCategoricalCrossentropy>(
                        losses::SparseCategoricalCrossentropyConfig{.from_logits = true}));
    train_ = data::Dataset(m.x_train, m.y_train).shuffle(seed).batch(batch).map(data::cast_x(DType::float32, 1.0 / 255));
  }

  std::shared_ptr<Sequential> model_;

 private:
  std::optional<data::Dataset> train_;
  int epoch_ = 0;
};

}  // namespace lamina::bench
