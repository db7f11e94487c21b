// Writes a small seed corpus of valid lamina files for fuzz_load_model:
//   make_seed_corpus DIR
// An uncompiled MLP, a compiled one (Adam state, training position), one
// with Dropout and BatchNormalization (SGD with momentum), and a weights file.
#include <cstdio>
#include <filesystem>
#include <string>

#include "lamina/lamina.h"
#include "lamina/serialization/saving.h"

using namespace lamina;

namespace {
std::shared_ptr<Sequential> model(bool extra) {
  std::vector<std::shared_ptr<Layer>> ls{std::make_shared<layers::Dense>(layers::DenseOptions{.units = 8, .activation = "relu"})};
  if (extra) {
    ls.push_back(std::make_shared<layers::Dropout>(0.25));
    ls.push_back(std::make_shared<layers::BatchNormalization>(layers::BatchNormalizationOptions{}));
  }
  ls.push_back(std::make_shared<layers::Dense>(layers::DenseOptions{.units = 3}));
  auto m = std::make_shared<Sequential>(ls);
  m->build_for({2, 4});
  (*m)(zeros({1, 4}));
  return m;
}
}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: make_seed_corpus DIR\n");
    return 2;
  }
  const std::filesystem::path dir = argv[1];
  std::filesystem::create_directories(dir);
  set_random_seed(3);
  const Tensor x = uniform({8, 4}, -1, 1, 1);
  const Tensor y = Tensor::from(std::vector<std::int64_t>{0, 1, 2, 0, 1, 2, 0, 1}, {8});
  save_model(*model(false), (dir / "mlp.lamina").string(), {.fsync = false});
  auto a = model(false);
  a->compile("adam", "sparse_categorical_crossentropy", {"accuracy"});
  a->train_on_batch(x, y);
  save_model(*a, (dir / "mlp_adam.lamina").string(),
             {.fsync = false, .training_position = TrainingPosition{.epoch = 1, .step = 2, .shuffle_seed = 5}});
  auto b = model(true);
  b->compile(std::make_shared<optim::SGD>(optim::SGDConfig{.learning_rate = 0.1, .momentum = 0.9}),
             std::shared_ptr<losses::Loss>(losses::make_loss("sparse_categorical_crossentropy")));
  b->train_on_batch(x, y);
  save_model(*b, (dir / "dropout_bn_sgd.lamina").string(), {.fsync = false});
  save_weights(*b, (dir / "weights.lamina").string(), {.fsync = false});
  std::printf("seed corpus written to %s\n", dir.c_str());
  return 0;
}
