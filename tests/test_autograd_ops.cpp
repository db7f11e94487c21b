// Every differentiable op's gradient against finite differences in float64,
// over several shapes, broadcasting and non-contiguous inputs.
#include "gradcheck.h"

namespace lamina {
namespace {

using testing::check_gradients;
using testing::GradCheckOptions;

Tensor u(const Shape& s, double lo, double hi, std::uint64_t seed) { return uniform(s, lo, hi, seed, DType::float64); }

struct UnaryGradCase {
  const char* name;
  std::function<Tensor(const Tensor&)> op;
  double lo, hi;
};

std::vector<UnaryGradCase> unary_cases() {
  return {
      {"neg", [](const Tensor& x) { return neg(x); }, -2, 2},
      {"abs", [](const Tensor& x) { return abs(x); }, 0.1, 2},
      {"abs_neg", [](const Tensor& x) { return abs(x); }, -2, -0.1},
      {"exp", [](const Tensor& x) { return exp(x); }, -2, 2},
      {"log", [](const Tensor& x) { return log(x); }, 0.5, 3},
      {"log1p", [](const Tensor& x) { return log1p(x); }, -0.5, 3},
      {"sqrt", [](const Tensor& x) { return sqrt(x); }, 0.5, 3},
      {"rsqrt", [](const Tensor& x) { return rsqrt(x); }, 0.5, 3},
      {"square", [](const Tensor& x) { return square(x); }, -2, 2},
      {"tanh", [](const Tensor& x) { return tanh(x); }, -2, 2},
      {"sigmoid", [](const Tensor& x) { return sigmoid(x); }, -4, 4},
      {"relu", [](const Tensor& x) { return relu(x); }, 0.1, 2},
      {"relu_neg", [](const Tensor& x) { return relu(x); }, -2, -0.1},
      {"leaky_relu", [](const Tensor& x) { return leaky_relu(x, 0.2); }, -2, 2},
      {"elu", [](const Tensor& x) { return elu(x, 1.5); }, -2, 2},
      {"gelu", [](const Tensor& x) { return gelu(x, false); }, -3, 3},
      {"gelu_tanh", [](const Tensor& x) { return gelu(x, true); }, -3, 3},
      {"softplus", [](const Tensor& x) { return softplus(x); }, -3, 3},
      {"sign", [](const Tensor& x) { return sign(x); }, 0.1, 2},
      {"clip", [](const Tensor& x) { return clip(x, -0.5, 0.5); }, -1, 1},
  };
}

// Inputs for a unary case, kept away from kinks where finite differences
// are meaningless.
Tensor unary_input(const UnaryGradCase& c, const Shape& s) {
  Tensor x = u(s, c.lo, c.hi, 3);
  const std::string name = c.name;
  if (name.rfind("relu", 0) == 0 || name == "leaky_relu" || name == "clip" || name == "elu") {
    x = core::where(core::less(core::abs(x), Tensor::scalar(0.05, DType::float64)), core::add(x, 0.1), x);
    if (name == "clip")
      x = core::where(core::less(core::abs(core::sub(core::abs(x), 0.5)), Tensor::scalar(0.05, DType::float64)),
                      core::mul(x, 0.8), x);
  }
  return x;
}

TEST(GradCheck, UnaryOps) {
  for (const auto& c : unary_cases()) {
    SCOPED_TRACE(c.name);
    for (Shape s : {Shape{}, Shape{7}, Shape{3, 5}, Shape{2, 1, 4}}) {
      SCOPED_TRACE(s.str());
      testing::check_gradients_all_layouts([&](const auto& xs) { return c.op(xs[0]); }, {unary_input(c, s)});
    }
  }
}

TEST(GradCheck, UnaryOpsSecondOrder) {
  for (const auto& c : unary_cases()) {
    SCOPED_TRACE(c.name);
    for (Shape s : {Shape{}, Shape{3, 5}}) {
      SCOPED_TRACE(s.str());
      testing::check_second_order([&](const auto& xs) { return c.op(xs[0]); }, {unary_input(c, s)});
    }
    testing::check_second_order([&](const auto& xs) { return c.op(xs[0]); }, {unary_input(c, {3, 5})},
                                {.gapped_inputs = true});
  }
}

struct BinaryGradCase {
  const char* name;
  std::function<Tensor(const Tensor&, const Tensor&)> op;
  double lo, hi;
};

TEST(GradCheck, BinaryOpsWithBroadcasting) {
  std::vector<BinaryGradCase> cases = {
      {"add", [](const Tensor& a, const Tensor& b) { return a + b; }, -2, 2},
      {"sub", [](const Tensor& a, const Tensor& b) { return a - b; }, -2, 2},
      {"mul", [](const Tensor& a, const Tensor& b) { return a * b; }, -2, 2},
      {"div", [](const Tensor& a, const Tensor& b) { return a / b; }, 0.5, 2},
      {"pow", [](const Tensor& a, const Tensor& b) { return pow(a, b); }, 0.5, 2},
      {"maximum", [](const Tensor& a, const Tensor& b) { return maximum(a, b); }, -2, 2},
      {"minimum", [](const Tensor& a, const Tensor& b) { return minimum(a, b); }, -2, 2},
  };
  const std::vector<std::pair<Shape, Shape>> shapes = {
      {{4, 3}, {4, 3}}, {{4, 3}, {3}}, {{4, 1}, {1, 3}}, {{2, 3, 4}, {3, 1}}, {{5}, {}}, {{}, {2, 2}}};
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    for (const auto& [sa, sb] : shapes) {
      SCOPED_TRACE(sa.str() + " with " + sb.str());
      Tensor a = u(sa, c.lo, c.hi, 5), b = u(sb, c.lo, c.hi, 6);
      testing::check_gradients_all_layouts([&](const auto& xs) { return c.op(xs[0], xs[1]); }, {a, b});
      // Second order, both inputs as the differentiated one.
      testing::check_second_order([&](const auto& xs) { return c.op(xs[0], xs[1]); }, {a, b});
      testing::check_second_order([&](const auto& xs) { return c.op(xs[1], xs[0]); }, {b, a});
    }
  }
  // Scalar right operands and operators with doubles.
  Tensor x = u({3, 2}, 0.5, 2, 7);
  auto scalars = [](const auto& xs) {
    return 2.0 - xs[0] * 3.0 + 1.0 / xs[0] - xs[0] / 4.0 + pow(xs[0], 1.5) + maximum(xs[0], 1.2) +
           minimum(xs[0], 0.9);
  };
  testing::check_gradients_all_layouts(scalars, {x});
  testing::check_second_order(scalars, {x});
  // Every scalar overload on its own, each with a distinct coefficient so
  // that a wrong sign or a dropped term shows.
  auto overloads = [](const auto& xs) {
    const Tensor& t = xs[0];
    return add(t, 0.5) * 1.0 + sub(t, 2.0) * 2.0 + mul(t, -3.0) * 3.0 + div(t, 5.0) * 4.0 + (t + 1.5) * 5.0 +
           (t - 0.25) * 6.0 + (t * 7.0) * 7.0 + (t / 8.0) * 8.0 + (1.5 + t) * 9.0 + (3.0 - t) * 10.0 +
           (2.0 * t) * 11.0 + (2.0 / t) * 12.0 + (-t) * 13.0;
  };
  testing::check_gradients_all_layouts(overloads, {x});
  testing::check_second_order(overloads, {x});
}

TEST(GradCheck, PowOfNegativeBase) {
  // Integral exponents: the gradient for the base exists for a < 0.
  Tensor b = Tensor::from({2.0, 3.0, -1.0, 1.0});
  testing::check_gradients_all_layouts([&](const auto& xs) { return pow(xs[0], b); }, {u({3, 4}, -2, -0.5, 21)});
  testing::check_second_order([&](const auto& xs) { return pow(xs[0], b); }, {u({3, 4}, -2, -0.5, 21)});
  // The gradient for the exponent uses log(a) only where a > 0, 0 elsewhere
  // (TensorFlow's convention): a = -2, 0, 3 with b = 2.
  Tensor a = Tensor::from({-2.0, 0.0, 3.0});
  Tensor e = Tensor::from({2.0, 2.0, 2.0});
  GradientTape tape;
  tape.watch(e);
  auto g = tape.gradient(sum(pow(a, e)), {e})[0].to_vector<double>();
  EXPECT_EQ(g[0], 0.0);
  EXPECT_EQ(g[1], 0.0);
  EXPECT_NEAR(g[2], 9.0 * std::log(3.0), 1e-12);
}

TEST(GradCheck, MaximumAndMinimumTiesGoToTheFirstOperand) {
  Tensor a = Tensor::from({1.0, 2.0, 3.0});
  Tensor b = Tensor::from({1.0, 5.0, 3.0});
  for (bool use_max : {true, false}) {
    SCOPED_TRACE(use_max ? "maximum" : "minimum");
    GradientTape tape;
    tape.watch(a);
    tape.watch(b);
    Tensor y = sum(use_max ? maximum(a, b) : minimum(a, b));
    auto g = tape.gradient(y, {a, b});
    EXPECT_EQ(g[0].to_vector<double>(), (std::vector<double>{1, use_max ? 0.0 : 1.0, 1}));
    EXPECT_EQ(g[1].to_vector<double>(), (std::vector<double>{0, use_max ? 1.0 : 0.0, 0}));
  }
}

TEST(GradCheck, Where) {
  Tensor cond = Tensor::from<bool>({true, false, true});
  Tensor cond2 = core::greater(u({2, 3}, -1, 1, 3), 0.0);
  const std::vector<std::pair<Shape, Shape>> shapes = {{{2, 3}, {3}}, {{3}, {2, 3}}, {{2, 3}, {}}, {{4, 2, 3}, {1, 3}}};
  for (const auto& [sa, sb] : shapes) {
    SCOPED_TRACE(sa.str() + " with " + sb.str());
    for (const Tensor& c : {cond, cond2}) {
      auto f = [&](const auto& xs) { return where(c, xs[0], xs[1]); };
      testing::check_gradients_all_layouts(f, {u(sa, -1, 1, 1), u(sb, -1, 1, 2)});
      testing::check_second_order(f, {u(sa, -1, 1, 1), u(sb, -1, 1, 2)});
    }
  }
}

TEST(GradCheck, Reductions) {
  struct Case {
    Shape shape;
    std::vector<Axes> axes;
  };
  const std::vector<Case> cases = {
      {{3, 4, 5}, {{}, {0}, {1}, {-1}, {0, 2}, {1, 2}}},
      {{7}, {{}, {0}}},
      {{2, 1, 6}, {{1}, {0, 2}, {-1}}},
  };
  for (const auto& c : cases) {
    Tensor x = u(c.shape, -1, 1, 8);
    for (const Axes& axes : c.axes) {
      for (bool keep : {false, true}) {
        SCOPED_TRACE(c.shape.str() + " over " + std::to_string(axes.size()) + " axes" + (keep ? ", keepdims" : ""));
        const std::vector<std::pair<const char*, testing::Fn>> ops = {
            {"sum", [&](const auto& xs) { return sum(xs[0], axes, keep); }},
            {"mean", [&](const auto& xs) { return mean(xs[0], axes, keep); }},
            {"max", [&](const auto& xs) { return max(xs[0], axes, keep); }},
            {"min", [&](const auto& xs) { return min(xs[0], axes, keep); }},
            {"var", [&](const auto& xs) { return var(xs[0], axes, keep); }},
            {"var ddof=1", [&](const auto& xs) { return var(xs[0], axes, keep, 1); }},
        };
        // Elements per result (var with ddof=1 needs two).
        const std::int64_t reduced = x.numel() / std::max<std::int64_t>(1, core::sum(x, axes).numel());
        for (const auto& [name, f] : ops) {
          if (reduced < 2 && std::string(name) == "var ddof=1") continue;
          SCOPED_TRACE(name);
          testing::check_gradients_all_layouts(f, {x});
          testing::check_second_order(f, {x});
        }
      }
    }
  }
  Tensor x = u({3, 4, 5}, -1, 1, 8);
  for (const Shape& to : {Shape{4, 1}, Shape{5}, Shape{3, 1, 5}, Shape{}}) {
    SCOPED_TRACE("sum_to " + to.str());
    testing::check_gradients_all_layouts([&](const auto& xs) { return sum_to(xs[0], to); }, {x});
    testing::check_second_order([&](const auto& xs) { return sum_to(xs[0], to); }, {x});
  }
}

TEST(GradCheck, MaxSplitsTiesEqually) {
  Tensor x = Tensor::from({1.0, 3.0, 3.0, 2.0});
  GradientTape tape;
  tape.watch(x);
  Tensor y = max(x);
  auto g = tape.gradient(y, {x})[0];
  EXPECT_EQ(g.to_vector<double>(), (std::vector<double>{0, 0.5, 0.5, 0}));
}

TEST(GradCheck, SoftmaxFamily) {
  for (const Shape& shape : {Shape{4, 6}, Shape{3, 1, 5}, Shape{7}}) {
    for (int axis = -1; axis < shape.ndim(); ++axis) {
      SCOPED_TRACE(shape.str() + " along " + std::to_string(axis));
      Tensor x = u(shape, -3, 3, 9);
      for (bool log : {false, true}) {
        SCOPED_TRACE(log ? "log_softmax" : "softmax");
        auto f = [&](const auto& xs) { return log ? log_softmax(xs[0], axis) : softmax(xs[0], axis); };
        testing::check_gradients_all_layouts(f, {x});
        testing::check_second_order(f, {x});
      }
    }
  }
}

TEST(GradCheck, Matmul) {
  struct Case { Shape a, b; bool ta, tb; };
  const std::vector<Case> cases = {
      {{3, 4}, {4, 5}, false, false}, {{4, 3}, {4, 5}, true, false}, {{3, 4}, {5, 4}, false, true},
      {{4, 3}, {5, 4}, true, true},   {{2, 3, 4}, {4, 2}, false, false}, {{2, 1, 3, 4}, {5, 4, 2}, false, false},
      {{4}, {4, 3}, false, false},    {{3, 4}, {4}, false, false},     {{4}, {4}, false, false},
      {{1, 1}, {1, 7}, false, false},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.a.str() + " @ " + c.b.str());
    auto f = [&](const auto& xs) { return matmul(xs[0], xs[1], c.ta, c.tb); };
    testing::check_gradients_all_layouts(f, {u(c.a, -1, 1, 10), u(c.b, -1, 1, 11)});
    testing::check_second_order(f, {u(c.a, -1, 1, 10), u(c.b, -1, 1, 11)});
    auto g = [&](const auto& xs) { return matmul(xs[1], xs[0], c.ta, c.tb); };
    testing::check_second_order(g, {u(c.b, -1, 1, 11), u(c.a, -1, 1, 10)});
  }
}

