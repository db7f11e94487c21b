// Unary kernels against float64 scalar references: every op, both float
// dtypes, many lengths (tails), non-contiguous input, every ISA, 1 vs 2 threads.
#include <cmath>

#include "test_util.h"

namespace lamina {
namespace {

using testing::expect_close;
using testing::for_each_isa;

struct UnaryCase {
  const char* name;
  std::function<Tensor(const Tensor&)> op;
  std::function<double(double)> ref;
  double lo, hi;
};

double gelu_ref(double x) { return 0.5 * x * (1 + std::erf(x / std::sqrt(2.0))); }
double gelu_tanh_ref(double x) {
  return 0.5 * x * (1 + std::tanh(std::sqrt(2 / M_PI) * (x + 0.044715 * x * x * x)));
}

std::vector<UnaryCase> cases() {
  return {
      {"neg", core::neg, [](double x) { return -x; }, -5, 5},
      {"abs", core::abs, [](double x) { return std::fabs(x); }, -5, 5},
      {"exp", core::exp, [](double x) { return std::exp(x); }, -20, 20},
      {"log", core::log, [](double x) { return std::log(x); }, 1e-3, 100},
      {"log1p", core::log1p, [](double x) { return std::log1p(x); }, -0.9, 10},
      {"sqrt", core::sqrt, [](double x) { return std::sqrt(x); }, 0, 100},
      {"rsqrt", core::rsqrt, [](double x) { return 1 / std::sqrt(x); }, 0.01, 100},
      {"square", core::square, [](double x) { return x * x; }, -5, 5},
      {"tanh", core::tanh, [](double x) { return std::tanh(x); }, -10, 10},
      {"sigmoid", core::sigmoid, [](double x) { return 1 / (1 + std::exp(-x)); }, -30, 30},
      {"relu", core::relu, [](double x) { return x > 0 ? x : 0; }, -5, 5},
      {"leaky_relu", [](const Tensor& t) { return core::leaky_relu(t, 0.2); },
       [](double x) { return x > 0 ? x : 0.2 * x; }, -5, 5},
      {"elu", [](const Tensor& t) { return core::elu(t, 1.5); },
       [](double x) { return x > 0 ? x : 1.5 * std::expm1(x); }, -5, 5},
      {"gelu", [](const Tensor& t) { return core::gelu(t, false); }, gelu_ref, -6, 6},
      {"gelu_tanh", [](const Tensor& t) { return core::gelu(t, true); }, gelu_tanh_ref, -6, 6},
      {"softplus", core::softplus, [](double x) { return std::log1p(std::exp(-std::fabs(x))) + std::max(x, 0.0); },
       -30, 30},
      {"sign", core::sign, [](double x) { return (x > 0) - (x < 0); }, -5, 5},
      {"clip", [](const Tensor& t) { return core::clip(t, -1.0, 2.0); },
       [](double x) { return std::clamp(x, -1.0, 2.0); }, -5, 5},
  };
}

// float32 transcendental kernels are accurate to a few ulp.
double rtol(const char* name, DType dt) {
  if (dt == DType::float64) return 1e-12;
  std::string n = name;
  return (n == "gelu" || n == "gelu_tanh" || n == "softplus" || n == "elu" || n == "log1p") ? 1e-5 : 4e-6;
}

class UnaryTest : public ::testing::TestWithParam<DType> {};

TEST_P(UnaryTest, MatchesScalarReferenceForAllLengthsAndIsas) {
  const DType dt = GetParam();
  for (const auto& c : cases()) {
    SCOPED_TRACE(c.name);
    for (auto n : testing::lengths()) {
      SCOPED_TRACE("n=" + std::to_string(n));
      Tensor x = uniform({n}, c.lo, c.hi, /*seed=*/n + 1, dt);
      std::vector<double> want;
      for (double v : x.to_vector<double>()) want.push_back(c.ref(v));
      for_each_isa([&] { expect_close(c.op(x), want, rtol(c.name, dt), dt == DType::float32 ? 1e-6 : 1e-13); });
    }
  }
}

TEST_P(UnaryTest, NonContiguousInputGivesSameValues) {
  const DType dt = GetParam();
  Tensor x = uniform({37, 23}, -3, 3, 7, dt);
  Tensor xt = x.t();
  ASSERT_FALSE(xt.is_contiguous());
  for (const auto& c : cases()) {
    if (std::string(c.name) == "log" || std::string(c.name) == "sqrt" || std::string(c.name) == "rsqrt" ||
        std::string(c.name) == "log1p")
      continue;
    SCOPED_TRACE(c.name);
    Tensor got = c.op(xt);
    EXPECT_EQ(got.shape(), (Shape{23, 37}));
    expect_close(got, c.op(xt.contiguous()), 0, 0);
  }
}

TEST_P(UnaryTest, OneAndTwoThreadsBitwiseEqual) {
  const DType dt = GetParam();
  Tensor x = uniform({300001}, -5, 5, 3, dt);
  for (const auto& c : cases()) {
    SCOPED_TRACE(c.name);
    testing::expect_thread_invariant([&] { return c.op(core::abs(x)); });
  }
}

// Outputs of 8 MiB and more are written with streaming stores, after a
// peeled head when the output is not vector-aligned (here a view starting
// one element into its buffer).
TEST_P(UnaryTest, LargeOutputsMatchReference) {
  const DType dt = GetParam();
  const std::int64_t n = dt == DType::float32 ? 4'400'007 : 2'200'007;  // > 8 MiB per thread at 2 threads
  Tensor x = uniform({n}, -5, 5, 8, dt);
  const auto xv = x.to_vector<double>();
  std::vector<double> relu_ref(xv.size()), exp_ref(xv.size());
  for (std::size_t i = 0; i < xv.size(); ++i) relu_ref[i] = std::max(xv[i], 0.0), exp_ref[i] = std::exp(xv[i]);
  testing::for_each_isa([&] {
    expect_close(core::relu(x), relu_ref, 0, 0);
    expect_close(core::exp(x), exp_ref, testing::rtol_for(dt), 0);
    Tensor base = full({n + 1}, 7.0, dt);
    Tensor out = base.slice(0, 1, n + 1);
    core::relu_out(x, out);
    expect_close(out, relu_ref, 0, 0);
    EXPECT_EQ(base.to_vector<double>()[0], 7.0);
  });
  testing::expect_thread_invariant([&] { return core::exp(x); });
}

INSTANTIATE_TEST_SUITE_P(Floats, UnaryTest, ::testing::Values(DType::float32, DType::float64),
                         [](const auto& info) { return std::string(dtype_name(info.param)); });

TEST(Unary, StableAtExtremes) {
  Tensor x = Tensor::from({-1e4f, -100.f, 0.f, 100.f, 1e4f});
  expect_close(core::sigmoid(x), {0, 3.720076e-44, 0.5, 1, 1}, 1e-6, 1e-30);
  expect_close(core::softplus(x), {0, 3.720076e-44, std::log(2.0), 100, 1e4}, 1e-6, 1e-30);
  expect_close(core::tanh(x), {-1, -1, 0, 1, 1}, 0, 0);
}

TEST(Unary, IntegerSupport) {
  Tensor x = Tensor::from<std::int32_t>({-3, 0, 4});
  EXPECT_EQ(core::neg(x).to_vector<int>(), (std::vector<int>{3, 0, -4}));
  EXPECT_EQ(core::abs(x).to_vector<int>(), (std::vector<int>{3, 0, 4}));
  EXPECT_EQ(core::relu(x).to_vector<int>(), (std::vector<int>{0, 0, 4}));
  EXPECT_EQ(core::square(x).to_vector<int>(), (std::vector<int>{9, 0, 16}));
  EXPECT_EQ(core::sign(x).to_vector<int>(), (std::vector<int>{-1, 0, 1}));
  EXPECT_EQ(core::clip(x, -1, 2).to_vector<int>(), (std::vector<int>{-1, 0, 2}));
}

TEST(Unary, ErrorsNameTheOp) {
  Tensor i = Tensor::from<std::int32_t>({1, 2});
  EXPECT_THAT([&] { core::exp(i); }, ::testing::ThrowsMessage<DTypeError>(
                                         ::testing::HasSubstr("[exp] unsupported dtype int32")));
  EXPECT_THAT([&] { core::clip(Tensor::from({1.f}), 2, 1); },
              ::testing::ThrowsMessage<ValueError>(::testing::HasSubstr("[clip] expected lo <= hi")));
  Tensor x = ones({2, 3});
  Tensor xt = x.t();
  EXPECT_THROW(core::relu_(xt), ValueError);
}

TEST(Unary, OutAndInPlaceForms) {
  Tensor x = Tensor::from({-1.f, 2.f, -3.f});
  Tensor out = empty({3});
  core::relu_out(x, out);
  EXPECT_EQ(out.to_vector<float>(), (std::vector<float>{0, 2, 0}));
  core::relu_(x);
  EXPECT_EQ(x.to_vector<float>(), (std::vector<float>{0, 2, 0}));
  core::neg_(x);
  EXPECT_EQ(x.to_vector<float>(), (std::vector<float>{0, -2, 0}));
  core::exp_(x);
  expect_close(x, {1, std::exp(-2.0), 1}, 1e-6, 0);
  Tensor wrong = empty({4});
  EXPECT_THROW(core::relu_out(x, wrong), ShapeError);
}

TEST(Unary, ActivationBackwardKernels) {
  Tensor g = Tensor::from({1.f, 2.f, 3.f});
  Tensor y = Tensor::from({0.f, 0.5f, 0.9f});
  expect_close(core::relu_backward(g, y), {0, 2, 3}, 0, 0);
  expect_close(core::sigmoid_backward(g, y), {0, 0.5, 3 * 0.9 * 0.1}, 1e-6, 1e-7);
  expect_close(core::tanh_backward(g, y), {1, 1.5, 3 * (1 - 0.81)}, 1e-6, 1e-7);
}

}  // namespace
}  // namespace lamina
