// Tests of the optim module: every optimizer's update rule against a scalar
// double reference written from keras-semantics F (and hand-computed numbers),
// clipping, weight decay, schedules, iteration counting, slots, errors, ISA and
// thread invariance of the fused kernels, and XOR convergence with a tiny MLP.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <numbers>
#include <optional>
#include <string>
#include <vector>

#include "lamina/optim/lamina_optim.h"
#include "test_util.h"

namespace lamina {
namespace {

using optim::Adagrad;
using optim::Adam;
using optim::AdamW;
using optim::CosineDecay;
using optim::ExponentialDecay;
using optim::Optimizer;
using optim::PiecewiseConstantDecay;
using optim::RMSprop;
using optim::SGD;
using ::testing::HasSubstr;

// ---- scalar reference (double), straight from keras-semantics F ---------------

struct Ref {
  enum Kind { sgd, adam, rmsprop, adagrad } kind = sgd;
  double lr = 0.01, momentum = 0, b1 = 0.9, b2 = 0.999, eps = 1e-7, rho = 0.9, init_acc = 0.1;
  bool nesterov = false, amsgrad = false, centered = false;
  std::optional<double> wd, clipnorm, clipvalue, global_clipnorm;
  std::int64_t t = 0;
  std::vector<std::vector<double>> w, m, v, vh;

