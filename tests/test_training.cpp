// Model.compile/fit/evaluate/predict and callbacks (keras-semantics B5, E).
#include "gradcheck.h"

namespace lamina {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::ThrowsMessage;
using testing::expect_close;

std::shared_ptr<Sequential> linear_model(double kernel_value, std::int64_t in = 1) {
  return std::make_shared<Sequential>(std::vector<std::shared_ptr<Layer>>{std::make_shared<layers::Dense>(
      layers::DenseOptions{.units = 1, .kernel_initializer = initializers::Constant(kernel_value)})});
}

std::shared_ptr<optim::Optimizer> frozen_sgd() {
  return std::make_shared<optim::SGD>(optim::SGDConfig{.learning_rate = 0.0});
}

// Two separable Gaussian blobs.
std::pair<Tensor, Tensor> blobs(std::int64_t n, std::uint64_t seed) {
  Tensor x = normal({n, 2}, 0, 0.5, seed);
  std::vector<std::int64_t> labels(n);
  for (std::int64_t i = 0; i < n; ++i) labels[i] = i % 2;
  Tensor y = Tensor::from(labels, {n});
  Tensor shift = core::mul(core::sub(y.to(DType::float32).unsqueeze(1), 0.5), 4.0);
  return {core::add(x, shift), y};
}

TEST(TrainingE, FitConvergesOnSeparableProblem) {
  set_random_seed(1);
  auto [x, y] = blobs(512, 3);
  auto model = std::make_shared<Sequential>(std::vector<std::shared_ptr<Layer>>{
      std::make_shared<layers::Dense>(layers::DenseOptions{.units = 8, .activation = "relu"}),
      std::make_shared<layers::Dense>(layers::DenseOptions{.units = 2})});
  model->compile(std::make_shared<optim::Adam>(optim::AdamConfig{.learning_rate = 0.05}),
                 std::make_shared<losses::SparseCategoricalCrossentropy>(
                     losses::SparseCategoricalCrossentropyConfig{.from_logits = true}),
                 {"accuracy"});
  auto history = model->fit(x, y, {.batch_size = 64, .epochs = 10, .seed = 5, .verbose = 0});
  EXPECT_EQ(history->keys(), (std::vector<std::string>{"loss", "accuracy"}));
  EXPECT_LT(history->history().at("loss").back(), history->history().at("loss").front());
  Logs result = model->evaluate(x, y, 128);
  EXPECT_GE(*result.get("accuracy"), 0.97);
  EXPECT_EQ(model->metrics_names(), (std::vector<std::string>{"loss", "accuracy"}));
  EXPECT_EQ(model->predict(x.slice(0, 0, 3)).shape(), (Shape{3, 2}));
}

TEST(TrainingE, ValidationSplitTakesTheLastSamples) {
  // Rows 0..7 hold 1, rows 8..9 hold 2; y = 0; kernel 1, no learning:
  // loss = mean(1^2) = 1, val_loss = mean(2^2) = 4, whatever the shuffle.
  Tensor x = Tensor::from({1.f, 1.f, 1.f, 1.f, 1.f, 1.f, 1.f, 1.f, 2.f, 2.f}, {10, 1});
  Tensor y = zeros({10, 1});
  auto model = linear_model(1.0);
  model->compile(frozen_sgd(), std::make_shared<losses::MeanSquaredError>());
  auto h = model->fit(x, y, {.batch_size = 3, .epochs = 2, .validation_split = 0.2, .verbose = 0});
  EXPECT_EQ(h->keys(), (std::vector<std::string>{"loss", "val_loss"}));
  EXPECT_DOUBLE_EQ(h->history().at("loss")[1], 1.0);
  EXPECT_DOUBLE_EQ(h->history().at("val_loss")[1], 4.0);
}

TEST(TrainingB5, ReportedLossIncludesRegularizationExactly) {
  Tensor x = Tensor::from({1.f, 2.f}, {2, 1});
  Tensor y = zeros({2, 1});
  auto plain = linear_model(3.0);
  plain->compile(frozen_sgd(), std::make_shared<losses::MeanSquaredError>());
  const double base = *plain->test_on_batch(x, y).get("loss");  // mean(9, 36) = 22.5
  EXPECT_DOUBLE_EQ(base, 22.5);
  auto reg = std::make_shared<Sequential>(std::vector<std::shared_ptr<Layer>>{std::make_shared<layers::Dense>(
      layers::DenseOptions{.units = 1, .kernel_initializer = initializers::Constant(3.0),
                           .kernel_regularizer = regularizers::L2(0.5)})});
  reg->compile(frozen_sgd(), std::make_shared<losses::MeanSquaredError>());
  EXPECT_DOUBLE_EQ(*reg->test_on_batch(x, y).get("loss"), 22.5 + 0.5 * 9);
  EXPECT_DOUBLE_EQ(*reg->train_on_batch(x, y).get("loss"), 22.5 + 0.5 * 9);
}

class AddLossModel : public Model {
 public:
  AddLossModel() : Model("AddLossModel") {}

