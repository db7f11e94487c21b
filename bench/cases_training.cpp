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
#include <optional>
#include <string>

#include "cnn_training.h"
#include "compare_registry.h"
#include "mlp_training.h"

namespace lamina::bench {
namespace {

/// Fashion-MNIST, or nothing (with a note naming the case) when the Debian
/// dataset is not installed.
std::optional<data::MnistData> fashion_mnist_for(const char* case_name) {
  if (!std::filesystem::exists(std::string(mlp::kFashionMnistDir) + "/train-images-idx3-ubyte.gz")) {
    note(std::string(case_name) + ": Fashion-MNIST not found in " + mlp::kFashionMnistDir +
         " (apt install dataset-fashion-mnist)");
    return std::nullopt;
  }
  return data::load_mnist(mlp::kFashionMnistDir);
}

void register_training_cases() {
  register_case("mlp/epoch", [](int) {
    const auto m = fashion_mnist_for("mlp/epoch");
    if (!m) return std::numeric_limits<double>::quiet_NaN();
    mlp::LaminaTrainer trainer(*m);
    return mlp::time_long_ns([&] { trainer.run_epoch(); });
  });
  register_case("cnn/epoch", [](int) {
    const auto m = fashion_mnist_for("cnn/epoch");
    if (!m) return std::numeric_limits<double>::quiet_NaN();
    cnn::LaminaCnnTrainer trainer(*m);
    return mlp::time_long_ns([&] { trainer.run_epoch(); }, 1);
  });
}

const Registrar registrar(register_training_cases);

}  // namespace
}  // namespace lamina::bench
