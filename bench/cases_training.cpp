// lamina's rows for the training cases of bench/compare (issue 6):
//   mlp/epoch  one epoch of Model::fit on Fashion-MNIST's 60000 training
//              images: 784-256-128-10 ReLU MLP, softmax cross-entropy
//              (from logits), Adam(1e-3), batch 128, shuffled each epoch, no
//              metrics, verbose 0 (see mlp_training.h). Each call trains the
//              next epoch of the same model. Timed with mlp::time_long_ns
//              (one warm-up epoch, median of 3 x LAMINA_BENCH_TIME_SCALE),
//              not time_ns, whose minimum is 9 calls.
//   cnn/epoch  one epoch of Model::fit of the Fashion-MNIST CNN of issue 8
//              (cnn_training.h: as issue 8 sets it, no Dropout, Adam(1e-3),
//              batch cnn::kCnnBatch = 128). One warm-up
//              epoch, then one timed epoch (x LAMINA_BENCH_TIME_SCALE).
// Skipped (no row) when the dataset is not installed.

#include <filesystem>
#include <limits>

#include "cnn_training.h"
#include "compare_registry.h"
#include "mlp_training.h"

namespace lamina::bench {
namespace {

void register_training_cases() {
  register_case("mlp/epoch", [](int) {
    if (!std::filesystem::exists(std::string(mlp::kFashionMnistDir) + "/train-images-idx3-ubyte.gz")) {
      note("mlp/epoch: Fashion-MNIST not found in " + std::string(mlp::kFashionMnistDir) +
           " (apt install dataset-fashion-mnist)");
      return std::numeric_limits<double>::quiet_NaN();
    }
    const data::MnistData m = data::load_mnist(mlp::kFashionMnistDir);
    mlp::LaminaTrainer trainer(m);
    return mlp::time_long_ns([&] { trainer.run_epoch(); });
  });
  register_case("cnn/epoch", [](int) {
    if (!std::filesystem::exists(std::string(mlp::kFashionMnistDir) + "/train-images-idx3-ubyte.gz")) {
      note("cnn/epoch: Fashion-MNIST not found in " + std::string(mlp::kFashionMnistDir) +
           " (apt install dataset-fashion-mnist)");
      return std::numeric_limits<double>::quiet_NaN();
    }
    const data::MnistData m = data::load_mnist(mlp::kFashionMnistDir);
    cnn::LaminaCnnTrainer trainer(m);
    return mlp::time_long_ns([&] { trainer.run_epoch(); }, 1);
  });
}

const Registrar registrar(register_training_cases);

}  // namespace
}  // namespace lamina::bench