  void init(const std::vector<std::vector<double>>& w0) {
    w = w0;
    for (auto& x : w0) {
      m.emplace_back(x.size(), kind == adagrad ? init_acc : 0.0);
      v.emplace_back(x.size(), 0.0);
      vh.emplace_back(x.size(), 0.0);
    }
  }
  static double sumsq(const std::vector<double>& g) {
    double s = 0;
    for (double x : g) s += x * x;
    return s;
  }
  void step(std::vector<std::vector<double>> g) {
    if (clipnorm) {
      for (auto& gi : g) {
        const double n = std::sqrt(sumsq(gi));
        for (double& x : gi) x = x * *clipnorm / std::max(n, *clipnorm);
      }
    } else if (global_clipnorm) {
      double s = 0;
      for (auto& gi : g) s += sumsq(gi);
      const double G = std::sqrt(s);
      const double scale = *global_clipnorm * std::min(1.0 / G, 1.0 / *global_clipnorm);
      for (auto& gi : g)
        for (double& x : gi) x *= scale;
    } else if (clipvalue) {
      for (auto& gi : g)
        for (double& x : gi) x = std::clamp(x, -*clipvalue, *clipvalue);
    }
    for (std::size_t k = 0; k < w.size(); ++k) {
      for (std::size_t i = 0; i < w[k].size(); ++i) {
        double& W = w[k][i];
        const double G = g[k][i];
        if (wd) W -= W * *wd * lr;
        switch (kind) {
          case sgd:
            if (momentum == 0) {
              W -= lr * G;
            } else {
              m[k][i] = momentum * m[k][i] - lr * G;
              W += nesterov ? momentum * m[k][i] - lr * G : m[k][i];
            }
            break;
          case adam: {
            const double tt = static_cast<double>(t + 1);
            m[k][i] += (G - m[k][i]) * (1 - b1);
            v[k][i] += (G * G - v[k][i]) * (1 - b2);
            const double alpha = lr * std::sqrt(1 - std::pow(b2, tt)) / (1 - std::pow(b1, tt));
            double vv = v[k][i];
            if (amsgrad) vv = vh[k][i] = std::max(vh[k][i], v[k][i]);
            W -= alpha * m[k][i] / (std::sqrt(vv) + eps);
            break;
          }
          case rmsprop: {
            v[k][i] = rho * v[k][i] + (1 - rho) * G * G;
            double denom = v[k][i] + eps;
            if (centered) {
              vh[k][i] = rho * vh[k][i] + (1 - rho) * G;
              denom = v[k][i] - vh[k][i] * vh[k][i] + eps;
            }
            const double inc = lr * G / std::sqrt(denom);
            if (momentum > 0) {
              m[k][i] = momentum * m[k][i] + inc;
              W -= m[k][i];
            } else {
              W -= inc;
            }
            break;
          }
          case adagrad:
            m[k][i] += G * G;
            W -= lr * G / std::sqrt(m[k][i] + eps);
            break;
        }
      }
    }
    ++t;
  }
};

// Deterministic pseudo-random values in [-2, 2).
std::vector<double> values(std::size_t n, std::uint64_t seed) {
  std::vector<double> out(n);
  std::uint64_t s = seed * 0x9E3779B97F4A7C15ull + 1;
  for (auto& x : out) {
    s = s * 6364136223846793005ull + 1442695040888963407ull;
    x = static_cast<double>((s >> 11) % 4000000) / 1e6 - 2.0;
  }
  return out;
}

Tensor tensor_of(const std::vector<double>& v, DType dt) {
  return Tensor::from(v, Shape{static_cast<std::int64_t>(v.size())}).to(dt);
}

// Runs `steps` updates of `opt` and of the reference on two variables of sizes
// n0 and n1 with fresh gradients each step, comparing after every step.
void check_against_ref(Optimizer& opt, Ref ref, DType dt, int steps, std::size_t n0 = 7, std::size_t n1 = 33) {
  std::vector<std::vector<double>> w0 = {values(n0, 1), values(n1, 2)};
  if (dt == DType::float32)  // the reference starts from the same rounded values
    for (auto& wi : w0)
      for (double& x : wi) x = static_cast<float>(x);
  ref.init(w0);
  std::vector<Variable> vars = {Variable(tensor_of(w0[0], dt), "a"), Variable(tensor_of(w0[1], dt), "b")};
  const double rtol = dt == DType::float32 ? 2e-5 : 1e-11;
  for (int s = 0; s < steps; ++s) {
    std::vector<std::vector<double>> g = {values(n0, 10 + s), values(n1, 20 + s)};
    // Variables of float32 see float32 gradients: feed the reference the same.
    if (dt == DType::float32)
      for (auto& gi : g)
        for (double& x : gi) x = static_cast<float>(x);
    opt.apply_gradients({tensor_of(g[0], dt), tensor_of(g[1], dt)}, vars);
    ref.step(g);
    SCOPED_TRACE("step " + std::to_string(s));
    testing::expect_close(vars[0].value(), ref.w[0], rtol, rtol);
    testing::expect_close(vars[1].value(), ref.w[1], rtol, rtol);
  }
  EXPECT_EQ(opt.iterations(), steps);
}

// ---- hand-computed values -------------------------------------------------------

TEST(OptimSGD, PlainMomentumNesterovByHand) {
  auto run = [](optim::SGDConfig c) {
    SGD opt(c);
    Variable w(Tensor::from({1.0}), "w");
    std::vector<double> out;
    for (int i = 0; i < 3; ++i) {
      opt.apply_gradients({Tensor::from({1.0})}, {w});
      out.push_back(w.value().item<double>());
    }
    return out;
  };
  EXPECT_THAT(run({.learning_rate = 0.1}),
              ::testing::ElementsAre(::testing::DoubleNear(0.9, 1e-12), ::testing::DoubleNear(0.8, 1e-12),
                                     ::testing::DoubleNear(0.7, 1e-12)));
  // v = 0.9v - 0.1: -0.1, -0.19, -0.271; w = 0.9, 0.71, 0.439.
  EXPECT_THAT(run({.learning_rate = 0.1, .momentum = 0.9}),
              ::testing::ElementsAre(::testing::DoubleNear(0.9, 1e-12), ::testing::DoubleNear(0.71, 1e-12),
                                     ::testing::DoubleNear(0.439, 1e-12)));
  // w += 0.9v - 0.1: 0.81, 0.539, 0.1951.
  EXPECT_THAT(run({.learning_rate = 0.1, .momentum = 0.9, .nesterov = true}),
              ::testing::ElementsAre(::testing::DoubleNear(0.81, 1e-12), ::testing::DoubleNear(0.539, 1e-12),
                                     ::testing::DoubleNear(0.1951, 1e-12)));
}

TEST(OptimAdam, OneStepByHand) {
  // t=1: m = 0.1, v = 0.001, alpha = 0.1*sqrt(0.001)/0.1; w = 1 - alpha*0.1/(sqrt(0.001)+1e-7).
  Adam opt({.learning_rate = 0.1});
  Variable w(Tensor::from({1.0}), "w");
  opt.apply_gradients({Tensor::from({1.0})}, {w});
  const double s = std::sqrt(0.001);
  EXPECT_NEAR(w.value().item<double>(), 1.0 - 0.1 * s / 0.1 * 0.1 / (s + 1e-7), 1e-15);
  EXPECT_NEAR(w.value().item<double>(), 0.9000003162, 1e-10);
  EXPECT_NEAR(opt.get_slot(w, "momentum").value().item<double>(), 0.1, 1e-15);
  EXPECT_NEAR(opt.get_slot(w, "velocity").value().item<double>(), 0.001, 1e-15);
}

TEST(OptimRMSprop, DocstringNumber) {
  // keras-semantics F5: w = 10, lr = 0.1, loss = w²/2, one step -> 9.683772.
  for (DType dt : {DType::float32, DType::float64}) {
    RMSprop opt({.learning_rate = 0.1});
    Variable w(Tensor::scalar(10.0, dt), "var1");
    Tensor grad;
    {
      GradientTape tape;
      Tensor loss = div(square(w.value()), 2.0);
      grad = tape.gradient(loss, std::vector<Variable>{w})[0];
    }
    opt.apply_gradients({grad}, {w});
    EXPECT_NEAR(w.value().item<double>(), 9.683772, 1e-6);
  }
}

TEST(OptimAdagrad, OneStepByHand) {
  // acc = 0.1 + 1; w = 1 - 0.1*1/sqrt(1.1 + 1e-7).
  Adagrad opt({.learning_rate = 0.1});
  Variable w(Tensor::from({1.0}), "w");
  opt.apply_gradients({Tensor::from({1.0})}, {w});
  EXPECT_NEAR(w.value().item<double>(), 1.0 - 0.1 / std::sqrt(1.1 + 1e-7), 1e-15);
  EXPECT_NEAR(opt.get_slot(w, "accumulator").value().item<double>(), 1.1, 1e-15);
}

// ---- every optimizer and option against the reference -----------------------

TEST(OptimRef, SGD) {
  for (DType dt : {DType::float32, DType::float64}) {
    for (double mom : {0.0, 0.9}) {
      for (bool nest : {false, true}) {
        SCOPED_TRACE(::testing::Message() << dt << " momentum=" << mom << " nesterov=" << nest);
        SGD opt({.learning_rate = 0.05, .momentum = mom, .nesterov = nest});
        Ref r;
        r.kind = Ref::sgd, r.lr = 0.05, r.momentum = mom, r.nesterov = nest;
        check_against_ref(opt, r, dt, 4);
      }
    }
  }
}

TEST(OptimRef, Adam) {
  for (DType dt : {DType::float32, DType::float64}) {
    for (bool ams : {false, true}) {
      SCOPED_TRACE(::testing::Message() << dt << " amsgrad=" << ams);
      Adam opt({.learning_rate = 0.01, .beta_1 = 0.8, .beta_2 = 0.95, .epsilon = 1e-5, .amsgrad = ams});
      Ref r;
      r.kind = Ref::adam, r.lr = 0.01, r.b1 = 0.8, r.b2 = 0.95, r.eps = 1e-5, r.amsgrad = ams;
      check_against_ref(opt, r, dt, 5);
    }
  }
}

TEST(OptimRef, AdamW) {
  for (DType dt : {DType::float32, DType::float64}) {
    SCOPED_TRACE(::testing::Message() << dt);
    AdamW opt({.learning_rate = 0.01, .weight_decay = 0.1});
    Ref r;
    r.kind = Ref::adam, r.lr = 0.01, r.wd = 0.1;
    check_against_ref(opt, r, dt, 4);
  }
  EXPECT_EQ(AdamW().config().weight_decay, 0.004);
  EXPECT_EQ(AdamW().weight_decay(), 0.004);
}

TEST(OptimRef, RMSprop) {
  for (DType dt : {DType::float32, DType::float64}) {
    for (double mom : {0.0, 0.5}) {
      for (bool centered : {false, true}) {
        SCOPED_TRACE(::testing::Message() << dt << " momentum=" << mom << " centered=" << centered);
        RMSprop opt({.learning_rate = 0.01, .rho = 0.8, .momentum = mom, .epsilon = 1e-6, .centered = centered});
        Ref r;
        r.kind = Ref::rmsprop, r.lr = 0.01, r.rho = 0.8, r.momentum = mom, r.eps = 1e-6, r.centered = centered;
        check_against_ref(opt, r, dt, 4);
      }
    }
  }
}

TEST(OptimRef, Adagrad) {
  for (DType dt : {DType::float32, DType::float64}) {
    Adagrad opt({.learning_rate = 0.1, .initial_accumulator_value = 0.5});
    Ref r;
    r.kind = Ref::adagrad, r.lr = 0.1, r.init_acc = 0.5;
    check_against_ref(opt, r, dt, 4);
  }
}

TEST(OptimRef, WeightDecayOnEveryOptimizer) {
  Ref r;
  r.kind = Ref::sgd, r.lr = 0.1, r.momentum = 0.9, r.wd = 0.2;
  SGD sgd({.learning_rate = 0.1, .momentum = 0.9, .weight_decay = 0.2});
  check_against_ref(sgd, r, DType::float64, 3);
  r = Ref{};
  r.kind = Ref::rmsprop, r.lr = 0.01, r.wd = 0.3;
  RMSprop rms({.learning_rate = 0.01, .weight_decay = 0.3});
  check_against_ref(rms, r, DType::float64, 3);
  r = Ref{};
  r.kind = Ref::adagrad, r.lr = 0.05, r.wd = 0.1;
  Adagrad ada({.learning_rate = 0.05, .weight_decay = 0.1});
  check_against_ref(ada, r, DType::float64, 3);
  r = Ref{};
  r.kind = Ref::adam, r.lr = 0.01, r.wd = 0.05;
  Adam adam({.learning_rate = 0.01, .weight_decay = 0.05});
  check_against_ref(adam, r, DType::float32, 3);
}

TEST(OptimWeightDecay, ByHandAndExclusion) {
  // Zero gradient: plain SGD only decays, w *= 1 - wd*lr per step.
  SGD opt({.learning_rate = 0.1, .weight_decay = 0.5});
  Variable a(Tensor::from({2.0}), "dense/kernel"), b(Tensor::from({2.0}), "dense/bias"), c(Tensor::from({2.0}), "c");
  opt.exclude_from_weight_decay({c}, {"bias"});
  for (int i = 0; i < 2; ++i)
    opt.apply_gradients({Tensor::from({0.0}), Tensor::from({0.0}), Tensor::from({0.0})}, {a, b, c});
  EXPECT_NEAR(a.value().item<double>(), 2.0 * 0.95 * 0.95, 1e-15);
  EXPECT_EQ(b.value().item<double>(), 2.0);
  EXPECT_EQ(c.value().item<double>(), 2.0);
}

// ---- clipping ------------------------------------------------------------------

TEST(OptimClipping, ClipnormPerTensor) {
  SGD opt({.learning_rate = 1.0, .clipnorm = 1.0});
  Variable a(Tensor::from({0.0, 0.0}), "a"), b(Tensor::from({0.0, 0.0}), "b");
  opt.apply_gradients({Tensor::from({3.0, 4.0}), Tensor::from({0.3, 0.4})}, {a, b});
  testing::expect_close(a.value(), {-0.6, -0.8}, 1e-15, 1e-15);
  testing::expect_close(b.value(), {-0.3, -0.4}, 0, 0);  // norm 0.5 < 1: unchanged
  EXPECT_EQ(opt.clipnorm(), 1.0);
}

TEST(OptimClipping, GlobalClipnorm) {
  // G = sqrt(3² + 4² + 12²) = 13; every gradient times 1/13.
  SGD opt({.learning_rate = 1.0, .global_clipnorm = 1.0});
  Variable a(Tensor::from({0.0, 0.0}), "a"), b(Tensor::from({0.0}), "b");
  opt.apply_gradients({Tensor::from({3.0, 4.0}), Tensor::from({12.0})}, {a, b});
  testing::expect_close(a.value(), {-3.0 / 13, -4.0 / 13}, 1e-15, 1e-15);
  testing::expect_close(b.value(), {-12.0 / 13}, 1e-15, 1e-15);
  // Below the threshold: unchanged.
  SGD big({.learning_rate = 1.0, .global_clipnorm = 100.0});
  Variable c(Tensor::from({0.0, 0.0}), "c");
  big.apply_gradients({Tensor::from({3.0, 4.0})}, {c});
  testing::expect_close(c.value(), {-3.0, -4.0}, 1e-15, 0);
  // A non-finite global norm makes every gradient NaN (Keras).
  SGD nan_opt({.learning_rate = 1.0, .global_clipnorm = 1.0});
  Variable d(Tensor::from({0.0}), "d"), e(Tensor::from({0.0}), "e");
  nan_opt.apply_gradients({Tensor::from({std::numeric_limits<double>::infinity()}), Tensor::from({1.0})}, {d, e});
  EXPECT_TRUE(std::isnan(e.value().item<double>()));
}

TEST(OptimClipping, Clipvalue) {
  SGD opt({.learning_rate = 1.0, .clipvalue = 0.5});
  Variable a(Tensor::from({0.f, 0.f, 0.f, 0.f}), "a");
  opt.apply_gradients({Tensor::from({-2.f, 0.3f, 1.f, NAN})}, {a});
  auto got = a.value().to_vector<float>();
  EXPECT_EQ(got[0], 0.5f);
  EXPECT_EQ(got[1], -0.3f);
  EXPECT_EQ(got[2], -0.5f);
  EXPECT_TRUE(std::isnan(got[3])) << "a NaN gradient stays NaN";
}

TEST(OptimClipping, AgainstReferenceWithAdam) {
  for (int mode = 0; mode < 3; ++mode) {
    SCOPED_TRACE(mode);
    optim::AdamConfig c{.learning_rate = 0.01};
    Ref r;
    r.kind = Ref::adam, r.lr = 0.01;
    if (mode == 0) c.clipnorm = r.clipnorm = 1.5;
    if (mode == 1) c.global_clipnorm = r.global_clipnorm = 2.0;
    if (mode == 2) c.clipvalue = r.clipvalue = 0.7;
    Adam opt(c);
    check_against_ref(opt, r, DType::float64, 3);
  }
}

TEST(OptimClipping, FreeFunctions) {
  Tensor g = Tensor::from({3.0, 4.0});
  EXPECT_DOUBLE_EQ(optim::l2_norm(g), 5.0);
  EXPECT_DOUBLE_EQ(optim::global_norm({g, Tensor(), Tensor::from({12.0})}), 13.0);
  testing::expect_close(optim::clip_by_norm(g, 2.5), {1.5, 2.0}, 1e-15, 0);
  testing::expect_close(optim::clip_by_value(g, 3.5), {3.0, 3.5}, 0, 0);
  auto clipped = optim::clip_by_global_norm({g, Tensor(), Tensor::from({12.0})}, 6.5);
  testing::expect_close(clipped[0], {1.5, 2.0}, 1e-15, 0);
  EXPECT_FALSE(clipped[1].defined());
  testing::expect_close(clipped[2], {6.0}, 1e-15, 0);
}

TEST(OptimClipping, ZeroOrNegativeSettingDisablesClipping) {
  // Keras clips only when the setting is > 0.
  SGD opt({.learning_rate = 1.0, .clipnorm = 0.0});
  Variable a(Tensor::from({0.0, 0.0}), "a");
  opt.apply_gradients({Tensor::from({3.0, 4.0})}, {a});
  testing::expect_close(a.value(), {-3.0, -4.0}, 0, 0);
}

// ---- schedules -----------------------------------------------------------------

TEST(OptimSchedules, ExponentialDecay) {
  ExponentialDecay s({.initial_learning_rate = 0.1, .decay_steps = 10, .decay_rate = 0.5});
  EXPECT_DOUBLE_EQ(s(0), 0.1);
  EXPECT_DOUBLE_EQ(s(5), 0.1 * std::sqrt(0.5));
  EXPECT_DOUBLE_EQ(s(10), 0.05);
  EXPECT_DOUBLE_EQ(s(25), 0.1 * std::pow(0.5, 2.5));
  ExponentialDecay st({.initial_learning_rate = 0.1, .decay_steps = 10, .decay_rate = 0.5, .staircase = true});
  EXPECT_DOUBLE_EQ(st(9), 0.1);
  EXPECT_DOUBLE_EQ(st(10), 0.05);
  EXPECT_DOUBLE_EQ(st(15), 0.05);
  EXPECT_DOUBLE_EQ(st(20), 0.025);
  EXPECT_EQ(st.name(), "ExponentialDecay");
}

TEST(OptimSchedules, PiecewiseConstantDecay) {
  PiecewiseConstantDecay s({.boundaries = {10, 20}, .values = {1.0, 0.5, 0.1}});
  EXPECT_EQ(s(0), 1.0);
  EXPECT_EQ(s(10), 1.0);
  EXPECT_EQ(s(11), 0.5);
  EXPECT_EQ(s(20), 0.5);
  EXPECT_EQ(s(21), 0.1);
  EXPECT_EQ(s(1000), 0.1);
}

TEST(OptimSchedules, CosineDecay) {
  CosineDecay s({.initial_learning_rate = 1.0, .decay_steps = 10, .alpha = 0.1});
  EXPECT_DOUBLE_EQ(s(0), 1.0);
  EXPECT_NEAR(s(5), 0.55, 1e-15);
  EXPECT_NEAR(s(10), 0.1, 1e-15);
  EXPECT_NEAR(s(50), 0.1, 1e-15);
  EXPECT_NEAR(s(2), 0.9 * 0.5 * (1 + std::cos(std::numbers::pi * 0.2)) + 0.1, 1e-15);
}

TEST(OptimSchedules, CosineDecayWithWarmup) {
  CosineDecay s({.initial_learning_rate = 0.0, .decay_steps = 10, .warmup_target = 1.0, .warmup_steps = 4});
  EXPECT_DOUBLE_EQ(s(0), 0.0);
  EXPECT_DOUBLE_EQ(s(1), 0.25);
  EXPECT_DOUBLE_EQ(s(2), 0.5);
  EXPECT_DOUBLE_EQ(s(4), 1.0);  // the cosine starts from warmup_target
  EXPECT_NEAR(s(9), 0.5, 1e-15);
  EXPECT_NEAR(s(14), 0.0, 1e-15);
  EXPECT_NEAR(s(100), 0.0, 1e-15);  // clamped to decay_steps + warmup_steps
}

TEST(OptimSchedules, OptimizerEvaluatesAtIterations) {
  SGD opt({.learning_rate = ExponentialDecay({.initial_learning_rate = 0.1, .decay_steps = 1, .decay_rate = 0.5})});
  Variable w(Tensor::from({0.0}), "w");
  EXPECT_DOUBLE_EQ(opt.learning_rate(), 0.1);  // step 0 for the first update
  opt.apply_gradients({Tensor::from({1.0})}, {w});
  EXPECT_DOUBLE_EQ(w.value().item<double>(), -0.1);
  EXPECT_DOUBLE_EQ(opt.learning_rate(), 0.05);
  opt.apply_gradients({Tensor::from({1.0})}, {w});
  EXPECT_DOUBLE_EQ(w.value().item<double>(), -0.15);
  EXPECT_TRUE(opt.config().learning_rate.is_schedule());
  // set_learning_rate replaces the schedule (ReduceLROnPlateau etc.).
  opt.set_learning_rate(1.0);
  EXPECT_FALSE(opt.config().learning_rate.is_schedule());
  EXPECT_EQ(opt.config().learning_rate.value(), 1.0);
  opt.apply_gradients({Tensor::from({1.0})}, {w});
  EXPECT_DOUBLE_EQ(w.value().item<double>(), -1.15);
}

TEST(OptimSchedules, WeightDecayUsesScheduledRate) {
  auto sched = std::make_shared<PiecewiseConstantDecay>(
      PiecewiseConstantDecay::Config{.boundaries = {0}, .values = {0.1, 0.01}});
  SGD opt({.learning_rate = sched, .weight_decay = 1.0});
  Variable w(Tensor::from({1.0}), "w");
  opt.apply_gradients({Tensor::from({0.0})}, {w});  // lr 0.1: w = 0.9
  opt.apply_gradients({Tensor::from({0.0})}, {w});  // lr 0.01: w = 0.891
  EXPECT_NEAR(w.value().item<double>(), 0.891, 1e-15);
}

// ---- iterations, slots, undefined gradients -------------------------------------

TEST(OptimState, IterationsAndUndefinedGradients) {
  Adam opt;
  Variable a(Tensor::from({1.f, 2.f}), "a"), b(Tensor::from({3.f}), "b");
  EXPECT_EQ(opt.iterations(), 0);
  opt.apply_gradients({}, {});  // empty: no-op
  EXPECT_EQ(opt.iterations(), 0);
  opt.apply_gradients({Tensor::from({1.f, 1.f}), Tensor()}, {a, b});
  EXPECT_EQ(opt.iterations(), 1);
  EXPECT_EQ(b.value().item<float>(), 3.f) << "a variable without gradient is skipped";
  EXPECT_FALSE(opt.get_slot(b, "momentum").defined()) << "and gets no slots";
  EXPECT_TRUE(opt.get_slot(a, "momentum").defined());
  opt.apply_gradients({Tensor(), Tensor()}, {a, b});  // all undefined: still counts (Keras)
  EXPECT_EQ(opt.iterations(), 2);
  EXPECT_EQ(opt.iterations_variable().dtype(), DType::int64);
  EXPECT_EQ(opt.iterations_variable().name(), "iteration");
}

TEST(OptimState, VariablesOrderAndSlots) {
  Adam opt({.amsgrad = true});
  Variable a(Tensor::from({1.0, 2.0}), "dense/kernel"), b(Tensor::from({3.0}), "dense/bias");
  EXPECT_THAT(opt.slot_names(), ::testing::ElementsAre("momentum", "velocity", "velocity_hat"));
  opt.apply_gradients({Tensor(), Tensor::from({1.0})}, {a, b});
  opt.apply_gradients({Tensor::from({1.0, 1.0}), Tensor::from({1.0})}, {a, b});
  auto vars = opt.variables();
  ASSERT_EQ(vars.size(), 7u);
  std::vector<std::string> names;
  for (auto& v : vars) names.push_back(v.name());
  EXPECT_THAT(names, ::testing::ElementsAre("iteration", "dense_bias_momentum", "dense_bias_velocity",
                                            "dense_bias_velocity_hat", "dense_kernel_momentum",
                                            "dense_kernel_velocity", "dense_kernel_velocity_hat"));
  EXPECT_EQ(vars[0].value().item<std::int64_t>(), 2);
  for (std::size_t i = 1; i < vars.size(); ++i) EXPECT_FALSE(vars[i].trainable());
  EXPECT_TRUE(opt.get_slot(a, "velocity").same(vars[5]));
  ASSERT_EQ(opt.tracked_variables().size(), 2u);
  EXPECT_TRUE(opt.tracked_variables()[0].same(b));
  // Slots are reachable for loading: assigning them changes the next step.
  Adagrad ada;
  Variable w(Tensor::from({1.0}), "w");
  ada.build({w});
  ASSERT_EQ(ada.variables().size(), 2u);
  EXPECT_EQ(ada.get_slot(w, "accumulator").value().item<double>(), 0.1);  // initial_accumulator_value
  ada.get_slot(w, "accumulator").assign(Tensor::from({3.0}));
  ada.iterations_variable().assign(Tensor::scalar(5, DType::int64));
  ada.apply_gradients({Tensor::from({1.0})}, {w});
  EXPECT_NEAR(w.value().item<double>(), 1.0 - 0.001 / std::sqrt(4.0 + 1e-7), 1e-15);
  EXPECT_EQ(ada.iterations(), 6);
  // SGD without momentum keeps no slots.
  SGD sgd;
  EXPECT_TRUE(sgd.slot_names().empty());
  RMSprop rms({.momentum = 0.9, .centered = true});
  EXPECT_THAT(rms.slot_names(), ::testing::ElementsAre("velocity", "momentum", "average_gradient"));
}

TEST(OptimState, NonContiguousGradient) {
  SGD opt({.learning_rate = 1.0});
  Variable w(zeros({2, 3}, DType::float64), "w");
  Tensor g = Tensor::from({1.0, 2.0, 3.0, 4.0, 5.0, 6.0}, {3, 2}).t();  // (2, 3) view
  opt.apply_gradients({g}, {w});
  testing::expect_close(w.value(), {-1, -3, -5, -2, -4, -6}, 0, 0);
}

// ---- configs, names, factory -----------------------------------------------------

struct FieldNames {
  std::vector<std::string> names;
  template <class T>
  void operator()(const char* n, T&) {
    names.emplace_back(n);
  }
};

TEST(OptimConfig, DefaultsAndVisitors) {
  optim::AdamConfig a;
  EXPECT_EQ(a.learning_rate.value(), 0.001);
  EXPECT_EQ(a.beta_1, 0.9);
  EXPECT_EQ(a.beta_2, 0.999);
  EXPECT_EQ(a.epsilon, 1e-7);
  EXPECT_FALSE(a.amsgrad);
  EXPECT_FALSE(a.weight_decay.has_value());
  EXPECT_EQ(optim::SGDConfig{}.learning_rate.value(), 0.01);
  EXPECT_EQ(optim::RMSpropConfig{}.rho, 0.9);
  EXPECT_EQ(optim::AdagradConfig{}.initial_accumulator_value, 0.1);
  FieldNames f;
  a.visit_fields(f);
  EXPECT_THAT(f.names, ::testing::ElementsAre("name", "learning_rate", "weight_decay", "clipnorm", "global_clipnorm",
                                              "clipvalue", "beta_1", "beta_2", "epsilon", "amsgrad"));
  FieldNames fs;
  optim::CosineDecayConfig{}.visit_fields(fs);
  EXPECT_THAT(fs.names, ::testing::ElementsAre("initial_learning_rate", "decay_steps", "alpha", "name",
                                               "warmup_target", "warmup_steps"));
  Adam opt({.learning_rate = 1e-3, .amsgrad = true});
  EXPECT_TRUE(opt.config().amsgrad);
  opt.set_learning_rate(0.5);
  EXPECT_EQ(opt.config().learning_rate.value(), 0.5);
  EXPECT_EQ(opt.learning_rate(), 0.5);
}

TEST(OptimConfig, NamesAndFactory) {
  for (auto [id, cls] : std::vector<std::pair<std::string, std::string>>{
           {"sgd", "SGD"}, {"adam", "Adam"}, {"adamw", "AdamW"}, {"rmsprop", "RMSprop"}, {"adagrad", "Adagrad"}}) {
    EXPECT_EQ(optim::make_optimizer(id)->name(), cls);
    EXPECT_EQ(optim::make_optimizer(cls)->name(), cls);
  }
  EXPECT_EQ(optim::make_optimizer("rmsprop")->learning_rate(), 0.001);
  EXPECT_EQ(optim::make_optimizer("sgd")->learning_rate(), 0.01);
}

// ---- errors ----------------------------------------------------------------------

template <class E, class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const E& e) {
    return e.what();
  }
  return "<no exception>";
}