TEST(GradCheck, ShapeOps) {
  for (const Shape& shape : {Shape{2, 3, 4}, Shape{3, 2, 5}}) {
    const Shape wider{5, shape[0], shape[1], shape[2]};
    const std::vector<std::pair<const char*, testing::Fn>> ops = {
        {"reshape", [](const auto& xs) { return reshape(xs[0], {6, -1}) * 2.0; }},
        {"transpose", [](const auto& xs) { return transpose(xs[0], 0, 2) * 2.0; }},
        {"permute", [](const auto& xs) { return permute(xs[0], {2, 0, 1}) * 2.0; }},
        {"slice step 2", [](const auto& xs) { return slice(xs[0], 2, 1, 4, 2) * 2.0; }},
        {"slice negative start", [](const auto& xs) { return slice(xs[0], 0, -1, 5) * 2.0; }},
        {"select", [](const auto& xs) { return select(xs[0], 1, -1) * 2.0; }},
        {"broadcast_to", [&](const auto& xs) { return broadcast_to(xs[0], wider) * 2.0; }},
        {"squeeze/unsqueeze", [](const auto& xs) { return unsqueeze(squeeze(unsqueeze(xs[0], 1), 1), 0) * 2.0; }},
        {"flatten", [](const auto& xs) { return flatten(xs[0], 1) * 2.0; }},
    };
    Tensor x = u(shape, -1, 1, 12);
    for (const auto& [name, f] : ops) {
      SCOPED_TRACE(std::string(name) + " of " + shape.str());
      testing::check_gradients_all_layouts(f, {x});
      testing::check_second_order(f, {x});
    }
  }
}

