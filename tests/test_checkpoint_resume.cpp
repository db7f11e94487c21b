// Checkpoints and resuming (issue 7): ModelCheckpoint's save_best_only modes,
// NaN handling and stored training positions, FitOptions::initial_step,
// subclassed models through JSON and model files, the golden version-1 file,
// and lamina-inspect's messages for bad files. The same in separate processes:
// resume_across_processes.sh.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <mutex>

#include "lamina/lamina.h"
#include "lamina/serialization/model_checkpoint.h"
#include "lamina/serialization/saving.h"
#include "saving_test_util.h"

using namespace lamina;
using ::testing::HasSubstr;
namespace fs = std::filesystem;

namespace {

fs::path temp_dir() { return lamina::testing::scratch_dir("lamina_ckpt_"); }
using lamina::testing::bit_equal;
using lamina::testing::error_of;
using lamina::testing::expect_same_weights;

Tensor data_x(std::int64_t n, std::int64_t d, std::uint64_t seed) { return uniform({n, d}, -1.0, 1.0, seed); }
Tensor data_y(std::int64_t n, std::int64_t classes, std::int64_t mul = 7) {
  std::vector<std::int64_t> v(n);
  for (std::int64_t i = 0; i < n; ++i) v[i] = (i * mul + 3) % classes;
  return Tensor::from(v, {n});
}

// Dense-Dropout-Dense, built and compiled with Adam (slots and a dropout
// generator: the state an exact resume needs).
std::shared_ptr<Sequential> small_model(double learning_rate = 0.001) {
  auto m = std::make_shared<Sequential>(std::vector<std::shared_ptr<Layer>>{
      std::make_shared<layers::Dense>(layers::DenseOptions{.units = 8, .activation = "relu"}),
      std::make_shared<layers::Dropout>(0.25),
      std::make_shared<layers::Dense>(layers::DenseOptions{.units = 3})});
  m->build_for({1, 5});
  (*m)(zeros({1, 5}));
  m->compile(std::make_shared<optim::Adam>(optim::AdamConfig{.learning_rate = learning_rate}),
             std::make_shared<losses::SparseCategoricalCrossentropy>(
                 losses::SparseCategoricalCrossentropyConfig{.from_logits = true}));
  return m;
}

std::vector<std::uint8_t> bytes_or_empty(const fs::path& p) {
  return fs::exists(p) ? read_file_bytes(p.string()) : std::vector<std::uint8_t>{};
}

// What a callback printed (ModelCheckpoint::set_output).
struct Captured {
  std::FILE* file = std::tmpfile();
  ~Captured() { std::fclose(file); }
  std::string text() const {
    std::fflush(file);
    std::rewind(file);
    std::string s;
    char buf[4096];
    for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, file)) > 0;) s.append(buf, n);
    return s;
  }
};


// Sets stop_training after `n` batches of a fit (an interrupted run).
class StopAfter : public Callback {
 public:
  explicit StopAfter(int n) : n_(n) {}
  void on_train_batch_end(int, const Logs&) override {
    if (++seen_ == n_) model()->stop_training = true;
  }

 private:
  int n_, seen_ = 0;
};

// Records (epoch, batch) of every batch and the params fit gave.
class BatchRecorder : public Callback {
 public:
  void on_epoch_begin(int epoch, const Logs&) override { epoch_ = epoch; }
  void on_train_batch_begin(int batch, const Logs&) override { seen.emplace_back(epoch_, batch); }
  void on_train_begin(const Logs&) override { params_at_begin = params(); }
  std::vector<std::pair<int, int>> seen;
  CallbackParams params_at_begin;

 private:
  int epoch_ = -1;
};

}  // namespace

// ============================================================================
// ModelCheckpoint(save_best_only): which epochs rewrite the file

namespace {

struct BestOnlyRun {
  std::vector<bool> saved;  // per epoch: the file was rewritten
  std::string messages;
  std::optional<double> best;
};

// Drives a ModelCheckpoint through epochs whose monitored value is
// values[e]; the weights change before every epoch end, so a rewrite always
// changes the file. Checks that a rewritten file holds the current weights
// and position and that an untouched one kept its bytes.
BestOnlyRun run_best_only(const std::string& monitor, const std::string& mode, const std::vector<double>& values) {
  static int run = 0;
  const fs::path path = temp_dir() / ("best_" + std::to_string(run++) + ".lamina");
  auto m = small_model(0.05);
  auto ck = std::make_shared<ModelCheckpoint>(ModelCheckpointOptions{.filepath = path.string(), .monitor = monitor,
                                                                     .verbose = 1, .save_best_only = true,
                                                                     .mode = mode, .fsync = false});
  Captured out;
  ck->set_output(out.file);
  ck->set_model(m.get());
  ck->set_params({.epochs = static_cast<int>(values.size()), .steps = 1, .verbose = 0});
  ck->on_train_begin(Logs());
  const Tensor x = data_x(8, 5, 1), y = data_y(8, 3);
  BestOnlyRun r;
  for (std::size_t e = 0; e < values.size(); ++e) {
    const int epoch = static_cast<int>(e);
    ck->on_epoch_begin(epoch, Logs());
    m->train_on_batch(x, y);
    Logs logs;
    logs.set("loss", 0.5);
    logs.set(monitor, values[e]);
    const auto before = bytes_or_empty(path);
    ck->on_epoch_end(epoch, logs);
    const auto after = bytes_or_empty(path);
    r.saved.push_back(after != before);
    if (r.saved.back()) {
      const ModelFile f = parse_model_file(after);
      EXPECT_EQ(weights_hash(f.weights), weights_hash(*m)) << "epoch " << e;
      EXPECT_EQ(f.training_position, (TrainingPosition{epoch + 1, 0, std::nullopt})) << "epoch " << e;
    }
  }
  r.messages = out.text();
  r.best = ck->best();
  return r;
}

}  // namespace