TEST(OptimErrors, PinnedMessages) {
  EXPECT_EQ(error_of<ValueError>([] { SGD({.clipnorm = 1.0, .clipvalue = 0.5}); }),
            "[SGD] Only one of `clipnorm`, `clipvalue` and `global_clipnorm` can be set. Received: clipnorm=1, "
            "clipvalue=0.5, global_clipnorm=None");
  EXPECT_EQ(error_of<ValueError>([] { Adam({.clipnorm = 1.0, .global_clipnorm = 2.0}); }),
            "[Adam] Only one of `clipnorm`, `clipvalue` and `global_clipnorm` can be set. Received: clipnorm=1, "
            "clipvalue=None, global_clipnorm=2");
  EXPECT_EQ(error_of<ValueError>([] { SGD({.momentum = 1.5}); }),
            "[SGD] `momentum` must be a float between [0, 1]. Received: momentum=1.5");
  EXPECT_EQ(error_of<ValueError>([] { optim::make_optimizer("adamax"); }),
            "[make_optimizer] Could not interpret optimizer identifier: 'adamax'; known optimizers: adagrad, adam, "
            "adamw, rmsprop, sgd");
  EXPECT_EQ(error_of<ValueError>([] { ExponentialDecay({.initial_learning_rate = 0.1, .decay_steps = 0}); }),
            "[ExponentialDecay] Argument `decay_steps` must be > 0. Received: decay_steps=0");
  EXPECT_EQ(error_of<ValueError>([] { CosineDecay({.initial_learning_rate = 0.1, .decay_steps = -1}); }),
            "[CosineDecay] Argument `decay_steps` must be > 0. Received: decay_steps=-1");
  EXPECT_EQ(error_of<ValueError>([] { PiecewiseConstantDecay({.boundaries = {1, 2}, .values = {1.0, 2.0}}); }),
            "[PiecewiseConstantDecay] The length of boundaries should be 1 less than the length of values. "
            "Received: boundaries=[1, 2] of length 2, and values=[1, 2] of length 2.");

  Adam opt;
  Variable w(Tensor::from({1.f, 2.f}), "dense/kernel");
  EXPECT_EQ(error_of<ValueError>([&] { opt.apply_gradients({Tensor::from({1.f, 1.f})}, {w, w}); }),
            "[Adam] apply_gradients got 1 gradients for 2 variables");
  EXPECT_EQ(error_of<ShapeError>([&] { opt.apply_gradients({Tensor::from({1.f, 1.f, 1.f})}, {w}); }),
            "[Adam] gradient for variable 'dense/kernel' has shape (3,), the variable has shape (2,)");
  EXPECT_EQ(error_of<DTypeError>([&] { opt.apply_gradients({Tensor::from({1.0, 1.0})}, {w}); }),
            "[Adam] gradient for variable 'dense/kernel' has dtype float64, the variable has dtype float32");
  Variable iv(Tensor::from({1, 2}), "counts");
  EXPECT_EQ(error_of<DTypeError>([&] { opt.apply_gradients({Tensor::from({1, 1})}, {iv}); }),
            "[Adam] variable 'counts' has dtype int32; optimizers update float32 or float64 variables");
  EXPECT_EQ(error_of<ValueError>([&] { opt.get_slot(w, "accumulator"); }),
            "[Adam] unknown slot 'accumulator'; this optimizer has: momentum, velocity");
  // Nothing changed by the failed calls.
  EXPECT_EQ(opt.iterations(), 0);
  EXPECT_TRUE(opt.variables().size() == 1);
  // A failure on the second variable leaves the first untouched.
  Variable ok(Tensor::from({1.f}), "ok");
  EXPECT_THROW(opt.apply_gradients({Tensor::from({1.f}), Tensor::from({1.f})}, {ok, w}), ShapeError);
  EXPECT_EQ(ok.value().item<float>(), 1.f);
}

