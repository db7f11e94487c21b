#pragma once
// lamina side of cnn/epoch (bench/compare): the Fashion-MNIST CNN of issue 8
// (Conv2D(32,3)+ReLU, MaxPool 2, Conv2D(64,3)+ReLU, MaxPool 2, Flatten,
// Dense(128)+ReLU, Dense(10); channels_last; no Dropout, as issue 8 sets the
// bench model), batch kCnnBatch, trained by FitEpochTrainer (fit_trainer.h).

#include <cstdint>
#include <memory>
#include <vector>

#include "lamina/layers/conv.h"
#include "lamina/layers/core_layers.h"
#include "lamina/layers/pooling.h"
#include "mlp_training.h"

namespace lamina::bench::cnn {

/// The batch size issue 8 sets for cnn/epoch.
constexpr std::int64_t kCnnBatch = 128;

class LaminaCnnTrainer : public FitEpochTrainer {
 public:
  explicit LaminaCnnTrainer(const data::MnistData& m, std::uint64_t seed = 42)
      : FitEpochTrainer(m, kCnnBatch, seed, [] {
          auto conv = [](std::int64_t filters) {
            layers::ConvOptions o;
            o.filters = filters;
            o.kernel_size = {3};
            o.activation = "relu";
            return std::make_shared<layers::Conv2D>(o);
          };
          return std::make_shared<Sequential>(std::vector<std::shared_ptr<Layer>>{
              std::make_shared<layers::Reshape>(std::vector<std::int64_t>{28, 28, 1}),
              conv(32),
              std::make_shared<layers::MaxPooling2D>(),
              conv(64),
              std::make_shared<layers::MaxPooling2D>(),
              std::make_shared<layers::Flatten>(),
              mlp::dense(128, "relu"),
              mlp::dense(10, "linear"),
          });
        }) {}
};

}  // namespace lamina::bench::cnn
