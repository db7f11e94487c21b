// Serialization (issue 7, keras-semantics D): JSON configs, architecture,
// weights files, whole-model checkpoints, exact resume, bad input, ModelCheckpoint.
#include <gtest/gtest.h>
#include <zlib.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>

#include "lamina/lamina.h"
#include "lamina/serialization/json.h"
#include "lamina/serialization/model_checkpoint.h"
#include "lamina/serialization/saving.h"
#include "saving_test_util.h"

using namespace lamina;
namespace fs = std::filesystem;

// The seed's custom layer (layers/layer.h docs), registered by class name.
class Linear : public Layer {
 public:
  explicit Linear(std::int64_t units = 32, LayerOptions base = {}) : Layer("Linear", std::move(base)), units_(units) {}
  Config get_config() const override { return Layer::get_config().set("units", units_); }
  static std::shared_ptr<Linear> from_config(const Config& c) {
    return std::make_shared<Linear>(c.get<std::int64_t>("units"), LayerOptions::from_config(c));
  }

 protected:
  void build(const Shape& input_shape) override {
    w_ = add_weight("w", {input_shape.back(), units_}, "random_normal");
    b_ = add_weight("b", {units_}, "random_normal");
  }
  Tensor call(const Tensor& x, const CallContext&) override { return matmul(x, w_) + b_; }

 private:
  std::int64_t units_;
  Variable w_, b_;
};
LAMINA_REGISTER_LAYER(Linear);

namespace {

fs::path temp_dir() { return lamina::testing::scratch_dir("lamina_ser_"); }
using lamina::testing::bit_equal;
using lamina::testing::error_of;
using lamina::testing::expect_same_weights;

Tensor data_x(std::int64_t n, std::int64_t d, std::uint64_t seed) { return uniform({n, d}, -1.0, 1.0, seed); }
Tensor data_y(std::int64_t n, std::int64_t classes) {
  std::vector<std::int64_t> v(n);
  for (std::int64_t i = 0; i < n; ++i) v[i] = (i * 7 + 3) % classes;
  return Tensor::from(v, {n});
}

std::shared_ptr<Sequential> small_model(bool dropout = true) {
  std::vector<std::shared_ptr<Layer>> ls{std::make_shared<Linear>(8)};
  ls.push_back(std::make_shared<layers::Activation>(ActivationRef("relu")));
  if (dropout) ls.push_back(std::make_shared<layers::Dropout>(0.25));
  ls.push_back(std::make_shared<layers::Dense>(layers::DenseOptions{.units = 3}));
  auto m = std::make_shared<Sequential>(ls);
  m->build_for({4, 5});
  (*m)(zeros({1, 5}));
  return m;
}

std::vector<std::uint8_t> compiled_small_bytes() {
  auto m = small_model();
  m->compile("adam", "sparse_categorical_crossentropy", {"accuracy"});
  m->train_on_batch(data_x(4, 5, 1), data_y(4, 3));
  return serialize_model(*m, {.training_position = TrainingPosition{.epoch = 3, .step = 0, .shuffle_seed = 9}});
}

// --- a tiny container editor (FORMAT.md) for crafting bad files ---------------
struct Section {
  std::uint32_t tag;
  std::vector<std::uint8_t> payload;
};
struct Container {
  std::uint32_t version, kind;
  std::vector<Section> sections;
};
Container split(const std::vector<std::uint8_t>& b) {
  Container c;
  std::memcpy(&c.version, b.data() + 8, 4);
  std::memcpy(&c.kind, b.data() + 12, 4);
  std::uint32_t n;
  std::memcpy(&n, b.data() + 16, 4);
  std::size_t pos = 24;
  for (std::uint32_t i = 0; i < n; ++i) {
    Section s;
    std::uint64_t len;
    std::memcpy(&s.tag, b.data() + pos, 4);
    std::memcpy(&len, b.data() + pos + 8, 8);
    s.payload.assign(b.begin() + pos + 20, b.begin() + pos + 20 + len);
    pos += 20 + len;
    c.sections.push_back(std::move(s));
  }
  return c;
}
template <class T>
void put(std::vector<std::uint8_t>& b, T v) {
  auto* p = reinterpret_cast<const std::uint8_t*>(&v);
  b.insert(b.end(), p, p + sizeof v);
}
std::vector<std::uint8_t> join(const Container& c, std::optional<std::uint64_t> forced_len_of_first = std::nullopt) {
  std::vector<std::uint8_t> b{0x89, 'L', 'M', 'N', 'A', '\r', '\n', 0x1a};
  put(b, c.version);
  put(b, c.kind);
  put(b, static_cast<std::uint32_t>(c.sections.size()));
  put(b, static_cast<std::uint32_t>(crc32(0, b.data(), 20)));
  for (std::size_t i = 0; i < c.sections.size(); ++i) {
    const auto& s = c.sections[i];
    const std::size_t start = b.size();
    put(b, s.tag);
    put(b, std::uint32_t{0});
    put(b, static_cast<std::uint64_t>(i == 0 && forced_len_of_first ? *forced_len_of_first : s.payload.size()));
    std::uint32_t crc = static_cast<std::uint32_t>(crc32(0, b.data() + start, 16));
    crc = static_cast<std::uint32_t>(crc32(crc, s.payload.data(), static_cast<uInt>(s.payload.size())));
    put(b, crc);
    b.insert(b.end(), s.payload.begin(), s.payload.end());
  }
  return b;
}
constexpr std::uint32_t tag(const char (&s)[5]) {
  return std::uint32_t(std::uint8_t(s[0])) | std::uint32_t(std::uint8_t(s[1])) << 8 |
         std::uint32_t(std::uint8_t(s[2])) << 16 | std::uint32_t(std::uint8_t(s[3])) << 24;
}
Section* find(Container& c, const char (&t)[5]) {
  for (auto& s : c.sections)
    if (s.tag == tag(t)) return &s;
  return nullptr;
}


}  // namespace