// ---- ISAs and threads ------------------------------------------------------------

struct Case {
  std::string label;
  std::function<std::unique_ptr<Optimizer>()> make;
};

std::vector<Case> all_rules() {
  return {
      {"sgd", [] { return std::make_unique<SGD>(SGD::Config{.learning_rate = 0.1}); }},
      {"sgd_momentum", [] { return std::make_unique<SGD>(SGD::Config{.learning_rate = 0.1, .momentum = 0.9}); }},
      {"sgd_nesterov+clipvalue",
       [] {
         return std::make_unique<SGD>(
             SGD::Config{.learning_rate = 0.1, .momentum = 0.9, .nesterov = true, .clipvalue = 0.5});
       }},
      {"adam+clipnorm+wd",
       [] { return std::make_unique<Adam>(Adam::Config{.weight_decay = 0.01, .clipnorm = 100.0}); }},
      {"adam_amsgrad+global_clipnorm",
       [] { return std::make_unique<Adam>(Adam::Config{.amsgrad = true, .global_clipnorm = 50.0}); }},
      {"rmsprop", [] { return std::make_unique<RMSprop>(); }},
      {"rmsprop_momentum", [] { return std::make_unique<RMSprop>(RMSprop::Config{.momentum = 0.9}); }},
      {"rmsprop_centered", [] { return std::make_unique<RMSprop>(RMSprop::Config{.centered = true}); }},
      {"rmsprop_centered_momentum",
       [] { return std::make_unique<RMSprop>(RMSprop::Config{.momentum = 0.9, .centered = true}); }},
      {"adagrad", [] { return std::make_unique<Adagrad>(); }},
  };
}