TEST(CheckpointBestOnly, ModeMinSavesOnlyStrictImprovements) {
  auto r = run_best_only("val_loss", "min", {0.5, 0.7, 0.3, 0.3, 0.2});
  EXPECT_EQ(r.saved, (std::vector<bool>{true, false, true, false, true}));
  EXPECT_EQ(r.best, 0.2);
  const std::string path_prefix = ", saving model to " + temp_dir().string();
  EXPECT_THAT(r.messages, HasSubstr("Epoch 1: val_loss improved from None to 0.50000" + path_prefix));
  EXPECT_THAT(r.messages, HasSubstr("\nEpoch 2: val_loss did not improve from 0.50000\n"));
  EXPECT_THAT(r.messages, HasSubstr("Epoch 3: val_loss improved from 0.50000 to 0.30000" + path_prefix));
  EXPECT_THAT(r.messages, HasSubstr("\nEpoch 4: val_loss did not improve from 0.30000\n"));
  EXPECT_THAT(r.messages, HasSubstr("Epoch 5: val_loss improved from 0.30000 to 0.20000"));
}

TEST(CheckpointBestOnly, ModeMaxAndAuto) {
  // "max" wins over the name.
  auto r = run_best_only("val_loss", "max", {0.5, 0.7, 0.3});
  EXPECT_EQ(r.saved, (std::vector<bool>{true, true, false}));
  EXPECT_EQ(r.best, 0.7);
  EXPECT_THAT(r.messages, HasSubstr("\nEpoch 3: val_loss did not improve from 0.70000\n"));
  // "auto": max for names containing "acc", min otherwise.
  r = run_best_only("val_accuracy", "auto", {0.5, 0.4, 0.6});
  EXPECT_EQ(r.saved, (std::vector<bool>{true, false, true}));
  EXPECT_EQ(r.best, 0.6);
  r = run_best_only("acc", "auto", {0.5, 0.4, 0.6});
  EXPECT_EQ(r.saved, (std::vector<bool>{true, false, true}));
  r = run_best_only("val_loss", "auto", {0.5, 0.4, 0.6});
  EXPECT_EQ(r.saved, (std::vector<bool>{true, true, false}));
  EXPECT_EQ(r.best, 0.4);
  r = run_best_only("val_mae", "auto", {0.5, 0.6, 0.1});
  EXPECT_EQ(r.saved, (std::vector<bool>{true, false, true}));
}

// Keras: best starts at +inf / -inf and np.less(nan, best) is False, so a NaN
// is never an improvement, not even the first value.
TEST(CheckpointBestOnly, NaNNeverImproves) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  auto r = run_best_only("val_loss", "min", {nan, 0.5, nan, 0.4});
  EXPECT_EQ(r.saved, (std::vector<bool>{false, true, false, true}));
  EXPECT_EQ(r.best, 0.4);
  EXPECT_THAT(r.messages, HasSubstr("\nEpoch 1: val_loss did not improve from None\n"));
  EXPECT_THAT(r.messages, HasSubstr("Epoch 2: val_loss improved from None to 0.50000"));
  EXPECT_THAT(r.messages, HasSubstr("\nEpoch 3: val_loss did not improve from 0.50000\n"));
  r = run_best_only("val_accuracy", "auto", {nan, nan, 0.25});
  EXPECT_EQ(r.saved, (std::vector<bool>{false, false, true}));
  EXPECT_EQ(r.best, 0.25);
  // With an initial threshold.
  const fs::path path = temp_dir() / "nan_threshold.lamina";
  auto m = small_model();
  ModelCheckpoint ck({.filepath = path.string(), .monitor = "val_loss", .save_best_only = true,
                      .initial_value_threshold = 1.0, .fsync = false});
  ck.set_model(m.get());
  Logs logs;
  logs.set("val_loss", nan);
  ck.on_epoch_end(0, logs);
  EXPECT_FALSE(fs::exists(path));
  EXPECT_EQ(ck.best(), 1.0);
}

// The monitor from validation data, through fit: the file holds the weights
// of the epoch with the lowest val_loss, and the messages follow the values.
TEST(CheckpointBestOnly, ValLossFromValidationData) {
  set_random_seed(21);
  auto m = small_model(0.05);
  const fs::path path = temp_dir() / "best_val.lamina";
  auto ck = std::make_shared<ModelCheckpoint>(ModelCheckpointOptions{
      .filepath = path.string(), .monitor = "val_loss", .verbose = 1, .save_best_only = true, .shuffle_seed = 4,
      .fsync = false});
  Captured out;
  ck->set_output(out.file);
  // Records the weights at each epoch end (the callbacks run in order, after ck).
  struct HashAtEpochEnd : Callback {
    std::vector<std::uint64_t> hashes;
    void on_epoch_end(int, Logs&) override { hashes.push_back(weights_hash(*model())); }
  };
  auto rec = std::make_shared<HashAtEpochEnd>();
  // Labels unrelated to x: the model overfits and val_loss rises again.
  const Tensor x = data_x(48, 5, 8), y = data_y(48, 3, 5), vx = data_x(24, 5, 9), vy = data_y(24, 3, 2);
  auto history = m->fit(x, y, {.batch_size = 8, .epochs = 10, .validation_data = std::pair{vx, vy}, .seed = 4,
                               .callbacks = {ck, rec}, .verbose = 0});
  const auto& val = history->history().at("val_loss");
  ASSERT_EQ(val.size(), 10u);
  std::optional<double> best;
  std::size_t best_epoch = 0;
  int improved = 0, not_improved = 0;
  const std::string text = out.text();
  for (std::size_t e = 0; e < val.size(); ++e) {
    char line[160];
    if (!best || val[e] < *best) {
      std::snprintf(line, sizeof line, "Epoch %zu: val_loss improved from ", e + 1);
      best = val[e];
      best_epoch = e;
      ++improved;
    } else {
      std::snprintf(line, sizeof line, "Epoch %zu: val_loss did not improve from %.5f\n", e + 1, *best);
      ++not_improved;
    }
    EXPECT_THAT(text, HasSubstr(line));
  }
  EXPECT_GE(improved, 2) << text;
  EXPECT_GE(not_improved, 2) << text;  // the run must exercise both paths
  EXPECT_EQ(ck->best(), best);
  const ModelFile f = parse_model_file(read_file_bytes(path.string()));
  EXPECT_EQ(weights_hash(f.weights), rec->hashes[best_epoch]);
  EXPECT_EQ(f.training_position, (TrainingPosition{static_cast<std::int64_t>(best_epoch) + 1, 0, 4}));
}