 protected:
  Tensor call(const Tensor& x, const CallContext& ctx) override {
    Tensor y = (*dense_)(x, ctx.training);
    add_loss(mul(sum(y), 0.1));
    return y;
  }

 private:
  std::shared_ptr<layers::Dense> dense_ = add_layer<layers::Dense>(
      layers::DenseOptions{.units = 1, .kernel_initializer = initializers::Constant(1.0)});
};

TEST(TrainingB5, AddLossJoinsTheLossAndCanStandAlone) {
  Tensor x = Tensor::from({1.f, 2.f}, {2, 1});
  Tensor y = zeros({2, 1});
  AddLossModel with_loss;
  with_loss.compile(frozen_sgd(), std::make_shared<losses::MeanSquaredError>());
  EXPECT_NEAR(*with_loss.test_on_batch(x, y).get("loss"), 2.5 + 0.3, 1e-6);
  AddLossModel only;
  only.compile(frozen_sgd());  // no compiled loss: add_loss alone is the loss
  EXPECT_NEAR(*only.test_on_batch(x, y).get("loss"), 0.3, 1e-6);
  auto no_loss = linear_model(1.0);
  no_loss->compile(frozen_sgd());
  EXPECT_THAT([&] { no_loss->train_on_batch(x, y); },
              ThrowsMessage<ValueError>(HasSubstr("No loss to compute. Provide a `loss` argument in `compile()`.")));
}

class BatchCounter : public Callback {
 public:
  int batches = 0, epochs = 0;
  void on_train_batch_end(int, const Logs&) override { ++batches; }
  void on_epoch_end(int, Logs&) override { ++epochs; }
};

TEST(TrainingE, FirstBatchOfAnUnbuiltModelTrainsIt) {
  // The first call builds the model; that batch's step must update the new
  // weights as on a model built beforehand (Keras builds before stepping).
  const Tensor x = Tensor::from(std::vector<float>{1, 2, 3, 4}, {4, 1});
  const Tensor y = Tensor::from(std::vector<float>{3, 5, 7, 9}, {4, 1});
  auto make = [] {
    auto m = linear_model(0.5);
    m->compile(std::make_shared<optim::SGD>(optim::SGDConfig{.learning_rate = 0.01}),
               std::make_shared<losses::MeanSquaredError>());
    return m;
  };
  auto built = make();
  built->predict(x);
  built->train_on_batch(x, y);
  auto lazy = make();
  lazy->train_on_batch(x, y);
  EXPECT_EQ(lazy->optimizer()->iterations(), 1);
  // Kernel 0.5, bias 0: MSE gradient wrt the kernel is 2/4 * sum((0.5 x - y) x) = -27.5.
  EXPECT_FLOAT_EQ(lazy->weights()[0].value().item<float>(), 0.5f + 0.01f * 27.5f);
  ASSERT_EQ(lazy->weights().size(), built->weights().size());
  for (std::size_t i = 0; i < lazy->weights().size(); ++i)
    EXPECT_EQ(lazy->weights()[i].value().item<float>(), built->weights()[i].value().item<float>()) << i;
}

TEST(TrainingE, LastPartialBatchIsKept) {
  auto model = linear_model(1.0);
  model->compile(frozen_sgd(), std::make_shared<losses::MeanSquaredError>());
  auto counter = std::make_shared<BatchCounter>();
  model->fit(ones({10, 1}), zeros({10, 1}), {.batch_size = 4, .epochs = 2, .callbacks = {counter}, .verbose = 0});
  EXPECT_EQ(counter->batches, 6);
  EXPECT_EQ(counter->epochs, 2);
}

TEST(TrainingE13, TerminateOnNaNStopsAtFirstBadBatch) {
  std::vector<float> xs(12, 1.f);
  xs[9] = std::nanf("");  // sample 9 is in batch 4 (batch size 2, no shuffle)
  auto model = linear_model(1.0);
  model->compile(std::make_shared<optim::SGD>(), std::make_shared<losses::MeanSquaredError>());
  auto counter = std::make_shared<BatchCounter>();
  // Keras trains on NaN data; lamina refuses it unless check_finite = false.
  EXPECT_THROW(model->fit(Tensor::from(xs, {12, 1}), zeros({12, 1}), {.batch_size = 2, .verbose = 0}), ValueError);
  model->fit(Tensor::from(xs, {12, 1}), zeros({12, 1}),
             {.batch_size = 2, .epochs = 3, .shuffle = false,
              .callbacks = {std::make_shared<TerminateOnNaN>(), counter}, .verbose = 0, .check_finite = false});
  EXPECT_EQ(counter->batches, 5);
  EXPECT_EQ(counter->epochs, 1);
}

TEST(TrainingE9, EarlyStoppingStopsAtTheGuideEpoch) {
  auto model = linear_model(1.0);
  EarlyStopping es({.monitor = "val_loss", .min_delta = 1e-2, .patience = 2});
  es.set_model(model.get());
  es.on_train_begin({});
  const double val[] = {0.2259, 0.1822, 0.1572, 0.1514, 0.1389, 0.1408, 0.1502};
  int epoch = 0;
  for (; epoch < 7 && !model->stop_training; ++epoch) {
    Logs logs;
    logs.set("val_loss", val[epoch]);
    es.on_epoch_end(epoch, logs);
  }
  EXPECT_EQ(epoch, 7);
  EXPECT_EQ(es.stopped_epoch(), 6);  // "Epoch 7: early stopping"
  EXPECT_EQ(es.best_epoch(), 4);
}

TEST(TrainingE9, EarlyStoppingRestoresBestWeights) {
  Tensor x = Tensor::from({1.f, 2.f, 3.f, 4.f}, {4, 1});
  Tensor y = core::mul(x, 2.0);
  auto model = linear_model(0.0);
  // A huge learning rate makes the loss diverge after the first epoch.
  model->compile(std::make_shared<optim::SGD>(optim::SGDConfig{.learning_rate = 1.0}),
                 std::make_shared<losses::MeanSquaredError>());
  auto es = std::make_shared<EarlyStopping>(EarlyStoppingOptions{.monitor = "loss", .patience = 1, .restore_best_weights = true});
  model->fit(x, y, {.batch_size = 4, .epochs = 6, .shuffle = false, .callbacks = {es}, .verbose = 0});
  EXPECT_GE(es->stopped_epoch(), 1);
  EXPECT_EQ(es->best_epoch(), 0);
}

TEST(TrainingE12, ReduceLROnPlateauAndScheduler) {
  Tensor x = ones({4, 1}), y = zeros({4, 1});
  auto model = linear_model(1.0);
  model->compile(frozen_sgd(), std::make_shared<losses::MeanSquaredError>());
  auto plateau = std::make_shared<ReduceLROnPlateau>(ReduceLROnPlateauOptions{.monitor = "loss", .patience = 1});
  auto scheduler = std::make_shared<LearningRateScheduler>([](int epoch, double) { return epoch == 0 ? 0.0 : 0.0; });
  auto h = model->fit(x, y, {.batch_size = 4, .epochs = 3, .callbacks = {plateau}, .verbose = 0});
  EXPECT_EQ(h->history().at("learning_rate").size(), 3u);
  EXPECT_THROW(ReduceLROnPlateau({.factor = 1.0}), ValueError);
}

TEST(TrainingE13, CSVLoggerWritesHeaderAndRows) {
  const std::string path = ::testing::TempDir() + "/lamina_log.csv";
  auto model = linear_model(1.0);
  model->compile(frozen_sgd(), std::make_shared<losses::MeanSquaredError>());
  model->fit(ones({4, 1}), zeros({4, 1}),
             {.batch_size = 2, .epochs = 2, .callbacks = {std::make_shared<CSVLogger>(path)}, .verbose = 0});
  std::FILE* f = std::fopen(path.c_str(), "r");
  ASSERT_NE(f, nullptr);
  char line[256];
  ASSERT_NE(std::fgets(line, sizeof line, f), nullptr);
  EXPECT_STREQ(line, "epoch,loss\n");
  ASSERT_NE(std::fgets(line, sizeof line, f), nullptr);
  EXPECT_STREQ(line, "0,1\n");
  std::fclose(f);
}

TEST(TrainingE6, ProgressLineFormat) {
  EXPECT_EQ(ProgbarLogger::format_value(0.30121), "0.3012");
  EXPECT_EQ(ProgbarLogger::format_value(0.0), "0.0000e+00");
  std::FILE* f = std::tmpfile();
  ProgbarLogger bar(938, 1, f, false);
  Logs logs;
  logs.set("loss", 0.3012);
  logs.set("accuracy", 0.8921);
  bar.on_epoch_begin(0, logs);
  bar.on_epoch_end(0, logs);
  std::rewind(f);
  char line[256];
  ASSERT_NE(std::fgets(line, sizeof line, f), nullptr);
  EXPECT_THAT(std::string(line), ::testing::MatchesRegex(
                                     "938/938 \\[==============================\\] - [0-9]+s [0-9]+us/step - "
                                     "loss: 0\\.3012 - accuracy: 0\\.8921\n"));
  std::fclose(f);
}

TEST(TrainingErrors, ClearMessages) {
  auto model = linear_model(1.0);
  EXPECT_THAT([&] { model->fit(ones({4, 1}), zeros({4, 1})); },
              ThrowsMessage<ValueError>(HasSubstr("You must call compile() before fit()")));
  model->compile(frozen_sgd(), std::make_shared<losses::MeanSquaredError>());
  EXPECT_THAT([&] { model->fit(ones({4, 1}), zeros({4, 1}), {.batch_size = 0}); },
              ThrowsMessage<ValueError>(HasSubstr("batch_size must be > 0, got 0")));
  EXPECT_THAT([&] { model->fit(ones({4, 1}), zeros({5, 1})); },
              ThrowsMessage<ShapeError>(HasSubstr("x and y have different numbers of samples: x (4, 1), y (5, 1)")));
  EXPECT_THAT([&] { model->fit(ones({0, 1}), zeros({0, 1})); }, ThrowsMessage<ValueError>(HasSubstr("empty dataset")));
  EXPECT_THROW(model->train_on_batch(ones({4, 1}), zeros({4, 3})), ShapeError);
}

}  // namespace
}  // namespace lamina