// Two steps on a parameter of (1<<20) + 13 elements; returns the parameter and
// every slot, concatenated as raw bytes.
std::vector<unsigned char> run_big(const Case& c, DType dt, const Tensor& w0, const Tensor& g1, const Tensor& g2) {
  auto opt = c.make();
  Variable w(w0.to(dt), "w");
  opt->apply_gradients({g1.to(dt)}, {w});
  opt->apply_gradients({g2.to(dt)}, {w});
  std::vector<unsigned char> bytes;
  for (const Variable& v : opt->variables()) {
    if (v.dtype() == DType::int64) continue;
    const auto* p = static_cast<const unsigned char*>(v.value().raw_data());
    bytes.insert(bytes.end(), p, p + v.numel() * v.value().itemsize());
  }
  const auto* p = static_cast<const unsigned char*>(w.value().raw_data());
  bytes.insert(bytes.end(), p, p + w.numel() * w.value().itemsize());
  return bytes;
}

TEST(OptimKernels, EveryIsaAndThreadCountBitwiseEqual) {
  const std::int64_t n = (std::int64_t{1} << 20) + 13;
  const Tensor w0 = uniform({n}, -1.0, 1.0, 7, DType::float64);
  const Tensor g1 = uniform({n}, -1.0, 1.0, 8, DType::float64);
  const Tensor g2 = uniform({n}, -1.0, 1.0, 9, DType::float64);
  const Isa saved_isa = current_isa();
  const int saved_threads = get_num_threads();
  for (const Case& c : all_rules()) {
    for (DType dt : {DType::float32, DType::float64}) {
      if (dt == DType::float64 && c.label != "adam+clipnorm+wd" && c.label != "rmsprop_centered_momentum") continue;
      SCOPED_TRACE(c.label + " " + std::string(dtype_name(dt)));
      std::vector<unsigned char> first;
      for (Isa isa : supported_isas()) {
        set_isa(isa);
        for (int threads : {1, 2}) {
          set_num_threads(threads);
          auto bytes = run_big(c, dt, w0, g1, g2);
          if (first.empty()) {
            first = std::move(bytes);
            continue;
          }
          ASSERT_EQ(bytes.size(), first.size());
          EXPECT_EQ(0, std::memcmp(bytes.data(), first.data(), bytes.size()))
              << "differs at isa " << isa_name(isa) << ", " << threads << " threads";
        }
      }
    }
  }
  set_isa(saved_isa);
  set_num_threads(saved_threads);
}

