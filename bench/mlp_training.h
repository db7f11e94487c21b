#pragma once
// lamina side of mlp/epoch (bench/compare) and bench_mlp_accuracy: the
// 784-256-128-10 ReLU MLP (Flatten + 3 Dense, no Dropout), batch kBatch,
// trained by FitEpochTrainer (fit_trainer.h).

#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "lamina/core/random.h"
#include "lamina/core/tensor.h"
#include "lamina/layers/core_layers.h"
#include "lamina/layers/data/dataset.h"
#include "lamina/layers/data/idx.h"
#include "lamina/layers/dense.h"
#include "lamina/layers/losses/losses.h"
#include "lamina/layers/model.h"
#include "lamina/optim/adam.h"
#include "fit_trainer.h"
#include "mlp_common.h"

namespace lamina::bench::mlp {

/// A Dense layer with `units` and `activation`, other options at defaults.
inline std::shared_ptr<layers::Dense> dense(std::int64_t units, const char* activation) {
  layers::DenseOptions o;
  o.units = units;
  o.activation = activation;
  return std::make_shared<layers::Dense>(o);
}

class LaminaTrainer : public FitEpochTrainer {
 public:
  explicit LaminaTrainer(const data::MnistData& m, std::uint64_t seed = 42)
      : FitEpochTrainer(m, kBatch, seed, [] {
          return std::make_shared<Sequential>(std::vector<std::shared_ptr<Layer>>{
              std::make_shared<layers::Flatten>(),
              dense(kHidden1, "relu"),
              dense(kHidden2, "relu"),
              dense(kClasses, "linear"),
          });
        }) {}

  /// Fraction of the test set classified correctly.
  double test_accuracy(const data::MnistData& m) {
    data::Batch test = data::cast_x(DType::float32, 1.0 / 255)(data::Batch{m.x_test, m.y_test});
    Tensor logits = model_->predict(test.x, 1000).contiguous();
    const float* p = logits.data<float>();
    const Tensor labels = m.y_test.contiguous();
    const std::int64_t* y = labels.data<std::int64_t>();
    const std::int64_t n = logits.shape()[0];
    std::int64_t correct = 0;
    for (std::int64_t i = 0; i < n; ++i) {
      const float* row = p + i * kClasses;
      std::int64_t best = 0;
      for (std::int64_t c = 1; c < kClasses; ++c)
        if (row[c] > row[best]) best = c;
      correct += best == y[i];
    }
    return static_cast<double>(correct) / static_cast<double>(n);
  }

};

}  // namespace lamina::bench::mlp