// ============================================================================
// JSON

TEST(Json, RoundTripKeepsIntsDoublesAndNesting) {
  Config inner;
  inner.set("x", 1).set("y", 1.0).set("z", ConfigList{ConfigValue(1), ConfigValue(2.5), ConfigValue("s"), ConfigValue()});
  Config c;
  c.set("int", std::int64_t{-9007199254740993}).set("one_point_zero", 1.0).set("tenth", 0.1).set("big", 1e300)
      .set("tiny", 5e-324).set("neg_zero", -0.0).set("inf", std::numeric_limits<double>::infinity())
      .set("str", "quote\" backslash\\ newline\n unicode \xc3\xa9").set("t", true).set("f", false).set("null", nullptr)
      .set("nested", inner).set("list_of_lists", ConfigList{ConfigValue(ConfigList{}), ConfigValue(Config())});
  const std::string text = to_json(c);
  Config back = config_from_json(text);
  EXPECT_EQ(back, c) << text;
  EXPECT_TRUE(std::holds_alternative<double>(back.at("one_point_zero").value));
  EXPECT_TRUE(std::holds_alternative<std::int64_t>(back.get<Config>("nested").at("x").value));
  EXPECT_TRUE(std::signbit(back.get<double>("neg_zero")));
  EXPECT_EQ(to_json(back), text);  // stable text
}

TEST(Json, NumbersParseExactlyIncludingEdgeCases) {
  auto number = [](const std::string& text) { return config_value_from_json(text); };
  // Zero significands with large exponents: rapidjson 1.1's own conversion
  // has undefined behaviour there (the loader fuzzer found "0E66").
  EXPECT_EQ(std::get<double>(number("0E66").value), 0.0);
  EXPECT_EQ(std::get<double>(number("0.000e300").value), 0.0);
  EXPECT_TRUE(std::signbit(std::get<double>(number("-0.0e-999").value)));
  EXPECT_EQ(std::get<double>(number("1e-400").value), 0.0);  // underflow to zero, like strtod
  EXPECT_EQ(std::get<double>(number("0.1").value), 0.1);
  EXPECT_EQ(std::get<double>(number("2.2250738585072011e-308").value), 2.2250738585072011e-308);
  EXPECT_EQ(std::get<double>(number("4.9e-324").value), 4.9e-324);
  EXPECT_EQ(std::get<double>(number("1.7976931348623157e308").value), 1.7976931348623157e308);
  EXPECT_EQ(std::get<std::int64_t>(number("-9223372036854775808").value), std::numeric_limits<std::int64_t>::min());
  EXPECT_EQ(std::get<double>(number("9223372036854775808").value), 9223372036854775808.0);  // beyond int64
  EXPECT_EQ(std::get<std::int64_t>(number("-0").value), 0);
  EXPECT_TRUE(std::isnan(std::get<double>(number("NaN").value)));
  EXPECT_EQ(std::get<double>(number("-Infinity").value), -std::numeric_limits<double>::infinity());
  EXPECT_EQ(std::get<double>(std::get<ConfigList>(number("[Infinity]").value).at(0).value),
            std::numeric_limits<double>::infinity());
  // Too large for a double: rapidjson's own check refuses exponents above 308.
  EXPECT_NE(error_of<ValueError>([&] { number("1e400"); }).find("too big"), std::string::npos);
  EXPECT_NE(error_of<ValueError>([&] { number("0.000e400"); }).find("too big"), std::string::npos);
  EXPECT_NE(error_of<ValueError>([&] { number("9.9e308"); }).find("out of range for a double"), std::string::npos);
  EXPECT_NE(error_of<ValueError>([&] { number("{\"a\": 1e99999}"); }).find("[config_from_json]"), std::string::npos);
}

TEST(Json, MalformedTextIsAValueErrorWithPosition) {
  const std::string msg = error_of<ValueError>([] { config_from_json("{\"units\": 64,\n \"x\": }"); });
  EXPECT_NE(msg.find("offset 20 (line 2, column 7)"), std::string::npos) << msg;
  EXPECT_NE(msg.find("line 2"), std::string::npos) << msg;
  EXPECT_NE(error_of<ValueError>([] { config_from_json("[1, 2]"); }).find("object"), std::string::npos);
  EXPECT_NE(error_of<ValueError>([] { config_from_json(""); }).find("offset 0"), std::string::npos);
  // Deep nesting: a clear error, no stack overflow.
  std::string deep(100000, '[');
  EXPECT_NE(error_of<ValueError>([&] { config_value_from_json(deep); }).find("[config_from_json]"), std::string::npos);
}

// ============================================================================
// Config round trip of every registered layer