TEST(OptimKernels, TailsOnEveryIsaMatchReference) {
  // Lengths around every SIMD width exercise the padded tail.
  testing::for_each_isa([] {
    for (std::size_t n : {1, 2, 3, 5, 7, 8, 9, 15, 16, 17, 31, 33}) {
      SCOPED_TRACE(n);
      RMSprop opt({.learning_rate = 0.01, .momentum = 0.5, .centered = true, .clipvalue = 1.0});
      Ref r;
      r.kind = Ref::rmsprop, r.lr = 0.01, r.momentum = 0.5, r.centered = true, r.clipvalue = 1.0;
      check_against_ref(opt, r, DType::float32, 2, n, n + 1);
      Adam adam({.learning_rate = 0.01, .weight_decay = 0.1});
      Ref ra;
      ra.kind = Ref::adam, ra.lr = 0.01, ra.wd = 0.1;
      check_against_ref(adam, ra, DType::float64, 2, n, n + 3);
    }
  });
}

TEST(OptimKernels, ClipnormNormIsThreadInvariant) {
  const Tensor g = uniform({(std::int64_t{1} << 20) + 5}, -1.0, 1.0, 3, DType::float32);
  const int saved = get_num_threads();
  set_num_threads(1);
  const double a = optim::sum_of_squares(g);
  set_num_threads(2);
  const double b = optim::sum_of_squares(g);
  set_num_threads(saved);
  EXPECT_EQ(a, b);
  double ref = 0;
  for (float x : g.to_vector<float>()) ref += static_cast<double>(x) * x;
  EXPECT_NEAR(a, ref, 1e-5 * ref);
}

