// Reliability properties across modules (issue 9): stable numerics at the
// extremes, a diverging run stopped without losing its last good checkpoint,
// concurrent inference and training, no memory growth over a long fit, no
// leaked file descriptors on error paths, and a table of bad user inputs each
// answered by a typed exception that names the op or layer.
#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>

#include <atomic>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <thread>

#include "gradcheck.h"
#include "lamina/serialization/lamina_serialization.h"

namespace lamina {
namespace {

using ::testing::HasSubstr;

bool all_finite(const Tensor& t) {
  for (double v : t.to_vector<double>())
    if (!std::isfinite(v)) return false;
  return true;
}

std::vector<double> grad_of(const Tensor& x, const std::function<Tensor(const Tensor&)>& f) {
  GradientTape tape;
  tape.watch(x);
  Tensor y = f(x);
  return tape.gradient(y, {x})[0].to_vector<double>();
}

std::string temp_dir(const std::string& name) {
  auto dir = std::filesystem::temp_directory_path() /
             ("lamina_reliability_" + name + "_" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir.string();
}

// ---------------------------------------------------------------- numerics

TEST(Numerics, CrossentropyOfHugeLogitsIsFiniteWithFiniteGradients) {
  for (DType dt : {DType::float32, DType::float64}) {
    SCOPED_TRACE(dtype_name(dt));
    Tensor logits = Tensor::from(std::vector<double>{1e4, -1e4, 0, -1e4, 1e4, 1e4}, {2, 3}).to(dt);
    Tensor labels = Tensor::from(std::vector<std::int64_t>{1, 0}, {2});
    losses::SparseCategoricalCrossentropy sparse({.from_logits = true});
    std::vector<double> g = grad_of(logits, [&](const Tensor& z) { return sparse(labels, z); });
    // Row 0: -log softmax = 2e4; row 1: log(2) + 2e4. Mean over the batch.
    EXPECT_NEAR(sparse(labels, logits).item<double>(), (2e4 + 2e4 + std::log(2.0)) / 2, 1e-2);
    // d/dz mean CE = (softmax - onehot) / batch.
    testing::expect_close(Tensor::from(g, {2, 3}), {0.5, -0.5, 0, -0.5, 0.25, 0.25}, 1e-6, 1e-6);

    Tensor onehot = Tensor::from(std::vector<double>{0, 1, 0, 1, 0, 0}, {2, 3}).to(dt);
    losses::CategoricalCrossentropy dense_ce({.from_logits = true});
    EXPECT_TRUE(std::isfinite(dense_ce(onehot, logits).item<double>()));
    EXPECT_TRUE(all_finite(Tensor::from(grad_of(logits, [&](const Tensor& z) { return dense_ce(onehot, z); }), {6})));

    losses::BinaryCrossentropy bce({.from_logits = true});
    Tensor yb = Tensor::from(std::vector<double>{1, 0, 1, 0, 1, 0}, {2, 3}).to(dt);
    EXPECT_TRUE(std::isfinite(bce(yb, logits).item<double>()));
    EXPECT_TRUE(all_finite(Tensor::from(grad_of(logits, [&](const Tensor& z) { return bce(yb, z); }), {6})));
  }
}

TEST(Numerics, ProbabilityLossesClipLogOfZeroLikeKeras) {
  // Keras clips probabilities to [1e-7, 1 - 1e-7]: log(0) never happens.
  Tensor y_true = Tensor::from(std::vector<float>{1, 0, 0, 0, 1, 0}, {2, 3});
  Tensor y_pred = Tensor::from(std::vector<float>{0, 1, 0, 0, 1, 0}, {2, 3});
  losses::CategoricalCrossentropy ce;
  const double loss = ce(y_true, y_pred).item<double>();
  EXPECT_TRUE(std::isfinite(loss));
  EXPECT_NEAR(loss, -std::log(1e-7) / 2, 1e-3);  // row 0: -log(eps); row 1: -log(1) = 0
  EXPECT_TRUE(all_finite(Tensor::from(grad_of(y_pred, [&](const Tensor& p) { return ce(y_true, p); }), {6})));

  losses::BinaryCrossentropy bce;
  Tensor yb = Tensor::from(std::vector<float>{1, 0}, {2, 1});
  Tensor pb = Tensor::from(std::vector<float>{0, 1}, {2, 1});
  EXPECT_TRUE(std::isfinite(bce(yb, pb).item<double>()));
  EXPECT_TRUE(all_finite(Tensor::from(grad_of(pb, [&](const Tensor& p) { return bce(yb, p); }), {2})));
}

TEST(Numerics, NormalizationOfConstantInputsDividesByEpsilonNotZero) {
 for (DType dtype : {DType::float64, DType::float32}) {
  Tensor x = full({4, 3}, 2.5, dtype);  // zero variance in every feature and every row
  layers::BatchNormalization bn({}, LayerOptions{.dtype = dtype});
  layers::LayerNormalization ln({}, LayerOptions{.dtype = dtype});
  for (Layer* layer : std::vector<Layer*>{&bn, &ln}) {
    SCOPED_TRACE(layer->name() + " " + std::string(dtype_name(dtype)));
    Tensor y;
    std::vector<Tensor> grads;
    {
      GradientTape tape(/*persistent=*/true);
      tape.watch(x);
      y = (*layer)(x, true);
      Tensor loss = sum(mul(y, uniform(y.shape(), 0.5, 1.5, 7, y.dtype())));
      grads = tape.gradient(loss, layer->trainable_weights());
      grads.push_back(tape.gradient(loss, {x})[0]);
    }
    // (x - mean) is exactly 0, so the normalized output is beta = 0.
    testing::expect_close(y, std::vector<double>(12, 0.0), 0, 0);
    for (const Tensor& g : grads) EXPECT_TRUE(all_finite(g)) << g;
  }
 }
}

TEST(Numerics, SqrtAndLogAtZeroGiveInfiniteNotNaNGradients) {
  // TF gives d sqrt(x)/dx = inf and d log(x)/dx = inf at 0: no NaN.
  Tensor zero = zeros({1}, DType::float64);
  auto gs = grad_of(zero, [](const Tensor& x) { return sum(lamina::sqrt(x)); });
  auto gl = grad_of(zero, [](const Tensor& x) { return sum(lamina::log(x)); });
  EXPECT_EQ(gs[0], std::numeric_limits<double>::infinity());
  EXPECT_EQ(gl[0], std::numeric_limits<double>::infinity());
  // Global-norm clipping of all-zero gradients stays zero (0/0 avoided).
  std::vector<Tensor> zero_grads{zeros({3}), zeros({2, 2})};
  auto clipped = optim::clip_by_global_norm(zero_grads, 1.0);
  for (const Tensor& g : clipped) testing::expect_close(g, std::vector<double>(g.numel(), 0.0), 0, 0);
}

// ------------------------------------------- divergence and checkpoints

struct WeightRecorder : Callback {
  std::vector<std::vector<double>> per_epoch;
  int batches = 0;
  std::vector<double> losses;
  void on_train_batch_end(int, const Logs& logs) override {
    ++batches;
    losses.push_back(*logs.get("loss"));
  }
  void on_epoch_end(int, Logs&) override { per_epoch.push_back(model()->get_weights()[0].to_vector<double>()); }
};

TEST(Divergence, TerminateOnNaNStopsAtTheFirstBadBatchAndTheCheckpointBeforeItSurvives) {
  // y = w x with x = 10, target 0 and SGD lr 0.1: w is multiplied by -19 each
  // step, so the loss 100 w^2 overflows float32 at step 15 (epoch 2 of 10-step epochs).
  auto model = std::make_shared<Sequential>(std::vector<std::shared_ptr<Layer>>{std::make_shared<layers::Dense>(
      layers::DenseOptions{.units = 1, .use_bias = false, .kernel_initializer = initializers::Constant(1.0)})});
  model->compile(std::make_shared<optim::SGD>(optim::SGDConfig{.learning_rate = 0.1}),
                 std::make_shared<losses::MeanSquaredError>());
  const std::string dir = temp_dir("divergence");
  const std::string path = dir + "/ckpt.lamina";
  auto recorder = std::make_shared<WeightRecorder>();
  model->fit(full({10, 1}, 10.0), zeros({10, 1}),
             {.batch_size = 1, .epochs = 5, .shuffle = false,
              .callbacks = {recorder, std::make_shared<TerminateOnNaN>(),
                            std::make_shared<ModelCheckpoint>(ModelCheckpointOptions{.filepath = path})},
              .verbose = 0});
  ASSERT_FALSE(recorder->losses.empty());
  // Stopped at the first non-finite loss: every earlier batch was finite.
  EXPECT_FALSE(std::isfinite(recorder->losses.back()));
  for (std::size_t i = 0; i + 1 < recorder->losses.size(); ++i) EXPECT_TRUE(std::isfinite(recorder->losses[i])) << i;
  EXPECT_LT(recorder->batches, 20);
  EXPECT_GT(recorder->batches, 10);
  // The checkpoint written at the end of epoch 1 is intact and was not overwritten by the diverged model.
  auto loaded = load_model(path);
  auto w = loaded->get_weights()[0].to_vector<double>();
  ASSERT_EQ(w.size(), 1u);
  EXPECT_TRUE(std::isfinite(w[0]));
  EXPECT_EQ(w, recorder->per_epoch.front());
  std::filesystem::remove_all(dir);
}

// ------------------------------------------------------------ concurrency

std::shared_ptr<Sequential> small_classifier(std::uint64_t seed) {
  set_random_seed(seed);
  auto m = std::make_shared<Sequential>(std::vector<std::shared_ptr<Layer>>{
      std::make_shared<layers::Dense>(layers::DenseOptions{.units = 32, .activation = "relu"}),
      std::make_shared<layers::BatchNormalization>(),
      std::make_shared<layers::Dropout>(0.3),
      std::make_shared<layers::Dense>(layers::DenseOptions{.units = 5})});
  m->compile("adam", "sparse_categorical_crossentropy", {"accuracy"});
  return m;
}

std::pair<Tensor, Tensor> class_data(std::int64_t n, std::uint64_t seed) {
  Tensor x = normal({n, 12}, 0, 1, seed);
  std::vector<std::int64_t> y(n);
  auto xs = x.to_vector<float>();
  for (std::int64_t i = 0; i < n; ++i) y[i] = (xs[i * 12] > 0) + 2 * (xs[i * 12 + 1] > 0) + (xs[i * 12 + 2] > 1);
  return {x, Tensor::from(y, {n})};
}

TEST(Concurrency, PredictFromTwoThreadsMatchesSerialCalls) {
  auto model = small_classifier(3);
  auto [x, y] = class_data(512, 5);
  model->fit(x, y, {.batch_size = 64, .epochs = 2, .verbose = 0});
  const Tensor xa = normal({300, 12}, 0, 1, 11), xb = normal({257, 12}, 0, 1, 12);
  const auto serial_a = model->predict(xa).to_vector<float>();
  const auto serial_b = model->predict(xb).to_vector<float>();
  for (int round = 0; round < 5; ++round) {
    std::vector<float> conc_a, conc_b;
    std::thread ta([&] { conc_a = model->predict(xa, 16).to_vector<float>(); });
    std::thread tb([&] { conc_b = model->predict(xb, 7).to_vector<float>(); });
    ta.join();
    tb.join();
    EXPECT_EQ(conc_a, serial_a);
    EXPECT_EQ(conc_b, serial_b);
  }
}

TEST(Concurrency, TwoModelsTrainedOnTwoThreadsMatchSerialTraining) {
  // Each thread fits its own Sequential (Dense, BatchNormalization, Dropout)
  // under its own tapes; built and seeded before the threads start, so the
  // global seed sequence is not drawn from concurrently.
  const auto data = class_data(256, 7);
  const Tensor& x = data.first;  // not a structured binding: clang 14 cannot capture those
  const Tensor& y = data.second;
  auto train = [&](std::shared_ptr<Sequential> m, std::uint64_t seed) {
    m->fit(x, y, {.batch_size = 32, .epochs = 2, .seed = seed, .verbose = 0});
    std::vector<float> out;
    for (const auto& w : m->weights()) {
      auto v = w.value().to_vector<float>();
      out.insert(out.end(), v.begin(), v.end());
    }
    return out;
  };
  auto fresh = [&](std::uint64_t seed) {
    auto m = small_classifier(seed);
    m->predict(x);  // build
    return m;
  };
  const auto serial_a = train(fresh(21), 5), serial_b = train(fresh(22), 6);
  auto ma = fresh(21), mb = fresh(22);
  std::vector<float> conc_a, conc_b;
  std::thread ta([&] { conc_a = train(ma, 5); });
  std::thread tb([&] { conc_b = train(mb, 6); });
  ta.join();
  tb.join();
  EXPECT_EQ(conc_a, serial_a);
  EXPECT_EQ(conc_b, serial_b);
  EXPECT_NE(serial_a, serial_b);
}

TEST(Concurrency, TrainingWhileAnotherThreadPredictsOnACopy) {
  auto model = small_classifier(4);
  auto [x, y] = class_data(512, 6);
  model->fit(x, y, {.batch_size = 64, .epochs = 1, .verbose = 0});
  // The copy: a whole-model round trip through the file format, in memory.
  auto copy = deserialize_model(serialize_model(*model)).model;
  const Tensor probe = normal({200, 12}, 0, 1, 13);
  const auto expected = copy->predict(probe).to_vector<float>();
  std::atomic<bool> training{false}, done{false};
  std::atomic<int> mismatches{0}, rounds{0}, rounds_during_training{0};
  std::thread reader([&] {
    while (!done.load() || rounds.load() < 3) {
      const bool during = training.load();
      if (copy->predict(probe).to_vector<float>() != expected) ++mismatches;
      if (during && training.load()) ++rounds_during_training;  // the whole predict ran inside fit
      ++rounds;
    }
  });
  // Makes the two threads overlap for sure: the first batch waits for the
  // reader to finish a prediction started while training was under way, and
  // fit does not return before a second one.
  struct Overlap : Callback {
    std::atomic<bool>& training;
    std::atomic<int>& during;
    Overlap(std::atomic<bool>& t, std::atomic<int>& d) : training(t), during(d) {}
    void on_train_begin(const Logs&) override { training = true; }
    void on_train_batch_begin(int batch, const Logs&) override {
      if (batch == 0)
        while (during.load() < 1) std::this_thread::yield();
    }
    void on_train_end(const Logs&) override {
      while (during.load() < 2) std::this_thread::yield();
      training = false;
    }
  };
  model->fit(x, y, {.batch_size = 32, .epochs = 3,
                    .callbacks = {std::make_shared<Overlap>(training, rounds_during_training)}, .verbose = 0});
  done = true;
  reader.join();
  EXPECT_EQ(mismatches.load(), 0);
  EXPECT_GE(rounds.load(), 3);
  EXPECT_GE(rounds_during_training.load(), 2);
  // The trained model moved on; the copy did not.
  EXPECT_NE(model->predict(probe).to_vector<float>(), expected);
}

TEST(Concurrency, RegistryLookupsWhileAnotherThreadRegisters) {
  // One thread registers new classes (as a plugin's static initializers
  // may, on a thread of its own) while two others look classes up and list
  // them: under TSan this fails if the registry's lock is removed.
  Config dense_config = layers::Dense(layers::DenseOptions{.units = 3}).get_config();
  std::atomic<int> failures{0};
  std::atomic<bool> writing{true};
  std::thread writer([&] {
    for (int i = 0; i < 24; ++i)
      layer_registry().add("ConcurrentTestLayer" + std::to_string(i), [](const Config& c) -> std::shared_ptr<Layer> {
        return layers::Dense::from_config(c);
      });
    writing = false;
  });
  auto reader = [&] {
    int rounds = 0;
    while (writing || rounds < 50) {
      ++rounds;
      auto layer = layer_from_config("Dense", dense_config);
      if (!layer || layer->class_name() != "Dense") ++failures;
      if (registered_layers().empty()) ++failures;
      try {
        layer_from_config("NoSuchLayer", dense_config);
        ++failures;
      } catch (const ValueError&) {
      }
    }
  };
  std::thread a(reader), b(reader);
  writer.join();
  a.join();
  b.join();
  EXPECT_EQ(failures.load(), 0);
  for (int i = 0; i < 24; ++i) EXPECT_TRUE(layer_registry().contains("ConcurrentTestLayer" + std::to_string(i)));
  auto made = layer_from_config("ConcurrentTestLayer7", dense_config);
  EXPECT_EQ(made->class_name(), "Dense");
}

// -------------------------------------------------------------- resources

std::int64_t resident_bytes() {
  std::ifstream statm("/proc/self/statm");
  std::int64_t pages = 0, resident = 0;
  statm >> pages >> resident;
  return resident * ::sysconf(_SC_PAGESIZE);
}

int open_descriptors() {
  int n = 0;
  if (DIR* d = ::opendir("/proc/self/fd")) {
    while (::readdir(d)) ++n;
    ::closedir(d);
  }
  return n;
}

struct ResidentMemory : Callback {
  std::vector<std::int64_t> after_epoch;
  void on_epoch_end(int, Logs&) override { after_epoch.push_back(resident_bytes()); }
};

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define LAMINA_TEST_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define LAMINA_TEST_SANITIZED 1
#endif
#endif

TEST(Resources, TwentyEpochsDoNotGrowResidentMemory) {
#ifdef LAMINA_TEST_SANITIZED
  // ASan's quarantine keeps freed memory resident (RSS grows ~1.5 MiB per
  // epoch here until its 256 MiB cap); LeakSanitizer covers leaks there.
  GTEST_SKIP() << "resident memory is not meaningful under a sanitizer";
#endif
  set_random_seed(21);
  auto model = std::make_shared<Sequential>(std::vector<std::shared_ptr<Layer>>{
      std::make_shared<layers::Dense>(layers::DenseOptions{.units = 256, .activation = "relu"}),
      std::make_shared<layers::Dropout>(0.2),
      std::make_shared<layers::Dense>(layers::DenseOptions{.units = 128, .activation = "relu"}),
      std::make_shared<layers::Dense>(layers::DenseOptions{.units = 10})});
  model->compile("adam", "sparse_categorical_crossentropy", {"accuracy"});
  // A Fashion-MNIST-sized slice (31 MB of inputs). Each thread's allocator
  // cache (bounded at 1 MiB) fills over the first epochs; that is not growth.
  constexpr std::int64_t n = 10000;
  Tensor x = uniform({n, 784}, 0, 1, 22);
  std::vector<std::int64_t> labels(n);
  for (std::size_t i = 0; i < labels.size(); ++i) labels[i] = static_cast<std::int64_t>(i * 7 % 10);
  Tensor y = Tensor::from(labels, {n});
  auto rss = std::make_shared<ResidentMemory>();
  model->fit(x, y, {.batch_size = 128, .epochs = 20, .validation_split = 0.1, .callbacks = {rss}, .verbose = 0});
  ASSERT_EQ(rss->after_epoch.size(), 20u);
  const double after2 = static_cast<double>(rss->after_epoch[1]);
  const double after20 = static_cast<double>(rss->after_epoch[19]);
  std::string series;
  for (auto b : rss->after_epoch) series += std::to_string(b >> 20) + " ";
  EXPECT_LE(after20, after2 * 1.05) << "resident MiB after each epoch: " << series;
  EXPECT_GT(after20, 40e6) << "the data alone is 31 MB: is RSS measured at all?";
}

TEST(Resources, FailingLoadsAndSavesCloseTheirFiles) {
  const std::string dir = temp_dir("descriptors");
  auto model = small_classifier(8);
  model->predict(zeros({1, 12}));
  const std::string good = dir + "/good.lamina";
  save_model(*model, good);
  auto bytes = read_file_bytes(good);
  {  // truncated copy
    std::ofstream(dir + "/truncated.lamina", std::ios::binary)
        .write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size() / 2));
  }
  std::ofstream(dir + "/bad.idx") << "not an idx file";
  {  // gzip magic, then garbage: the inflate fails after the file is open
    std::ofstream gz(dir + "/bad.idx.gz", std::ios::binary);
    gz << "\x1f\x8b\x08\x00garbage that does not inflate";
  }
  std::ofstream(dir + "/bad.csv") << "a,b\n1,2\n3,oops\n";
  // A directory where a save wants to rename its file: the rename fails
  // after the temporary file is written.
  std::filesystem::create_directories(dir + "/occupied");
  std::ofstream(dir + "/occupied/keep") << "x";
  const std::string kept = dir + "/kept.lamina";
  save_model(*model, kept);
  const auto kept_bytes = read_file_bytes(kept);
  const int before = open_descriptors();
  for (int i = 0; i < 20; ++i) {
    EXPECT_THROW(load_model(dir + "/truncated.lamina"), Error);
    EXPECT_THROW(load_model(dir + "/missing.lamina"), IOError);
    EXPECT_THROW(load_weights(*model, dir + "/truncated.lamina"), Error);
    EXPECT_THROW(save_model(*model, dir + "/no/such/dir/x.lamina"), IOError);
    EXPECT_THROW(save_model(*model, dir + "/occupied"), IOError);
    EXPECT_THROW(data::read_idx(dir + "/bad.idx"), Error);
    EXPECT_THROW(data::read_idx(dir + "/bad.idx.gz"), IOError);
    EXPECT_THROW(data::read_csv(dir + "/missing.csv"), IOError);
    EXPECT_THROW(data::read_csv(dir + "/bad.csv"), Error);
  }
  {
    // A write that fails part-way (file size limit, as on a full disk):
    // IOError, the temporary file removed, the old file untouched.
    struct rlimit old_limit {};
    ASSERT_EQ(getrlimit(RLIMIT_FSIZE, &old_limit), 0);
    const auto old_handler = std::signal(SIGXFSZ, SIG_IGN);
    struct rlimit small = old_limit;
    small.rlim_cur = 4096;
    ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &small), 0);
    std::string msg;
    try {
      save_model(*model, kept);
    } catch (const IOError& e) {
      msg = e.what();
    }
    setrlimit(RLIMIT_FSIZE, &old_limit);
    std::signal(SIGXFSZ, old_handler);
    EXPECT_NE(msg.find("[save] cannot write"), std::string::npos) << msg;
    EXPECT_EQ(read_file_bytes(kept), kept_bytes);
  }
  EXPECT_EQ(open_descriptors(), before);
  // Nothing was left behind by the failed saves either (no temporary files).
  std::vector<std::string> files;
  for (auto& e : std::filesystem::recursive_directory_iterator(dir)) files.push_back(e.path().filename().string());
  std::sort(files.begin(), files.end());
  EXPECT_EQ(files, (std::vector<std::string>{"bad.csv", "bad.idx", "bad.idx.gz", "good.lamina", "keep", "kept.lamina",
                                             "occupied", "truncated.lamina"}));
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace lamina