namespace {
// A minimal config per class (classes not listed must accept an empty config).
Config minimal_config(const std::string& cls) {
  Config c;
  if (cls == "Dense") c.set("units", 4).set("activation", "relu");
  else if (cls == "Linear") c.set("units", 3);
  else if (cls == "Dropout") c.set("rate", 0.5).set("seed", 7);
  else if (cls == "Activation") c.set("activation", "tanh");
  else if (cls == "Embedding") c.set("input_dim", 10).set("output_dim", 4);
  else if (cls == "Reshape") c.set("target_shape", std::vector<std::int64_t>{2, 3});
  else if (cls == "ActivityRegularization") c.set("l1", 0.01).set("l2", 0.0);
  else if (cls == "Rescaling") c.set("scale", 0.5).set("offset", 0.25);
  else if (cls == "Conv2D" || cls == "Conv1D") c.set("filters", 2).set("kernel_size", std::vector<std::int64_t>{3});
  else if (cls == "Sequential") {
    Config dense;
    dense.set("class_name", "Dense").set("config", Config().set("units", 2).set("name", "inner_dense"));
    c.set("layers", ConfigList{ConfigValue(dense)});
  }
  return c;
}
}  // namespace

TEST(ConfigRoundTrip, EveryRegisteredLayer) {
  const auto names = registered_layers();
  ASSERT_GE(names.size(), 10u);  // 9 built-in + Linear
  for (const auto& cls : names) {
    SCOPED_TRACE(cls);
    std::shared_ptr<Layer> layer;
    ASSERT_NO_THROW(layer = layer_from_config(cls, minimal_config(cls))) << "add a minimal config for " << cls;
    const Config config = layer->get_config();
    const Config parsed = config_from_json(to_json(config));
    EXPECT_EQ(parsed, config);
    auto again = layer_from_config(cls, parsed);
    EXPECT_EQ(again->get_config(), config);
    EXPECT_EQ(again->class_name(), cls);
    // Architecture envelope with a build shape: built, same weights' shapes.
    // Image layers take (batch, height, width, channels); Conv1D (batch, steps, channels).
    const bool image = cls.find("2D") != std::string::npos;
    const Shape input = image ? Shape{2, 6, 6, 3} : cls == "Conv1D" ? Shape{2, 6, 3} : Shape{2, 6};
    layer->build_for(input);
    (*layer)(zeros(input, cls == "Embedding" ? DType::int64 : DType::float32));
    auto rebuilt = model_from_json(model_to_json(*layer));
    EXPECT_TRUE(rebuilt->built());
    EXPECT_EQ(rebuilt->build_shape(), input);
    EXPECT_EQ(rebuilt->get_config(), config);
    auto wa = weight_paths(*layer), wb = weight_paths(*rebuilt);
    ASSERT_EQ(wa.size(), wb.size());
    for (std::size_t i = 0; i < wa.size(); ++i) {
      EXPECT_EQ(wa[i].first, wb[i].first);
      EXPECT_EQ(wa[i].second.shape(), wb[i].second.shape());
    }
  }
}

TEST(Architecture, EnvelopeIsStable) {
  auto m = small_model(false);
  Config env = config_from_json(model_to_json(*m));
  ASSERT_EQ(env.items().size(), 3u);
  EXPECT_EQ(env.items()[0].first, "class_name");
  EXPECT_EQ(env.items()[1].first, "config");
  EXPECT_EQ(env.items()[2].first, "build_config");
  EXPECT_EQ(env.get<std::string>("class_name"), "Sequential");
  EXPECT_EQ(env.get<Config>("build_config").get<std::vector<std::int64_t>>("input_shape"),
            (std::vector<std::int64_t>{4, 5}));
  auto unbuilt = std::make_shared<Sequential>();
  EXPECT_TRUE(config_from_json(model_to_json(*unbuilt)).get<Config>("build_config").at("input_shape").is_null());
}