// save_weights_only: a weights file that load_weights takes and load_model refuses.
TEST(ModelCheckpointFiles, SaveWeightsOnlyWritesAWeightsFile) {
  set_random_seed(3);
  auto m = small_model();
  const fs::path pattern = temp_dir() / "w-{epoch:02d}.weights.lamina";
  auto ck = std::make_shared<ModelCheckpoint>(
      ModelCheckpointOptions{.filepath = pattern.string(), .save_weights_only = true, .fsync = false});
  m->fit(data_x(16, 5, 2), data_y(16, 3), {.batch_size = 8, .epochs = 2, .seed = 1, .callbacks = {ck}, .verbose = 0});
  const fs::path last = temp_dir() / "w-02.weights.lamina";
  ASSERT_TRUE(fs::exists(temp_dir() / "w-01.weights.lamina"));
  ASSERT_TRUE(fs::exists(last));
  EXPECT_EQ(ck->last_saved(), last.string());
  const ModelFile f = parse_model_file(read_file_bytes(last.string()));
  EXPECT_EQ(f.kind, FileKind::weights);
  EXPECT_FALSE(f.architecture.has_value());
  EXPECT_FALSE(f.optimizer_config.has_value());
  EXPECT_FALSE(f.training_position.has_value());
  auto fresh = small_model();
  EXPECT_NE(weights_hash(*fresh), weights_hash(*m));
  load_weights(*fresh, last.string());
  EXPECT_EQ(weights_hash(*fresh), weights_hash(*m));
  const Tensor probe = data_x(5, 5, 77);
  EXPECT_TRUE(bit_equal(fresh->predict(probe), m->predict(probe)));
  const std::string msg = error_of<ValueError>([&] { load_model(last.string()); });
  EXPECT_THAT(msg, HasSubstr("[load_model] " + last.string() + " is a weights file (save_weights); use load_weights"));
}

// ============================================================================
// Training positions of batch-level checkpoints

namespace {

// After each batch, records the position stored in `path` when the file changed.
class PositionRecorder : public Callback {
 public:
  explicit PositionRecorder(fs::path path) : path_(std::move(path)) {}
  void on_train_batch_end(int, const Logs&) override {
    ++batches_;
    auto bytes = bytes_or_empty(path_);
    if (bytes.empty() || bytes == last_) return;
    last_ = std::move(bytes);
    const ModelFile f = parse_model_file(last_);
    saves.emplace_back(batches_, f.training_position.value_or(TrainingPosition{-1, -1}));
  }
  std::vector<std::pair<int, TrainingPosition>> saves;  // (global batch count, position)

 private:
  fs::path path_;
  std::vector<std::uint8_t> last_;
  int batches_ = 0;
};

std::vector<std::pair<int, TrainingPosition>> batch_level_positions(std::int64_t save_freq, const std::string& name) {
  set_random_seed(5);
  auto m = small_model();
  const fs::path path = temp_dir() / name;
  auto ck = std::make_shared<ModelCheckpoint>(
      ModelCheckpointOptions{.filepath = path.string(), .save_freq = save_freq, .shuffle_seed = 6, .fsync = false});
  auto rec = std::make_shared<PositionRecorder>(path);
  auto batches = std::make_shared<BatchRecorder>();
  // 40 samples in batches of 8: 5 batches per epoch.
  m->fit(data_x(40, 5, 4), data_y(40, 3),
         {.batch_size = 8, .epochs = 2, .seed = 6, .callbacks = {ck, rec, batches}, .verbose = 0});
  EXPECT_EQ(batches->params_at_begin, (CallbackParams{.epochs = 2, .steps = 5, .verbose = 0, .shuffle_seed = 6}));
  EXPECT_EQ(ck->params(), (CallbackParams{.epochs = 2, .steps = 5, .verbose = 0, .shuffle_seed = 6}));
  return rec->saves;
}

}  // namespace

TEST(ModelCheckpointPosition, SaveAtTheLastBatchOfAnEpochPointsToTheNextEpoch) {
  using P = std::vector<std::pair<int, TrainingPosition>>;
  // Every 5 batches = after the last batch of each epoch: {epoch + 1, 0}, not {epoch, 5}.
  EXPECT_EQ(batch_level_positions(5, "every5.lamina"), (P{{5, {1, 0, 6}}, {10, {2, 0, 6}}}));
  // Every 3 batches: global batches 3, 6 and 9 are epoch 0 step 3, epoch 1 step 1, epoch 1 step 4.
  EXPECT_EQ(batch_level_positions(3, "every3.lamina"), (P{{3, {0, 3, 6}}, {6, {1, 1, 6}}, {9, {1, 4, 6}}}));
  // Every 10 batches: the end of the run.
  EXPECT_EQ(batch_level_positions(10, "every10.lamina"), (P{{10, {2, 0, 6}}}));
}

TEST(ModelCheckpointPosition, ParamsAreEmptyOutsideFit) {
  ModelCheckpoint ck({.filepath = "unused.lamina"});
  EXPECT_EQ(ck.params(), CallbackParams{});
}

// ============================================================================
// FitOptions::initial_step