namespace lamina {
namespace {

// ------------------------------------------------------ bad input sweep

enum class Kind { Shape, DType, Value, Index, IO };

struct BadInput {
  std::string what;
  std::function<void()> call;
  Kind kind;
  std::string message;  // must appear in what(); names the op or layer
};

void expect_kind(Kind kind, const Error& e) {
  switch (kind) {
    case Kind::Shape: EXPECT_NE(dynamic_cast<const ShapeError*>(&e), nullptr) << e.what(); break;
    case Kind::DType: EXPECT_NE(dynamic_cast<const DTypeError*>(&e), nullptr) << e.what(); break;
    case Kind::Value: EXPECT_NE(dynamic_cast<const ValueError*>(&e), nullptr) << e.what(); break;
    case Kind::Index: EXPECT_NE(dynamic_cast<const IndexError*>(&e), nullptr) << e.what(); break;
    case Kind::IO: EXPECT_NE(dynamic_cast<const IOError*>(&e), nullptr) << e.what(); break;
  }
}

std::shared_ptr<Sequential> compiled_mlp() {
  auto m = std::make_shared<Sequential>(std::vector<std::shared_ptr<Layer>>{
      std::make_shared<layers::Dense>(layers::DenseOptions{.units = 4, .activation = "relu"}, LayerOptions{.name = "hidden"}),
      std::make_shared<layers::Dense>(layers::DenseOptions{.units = 3}, LayerOptions{.name = "logits"})});
  m->compile("adam", "sparse_categorical_crossentropy");
  m->predict(zeros({1, 5}));
  return m;
}

// A file that starts like gzip and then does not inflate.
std::string corrupt_gzip_file() {
  static const std::string path = [] {
    const std::string p = (std::filesystem::temp_directory_path() /
                           ("lamina_corrupt_" + std::to_string(::getpid()) + ".idx.gz")).string();
    std::ofstream(p, std::ios::binary) << "\x1f\x8b\x08\x00not deflate data at all";
    return p;
  }();
  return path;
}

// A user's own error type, thrown from a custom layer's call.
struct UserError : ValueError {
  using ValueError::ValueError;
};
class Throwing : public Layer {
 public:
  Throwing() : Layer("Throwing", LayerOptions{.name = "thrower"}) {}