TEST(Architecture, UnknownClassListsKnownNames) {
  const std::string msg = error_of<ValueError>(
      [] { model_from_json(R"({"class_name": "Densse", "config": {}, "build_config": {"input_shape": null}})"); });
  EXPECT_NE(msg.find("Could not locate class 'Densse'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("Dense"), std::string::npos) << msg;
  EXPECT_NE(msg.find("Linear"), std::string::npos) << msg;
}

// ============================================================================
// Whole model

TEST(SaveModel, LinearInsideSavedModelReloadsBitIdentical) {
  auto m = small_model();
  m->compile("adam", "sparse_categorical_crossentropy", {"accuracy"});
  m->train_on_batch(data_x(4, 5, 1), data_y(4, 3));
  const fs::path path = temp_dir() / "linear.lamina";
  m->save(path.string());  // Keras's model.save: the same file as save_model
  save_model(*m, (temp_dir() / "linear2.lamina").string());
  EXPECT_EQ(read_file_bytes(path.string()), read_file_bytes((temp_dir() / "linear2.lamina").string()));
  auto back = load_model(path.string());
  ASSERT_TRUE(back);
  EXPECT_EQ(back->get_config(), m->get_config());
  EXPECT_EQ(back->layers()[0]->class_name(), "Linear");
  expect_same_weights(*m, *back, lamina::testing::Keys::same);
  const Tensor x = data_x(16, 5, 2);
  EXPECT_TRUE(bit_equal(m->predict(x), back->predict(x)));
  ASSERT_TRUE(back->compiled());
  EXPECT_EQ(back->optimizer()->name(), "Adam");
  EXPECT_EQ(back->optimizer()->iterations(), 1);
  EXPECT_EQ(std::string(back->loss()->class_name()), "SparseCategoricalCrossentropy");
  EXPECT_EQ(back->metrics_names(), m->metrics_names());
  // No temporary files are left next to the target.
  for (const auto& e : fs::directory_iterator(temp_dir()))
    EXPECT_EQ(e.path().string().find(".tmp."), std::string::npos) << e.path();
}

TEST(SaveModel, OneMoreStepAfterReloadIsBitIdentical) {
  for (const char* opt : {"adam", "sgd", "rmsprop", "adagrad", "adamw"}) {
    SCOPED_TRACE(opt);
    set_random_seed(42);
    auto a = small_model();
    a->compile(opt, "sparse_categorical_crossentropy");
    const Tensor x = data_x(4, 5, 3), y = data_y(4, 3);
    for (int i = 0; i < 3; ++i) a->train_on_batch(x, y);
    const auto bytes = serialize_model(*a);
    const auto rng = random_seed_state();
    auto b = deserialize_model(bytes).model;
    EXPECT_EQ(random_seed_state(), rng);
    a->train_on_batch(x, y);  // dropout masks come from the restored generators
    b->train_on_batch(x, y);
    expect_same_weights(*a, *b, lamina::testing::Keys::any);
    EXPECT_EQ(a->optimizer()->iterations(), b->optimizer()->iterations());
  }
}

TEST(SaveModel, ExactResumeOfFit) {
  const Tensor x = data_x(40, 5, 4), y = data_y(40, 3);
  auto run = [&](auto&& between) {
    set_random_seed(7);
    auto m = small_model();
    m->compile("adam", "sparse_categorical_crossentropy", {"accuracy"});
    m->fit(x, y, {.batch_size = 8, .epochs = 2, .seed = 11, .verbose = 0});
    std::shared_ptr<Model> cont = between(m);
    cont->fit(x, y, {.batch_size = 8, .epochs = 4, .seed = 11, .verbose = 0, .initial_epoch = 2});
    return cont;
  };
  auto straight = run([](std::shared_ptr<Sequential> m) -> std::shared_ptr<Model> { return m; });
  auto resumed = run([](std::shared_ptr<Sequential> m) -> std::shared_ptr<Model> {
    const fs::path path = temp_dir() / "resume.lamina";
    save_model(*m, path.string(), {.training_position = TrainingPosition{.epoch = 2, .shuffle_seed = 11}});
    set_random_seed(12345);  // a "new process": unrelated global state
    auto ck = load_checkpoint(path.string());
    EXPECT_EQ(ck.training_position, (TrainingPosition{2, 0, 11}));
    return ck.model;
  });
  expect_same_weights(*straight, *resumed, lamina::testing::Keys::any);
}

TEST(SaveModel, UncompiledModelAndCompileFalse) {
  auto m = small_model(false);
  auto back = deserialize_model(serialize_model(*m)).model;
  EXPECT_FALSE(back->compiled());
  expect_same_weights(*m, *back, lamina::testing::Keys::any);
  auto compiled = deserialize_model(compiled_small_bytes(), {.compile = false}).model;
  EXPECT_FALSE(compiled->compiled());
}

// ============================================================================
// Weights files

TEST(Weights, SaveLoadRoundTripAndMismatchErrors) {
  auto a = small_model(false);
  const fs::path path = temp_dir() / "w.weights.lamina";
  save_weights(*a, path.string());
  // Same architecture built separately (other automatic names): loads by order.
  auto b = small_model(false);
  load_weights(*b, path.string());
  expect_same_weights(*a, *b, lamina::testing::Keys::any);
  // A model with one wider layer: nothing is modified, both shapes named.
  auto c = std::make_shared<Sequential>(std::vector<std::shared_ptr<Layer>>{
      std::make_shared<Linear>(8, LayerOptions{.name = a->layers()[0]->name()}),
      std::make_shared<layers::Activation>(ActivationRef("relu"), LayerOptions{.name = a->layers()[1]->name()}),
      std::make_shared<layers::Dense>(layers::DenseOptions{.units = 4}, LayerOptions{.name = a->layers()[2]->name()})});
  c->build_for({1, 5});
  (*c)(zeros({1, 5}));
  const auto before = c->get_weights();
  const std::string msg = error_of<ValueError>([&] { load_weights(*c, path.string()); });
  EXPECT_NE(msg.find("layer '" + a->layers()[2]->name() + "' weight 'kernel'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("model has (8, 4), file has (8, 3)"), std::string::npos) << msg;
  const auto after = c->get_weights();
  for (std::size_t i = 0; i < before.size(); ++i) EXPECT_TRUE(bit_equal(before[i], after[i]));
  // Unbuilt target.
  auto unbuilt = std::make_shared<Sequential>(std::vector<std::shared_ptr<Layer>>{std::make_shared<Linear>(8)});
  EXPECT_NE(error_of<ValueError>([&] { load_weights(*unbuilt, path.string()); }).find("not built"), std::string::npos);
  // load_model refuses a weights file.
  EXPECT_NE(error_of<ValueError>([&] { load_model(path.string()); }).find("weights file"), std::string::npos);
}

TEST(Weights, FailedLoadModelLeavesGlobalRandomStateAlone) {
  Container c = split(compiled_small_bytes());
  Section* w = find(c, "WGHT");
  ASSERT_NE(w, nullptr);
  // Change the first tensor's name so it matches nothing.
  w->payload[8] ^= 0x20;
  const auto bytes = join(c);
  set_random_seed(5);
  next_random_seed();
  const auto rng = random_seed_state();
  EXPECT_THROW(deserialize_model(bytes), ValueError);
  EXPECT_EQ(random_seed_state(), rng);
}

namespace {
// A layer that forwards to a layer it may share with other Wraps.
class Wrap : public Layer {
 public:
  Wrap(std::shared_ptr<Layer> inner, const std::string& name) : Layer("Wrap", LayerOptions{.name = name}), inner_(std::move(inner)) {
    track(inner_);
  }

 protected:
  Tensor call(const Tensor& x, const CallContext&) override { return (*inner_)(x); }

 private:
  std::shared_ptr<Layer> inner_;
};

// Its own weight plus two sublayers that share one Dense.
class Twin : public Layer {
 public:
  Twin() : Layer("Twin", LayerOptions{}) {
    auto shared = std::make_shared<layers::Dense>(layers::DenseOptions{.units = 3}, LayerOptions{.name = "shared"});
    left_ = std::make_shared<Wrap>(shared, "left");
    right_ = std::make_shared<Wrap>(shared, "right");
    track(left_);
    track(right_);
  }

 protected:
  void build(const Shape&) override { scale_ = add_weight("scale", {3}, "random_normal"); }
  Tensor call(const Tensor& x, const CallContext&) override { return ((*left_)(x) + (*right_)(x)) * scale_; }

 private:
  std::shared_ptr<Layer> left_, right_;
  Variable scale_;
};
}  // namespace

TEST(Weights, SharedSublayerKeepsTheRootsOwnWeights) {
  // weights() lists the shared Dense once; the root's own weight must not be
  // lost by counting the Dense under both parents.
  auto a = std::make_shared<Twin>();
  (*a)(uniform({2, 4}, -1.0, 1.0, 3));
  const auto paths = weight_paths(*a);
  ASSERT_EQ(paths.size(), 3u);
  EXPECT_EQ(paths[0].first, "scale");
  EXPECT_EQ(paths[1].first, "left/shared/kernel");
  EXPECT_EQ(paths[2].first, "left/shared/bias");
  const fs::path path = temp_dir() / "twin.weights.lamina";
  save_weights(*a, path.string());
  auto b = std::make_shared<Twin>();
  (*b)(zeros({1, 4}));
  load_weights(*b, path.string());
  expect_same_weights(*a, *b, lamina::testing::Keys::any);
}

TEST(Weights, DtypeMismatchNamesLayerWeightAndBothShapes) {
  auto a = small_model(false);
  const fs::path path = temp_dir() / "dtype.weights.lamina";
  save_weights(*a, path.string());
  auto c = std::make_shared<Sequential>(std::vector<std::shared_ptr<Layer>>{
      std::make_shared<Linear>(8, LayerOptions{.name = a->layers()[0]->name(), .dtype = DType::float64}),
      std::make_shared<layers::Activation>(ActivationRef("relu"), LayerOptions{.name = a->layers()[1]->name()}),
      std::make_shared<layers::Dense>(layers::DenseOptions{.units = 3}, LayerOptions{.name = a->layers()[2]->name()})});
  c->build_for({1, 5});
  (*c)(zeros({1, 5}));
  const auto before = c->get_weights();
  const std::string msg = error_of<ValueError>([&] { load_weights(*c, path.string()); });
  EXPECT_NE(msg.find("layer '" + a->layers()[0]->name() + "' weight 'w': dtype mismatch: model has float64 (5, 8), "
                     "file has float32 (5, 8)"),
            std::string::npos)
      << msg;
  const auto after = c->get_weights();
  for (std::size_t i = 0; i < before.size(); ++i) EXPECT_TRUE(bit_equal(before[i], after[i]));
}

// Flips the case of the first letter of every stored weight name (FORMAT.md:
// u32 count, then per tensor u32 name length, name, dtype, rank, 2 bytes,
// rank int64 extents, u64 byte count, bytes).
static void rename_every_weight(Section& w) {
  std::uint32_t count;
  std::memcpy(&count, w.payload.data(), 4);
  std::size_t pos = 4;
  for (std::uint32_t i = 0; i < count; ++i) {
    std::uint32_t name_len;
    std::memcpy(&name_len, w.payload.data() + pos, 4);
    w.payload[pos + 4] ^= 0x20;
    const std::uint8_t ndim = w.payload[pos + 4 + name_len + 1];
    std::uint64_t nbytes;
    std::memcpy(&nbytes, w.payload.data() + pos + 4 + name_len + 4 + 8 * ndim, 8);
    pos += 4 + name_len + 4 + 8 * ndim + 8 + nbytes;
  }
  ASSERT_EQ(pos, w.payload.size());
}

TEST(BadInput, LoadModelNeverMatchesWeightsByOrder) {
  // Every name wrong but counts and shapes right: load_weights may pair them
  // by order (another copy of the architecture), load_model must not (the
  // model comes from the file's own architecture, so the file is corrupt).
  Container c = split(compiled_small_bytes());
  Section* w = find(c, "WGHT");
  ASSERT_NE(w, nullptr);
  rename_every_weight(*w);
  const std::string msg = error_of<ValueError>([&] { deserialize_model(join(c)); });
  EXPECT_NE(msg.find("is missing from the file"), std::string::npos) << msg;
  EXPECT_NE(msg.find("matches no weight of the model"), std::string::npos) << msg;
}

TEST(BadInput, ArchitectureNeedingMoreWeightsThanTheFileHoldsAllocatesNothingBig) {
  // Dense(units=3) -> Dense(units=3000000) in the architecture: 96 MB of
  // kernel for a file of a few KB. Refused before the kernel is allocated.
  Container c = split(compiled_small_bytes());
  Section* arch = find(c, "ARCH");
  std::string json(arch->payload.begin(), arch->payload.end());
  const auto at = json.find("\"units\":3");
  ASSERT_NE(at, std::string::npos) << json;
  json.replace(at, 9, "\"units\":3000000");
  arch->payload.assign(json.begin(), json.end());
  const auto in_use_before = allocator_stats().bytes_in_use;
  const std::string msg = error_of<ValueError>([&] { deserialize_model(join(c)); });
  EXPECT_NE(msg.find("weight 'kernel' of shape (8, 3000000) (float32) needs 96000000 bytes"), std::string::npos) << msg;
  EXPECT_NE(msg.find("does not match the stored weights"), std::string::npos) << msg;
  EXPECT_EQ(allocator_stats().bytes_in_use, in_use_before);
}

TEST(BadInput, BuildingFromAFileMakesNoHugeAllocation) {
  // No weights at all, but a build shape whose one-sample probe needs 512 MiB:
  // refused by the loader's allocation limit, not allocated.
  auto m = std::make_shared<Sequential>(
      std::vector<std::shared_ptr<Layer>>{std::make_shared<layers::Activation>(ActivationRef("relu"))});
  m->build_for({2, 3});
  (*m)(zeros({1, 3}));
  Container c = split(serialize_model(*m));
  Section* arch = find(c, "ARCH");
  std::string json(arch->payload.begin(), arch->payload.end());
  const auto at = json.find("\"input_shape\":[2,3]");
  ASSERT_NE(at, std::string::npos) << json;
  json.replace(at, 19, "\"input_shape\":[2,134217728]");
  arch->payload.assign(json.begin(), json.end());
  const std::string msg = error_of<ValueError>([&] { deserialize_model(join(c)); });
  EXPECT_NE(msg.find("building 'Sequential' for input shape (2, 134217728) failed: [allocator] a request of 5368709"),
            std::string::npos)
      << msg;
  EXPECT_NE(msg.find("bytes exceeds the limit of 268435456 bytes"), std::string::npos) << msg;
  EXPECT_NE(msg.find("raise LoadOptions::max_build_allocation"), std::string::npos) << msg;
  // The limit is an option: a 16 MiB probe loads by default and is refused
  // under a 1 MiB limit (the file itself is smaller).
  std::string small = json;
  small.replace(small.find("134217728"), 9, "4194304");
  arch->payload.assign(small.begin(), small.end());
  const auto bytes = join(c);
  EXPECT_NO_THROW(deserialize_model(bytes));
  const std::string limited = error_of<ValueError>([&] { deserialize_model(bytes, {.max_build_allocation = 1 << 20}); });
  EXPECT_NE(limited.find("exceeds the limit of 1048576 bytes"), std::string::npos) << limited;
}

// ============================================================================
// Bad input

TEST(BadInput, TruncatedAtEveryLength) {
  const auto bytes = compiled_small_bytes();
  ASSERT_NO_THROW(deserialize_model(bytes));
  for (std::size_t n = 0; n < bytes.size(); ++n) {
    std::vector<std::uint8_t> cut(bytes.begin(), bytes.begin() + n);
    try {
      deserialize_model(cut);
      ADD_FAILURE() << "truncated at " << n << " loaded";
    } catch (const IOError&) {
    } catch (const std::exception& e) {
      ADD_FAILURE() << "truncated at " << n << ": not an IOError: " << e.what();
    }
  }
}

TEST(BadInput, EveryFlippedByteIsRefused) {
  const auto bytes = compiled_small_bytes();
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    for (std::uint8_t mask : {std::uint8_t{0x01}, std::uint8_t{0x80}}) {
      auto bad = bytes;
      bad[i] ^= mask;
      try {
        deserialize_model(bad);
        ADD_FAILURE() << "flipped byte " << i << " loaded";
      } catch (const Error&) {
      } catch (const std::exception& e) {
        ADD_FAILURE() << "flipped byte " << i << ": not a lamina::Error: " << e.what();
      }
    }
  }
}

TEST(BadInput, WrongMagicUnknownVersionAndKind) {
  auto bytes = compiled_small_bytes();
  auto bad = bytes;
  bad[1] = 'X';
  EXPECT_NE(error_of<IOError>([&] { deserialize_model(bad); }).find("wrong magic"), std::string::npos);
  EXPECT_NE(error_of<IOError>([&] { deserialize_model(std::vector<std::uint8_t>{}); }).find("the file is empty"),
            std::string::npos);
  EXPECT_NE(error_of<IOError>([&] { deserialize_model(std::vector<std::uint8_t>(bytes.begin(), bytes.begin() + 3)); })
                .find("truncated: 3 bytes, shorter than the 8-byte magic number"),
            std::string::npos);
  Container c = split(bytes);
  c.version = 99;
  const std::string msg = error_of<ValueError>([&] { deserialize_model(join(c)); });
  EXPECT_NE(msg.find("format version 99 is not supported"), std::string::npos) << msg;
  c.version = 1;
  c.kind = 7;
  EXPECT_NE(error_of<IOError>([&] { deserialize_model(join(c)); }).find("file kind"), std::string::npos);
  EXPECT_NE(error_of<IOError>([] { load_model("/nonexistent/dir/m.lamina"); }).find("cannot open"), std::string::npos);
}

TEST(BadInput, UnknownClassNameInAValidFile) {
  Container c = split(compiled_small_bytes());
  Section* arch = find(c, "ARCH");
  std::string json(arch->payload.begin(), arch->payload.end());
  const auto at = json.find("\"Linear\"");
  ASSERT_NE(at, std::string::npos);
  json.replace(at, 8, "\"Lineer\"");
  arch->payload.assign(json.begin(), json.end());
  const std::string msg = error_of<ValueError>([&] { deserialize_model(join(c)); });
  EXPECT_NE(msg.find("'Lineer'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("Linear"), std::string::npos) << msg;  // known names listed
}

TEST(BadInput, UnknownConfigKeysInAValidFileAreRefused) {
  // As Keras's from_config(**config): a key the class does not take is an
  // error, in the optimizer, the loss and the architecture alike.
  const auto bytes = compiled_small_bytes();
  auto with_extra_key = [&](const char (&section)[5], const std::string& after) {
    Container c = split(bytes);
    Section* sec = find(c, section);
    std::string json(sec->payload.begin(), sec->payload.end());
    const auto at = json.find(after);
    EXPECT_NE(at, std::string::npos) << json;
    json.insert(at + after.size(), "\"surprise\":1,");
    sec->payload.assign(json.begin(), json.end());
    return join(c);
  };
  std::string msg = error_of<ValueError>([&] { deserialize_model(with_extra_key("OPTC", "\"config\":{")); });
  EXPECT_NE(msg.find("unknown config key 'surprise'"), std::string::npos) << msg;
  msg = error_of<ValueError>([&] { deserialize_model(with_extra_key("COMP", "\"config\":{")); });
  EXPECT_NE(msg.find("unknown config key 'surprise'"), std::string::npos) << msg;
  msg = error_of<ValueError>([&] { deserialize_model(with_extra_key("ARCH", "\"units\":3,")); });
  EXPECT_NE(msg.find("[Dense] Unrecognized keyword arguments passed to Dense: 'surprise'"), std::string::npos) << msg;
}

TEST(BadInput, MismatchedShapeInAValidFile) {
  // A file whose architecture says Dense(units=4) but whose weights are for 3.
  Container c = split(compiled_small_bytes());
  Section* arch = find(c, "ARCH");
  std::string json(arch->payload.begin(), arch->payload.end());
  const auto at = json.find("\"units\":3");
  ASSERT_NE(at, std::string::npos) << json;
  json.replace(at, 9, "\"units\":4");
  arch->payload.assign(json.begin(), json.end());
  const std::string msg = error_of<ValueError>([&] { deserialize_model(join(c)); });
  EXPECT_NE(msg.find("shape mismatch: model has (8, 4), file has (8, 3)"), std::string::npos) << msg;
}

TEST(BadInput, LengthFieldsClaimingGigabytes) {
  const auto bytes = compiled_small_bytes();
  Container c = split(bytes);
  // Section length.
  std::string msg = error_of<IOError>([&] { deserialize_model(join(c, std::uint64_t{1} << 40)); });
  EXPECT_NE(msg.find("exceeds"), std::string::npos) << msg;
  // Tensor count and tensor byte count inside a valid (re-checksummed) section.
  Container c2 = c;
  Section* w = find(c2, "WGHT");
  std::uint32_t huge_count = 0x7fffffff;
  std::memcpy(w->payload.data(), &huge_count, 4);
  msg = error_of<IOError>([&] { deserialize_model(join(c2)); });
  EXPECT_NE(msg.find("cannot fit"), std::string::npos) << msg;
  Container c3 = c;
  w = find(c3, "WGHT");
  std::uint32_t name_len;
  std::memcpy(&name_len, w->payload.data() + 4, 4);
  std::uint8_t ndim = w->payload[8 + name_len + 1];
  const std::size_t nbytes_at = 8 + name_len + 4 + 8 * ndim;
  const std::uint64_t huge = std::uint64_t{1} << 33;
  std::memcpy(w->payload.data() + nbytes_at, &huge, 8);
  msg = error_of<IOError>([&] { deserialize_model(join(c3)); });
  EXPECT_NE(msg.find("claims 8589934592 bytes"), std::string::npos) << msg;
  // A dimension making the element count overflow.
  Container c4 = c;
  w = find(c4, "WGHT");
  const std::int64_t big = std::int64_t{1} << 62;
  std::memcpy(w->payload.data() + 8 + name_len + 4, &big, 8);
  std::memcpy(w->payload.data() + 8 + name_len + 12, &big, 8);
  EXPECT_THROW(deserialize_model(join(c4)), IOError);
  // A zero dimension next to huge ones: no elements, but strides that overflow
  // (found by the fuzzer: a signed overflow in contiguous_strides).
  Container c5 = c;
  w = find(c5, "WGHT");
  const std::int64_t zero = 0, large = std::int64_t{1} << 60;
  std::memcpy(w->payload.data() + 8 + name_len + 4, &zero, 8);
  std::memcpy(w->payload.data() + 8 + name_len + 12, &large, 8);
  const std::uint64_t no_bytes = 0;
  std::memcpy(w->payload.data() + nbytes_at, &no_bytes, 8);
  msg = error_of<IOError>([&] { deserialize_model(join(c5)); });
  EXPECT_NE(msg.find("overflowing element count"), std::string::npos) << msg;
}

// ============================================================================
// ModelCheckpoint

TEST(ModelCheckpoint, FormatsFilepathLikeKeras) {
  Logs logs;
  logs.set("val_loss", 0.23939);
  logs.set("accuracy", 0.5);
  EXPECT_EQ(ModelCheckpoint::format_filepath("m-{epoch:02d}-{val_loss:.2f}.lamina", 3, logs), "m-03-0.24.lamina");
  EXPECT_EQ(ModelCheckpoint::format_filepath("{epoch}_{{x}}", 12, logs), "12_{x}");
  EXPECT_NE(error_of<ValueError>([&] { ModelCheckpoint::format_filepath("{nope}", 1, logs); }).find("'nope'"),
            std::string::npos);
}

TEST(ModelCheckpoint, SaveBestOnlyMessagesAndFiles) {
  const Tensor x = data_x(40, 5, 4), y = data_y(40, 3);
  auto m = small_model();
  // The model ends in a Dense without softmax: its outputs are logits. (As
  // probabilities, from_logits = false, they can sum to about 0 and the loss,
  // normalized by that sum as in Keras, becomes NaN for some initial weights.)
  m->compile(std::make_shared<optim::SGD>(optim::SGDConfig{.learning_rate = 0.05}),
             std::make_shared<losses::SparseCategoricalCrossentropy>(
                 losses::SparseCategoricalCrossentropyConfig{.from_logits = true}));
  const fs::path dir = temp_dir() / "ck";
  auto ck = std::make_shared<ModelCheckpoint>(ModelCheckpointOptions{
      .filepath = (dir / "best.lamina").string(), .monitor = "loss", .verbose = 1, .save_best_only = true,
      .shuffle_seed = 3, .fsync = false});
  std::FILE* out = std::tmpfile();
  ck->set_output(out);
  auto every = std::make_shared<ModelCheckpoint>(ModelCheckpointOptions{
      .filepath = (dir / "w-{epoch:02d}.weights").string(), .monitor = "loss", .save_weights_only = true});
  m->fit(x, y, {.batch_size = 8, .epochs = 3, .seed = 3, .callbacks = {ck, every}, .verbose = 0});
  std::rewind(out);
  char buf[4096] = {};
  std::fread(buf, 1, sizeof buf - 1, out);
  std::fclose(out);
  const std::string text = buf;
  EXPECT_NE(text.find("Epoch 1: loss improved from None to "), std::string::npos) << text;
  EXPECT_NE(text.find(", saving model to " + (dir / "best.lamina").string()), std::string::npos) << text;
  EXPECT_TRUE(fs::exists(dir / "best.lamina"));
  for (const char* f : {"w-01.weights", "w-02.weights", "w-03.weights"}) EXPECT_TRUE(fs::exists(dir / f)) << f;
  auto ckp = load_checkpoint((dir / "best.lamina").string());
  ASSERT_TRUE(ckp.training_position);
  EXPECT_EQ(ckp.training_position->shuffle_seed, std::optional<std::uint64_t>(3));
  EXPECT_GE(ckp.training_position->epoch, 1);
  auto fresh = small_model();
  load_weights(*fresh, (dir / "w-03.weights").string());
  expect_same_weights(*m, *fresh, lamina::testing::Keys::any);
}

// ============================================================================
// lamina-inspect

#ifdef LAMINA_INSPECT_PATH
TEST(Inspect, PrintsAndHashesAndFailsOnBadFiles) {
  const fs::path path = temp_dir() / "inspect.lamina";
  const auto bytes = compiled_small_bytes();
  write_file_atomic(path.string(), bytes, false);
  const std::string out_file = (temp_dir() / "inspect.out").string();
  const std::string cmd = std::string(LAMINA_INSPECT_PATH) + " " + path.string();
  ASSERT_EQ(std::system((cmd + " > " + out_file + " 2>&1").c_str()), 0);
  std::ifstream in(out_file);
  std::string text((std::istreambuf_iterator<char>(in)), {});
  // Linear is registered in this test only: the tool prints the JSON instead of a summary.
  for (const char* s : {"checksums OK", "\"class_name\": \"Linear\"", "cannot build the model here", "Optimizer: {\"class_name\":\"Adam\"",
                        "iterations: 1", "Training position: epoch 3, step 0, shuffle seed 9", "mean"})
    EXPECT_NE(text.find(s), std::string::npos) << s << "\n" << text;
  ASSERT_EQ(std::system((cmd + " --hash > " + out_file).c_str()), 0);
  std::ifstream hin(out_file);
  std::string hash;
  hin >> hash;
  char expect[17];
  std::snprintf(expect, sizeof expect, "%016llx",
                static_cast<unsigned long long>(weights_hash(parse_model_file(bytes).weights)));
  EXPECT_EQ(hash, expect);
  // A model of built-in layers gets the Keras-style summary.
  auto dense_only = std::make_shared<Sequential>(std::vector<std::shared_ptr<Layer>>{
      std::make_shared<layers::Dense>(layers::DenseOptions{.units = 3})});
  dense_only->build_for({2, 4});
  save_model(*dense_only, path.string(), {.fsync = false});
  ASSERT_EQ(std::system((cmd + " > " + out_file + " 2>&1").c_str()), 0);
  std::ifstream in2(out_file);
  text.assign((std::istreambuf_iterator<char>(in2)), {});
  EXPECT_NE(text.find("Total params: 15"), std::string::npos) << text;
  EXPECT_NE(text.find("Optimizer: none"), std::string::npos) << text;
  auto bad = bytes;
  bad[bad.size() / 2] ^= 1;
  write_file_atomic(path.string(), bad, false);
  EXPECT_NE(std::system((cmd + " > /dev/null 2>&1").c_str()), 0);
}
#endif
