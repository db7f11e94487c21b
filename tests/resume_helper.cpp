// Helper of resume_across_processes.sh (issue 7): trains, saves, reloads and
// resumes a small MLP with Dropout and Adam (so optimizer slots and random
// state matter) on synthetic data, each step in its own process.
//
//   resume_helper train-save FILE EPOCHS PRED   fit EPOCHS epochs, save FILE with its training
//                                               position, then write the predictions on a fixed
//                                               input to PRED (raw float32, little-endian)
//   resume_helper load-predict FILE PRED        load FILE and write its predictions to PRED
//   resume_helper resume FILE EPOCHS            load FILE and fit up to EPOCHS epochs from its
//                                               stored position (initial_epoch, initial_step, shuffle
//                                               seed); prints the weights hash (%016llx)
//   resume_helper straight EPOCHS               fit EPOCHS epochs in one call; prints the hash
//   resume_helper crash FILE EPOCHS K STOP      fit EPOCHS epochs with ModelCheckpoint(FILE,
//                                               save_freq=K) and exit abruptly (status 3, no clean-up)
//                                               after global batch STOP, like a killed job
//   resume_helper golden FILE                   writes the golden version-1 file of
//                                               test_checkpoint_resume (tests/data/golden_v1_mlp.lamina);
//                                               not run by the tests
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "lamina/lamina.h"
#include "lamina/serialization/model_checkpoint.h"
#include "lamina/serialization/saving.h"

using namespace lamina;

namespace {

constexpr std::uint64_t kShuffleSeed = 77;
constexpr std::int64_t kBatch = 8;

// 40 samples of 6 features, 3 classes: 5 batches per epoch.
Tensor train_x() { return uniform({40, 6}, -1.0, 1.0, 2024); }
Tensor train_y() {
  std::vector<std::int64_t> v(40);
  for (std::int64_t i = 0; i < 40; ++i) v[i] = (i * 5 + 1) % 3;
  return Tensor::from(v, {40});
}
Tensor probe_x() { return uniform({7, 6}, -2.0, 2.0, 99); }

std::shared_ptr<Sequential> fresh_model() {
  set_random_seed(1234);
  auto m = std::make_shared<Sequential>(std::vector<std::shared_ptr<Layer>>{
      std::make_shared<layers::Dense>(layers::DenseOptions{.units = 16, .activation = "relu"}),
      std::make_shared<layers::Dropout>(0.3),
      std::make_shared<layers::Dense>(layers::DenseOptions{.units = 3})});
  m->compile("adam", "sparse_categorical_crossentropy", {"accuracy"});
  return m;
}

FitOptions fit_options(int epochs) {
  return FitOptions{.batch_size = kBatch, .epochs = epochs, .seed = kShuffleSeed, .verbose = 0};
}

void write_predictions(Model& m, const std::string& path) {
  const Tensor p = m.predict(probe_x()).contiguous();
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) throw IOError("[resume_helper] cannot write " + path);
  const std::size_t n = static_cast<std::size_t>(p.numel()) * p.itemsize();
  const bool ok = std::fwrite(p.raw_data(), 1, n, f) == n;
  if (std::fclose(f) != 0 || !ok) throw IOError("[resume_helper] cannot write " + path);
}

void print_hash(const Layer& m) { std::printf("%016" PRIx64 "\n", weights_hash(m)); }

// Exits the process after global batch `stop`, without unwinding or flushing
// anything but what was already written (a crash right after that batch).
class CrashAt : public Callback {
 public:
  explicit CrashAt(std::int64_t stop) : stop_(stop) {}
  void on_train_batch_end(int, const Logs&) override {
    if (++seen_ == stop_) std::_Exit(3);
  }

 private:
  std::int64_t stop_, seen_ = 0;
};