 protected:
  Tensor call(const Tensor&, const CallContext&) override { throw UserError("user says no"); }
};

TEST(LayerErrors, LaminaErrorsNameTheLayerAndUserTypesPassUnchanged) {
  layers::Dense d(layers::DenseOptions{.units = 2}, LayerOptions{.name = "d2"});
  try {
    d(Tensor::from(std::vector<std::int32_t>{1, 2}, {1, 2}));
    ADD_FAILURE() << "no exception";
  } catch (const DTypeError& e) {
    EXPECT_THAT(e.what(), HasSubstr("[d2] Exception encountered when calling layer 'd2' (Dense): [matmul]"));
  }
  Throwing t;
  EXPECT_THROW(t(ones({1})), UserError);
  try {
    t(ones({1}));
  } catch (const UserError& e) {
    EXPECT_STREQ(e.what(), "user says no");
  }
}

TEST(LayerErrors, EvaluateChecksFiniteDataUnlessTold) {
  auto m = compiled_mlp();
  std::vector<float> v(10, 1.0f);
  v[3] = std::nanf("");
  const Tensor x = Tensor::from(v, {2, 5});
  EXPECT_THROW(m->evaluate(x, zeros({2})), ValueError);
  Logs logs = m->evaluate(x, zeros({2}), 32, 0, /*check_finite=*/false);
  EXPECT_TRUE(std::isnan(*logs.get("loss")));  // as Keras reports it
}

std::vector<BadInput> bad_inputs() {
  const Tensor x23 = ones({2, 3}), x45 = ones({4, 5}), labels3 = Tensor::from(std::vector<std::int64_t>{0, 1, 2}, {3});
  std::vector<BadInput> t = {
      // core ops
      {"add broadcast", [=] { core::add(x23, ones({5})); }, Kind::Shape, "[add] cannot broadcast (2, 3) with (5,)"},
      {"matmul inner", [=] { core::matmul(x23, x45); }, Kind::Shape, "[matmul] inner dimensions differ: (2, 3) @ (4, 5)"},
      {"matmul 0-d", [=] { core::matmul(ones({}), x23); }, Kind::Shape, "matmul"},
      {"reshape size", [=] { x23.reshape({4}); }, Kind::Shape, "[reshape] cannot reshape (2, 3) (6 elements) into (4,)"},
      {"negative size", [] { zeros({2, -1}); }, Kind::Value, "[empty] negative extent in shape (2, -1)"},
      {"at out of range", [=] { (void)x23.at<float>(2, 0); }, Kind::Index, "[at] index 2 is out of range for axis 0 of shape (2, 3)"},
      {"item of many", [=] { (void)x23.item<float>(); }, Kind::Value, "[item] expected a tensor with one element, got shape (2, 3)"},
      {"sum bad axis", [=] { core::sum(x23, {2}); }, Kind::Index, "[sum] axis 2 is out of range for a tensor with 2 dimensions"},
      {"softmax bad axis", [=] { core::softmax(x23, 5); }, Kind::Index, "[softmax] axis 5 is out of range"},
      {"max of empty", [] { core::max(zeros({0})); }, Kind::Value, "[max] zero-size axis 0 of shape (0,) has no identity"},
      {"argmax of empty", [] { core::argmax(zeros({0, 3}), 0); }, Kind::Value, "[argmax] axis 0 of shape (0, 3) is empty"},
      {"log of int", [] { core::log(Tensor::from(std::vector<std::int32_t>{1, 2}, {2})); }, Kind::DType, "[log] unsupported dtype int32"},
      {"take_along_axis dtype", [=] { take_along_axis(x23, ones({2, 1}), 1); }, Kind::DType, "[take_along_axis] indices must be int32, int64 or uint8, got float32"},
      // autograd
      {"gradient of vector", [=] {
         GradientTape tape;
         tape.watch(x23);
         Tensor y = mul(x23, 2.0);
         tape.gradient(y, {x23});
       }, Kind::Shape, "[GradientTape.gradient] target of shape (2, 3) is not a scalar"},
      // layers
      {"dense units 0", [] { layers::Dense(layers::DenseOptions{.units = 0}); }, Kind::Value, "Dense expects units > 0, got units=0"},
      {"dense wrong features", [] { compiled_mlp()->predict(ones({2, 7})); }, Kind::Shape, "/hidden] expected inputs with last dimension 5, got shape (2, 7)"},
      {"dense scalar input", [] {
         layers::Dense d(layers::DenseOptions{.units = 2}, LayerOptions{.name = "d0"});
         d(ones({}));
       }, Kind::Shape, "[d0] Dense expects inputs with a known last dimension, got shape ()"},
      {"conv kernel too large", [] {
         layers::Conv2D conv(layers::ConvOptions{.filters = 2, .kernel_size = {5, 5}}, LayerOptions{.name = "conv"});
         conv(ones({1, 3, 3, 1}));
       }, Kind::Shape, "[conv] kernel_size (5, 5) with dilation_rate (1, 1) and padding 'valid' is larger than the input"},
      {"conv channel mismatch", [] {
         layers::Conv2D conv(layers::ConvOptions{.filters = 2, .kernel_size = {3, 3}}, LayerOptions{.name = "conv"});
         conv(ones({1, 8, 8, 1}));
         conv(ones({1, 8, 8, 3}));
       }, Kind::Shape, "[conv] expected inputs of rank 4 with 1 channels"},
      {"embedding index", [] {
         layers::Embedding emb(layers::EmbeddingOptions{.input_dim = 4, .output_dim = 2}, LayerOptions{.name = "emb"});
         emb(Tensor::from(std::vector<std::int64_t>{1, 4}, {2}));
       }, Kind::Index, "[emb] Embedding(input_dim=4) got an index outside [0, 4)"},
      {"unknown activation", [] { layers::Dense(layers::DenseOptions{.units = 2, .activation = "relux"}); }, Kind::Value, "[activation] unknown name 'relux'. Did you mean: relu"},
      {"unknown initializer", [] {
         layers::Dense(layers::DenseOptions{.units = 2, .kernel_initializer = "glorot_uniformm"});
       }, Kind::Value, "[initializer] unknown name 'glorot_uniformm'. Did you mean: glorot_uniform"},
      {"unknown config key", [] { layer_from_config("Dense", Config().set("units", 2).set("unitz", 3)); },
       Kind::Value, "[Dense] Unrecognized keyword arguments passed to Dense: 'unitz'"},
      {"dense int input", [] {
         layers::Dense d(layers::DenseOptions{.units = 2}, LayerOptions{.name = "d1"});
         d(Tensor::from(std::vector<std::int32_t>{1, 2}, {1, 2}));
       }, Kind::DType, "[d1] Exception encountered when calling layer 'd1' (Dense): [matmul] dtypes differ: int32 @ float32"},
      {"embedding float indices", [] {
         layers::Embedding emb(layers::EmbeddingOptions{.input_dim = 4, .output_dim = 2}, LayerOptions{.name = "emb1"});
         emb(ones({2}));
       }, Kind::DType, "[emb1] Embedding expects integer indices, got dtype float32"},
      {"layer int dtype", [] { layers::Dense(layers::DenseOptions{.units = 2}, LayerOptions{.dtype = DType::int32}); },
       Kind::DType, "[Dense] layer dtype must be float32 or float64, got int32"},
      {"mse int y_pred", [] {
         losses::MeanSquaredError()(ones({2}), Tensor::from(std::vector<std::int32_t>{1, 2}, {2}));
       }, Kind::DType, "[mean_squared_error] y_pred must be float32 or float64, got int32"},
      {"unknown layer class", [] { layer_from_config("Dnse", Config{}); }, Kind::Value, "[layer registry] unknown name 'Dnse'. Did you mean: Dense"},
      {"unknown optimizer", [] { Sequential().compile("adamm", "mse"); }, Kind::Value, "[make_optimizer] Could not interpret optimizer identifier: 'adamm'"},
      {"unknown loss", [] { Sequential().compile("adam", "msee"); }, Kind::Value, "[make_loss] unknown loss 'msee'"},
      {"unknown metric", [] { Sequential().compile("adam", "mse", {"acuracy"}); }, Kind::Value, ".compile] [make_metric] unknown metric 'acuracy'"},
      // losses
      {"sparse label out of range", [=] {
         losses::SparseCategoricalCrossentropy({.from_logits = true})(labels3, ones({3, 2}));
       }, Kind::Index, "[sparse_categorical_crossentropy] label"},
      {"sparse negative label", [] {
         losses::SparseCategoricalCrossentropy({.from_logits = true})(Tensor::from(std::vector<std::int64_t>{-2}, {1}),
                                                                     ones({1, 2}));
       }, Kind::Index, "[sparse_categorical_crossentropy] label"},
      {"sparse NaN label", [] {
         losses::SparseCategoricalCrossentropy({.from_logits = true})(Tensor::from(std::vector<float>{std::nanf("")}, {1}),
                                                                     ones({1, 2}));
       }, Kind::Value, "[sparse_categorical_crossentropy] label nan"},
      {"mse shape", [=] { losses::MeanSquaredError()(x23, x45); }, Kind::Shape, "[mean_squared_error]"},
      // training
      {"fit before compile", [] { Sequential().fit(ones({2, 2}), ones({2, 1})); }, Kind::Value, "] You must call compile() before fit()"},
      {"fit empty", [] { compiled_mlp()->fit(zeros({0, 5}), zeros({0})); }, Kind::Value, ".fit] empty dataset"},
      {"fit sample mismatch", [] { compiled_mlp()->fit(ones({4, 5}), zeros({3})); }, Kind::Shape, ".fit] x and y have different numbers of samples: x (4, 5), y (3,)"},
      {"fit label out of range", [] {
         compiled_mlp()->fit(ones({2, 5}), Tensor::from(std::vector<std::int64_t>{0, 7}, {2}), {.verbose = 0});
       }, Kind::Index, "[sparse_categorical_crossentropy] label 7"},
      {"fit negative batch", [] { compiled_mlp()->fit(ones({2, 5}), zeros({2}), {.batch_size = -3}); }, Kind::Value, ".fit] batch_size"},
      {"fit NaN in x", [] {
         std::vector<float> v(15, 1.0f);
         v[7] = std::nanf("");
         Tensor x = Tensor::from(v, {3, 5});
         compiled_mlp()->fit(x, zeros({3}), {.verbose = 0});
       }, Kind::Value, ".fit] x contains NaN (first in sample 1 of 3, flat index 7 of x (3, 5))"},
      {"fit infinity in y", [] {
         auto m = compiled_mlp();
         m->compile("sgd", "mse");
         std::vector<float> v(6, 0.0f);
         v[3] = INFINITY;
         Tensor y = Tensor::from(v, {2, 3});
         m->fit(ones({2, 5}), y, {.verbose = 0});
       }, Kind::Value, ".fit] y contains infinity (first in sample 1 of 2"},
      {"evaluate NaN in x", [] {
         std::vector<float> v(10, 1.0f);
         v[0] = std::nanf("");
         Tensor x = Tensor::from(v, {2, 5});
         compiled_mlp()->evaluate(x, zeros({2}));
       }, Kind::Value, ".evaluate] x contains NaN (first in sample 0"},
      {"fit bad validation_split", [] {
         compiled_mlp()->fit(ones({2, 5}), zeros({2}), {.validation_split = 1.5});
       }, Kind::Value, ".fit] validation_split"},
      // optimizers
      {"sgd negative lr", [] { optim::SGD(optim::SGDConfig{.learning_rate = -1}); }, Kind::Value, "[SGD] `learning_rate`"},
      {"adam beta_1", [] { optim::Adam(optim::AdamConfig{.beta_1 = 1.5}); }, Kind::Value, "[Adam] `beta_1` must be in [0, 1]. Received: beta_1=1.5"},
      // serialization and data
      {"load missing file", [] { load_model("/nonexistent/m.lamina"); }, Kind::IO, "[load] cannot open '/nonexistent/m.lamina'"},
      {"model_from_json garbage", [] { model_from_json("{\"class_name\": 3}"); }, Kind::Value, "[load] architecture: expected {\"class_name\", \"config\"}"},
      {"read_idx missing", [] { data::read_idx("/nonexistent/x.idx"); }, Kind::IO, "[read_idx] cannot open '/nonexistent/x.idx'"},
      {"read_idx corrupt gzip", [] { data::read_idx(corrupt_gzip_file()); }, Kind::IO, "[read_idx] '" + corrupt_gzip_file() + "': truncated gzip stream"},
  };
  return t;
}

TEST(BadInputSweep, EachGetsItsTypedExceptionNamingTheOpOrLayer) {
  for (const BadInput& c : bad_inputs()) {
    SCOPED_TRACE(c.what);
    try {
      c.call();
      ADD_FAILURE() << "no exception";
    } catch (const Error& e) {
      expect_kind(c.kind, e);
      EXPECT_THAT(e.what(), HasSubstr(c.message));
    } catch (const std::exception& e) {
      ADD_FAILURE() << "not a lamina::Error: " << e.what();
    }
  }
  std::filesystem::remove(corrupt_gzip_file());
}

}  // namespace
}  // namespace lamina