namespace {

// Trains 3 epochs of 5 batches, uninterrupted or stopped after `stop_after`
// batches (with a checkpoint every `save_freq` batches) and resumed from the
// last checkpoint in a fresh model loaded from it.
struct ResumeRun {
  std::shared_ptr<Model> model;
  TrainingPosition position;
  std::vector<std::pair<int, int>> resumed_batches;
};

const Tensor& resume_x() {
  static const Tensor x = data_x(40, 5, 4);
  return x;
}
const Tensor& resume_y() {
  static const Tensor y = data_y(40, 3);
  return y;
}

std::shared_ptr<Model> train_straight() {
  set_random_seed(7);
  auto m = small_model(0.01);
  m->fit(resume_x(), resume_y(), {.batch_size = 8, .epochs = 3, .seed = 11, .verbose = 0});
  return m;
}

ResumeRun train_interrupted(int save_freq, int stop_after) {
  set_random_seed(7);
  auto m = small_model(0.01);
  const fs::path path = temp_dir() / ("interrupted_" + std::to_string(save_freq) + ".lamina");
  auto ck = std::make_shared<ModelCheckpoint>(
      ModelCheckpointOptions{.filepath = path.string(), .save_freq = save_freq, .shuffle_seed = 11, .fsync = false});
  m->fit(resume_x(), resume_y(),
         {.batch_size = 8, .epochs = 3, .seed = 11, .callbacks = {ck, std::make_shared<StopAfter>(stop_after)},
          .verbose = 0});
  m.reset();
  set_random_seed(999);  // unrelated global state, as in a new process
  LoadedModel loaded = load_checkpoint(path.string());
  ResumeRun r{loaded.model, loaded.training_position.value_or(TrainingPosition{-1, -1}), {}};
  auto batches = std::make_shared<BatchRecorder>();
  r.model->fit(resume_x(), resume_y(),
               {.batch_size = 8, .epochs = 3, .seed = *r.position.shuffle_seed, .callbacks = {batches}, .verbose = 0,
                .initial_epoch = static_cast<int>(r.position.epoch), .initial_step = r.position.step});
  r.resumed_batches = batches->seen;
  return r;
}

}  // namespace

TEST(FitInitialStep, ResumeInsideAnEpochIsBitwiseEqualToUninterrupted) {
  auto straight = train_straight();
  // Checkpoint after global batch 7 (epoch 1, step 2), stopped at batch 9.
  auto mid = train_interrupted(7, 9);
  EXPECT_EQ(mid.position, (TrainingPosition{1, 2, 11}));
  expect_same_weights(*straight, *mid.model, lamina::testing::Keys::any);
  EXPECT_EQ(mid.model->optimizer()->iterations(), straight->optimizer()->iterations());
  using B = std::vector<std::pair<int, int>>;
  EXPECT_EQ(mid.resumed_batches, (B{{1, 2}, {1, 3}, {1, 4}, {2, 0}, {2, 1}, {2, 2}, {2, 3}, {2, 4}}));
  // A checkpoint at the last batch of epoch 0 resumes at {1, 0}.
  auto boundary = train_interrupted(5, 6);
  EXPECT_EQ(boundary.position, (TrainingPosition{1, 0, 11}));
  expect_same_weights(*straight, *boundary.model, lamina::testing::Keys::any);
  EXPECT_EQ(boundary.resumed_batches.front(), (std::pair<int, int>{1, 0}));
  EXPECT_EQ(boundary.resumed_batches.size(), 10u);
}

TEST(FitInitialStep, CheckpointRecordsTheSeedFitDrewWhenNoneWasGiven) {
  // Neither fit nor ModelCheckpoint is given a seed: fit draws one, passes it
  // in params(), and the checkpoint stores it, so resuming is still exact.
  set_random_seed(7);
  auto m = small_model(0.01);
  const fs::path path = temp_dir() / "drawn_seed.lamina";
  auto ck = std::make_shared<ModelCheckpoint>(ModelCheckpointOptions{.filepath = path.string(), .fsync = false});
  auto stop = std::make_shared<StopAfter>(5);  // after epoch 0's five batches
  m->fit(resume_x(), resume_y(), {.batch_size = 8, .epochs = 3, .callbacks = {ck, stop}, .verbose = 0});
  LoadedModel loaded = load_checkpoint(path.string());
  ASSERT_TRUE(loaded.training_position && loaded.training_position->shuffle_seed);
  const std::uint64_t seed = *loaded.training_position->shuffle_seed;
  EXPECT_EQ(loaded.training_position->epoch, 1);
  loaded.model->fit(resume_x(), resume_y(),
                    {.batch_size = 8, .epochs = 3, .seed = seed, .verbose = 0, .initial_epoch = 1});
  set_random_seed(7);
  auto straight = small_model(0.01);
  straight->fit(resume_x(), resume_y(), {.batch_size = 8, .epochs = 3, .seed = seed, .verbose = 0});
  expect_same_weights(*straight, *loaded.model, lamina::testing::Keys::any);
}