TEST(GradCheck, Cast) {
  Tensor x = u({2, 3, 4}, -1, 1, 12);
  // float64 -> float32 -> float64: the gradient is converted back each way.
  auto round_trip = [](const auto& xs) { return cast(cast(xs[0], DType::float32), DType::float64) * 2.0; };
  testing::check_gradients_all_layouts(round_trip, {x}, {.eps = 1e-2, .atol = 1e-3, .rtol = 1e-3});
  testing::check_second_order(round_trip, {x}, {.eps = 1e-2, .atol = 1e-3, .rtol = 1e-3});
  // The gradient of a float32 input through float64 arrives in float32.
  Tensor x32 = x.to(DType::float32);
  GradientTape tape;
  tape.watch(x32);
  Tensor y = sum(square(cast(x32, DType::float64)));
  Tensor g = tape.gradient(y, {x32})[0];
  EXPECT_EQ(g.dtype(), DType::float32);
  testing::expect_close(g, core::mul(x32, 2.0), 1e-6, 1e-6);
  // Casting to an integer dtype records nothing: no gradient flows.
  const std::size_t before = tape.size();
  GradientTape t2;
  t2.watch(x);
  Tensor xi = cast(x, DType::int32);
  EXPECT_EQ(t2.size(), 0u);
  EXPECT_FALSE(t2.gradient(sum(cast(xi, DType::float64)), {x})[0].defined());
  EXPECT_EQ(before, tape.size());
}

TEST(GradCheck, CompositeMlpLoss) {
  // A two-layer MLP with softmax cross-entropy, all in float64.
  Tensor x = u({5, 4}, -1, 1, 13);
  Tensor labels = core::less(u({5, 3}, 0, 1, 14), Tensor::scalar(0.4, DType::float64)).to(DType::float64);
  check_gradients(
      [&](const auto& p) {
        Tensor h = relu(matmul(x, p[0]) + p[1]);
        Tensor logits = matmul(h, p[2]);
        return mean(neg(sum(labels * log_softmax(logits), {-1})));
      },
      {u({4, 6}, -1, 1, 15), u({6}, -0.1, 0.1, 16), u({6, 3}, -1, 1, 17)});
}

}  // namespace
}  // namespace lamina