// ---- convergence -----------------------------------------------------------------

TEST(OptimConvergence, XorWithTinyMlp) {
  const Tensor x = Tensor::from({0.f, 0.f, 0.f, 1.f, 1.f, 0.f, 1.f, 1.f}, {4, 2});
  const Tensor y = Tensor::from({0.f, 1.f, 1.f, 0.f}, {4, 1});
  Variable w1(normal({2, 8}, 0.0, 1.0, 11), "w1"), b1(zeros({8}), "b1");
  Variable w2(normal({8, 1}, 0.0, 1.0, 12), "w2"), b2(zeros({1}), "b2");
  const std::vector<Variable> params = {w1, b1, w2, b2};
  Adam opt({.learning_rate = 0.05});
  float loss_value = 0;
  for (int step = 0; step < 400; ++step) {
    GradientTape tape;
    Tensor h = tanh(matmul(x, w1.value()) + b1.value());
    Tensor p = sigmoid(matmul(h, w2.value()) + b2.value());
    Tensor loss = mean(square(p - y));
    loss_value = loss.item<float>();
    opt.apply_gradients(tape.gradient(loss, params), params);
  }
  EXPECT_LT(loss_value, 0.01);
  Tensor h = tanh(matmul(x, w1.value()) + b1.value());
  auto pred = sigmoid(matmul(h, w2.value()) + b2.value()).to_vector<float>();
  EXPECT_LT(pred[0], 0.2f);
  EXPECT_GT(pred[1], 0.8f);
  EXPECT_GT(pred[2], 0.8f);
  EXPECT_LT(pred[3], 0.2f);
  EXPECT_EQ(opt.iterations(), 400);
}

}  // namespace
}  // namespace lamina