TEST(FitInitialStep, SkippedBatchesAreNotMadeAndMetricsRestart) {
  set_random_seed(8);
  auto m = small_model();
  auto made = std::make_shared<std::vector<std::pair<std::int64_t, float>>>();  // (batch size, first x) per batch made
  auto mutex = std::make_shared<std::mutex>();
  const data::Dataset ds = data::Dataset(data_x(40, 5, 4), data_y(40, 3)).shuffle(3).batch(8).map(
      [made, mutex](data::Batch b) {
        std::lock_guard lock(*mutex);
        made->emplace_back(b.x.size(0), b.x.contiguous().data<float>()[0]);
        return b;
      });
  auto batches = std::make_shared<BatchRecorder>();
  auto history = m->fit(ds, {.epochs = 2, .callbacks = {batches}, .verbose = 0, .initial_step = 3});
  using B = std::vector<std::pair<int, int>>;
  EXPECT_EQ(batches->seen, (B{{0, 3}, {0, 4}, {1, 0}, {1, 1}, {1, 2}, {1, 3}, {1, 4}}));
  ASSERT_EQ(made->size(), 7u);  // batches 0-2 of epoch 0 were never gathered or mapped
  EXPECT_EQ((*made)[0].second, ds.get_batch(0, 3).x.contiguous().data<float>()[0]);
  EXPECT_EQ(m->optimizer()->iterations(), 7);
  // Epoch 0's loss is the mean over the batches it ran (3 and 4), as a twin
  // model trained on just those two batches from the same start reports.
  set_random_seed(8);
  auto twin = small_model();
  double sum = 0;
  for (std::int64_t b : {3, 4}) {
    const data::Batch batch = ds.get_batch(0, b);
    sum += *twin->train_on_batch(batch.x, batch.y).get("loss") * static_cast<double>(batch.x.size(0));
  }
  EXPECT_DOUBLE_EQ(history->history().at("loss").at(0), sum / 16.0);
}

TEST(FitInitialStep, OutOfRangeIsAValueErrorNamingBothNumbers) {
  auto m = small_model();
  const Tensor x = data_x(40, 5, 4), y = data_y(40, 3);
  const std::string where = m->name() + ".fit] ";
  std::string msg = error_of<ValueError>([&] { m->fit(x, y, {.batch_size = 8, .verbose = 0, .initial_step = 5}); });
  EXPECT_THAT(msg,
              HasSubstr(where + "initial_step (5) must be >= 0 and less than the number of batches per epoch (5)"));
  msg = error_of<ValueError>([&] { m->fit(x, y, {.batch_size = 8, .verbose = 0, .initial_step = -1}); });
  EXPECT_THAT(msg, HasSubstr(where + "initial_step (-1) must be >= 0"));
  msg = error_of<ValueError>([&] { m->fit(x, y, {.batch_size = 16, .verbose = 0, .initial_step = 3}); });
  EXPECT_THAT(msg, HasSubstr("initial_step (3) must be >= 0 and less than the number of batches per epoch (3)"));
  EXPECT_EQ(m->optimizer()->iterations(), 0);  // nothing ran
  m->fit(x, y, {.batch_size = 16, .verbose = 0, .initial_step = 2});
  EXPECT_EQ(m->optimizer()->iterations(), 1);
}

// ============================================================================
// A subclassed Model (Keras guide's MLPBlock style) through JSON and files

namespace {

// A registered custom layer that holds a sublayer itself (names two levels deep).
class ScaledDense : public Layer {
 public:
  explicit ScaledDense(std::int64_t units = 4, double scale = 0.5, LayerOptions base = {})
      : Layer("ScaledDense", std::move(base)), units_(units), scale_(scale) {}
  Config get_config() const override { return Layer::get_config().set("units", units_).set("scale", scale_); }
  static std::shared_ptr<ScaledDense> from_config(const Config& c) {
    return std::make_shared<ScaledDense>(c.get<std::int64_t>("units"), c.get<double>("scale"),
                                         LayerOptions::from_config(c));
  }

 protected:
  Tensor call(const Tensor& x, const CallContext&) override { return mul((*dense_)(x), scale_); }

 private:
  std::int64_t units_;
  double scale_;
  std::shared_ptr<layers::Dense> dense_ = add_layer<layers::Dense>(layers::DenseOptions{.units = units_});
};
LAMINA_REGISTER_LAYER(ScaledDense);

class MlpBlock : public Model {
 public:
  explicit MlpBlock(std::int64_t hidden = 8, double rate = 0.25, std::int64_t classes = 3, LayerOptions base = {})
      : Model("MlpBlock", std::move(base)), hidden_(hidden), rate_(rate), classes_(classes) {}
  Config get_config() const override {
    return Model::get_config().set("hidden", hidden_).set("rate", rate_).set("classes", classes_);
  }
  static std::shared_ptr<MlpBlock> from_config(const Config& c) {
    return std::make_shared<MlpBlock>(c.get<std::int64_t>("hidden"), c.get<double>("rate"),
                                      c.get<std::int64_t>("classes"), LayerOptions::from_config(c));
  }

 protected:
  Tensor call(const Tensor& x, const CallContext&) override {
    Tensor h = (*norm_)((*hidden_layer_)(x));
    h = (*dropout_)(relu((*scaled_)(h)));
    return (*out_)(h);
  }

 private:
  std::int64_t hidden_;
  double rate_;
  std::int64_t classes_;
  std::shared_ptr<layers::Dense> hidden_layer_ =
      add_layer<layers::Dense>(layers::DenseOptions{.units = hidden_, .activation = "relu"});
  std::shared_ptr<layers::BatchNormalization> norm_ = add_layer<layers::BatchNormalization>();
  std::shared_ptr<ScaledDense> scaled_ = add_layer<ScaledDense>(hidden_, 0.5);
  std::shared_ptr<layers::Dropout> dropout_ = add_layer<layers::Dropout>(rate_);
  std::shared_ptr<layers::Dense> out_ = add_layer<layers::Dense>(layers::DenseOptions{.units = classes_});
};
LAMINA_REGISTER_LAYER(MlpBlock);

// Creates its sublayer in build(), as Keras allows.
class LazyDense : public Layer {
 public:
  explicit LazyDense(std::int64_t units = 3, LayerOptions base = {}) : Layer("LazyDense", std::move(base)), units_(units) {}
  Config get_config() const override { return Layer::get_config().set("units", units_); }
  static std::shared_ptr<LazyDense> from_config(const Config& c) {
    return std::make_shared<LazyDense>(c.get<std::int64_t>("units"), LayerOptions::from_config(c));
  }

 protected:
  void build(const Shape&) override { dense_ = add_layer<layers::Dense>(layers::DenseOptions{.units = units_}); }
  Tensor call(const Tensor& x, const CallContext&) override { return (*dense_)(x); }

