// run_layer_test on every built-in layer: output shape, weight counts, config
// round trip (direct and by registered class name), training on/off, and
// gradients through the layer (inputs and weights) against finite differences.
#include <cmath>
#include <set>

#include "gradcheck.h"

namespace lamina {
namespace {

using testing::check_gradients;

struct LayerCase {
  std::string label;
  std::function<std::shared_ptr<Layer>(LayerOptions)> make;
  Shape input;
  Shape output;
  std::size_t trainable = 0;
  std::size_t non_trainable = 0;
  bool integer_input = false;
  bool stochastic = false;        // output differs between training on and off
  bool differentiable_input = true;
};

LayerOptions f64() { return LayerOptions{.dtype = DType::float64}; }

Tensor make_input(const LayerCase& c) {
  if (c.integer_input) return core::clip(uniform(c.input, 0, 9.99, 3, DType::float64), 0, 9).to(DType::int64);
  return uniform(c.input, -1, 1, 4, DType::float64);
}

// Finite differences on each weight (first elements), through set_weights.
void check_weight_gradients(Layer& layer, const Tensor& x) {
  const Tensor w_out = uniform(layer(x).shape(), 0.5, 1.5, 99, DType::float64);
  auto objective = [&] { return core::sum(core::mul((layer)(x, false), w_out)).item<double>(); };
  std::vector<Tensor> grads;
  {
    GradientTape tape;
    Tensor loss = sum(mul(layer(x, false), w_out));
    grads = tape.gradient(loss, layer.trainable_weights(), Tensor(), UnconnectedGradients::zero);
  }
  auto vars = layer.trainable_weights();
  for (std::size_t k = 0; k < vars.size(); ++k) {
    SCOPED_TRACE(vars[k].name());
    auto g = grads[k].to_vector<double>();
    Tensor value = vars[k].value();
    double* p = value.data<double>();
    for (std::int64_t i = 0; i < std::min<std::int64_t>(value.numel(), 12); ++i) {
      const double saved = p[i];
      p[i] = saved + 1e-6;
      const double up = objective();
      p[i] = saved - 1e-6;
      const double down = objective();
      p[i] = saved;
      EXPECT_NEAR(g[i], (up - down) / 2e-6, 1e-5 + 1e-5 * std::fabs(g[i])) << "element " << i;
    }
  }
}

void run_layer_test(const LayerCase& c) {
  SCOPED_TRACE(c.label);
  auto layer = c.make(f64());
  Tensor x = make_input(c);
  Tensor y = (*layer)(x);
  EXPECT_EQ(y.shape(), c.output);
  EXPECT_EQ(layer->trainable_weights().size(), c.trainable);
  EXPECT_EQ(layer->non_trainable_weights().size(), c.non_trainable);
  // Config round trip, directly and through the registry.
  const Config config = layer->get_config();
  auto rebuilt = layer_from_config(layer->class_name(), config);
  EXPECT_EQ(rebuilt->get_config(), config);
  EXPECT_EQ(rebuilt->class_name(), layer->class_name());
  // Training flag.
  Tensor inference = (*layer)(x, false);
  Tensor training = (*layer)(x, true);
  if (c.stochastic) {
    EXPECT_NE(inference.to_vector<double>(), training.to_vector<double>());
  } else if (layer->non_trainable_weights().empty()) {
    EXPECT_EQ(inference.to_vector<double>(), training.to_vector<double>());
  }
  if (c.stochastic) return;
  // Gradients w.r.t. the input and the weights.
  auto fresh = c.make(f64());
  (*fresh)(x);
  if (c.differentiable_input && !c.integer_input)
    check_gradients([&](const std::vector<Tensor>& xs) { return (*fresh)(xs[0], false); }, {x});
  check_weight_gradients(*fresh, x);
}

std::vector<LayerCase> cases() {
  using namespace layers;
  return {
      {"Dense", [](LayerOptions o) { return std::make_shared<Dense>(DenseOptions{.units = 3, .activation = "tanh"}, o); },
       {4, 5}, {4, 3}, 2},
      {"Dense3D", [](LayerOptions o) { return std::make_shared<Dense>(DenseOptions{.units = 2, .use_bias = false}, o); },
       {2, 3, 4}, {2, 3, 2}, 1},
      {"Activation", [](LayerOptions o) { return std::make_shared<Activation>("sigmoid", o); }, {3, 4}, {3, 4}},
      {"Flatten", [](LayerOptions o) { return std::make_shared<Flatten>(o); }, {2, 3, 4}, {2, 12}},
      {"Reshape", [](LayerOptions o) { return std::make_shared<Reshape>(std::vector<std::int64_t>{4, -1}, o); },
       {2, 3, 4}, {2, 4, 3}},
      {"Dropout", [](LayerOptions o) { return std::make_shared<Dropout>(DropoutOptions{.rate = 0.5, .seed = 1}, o); },
       {8, 16}, {8, 16}, 0, 0, false, true},
      {"BatchNormalization",
       [](LayerOptions o) { return std::make_shared<BatchNormalization>(BatchNormalizationOptions{}, o); }, {6, 3}, {6, 3},
       2, 2},
      {"BatchNormalization4D",
       [](LayerOptions o) { return std::make_shared<BatchNormalization>(BatchNormalizationOptions{}, o); },
       {2, 3, 4, 5}, {2, 3, 4, 5}, 2, 2},
      {"LayerNormalization",
       [](LayerOptions o) { return std::make_shared<LayerNormalization>(LayerNormalizationOptions{}, o); }, {3, 5},
       {3, 5}, 2},
      {"Embedding",
       [](LayerOptions o) { return std::make_shared<Embedding>(EmbeddingOptions{.input_dim = 10, .output_dim = 4}, o); },
       {2, 3}, {2, 3, 4}, 1, 0, true},
      {"ActivityRegularization",
       [](LayerOptions o) { return std::make_shared<ActivityRegularization>(0.01, 0.02, o); }, {3, 2}, {3, 2}},
      {"Rescaling", [](LayerOptions o) { return std::make_shared<Rescaling>(1.0 / 127.5, -1.0, o); }, {2, 3, 4},
       {2, 3, 4}},
      {"Sequential",
       [](LayerOptions o) {
         return std::make_shared<Sequential>(
             std::vector<std::shared_ptr<Layer>>{
                 std::make_shared<Dense>(DenseOptions{.units = 4, .activation = "relu"}, f64()),
                 std::make_shared<Dense>(DenseOptions{.units = 2}, f64())},
             o);
       },
       {3, 5}, {3, 2}, 4},
  };
}

TEST(LayerTest, EveryBuiltinLayer) {
  set_random_seed(11);
  for (const auto& c : cases()) run_layer_test(c);
}

TEST(LayerTest, EveryRegisteredLayerHasACase) {
  std::set<std::string> covered;
  for (const auto& c : cases()) covered.insert(c.make(f64())->class_name());
  for (const auto& name : {"Dense", "Activation", "Flatten", "Reshape", "Dropout", "BatchNormalization",
                           "LayerNormalization", "Embedding", "ActivityRegularization", "Rescaling", "Sequential"})
    EXPECT_TRUE(covered.count(name)) << name;
}

TEST(LayerTest, BatchNormalizationOverChannelsMatchesTheFormula) {
  using namespace layers;
  // NHWC with per-channel offsets far from zero: training output against
  // (x - mean) / sqrt(var + eps) * gamma + beta in float64.
  BatchNormalization bn(BatchNormalizationOptions{.epsilon = 1e-3}, f64());
  Tensor x = core::add(uniform({3, 4, 5, 2}, -1, 1, 21, DType::float64), Tensor::from({100.0, -3.0}));
  bn(x);  // build
  bn.weights()[0].assign(Tensor::from({1.5, -0.5}));  // gamma
  bn.weights()[1].assign(Tensor::from({0.25, 2.0}));  // beta
  const Tensor y = bn(x, /*training=*/true);
  const auto xv = x.to_vector<double>(), yv = y.to_vector<double>();
  const double gamma[2] = {1.5, -0.5}, beta[2] = {0.25, 2.0};
  for (int c = 0; c < 2; ++c) {
    double m = 0, v = 0;
    const int n = 3 * 4 * 5;
    for (int i = 0; i < n; ++i) m += xv[i * 2 + c];
    m /= n;
    for (int i = 0; i < n; ++i) v += (xv[i * 2 + c] - m) * (xv[i * 2 + c] - m);
    v /= n;
    for (int i = 0; i < n; ++i)
      EXPECT_NEAR(yv[i * 2 + c], (xv[i * 2 + c] - m) / std::sqrt(v + 1e-3) * gamma[c] + beta[c], 1e-11) << c;
  }
}

TEST(LayerTest, RescalingLikeKeras) {
  using namespace layers;
  // Keras's doc example: [0, 255] -> [-1, 1] with scale 1/127.5, offset -1;
  // uint8 input is cast to the layer's dtype first.
  Rescaling to_unit(1.0 / 127.5, -1.0);
  const Tensor y = to_unit(Tensor::from<std::uint8_t>({0, 51, 255, 128}, {2, 2}));
  EXPECT_EQ(y.dtype(), DType::float32);
  EXPECT_EQ(y.shape(), (Shape{2, 2}));
  EXPECT_FLOAT_EQ(y.at<float>(0, 0), -1.0f);
  EXPECT_FLOAT_EQ(y.at<float>(0, 1), -0.6f);
  EXPECT_FLOAT_EQ(y.at<float>(1, 0), 1.0f);
  EXPECT_NEAR(y.at<float>(1, 1), 128 / 127.5 - 1, 1e-7);
  EXPECT_TRUE(to_unit.weights().empty());
  EXPECT_EQ(to_unit.get_config().get<double>("offset"), -1.0);
  Rescaling by_255(1.0 / 255, 0.0, LayerOptions{.dtype = DType::float64});
  EXPECT_DOUBLE_EQ(by_255(Tensor::from<std::int64_t>({51}, {1})).at<double>(0), 0.2);
  EXPECT_THAT([] { Rescaling(std::nan(""), 0.0, LayerOptions{.name = "pre"}); },
              ::testing::ThrowsMessage<ValueError>(::testing::HasSubstr("[pre] Rescaling expects a finite scale")));
}

TEST(LayerTest, BadConstructorArguments) {
  using namespace layers;
  EXPECT_THROW(Embedding(EmbeddingOptions{.input_dim = 0, .output_dim = 2}), ValueError);
  EXPECT_THROW(Reshape(std::vector<std::int64_t>{-1, -1}), ValueError);
  EXPECT_THROW(Rescaling(1.0, INFINITY), ValueError);
  EXPECT_THROW(BatchNormalization(BatchNormalizationOptions{.epsilon = 0}), ValueError);
  EXPECT_THROW(Activation("nope"), ValueError);
  Embedding e(EmbeddingOptions{.input_dim = 3, .output_dim = 2});
  EXPECT_THROW(e(Tensor::from<std::int64_t>({0, 5})), IndexError);
}

TEST(LayerTest, SummaryListsLayersAndParameterCounts) {
  Sequential model({std::make_shared<layers::Dense>(layers::DenseOptions{.units = 4}),
                    std::make_shared<layers::BatchNormalization>(),
                    std::make_shared<layers::Dense>(layers::DenseOptions{.units = 2})},
                   LayerOptions{.name = "summary_model"});
  model(ones({2, 3}));
  const std::string s = model.summary();
  EXPECT_THAT(s, ::testing::HasSubstr("Model: \"summary_model\""));
  EXPECT_THAT(s, ::testing::HasSubstr("(None, 4)"));
  EXPECT_THAT(s, ::testing::HasSubstr("Total params: 42"));  // 16 + 16 + 10
  EXPECT_THAT(s, ::testing::HasSubstr("Trainable params: 34"));
  EXPECT_THAT(s, ::testing::HasSubstr("Non-trainable params: 8"));
}

}  // namespace
}  // namespace lamina