// The golden file: every built-in kind of state (Dense, BatchNormalization's
// moving statistics, Dropout's generator, Adam's slots, the global seed
// sequence) and a training position.
void write_golden(const std::string& path) {
  set_random_seed(20240601);
  auto m = std::make_shared<Sequential>(
      std::vector<std::shared_ptr<Layer>>{
          std::make_shared<layers::Dense>(layers::DenseOptions{.units = 5, .activation = "relu"},
                                          LayerOptions{.name = "hidden"}),
          std::make_shared<layers::BatchNormalization>(layers::BatchNormalizationOptions{}, LayerOptions{.name = "bn"}),
          std::make_shared<layers::Dropout>(layers::DropoutOptions{.rate = 0.25, .seed = 11},
                                            LayerOptions{.name = "drop"}),
          std::make_shared<layers::Dense>(layers::DenseOptions{.units = 3}, LayerOptions{.name = "logits"})},
      LayerOptions{.name = "golden_mlp"});
  m->compile(std::make_shared<optim::Adam>(optim::AdamConfig{.learning_rate = 0.01}),
             std::make_shared<losses::SparseCategoricalCrossentropy>(
                 losses::SparseCategoricalCrossentropyConfig{.from_logits = true}),
             {"accuracy"});
  const Tensor x = uniform({24, 4}, -1.0, 1.0, 5);
  std::vector<std::int64_t> y(24);
  for (std::int64_t i = 0; i < 24; ++i) y[i] = (i * 2 + 1) % 3;
  m->fit(x, Tensor::from(y, {24}), {.batch_size = 8, .epochs = 2, .seed = 13, .verbose = 0});
  save_model(*m, path, {.training_position = TrainingPosition{.epoch = 2, .step = 0, .shuffle_seed = 13}});
  std::printf("wrote %s, weights hash %016" PRIx64 "\n", path.c_str(), weights_hash(*m));
}

int usage() {
  std::fprintf(stderr,
               "usage: resume_helper train-save FILE EPOCHS PRED | load-predict FILE PRED | resume FILE EPOCHS |\n"
               "                     straight EPOCHS | crash FILE EPOCHS K STOP | golden FILE\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) return usage();
  const std::string cmd = argv[1];
  try {
    if (cmd == "train-save" && argc == 5) {
      const int epochs = std::atoi(argv[3]);
      auto m = fresh_model();
      m->fit(train_x(), train_y(), fit_options(epochs));
      save_model(*m, argv[2], {.fsync = false, .training_position = TrainingPosition{epochs, 0, kShuffleSeed}});
      write_predictions(*m, argv[4]);
      return 0;
    }
    if (cmd == "load-predict" && argc == 4) {
      auto m = load_model(argv[2]);
      write_predictions(*m, argv[3]);
      return 0;
    }
    if (cmd == "resume" && argc == 4) {
      LoadedModel ck = load_checkpoint(argv[2]);
      if (!ck.training_position || !ck.training_position->shuffle_seed) {
        std::fprintf(stderr, "resume_helper: %s has no training position with a shuffle seed\n", argv[2]);
        return 1;
      }
      const TrainingPosition& pos = *ck.training_position;
      std::fprintf(stderr, "resume_helper: resuming at epoch %" PRId64 ", step %" PRId64 ", shuffle seed %" PRIu64 "\n",
                   pos.epoch, pos.step, *pos.shuffle_seed);
      FitOptions o = fit_options(std::atoi(argv[3]));
      o.seed = *pos.shuffle_seed;
      o.initial_epoch = static_cast<int>(pos.epoch);
      o.initial_step = pos.step;
      ck.model->fit(train_x(), train_y(), o);
      print_hash(*ck.model);
      return 0;
    }
    if (cmd == "straight" && argc == 3) {
      auto m = fresh_model();
      m->fit(train_x(), train_y(), fit_options(std::atoi(argv[2])));
      print_hash(*m);
      return 0;
    }
    if (cmd == "crash" && argc == 6) {
      auto m = fresh_model();
      auto ck = std::make_shared<ModelCheckpoint>(ModelCheckpointOptions{
          .filepath = argv[2], .save_freq = std::atoll(argv[4]), .shuffle_seed = kShuffleSeed, .fsync = false});
      FitOptions o = fit_options(std::atoi(argv[3]));
      o.callbacks = {ck, std::make_shared<CrashAt>(std::atoll(argv[5]))};
      m->fit(train_x(), train_y(), o);
      std::fprintf(stderr, "resume_helper: training ended before batch %s\n", argv[5]);
      return 1;
    }
    if (cmd == "golden" && argc == 3) {
      write_golden(argv[2]);
      return 0;
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "resume_helper: %s\n", e.what());
    return 1;
  }
  return usage();
}