 private:
  std::int64_t units_;
  std::shared_ptr<layers::Dense> dense_;
};
LAMINA_REGISTER_LAYER(LazyDense);

std::vector<std::string> keys_of(const Layer& l) {
  std::vector<std::string> k;
  for (const auto& [key, v] : weight_paths(l)) k.push_back(key);
  return k;
}

}  // namespace

TEST(SubclassedModel, SublayersCreatedInBuildReloadUnderTheirNames) {
  set_random_seed(3);
  auto m = std::make_shared<Sequential>(std::vector<std::shared_ptr<Layer>>{std::make_shared<LazyDense>(3)});
  m->build_for({1, 4});
  (*m)(zeros({1, 4}));
  const Tensor probe = data_x(5, 4, 8);
  const Tensor expected = m->predict(probe);
  auto rebuilt = model_from_json(model_to_json(*m));
  EXPECT_EQ(keys_of(*rebuilt), keys_of(*m));
  const fs::path path = temp_dir() / "lazy.lamina";
  m->save(path.string());
  auto fresh = std::make_shared<layers::Dense>(layers::DenseOptions{.units = 2});  // shifts automatic names
  auto back = load_model(path.string());
  EXPECT_EQ(keys_of(*back), keys_of(*m));
  EXPECT_TRUE(bit_equal(back->predict(probe), expected));
}

TEST(SubclassedModel, FilesWithoutRecordedSublayerNamesStillLoad) {
  // Files written before "sublayer_names" existed (same format version):
  // the sublayers get new automatic names, and the weights pair by order.
  set_random_seed(12);
  auto m = std::make_shared<MlpBlock>(6, 0.25, 3);
  (*m)(zeros({1, 5}));
  const Tensor probe = data_x(9, 5, 13);
  const Tensor expected = m->predict(probe);
  std::string json = model_to_json(*m);
  const auto at = json.find("\"sublayer_names\"");
  ASSERT_NE(at, std::string::npos) << json;
  const auto end = json.find(']', at);
  json.erase(at, end + 2 - at);  // the key, its list and the comma after it
  auto old_style = model_from_json(json);
  EXPECT_NE(keys_of(*old_style), keys_of(*m));  // other automatic names
  // The same through a whole-model file whose architecture lacks the names.
  auto bytes = serialize_model(*m);
  const std::string with_names = model_to_json(*m);
  const auto pos = std::search(bytes.begin(), bytes.end(), with_names.begin(), with_names.end());
  ASSERT_NE(pos, bytes.end());
  // Rewrite the ARCH section (the only JSON equal to the model's) and its crc.
  std::vector<std::uint8_t> edited(bytes.begin(), pos);
  edited.insert(edited.end(), json.begin(), json.end());
  edited.insert(edited.end(), pos + static_cast<std::ptrdiff_t>(with_names.size()), bytes.end());
  const std::size_t header = static_cast<std::size_t>(pos - bytes.begin()) - 20;  // the ARCH section header
  const std::uint64_t len = json.size();
  std::memcpy(edited.data() + header + 8, &len, 8);
  std::uint32_t crc = static_cast<std::uint32_t>(crc32(0, edited.data() + header, 16));
  crc = static_cast<std::uint32_t>(crc32(crc, reinterpret_cast<const Bytef*>(json.data()), static_cast<uInt>(json.size())));
  std::memcpy(edited.data() + header + 16, &crc, 4);
  auto back = deserialize_model(edited).model;
  EXPECT_TRUE(bit_equal(back->predict(probe), expected));
}

TEST(SubclassedModel, RoundTripsThroughJsonAndModelFiles) {
  set_random_seed(12);
  auto m = std::make_shared<MlpBlock>(6, 0.25, 3);
  m->compile("adam", "sparse_categorical_crossentropy", {"accuracy"});
  const Tensor x = data_x(32, 5, 6), y = data_y(32, 3);
  (*m)(zeros({1, 5}));
  m->fit(x, y, {.batch_size = 8, .epochs = 2, .seed = 2, .verbose = 0});
  const Config config = m->get_config();
  EXPECT_EQ(config.get<std::int64_t>("hidden"), 6);
  const auto names = config.get<ConfigList>("sublayer_names");
  ASSERT_EQ(names.size(), 6u);  // 5 direct sublayers and the Dense inside ScaledDense
  EXPECT_EQ(std::get<std::string>(names[2].value), m->layers()[2]->name());
  EXPECT_EQ(std::get<std::string>(names[3].value), m->layers()[2]->name() + "/" + m->layers()[2]->layers()[0]->name());
  const Tensor probe = data_x(9, 5, 13);
  const Tensor expected = m->predict(probe);

  // Architecture: same class, config and weight paths (the sublayers get the
  // saved names, not new automatic ones); with the weights, same predictions.
  auto rebuilt = model_from_json(model_to_json(*m));
  ASSERT_NE(std::dynamic_pointer_cast<MlpBlock>(rebuilt), nullptr);
  EXPECT_TRUE(rebuilt->built());
  EXPECT_EQ(rebuilt->get_config(), config);
  EXPECT_EQ(keys_of(*rebuilt), keys_of(*m));
  rebuilt->set_weights(m->get_weights());
  EXPECT_TRUE(bit_equal(std::dynamic_pointer_cast<Model>(rebuilt)->predict(probe), expected));

  // Whole model, compiled, in this process (where a new MlpBlock's automatic
  // names differ from the saved ones).
  const fs::path path = temp_dir() / "subclassed.lamina";
  save_model(*m, path.string(), {.fsync = false});
  auto back = load_model(path.string());
  ASSERT_NE(std::dynamic_pointer_cast<MlpBlock>(back), nullptr);
  EXPECT_EQ(back->get_config(), config);
  expect_same_weights(*m, *back, lamina::testing::Keys::same);
  EXPECT_TRUE(bit_equal(back->predict(probe), expected));
  ASSERT_TRUE(back->compiled());
  EXPECT_EQ(back->optimizer()->iterations(), m->optimizer()->iterations());
  EXPECT_EQ(back->metrics_names(), m->metrics_names());
  // Optimizer slots and the dropout generator came back too: one more step is equal.
  m->train_on_batch(x, y);
  back->train_on_batch(x, y);
  expect_same_weights(*m, *back, lamina::testing::Keys::same);
}

