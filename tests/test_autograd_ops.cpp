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

TEST(GradCheck, UnaryOps) {
  for (const auto& c : unary_cases()) {
    SCOPED_TRACE(c.name);
    for (Shape s : {Shape{}, Shape{7}, Shape{3, 5}}) {
      SCOPED_TRACE(s.str());
      Tensor x = u(s, c.lo, c.hi, 3);
      if (std::string(c.name).rfind("relu", 0) == 0 || std::string(c.name) == "leaky_relu" ||
          std::string(c.name) == "clip" || std::string(c.name) == "elu") {
        // keep away from the kink where finite differences are meaningless
        x = core::where(core::less(core::abs(x), Tensor::scalar(0.05, DType::float64)),
                        core::add(x, 0.1), x);
        if (std::string(c.name) == "clip")
          x = core::where(core::less(core::abs(core::sub(core::abs(x), 0.5)), Tensor::scalar(0.05, DType::float64)),
                          core::mul(x, 0.8), x);
      }
      check_gradients([&](const auto& xs) { return c.op(xs[0]); }, {x});
      if (s.ndim() == 2) check_gradients([&](const auto& xs) { return c.op(xs[0]); }, {x}, {.strided_inputs = true});
    }
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
      check_gradients([&](const auto& xs) { return c.op(xs[0], xs[1]); }, {a, b});
      if (sa.ndim() == 2 && sb.ndim() == 2)
        check_gradients([&](const auto& xs) { return c.op(xs[0], xs[1]); }, {a, b}, {.strided_inputs = true});
    }
  }
  // Scalar right operands and operators with doubles.
  Tensor x = u({3, 2}, 0.5, 2, 7);
  check_gradients([](const auto& xs) { return 2.0 - xs[0] * 3.0 + 1.0 / xs[0] - xs[0] / 4.0 + pow(xs[0], 1.5); }, {x});
}

TEST(GradCheck, Where) {
  Tensor cond = Tensor::from<bool>({true, false, true});
  check_gradients([&](const auto& xs) { return where(cond, xs[0], xs[1]); }, {u({2, 3}, -1, 1, 1), u({3}, -1, 1, 2)});
}

TEST(GradCheck, Reductions) {
  Tensor x = u({3, 4, 5}, -1, 1, 8);
  for (const Axes& axes : std::vector<Axes>{{}, {0}, {1}, {-1}, {0, 2}, {1, 2}}) {
    for (bool keep : {false, true}) {
      SCOPED_TRACE(std::to_string(axes.size()) + (keep ? " keepdims" : ""));
      check_gradients([&](const auto& xs) { return sum(xs[0], axes, keep); }, {x});
      check_gradients([&](const auto& xs) { return mean(xs[0], axes, keep); }, {x});
      check_gradients([&](const auto& xs) { return max(xs[0], axes, keep); }, {x});
      check_gradients([&](const auto& xs) { return min(xs[0], axes, keep); }, {x});
      check_gradients([&](const auto& xs) { return var(xs[0], axes, keep); }, {x});
      check_gradients([&](const auto& xs) { return var(xs[0], axes, keep, 1); }, {x}, {.strided_inputs = true});
    }
  }
  check_gradients([](const auto& xs) { return sum_to(xs[0], {4, 1}); }, {x});
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
  for (int axis : {-1, 0, 1}) {
    SCOPED_TRACE(axis);
    Tensor x = u({4, 6}, -3, 3, 9);
    check_gradients([&](const auto& xs) { return softmax(xs[0], axis); }, {x});
    check_gradients([&](const auto& xs) { return log_softmax(xs[0], axis); }, {x}, {.strided_inputs = true});
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
    check_gradients([&](const auto& xs) { return matmul(xs[0], xs[1], c.ta, c.tb); },
                    {u(c.a, -1, 1, 10), u(c.b, -1, 1, 11)});
    if (c.a.ndim() == 2 && c.b.ndim() == 2)
      check_gradients([&](const auto& xs) { return matmul(xs[0], xs[1], c.ta, c.tb); },
                      {u(c.a, -1, 1, 10), u(c.b, -1, 1, 11)}, {.strided_inputs = true});
  }
}

TEST(GradCheck, ShapeOps) {
  Tensor x = u({2, 3, 4}, -1, 1, 12);
  check_gradients([](const auto& xs) { return reshape(xs[0], {6, -1}) * 2.0; }, {x});
  check_gradients([](const auto& xs) { return transpose(xs[0], 0, 2) * 2.0; }, {x});
  check_gradients([](const auto& xs) { return permute(xs[0], {2, 0, 1}) * 2.0; }, {x});
  check_gradients([](const auto& xs) { return slice(xs[0], 2, 1, 4, 2) * 2.0; }, {x});
  check_gradients([](const auto& xs) { return slice(xs[0], 0, -1, 5) * 2.0; }, {x});
  check_gradients([](const auto& xs) { return select(xs[0], 1, -1) * 2.0; }, {x});
  check_gradients([](const auto& xs) { return broadcast_to(xs[0], {5, 2, 3, 4}) * 2.0; }, {x});
  check_gradients([](const auto& xs) { return unsqueeze(squeeze(unsqueeze(xs[0], 1), 1), 0) * 2.0; }, {x});
  check_gradients([](const auto& xs) { return flatten(xs[0], 1) * 2.0; }, {x}, {.strided_inputs = true});
  check_gradients([](const auto& xs) { return cast(cast(xs[0], DType::float32), DType::float64) * 2.0; }, {x},
                  {.eps = 1e-2, .atol = 1e-3, .rtol = 1e-3});
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
