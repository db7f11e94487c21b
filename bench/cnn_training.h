#pragma once
// lamina side of cnn/epoch (bench/compare): the Fashion-MNIST CNN of issue 8
// and `lamina-train --model cnn` (Conv2D(32,3)+ReLU, MaxPool 2,
// Conv2D(64,3)+ReLU, MaxPool 2, Flatten, Dense(128)+ReLU, Dense(10);
// channels_last; issue 8's bench model has no Dropout), compiled with Adam(1e-3) and
// SparseCategoricalCrossentropy(from_logits), no metrics, trained with
// Model::fit on lamina-train's data path (uint8 pixels, each batch cast to
// float32 in [0, 1]), batch kCnnBatch, shuffled each epoch.

#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "lamina/core/random.h"
#include "lamina/layers/conv.h"
#include "lamina/layers/core_layers.h"
#include "lamina/layers/data/dataset.h"
#include "lamina/layers/data/idx.h"
#include "lamina/layers/dense.h"
#include "lamina/layers/losses/losses.h"
#include "lamina/layers/model.h"
#include "lamina/layers/pooling.h"
#include "lamina/optim/adam.h"
#include "mlp_common.h"

namespace lamina::bench::cnn {

/// The batch size issue 8 sets for cnn/epoch.
constexpr std::int64_t kCnnBatch = 128;

class LaminaCnnTrainer {
 public:
  explicit LaminaCnnTrainer(const data::MnistData& m, std::uint64_t seed = 42) {
    lamina::set_random_seed(seed);
    auto conv = [](std::int64_t filters) {
      layers::ConvOptions o;
      o.filters = filters;
      o.kernel_size = {3};
      o.activation = "relu";
      return std::make_shared<layers::Conv2D>(o);
    };
    auto dense = [](std::int64_t units, const char* activation) {
      layers::DenseOptions o;
      o.units = units;
      o.activation = activation;
      return std::make_shared<layers::Dense>(o);
    };
    model_ = std::make_shared<Sequential>(std::vector<std::shared_ptr<Layer>>{
        std::make_shared<layers::Reshape>(std::vector<std::int64_t>{28, 28, 1}),
        conv(32),
        std::make_shared<layers::MaxPooling2D>(),
        conv(64),
        std::make_shared<layers::MaxPooling2D>(),
        std::make_shared<layers::Flatten>(),
        dense(128, "relu"),
        dense(10, "linear"),
    });
    model_->compile(std::make_shared<optim::Adam>(optim::AdamConfig{.learning_rate = 1e-3}),
                    std::make_shared<losses::SparseCategoricalCrossentropy>(
                        losses::SparseCategoricalCrossentropyConfig{.from_logits = true}));
    train_ = data::Dataset(m.x_train, m.y_train)
                 .shuffle(seed)
                 .batch(kCnnBatch)
                 .map(data::cast_x(DType::float32, 1.0 / 255));
  }

  /// One epoch of fit (the next epoch's shuffle each call).
  void run_epoch() {
    FitOptions options;
    options.epochs = epoch_ + 1;
    options.initial_epoch = epoch_;
    options.verbose = 0;
    model_->fit(*train_, options);
    ++epoch_;
  }

 private:
  std::shared_ptr<Sequential> model_;
  std::optional<data::Dataset> train_;
  int epoch_ = 0;
};

}  // namespace lamina::bench::cnn