TEST(SubclassedModel, CustomLayerWithSublayersInsideSequentialReloads) {
  set_random_seed(14);
  auto m = std::make_shared<Sequential>(std::vector<std::shared_ptr<Layer>>{
      std::make_shared<layers::Dense>(layers::DenseOptions{.units = 4}), std::make_shared<ScaledDense>(3, 2.0)});
  m->build_for({1, 5});
  (*m)(zeros({1, 5}));
  m->compile("sgd", "mse");
  // Sequential's config keeps its own layers' names in their entries, and the
  // custom layer's entry its sublayer's name.
  const Config config = m->get_config();
  EXPECT_FALSE(config.has("sublayer_names"));
  auto back = deserialize_model(serialize_model(*m)).model;
  EXPECT_EQ(back->get_config(), config);
  expect_same_weights(*m, *back, lamina::testing::Keys::same);
  const Tensor probe = data_x(4, 5, 3);
  EXPECT_TRUE(bit_equal(back->predict(probe), m->predict(probe)));
}

TEST(SubclassedModel, SublayerNamesAreCheckedAndOnlyAppliedToTheSameTree) {
  Config c = MlpBlock(4).get_config();
  ConfigList names = c.get<ConfigList>("sublayer_names");
  // A tree of another shape (one name fewer): the automatic names stay.
  Config shorter = c;
  shorter.set("sublayer_names", ConfigList(names.begin(), names.end() - 1));
  auto other = layer_from_config("MlpBlock", shorter);
  EXPECT_NE(other->layers()[0]->name(), std::get<std::string>(names[0].value));
  auto same = layer_from_config("MlpBlock", c);
  EXPECT_EQ(same->layers()[0]->name(), std::get<std::string>(names[0].value));
  // Malformed entries.
  Config bad = c;
  bad.set("sublayer_names", ConfigList{ConfigValue("a"), ConfigValue("a")});
  EXPECT_THAT(error_of<ValueError>([&] { layer_from_config("MlpBlock", bad); }),
              HasSubstr("[MlpBlock] config 'sublayer_names' has a bad or repeated path 'a'"));
  bad.set("sublayer_names", ConfigList{ConfigValue("a"), ConfigValue("b/c")});
  EXPECT_THAT(error_of<ValueError>([&] { layer_from_config("MlpBlock", bad); }), HasSubstr("'b/c'"));
  for (const char* path : {"/a", "a/", "", "a//b"}) {
    bad.set("sublayer_names", ConfigList{ConfigValue("a"), ConfigValue(path)});
    EXPECT_THAT(error_of<ValueError>([&] { layer_from_config("MlpBlock", bad); }),
                HasSubstr("bad or repeated path '" + std::string(path) + "'"));
  }
  bad.set("sublayer_names", ConfigList{ConfigValue("a"), ConfigValue("a/b"), ConfigValue("a/b/c"), ConfigValue("d"),
                                       ConfigValue("d/e")});
  EXPECT_NO_THROW(layer_from_config("MlpBlock", bad));  // well formed (another tree: no renaming)
  // Depth-first: "c" closed "a/b", so "a/b/x" cannot follow it.
  bad.set("sublayer_names", ConfigList{ConfigValue("a"), ConfigValue("a/b"), ConfigValue("c"), ConfigValue("a/b/x")});
  EXPECT_THAT(error_of<ValueError>([&] { layer_from_config("MlpBlock", bad); }), HasSubstr("'a/b/x'"));
  bad.set("sublayer_names", 3);
  EXPECT_THAT(error_of<ValueError>([&] { layer_from_config("MlpBlock", bad); }), HasSubstr("must be a list"));
}

// ============================================================================
// The golden version-1 file (tests/data/golden_v1_mlp.lamina, written by
// `resume_helper golden`): files of format version 1 keep loading.

#ifdef LAMINA_TEST_DATA_DIR
namespace {

constexpr std::uint64_t kGoldenHash = 0xc3a168d939941c1dull;

std::string golden_path() { return std::string(LAMINA_TEST_DATA_DIR) + "/golden_v1_mlp.lamina"; }

std::vector<std::uint32_t> float_bits(const Tensor& t) {
  const Tensor c = t.contiguous();
  std::vector<std::uint32_t> bits(static_cast<std::size_t>(c.numel()));
  std::memcpy(bits.data(), c.raw_data(), bits.size() * 4);
  return bits;
}

}  // namespace

TEST(GoldenV1, LoadsWithExactPredictionsAndPosition) {
  LoadedModel ck = load_checkpoint(golden_path());
  ASSERT_TRUE(ck.model);
  EXPECT_EQ(ck.training_position, (TrainingPosition{2, 0, 13}));
  EXPECT_EQ(ck.model->name(), "golden_mlp");
  std::vector<std::string> layer_names;
  for (const auto& l : ck.model->layers()) layer_names.push_back(l->name() + ":" + l->class_name());
  EXPECT_EQ(layer_names, (std::vector<std::string>{"hidden:Dense", "bn:BatchNormalization", "drop:Dropout",
                                                   "logits:Dense"}));
  EXPECT_EQ(weights_hash(*ck.model), kGoldenHash);
  ASSERT_TRUE(ck.model->compiled());
  EXPECT_EQ(ck.model->optimizer()->name(), "Adam");
  EXPECT_EQ(ck.model->optimizer()->iterations(), 5);
  EXPECT_DOUBLE_EQ(ck.model->optimizer()->learning_rate(), 0.01);
  EXPECT_EQ(ck.model->metrics_names(), (std::vector<std::string>{"loss", "accuracy"}));
  const ModelFile f = parse_model_file(read_file_bytes(golden_path()));
  EXPECT_EQ(f.version, 1u);
  ASSERT_EQ(f.dropout_states.size(), 1u);
  EXPECT_EQ(f.dropout_states[0].path, "drop");
  EXPECT_EQ(f.dropout_states[0].seed, 11u);
  EXPECT_EQ(f.dropout_states[0].offset, 60u);
  EXPECT_EQ(f.global_seed_state, (std::pair<std::uint64_t, std::uint64_t>{20240601, 2}));

  // Inference (BatchNormalization's moving statistics, no dropout) on a fixed
  // input, on every instruction set this CPU has: the logits' exact bits.
  const Tensor x = Tensor::from({0.5f, -1.0f, 0.25f, 2.0f,  //
                                 -0.75f, 1.5f, 0.0f, -0.125f,  //
                                 1.0f, 1.0f, -2.0f, 0.375f},
                                {3, 4});
  // AVX2 and AVX-512 round each multiply-add once (FMA); SSE4.2 twice, which
  // changes the last bit of some logits.
  const std::vector<std::uint32_t> expected_fma = {0xbf28f8c4, 0xbed2366b, 0x3e548d71,  //
                                                   0xbf4b824e, 0x3e920916, 0xbefe34af,  //
                                                   0xbf1b73b4, 0x3db49cd4, 0xbebc0f7d};
  const std::vector<std::uint32_t> expected_sse42 = {0xbf28f8c4, 0xbed2366c, 0x3e548d71,  //
                                                     0xbf4b824e, 0x3e920917, 0xbefe34ae,  //
                                                     0xbf1b73b4, 0x3db49cd6, 0xbebc0f7d};
  const Isa before = current_isa();
  for (Isa isa : supported_isas()) {
    SCOPED_TRACE(std::string(isa_name(isa)));
    set_isa(isa);
    const auto& expected = isa == Isa::sse42 ? expected_sse42 : expected_fma;
    const auto bits = float_bits(ck.model->predict(x));
    std::string got;
    for (auto b : bits) {
      char hex[16];
      std::snprintf(hex, sizeof hex, "0x%08x, ", b);
      got += hex;
    }
    EXPECT_EQ(bits, expected) << got;
  }
  set_isa(before);
}

#ifdef LAMINA_INSPECT_PATH
TEST(GoldenV1, InspectHashIsTheRecordedOne) {
  const std::string out = (temp_dir() / "golden_hash.out").string();
  ASSERT_EQ(std::system((std::string(LAMINA_INSPECT_PATH) + " --hash " + golden_path() + " > " + out).c_str()), 0);
  std::ifstream in(out);
  std::string hash;
  in >> hash;
  char expect[17];
  std::snprintf(expect, sizeof expect, "%016llx", static_cast<unsigned long long>(kGoldenHash));
  EXPECT_EQ(hash, expect);
}
#endif
#endif

// ============================================================================
// lamina-inspect: why a file is refused

#ifdef LAMINA_INSPECT_PATH
namespace {

struct ToolRun {
  int status = -1;
  std::string out, err;
};

ToolRun inspect(const std::string& args) {
  const std::string out = (temp_dir() / "inspect.stdout").string(), err = (temp_dir() / "inspect.stderr").string();
  const int raw = std::system((std::string(LAMINA_INSPECT_PATH) + " " + args + " > " + out + " 2> " + err).c_str());
  ToolRun r;
  r.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
  std::ifstream o(out), e(err);
  r.out.assign(std::istreambuf_iterator<char>(o), {});
  r.err.assign(std::istreambuf_iterator<char>(e), {});
  return r;
}

}  // namespace

TEST(Inspect, BadFilesFailWithTheReason) {
  auto m = small_model();
  const auto bytes = serialize_model(*m);
  const fs::path good = temp_dir() / "good.lamina";
  write_file_atomic(good.string(), bytes, false);
  ToolRun r = inspect(good.string() + " --hash");
  EXPECT_EQ(r.status, 0) << r.err;

  const fs::path missing = temp_dir() / "no_such_file.lamina";
  for (const char* flag : {"", " --hash"}) {
    SCOPED_TRACE(flag);
    r = inspect(missing.string() + flag);
    EXPECT_EQ(r.status, 1);
    EXPECT_EQ(r.out, "");
    EXPECT_EQ(r.err, "lamina-inspect: [load] cannot open '" + missing.string() + "': No such file or directory\n");
  }

  const fs::path truncated = temp_dir() / "truncated.lamina";
  write_file_atomic(truncated.string(), std::span(bytes.data(), 100), false);
  r = inspect(truncated.string());
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_THAT(r.err, HasSubstr("lamina-inspect: [load] " + truncated.string() + " section ARCH: length "));
  EXPECT_THAT(r.err, HasSubstr("exceeds the 56 bytes left in the file (truncated or corrupt)"));
  write_file_atomic(truncated.string(), std::span(bytes.data(), 10), false);
  r = inspect(truncated.string() + " --hash");
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(r.err, "lamina-inspect: [load] " + truncated.string() + ": truncated header (10 bytes)\n");

  const fs::path magic = temp_dir() / "magic.lamina";
  auto bad = bytes;
  bad[1] = 'X';
  write_file_atomic(magic.string(), bad, false);
  r = inspect(magic.string());
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err,
            "lamina-inspect: [load] " + magic.string() + ": not a lamina model or weights file (wrong magic number)\n");

  r = inspect("");
  EXPECT_EQ(r.status, 2);
  EXPECT_THAT(r.err, HasSubstr("usage: lamina-inspect FILE [--hash]"));
}
#endif
