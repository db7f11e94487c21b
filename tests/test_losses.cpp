// Losses against their formulas and the Keras docstring numbers
// (keras-semantics.md G1-G4), reductions, sample weights, extreme inputs,
// gradients in float64 and pinned error messages.
#include <cmath>

#include "gradcheck.h"
#include "lamina/layers/losses/losses.h"

namespace lamina {
namespace {

using ::testing::HasSubstr;
using losses::Reduction;
using testing::check_gradients;
using testing::expect_close;

Tensor f32(std::vector<float> v, const Shape& s) { return Tensor::from(v, s); }
Tensor f64(std::vector<double> v, const Shape& s) { return Tensor::from(v, s); }
Tensor i64(std::vector<std::int64_t> v, const Shape& s) { return Tensor::from(v, s); }
double item(const Tensor& t) { return t.item<double>(); }

template <class E, class F>
void expect_error(F&& f, const std::string& needle) {
  try {
    f();
    ADD_FAILURE() << "expected an exception containing: " << needle;
  } catch (const E& e) {
    EXPECT_THAT(e.what(), HasSubstr(needle));
  }
}

// y_true [[0, 1], [0, 0]] of the Keras docstrings.
Tensor doc_true() { return f32({0, 1, 0, 0}, {2, 2}); }
Tensor doc_prob() { return f32({0.6f, 0.4f, 0.4f, 0.6f}, {2, 2}); }

// ---------------------------------------------------------------- reductions (G1)

TEST(Losses, BinaryCrossentropyFromLogitsDocstring) {
  Tensor logits = f32({-18.6f, 0.51f, 2.94f, -12.8f}, {2, 2});
  losses::BinaryCrossentropy bce({.from_logits = true});
  EXPECT_NEAR(item(bce(doc_true(), logits)), 0.8654, 1e-3);
  EXPECT_NEAR(item(bce(doc_true(), logits, f32({0.8f, 0.2f}, {2}))), 0.243, 1e-3);
  losses::BinaryCrossentropy bce_sum({.from_logits = true, .reduction = Reduction::sum});
  EXPECT_NEAR(item(bce_sum(doc_true(), logits)), 1.730, 1e-3);
  losses::BinaryCrossentropy bce_none({.from_logits = true, .reduction = Reduction::none});
  Tensor per = bce_none(doc_true(), logits);
  EXPECT_EQ(per.shape(), (Shape{2}));
  // Formula: mean(softplus(z) - z y) per row.
  auto sp = [](double z) { return std::log1p(std::exp(-std::fabs(z))) + std::max(z, 0.0); };
  expect_close(per, {(sp(-18.6) + sp(0.51) - 0.51) / 2, (sp(2.94) + sp(-12.8)) / 2}, 1e-5, 1e-6);
}

TEST(Losses, ReductionsAndSampleWeights) {
  // MeanSquaredError docstring: 0.5; weights [0.7, 0.3] -> 0.25; sum -> 1.0; none -> [0.5, 0.5].
  Tensor yt = doc_true(), yp = f32({1, 1, 1, 0}, {2, 2});
  EXPECT_NEAR(item(losses::MeanSquaredError()(yt, yp)), 0.5, 1e-7);
  EXPECT_NEAR(item(losses::MeanSquaredError()(yt, yp, f32({0.7f, 0.3f}, {2}))), 0.25, 1e-7);
  EXPECT_NEAR(item(losses::MeanSquaredError({.reduction = Reduction::sum})(yt, yp)), 1.0, 1e-7);
  expect_close(losses::MeanSquaredError({.reduction = Reduction::none})(yt, yp), {0.5, 0.5}, 1e-7, 0);
  // mean_with_sample_weight: sum(w l) / sum(w); without weights = sum_over_batch_size.
  losses::MeanSquaredError mws({.reduction = Reduction::mean_with_sample_weight});
  Tensor per = f32({1, 1, 1, 1, 1, 1, 1, 1, 1}, {3, 3});  // per-sample [mean sq] below
  Tensor yp2 = f32({0, 0, 0, 1, 1, 1, 3, 3, 3}, {3, 3});  // losses [1, 0, 4]
  EXPECT_NEAR(item(mws(per, yp2, f32({1, 2, 3}, {3}))), (1 * 1 + 2 * 0 + 3 * 4) / 6.0, 1e-6);
  EXPECT_NEAR(item(mws(per, yp2)), 5 / 3.0, 1e-6);
  // sum_over_batch_size divides by the number of per-sample losses, not sum(w).
  EXPECT_NEAR(item(losses::MeanSquaredError()(per, yp2, f32({1, 2, 3}, {3}))), 13 / 3.0, 1e-6);
  // Weight of shape (3, 1) is squeezed; a scalar weight scales everything.
  EXPECT_NEAR(item(losses::MeanSquaredError()(per, yp2, f32({1, 2, 3}, {3, 1}))), 13 / 3.0, 1e-6);
  EXPECT_NEAR(item(losses::MeanSquaredError()(per, yp2, Tensor::scalar(2.0))), 10 / 3.0, 1e-6);
  // All-zero weights: divide_no_nan gives 0.
  EXPECT_EQ(item(mws(per, yp2, zeros({3}))), 0.0);
  // none keeps the weighted per-sample losses.
  expect_close(losses::MeanSquaredError({.reduction = Reduction::none})(per, yp2, f32({1, 2, 3}, {3})), {1, 0, 12},
               1e-6, 0);
}

TEST(Losses, ReductionNamesAndEmptyBatch) {
  EXPECT_EQ(losses::parse_reduction("mean"), Reduction::sum_over_batch_size);
  EXPECT_EQ(losses::parse_reduction("mean_with_sample_weight"), Reduction::mean_with_sample_weight);
  EXPECT_EQ(losses::reduction_name(Reduction::sum_over_batch_size), "sum_over_batch_size");
  expect_error<ValueError>([] { losses::parse_reduction("avg"); }, "[loss] invalid reduction 'avg'");
  Tensor empty_loss = losses::MeanSquaredError()(zeros({0, 3}), zeros({0, 3}));
  EXPECT_EQ(empty_loss.ndim(), 0);
  EXPECT_EQ(item(empty_loss), 0.0);
}

// ---------------------------------------------------------------- regression losses (G2)

TEST(Losses, MeanSquaredErrorSpecExample) {
  EXPECT_NEAR(item(losses::MeanSquaredError()(f32({1, 0, 1}, {3}), f32({0.9f, 0.1f, 0.8f}, {3}))), 0.02, 1e-7);
  auto l = losses::make_loss("mse");
  EXPECT_EQ(l->name(), "mean_squared_error");
  EXPECT_EQ(l->class_name(), "MeanSquaredError");
  EXPECT_NEAR(item((*l)(f32({1, 0, 1}, {3}), f32({0.9f, 0.1f, 0.8f}, {3}))), 0.02, 1e-7);
}

TEST(Losses, MeanAbsoluteErrorDocstring) {
  Tensor yt = doc_true(), yp = f32({1, 1, 1, 0}, {2, 2});
  losses::MeanAbsoluteError mae;
  EXPECT_EQ(mae.name(), "mean_absolute_error");
  EXPECT_NEAR(item(mae(yt, yp)), 0.5, 1e-7);
  EXPECT_NEAR(item(mae(yt, yp, f32({0.7f, 0.3f}, {2}))), 0.25, 1e-7);
  expect_close(losses::mean_absolute_error(f32({1, 2, 3, 4}, {2, 2}), f32({0, 4, 3, 5}, {2, 2})), {1.5, 0.5}, 1e-7, 0);
}

TEST(Losses, HuberDocstringAndFormula) {
  losses::Huber h;
  EXPECT_EQ(h.name(), "huber_loss");
  EXPECT_NEAR(item(h(doc_true(), doc_prob())), 0.155, 1e-6);
  EXPECT_NEAR(item(h(doc_true(), doc_prob(), f32({1, 0}, {2}))), 0.09, 1e-6);
  expect_close(losses::Huber({.reduction = Reduction::none})(doc_true(), doc_prob()), {0.18, 0.13}, 1e-6, 0);
  // delta = 2: |x| = 3 -> 2*3 - 2 = 4; |x| = 1 -> 0.5; |x| = 2 (boundary, quadratic) -> 2.
  losses::Huber h2({.delta = 2.0, .reduction = Reduction::none});
  expect_close(h2(f64({0, 0, 0}, {3, 1}), f64({3, -1, 2}, {3, 1})), {4, 0.5, 2}, 1e-12, 0);
  expect_error<ValueError>([] { losses::Huber({.delta = -1.0}); }, "[huber_loss] delta must be >= 0, got -1");
  EXPECT_EQ(losses::make_loss("huber")->name(), "huber");
}

// ---------------------------------------------------------------- binary crossentropy (G3)

TEST(Losses, BinaryCrossentropyProbabilities) {
  expect_close(losses::binary_crossentropy(doc_true(), doc_prob()), {0.916, 0.714}, 1e-3, 0);
  losses::BinaryCrossentropy bce;
  EXPECT_NEAR(item(bce(doc_true(), doc_prob())), 0.815, 1e-3);
  EXPECT_NEAR(item(bce(doc_true(), doc_prob(), f32({1, 0}, {2}))), 0.458, 1e-3);
  EXPECT_NEAR(item(losses::BinaryCrossentropy({.reduction = Reduction::sum})(doc_true(), doc_prob())), 1.630, 1e-3);
  // Integer labels are converted to y_pred's dtype.
  EXPECT_NEAR(item(bce(Tensor::from<std::int32_t>({0, 1, 0, 0}, {2, 2}), doc_prob())), 0.815, 1e-3);
}

TEST(Losses, BinaryCrossentropyLabelSmoothingAndAxis) {
  const double ls = 0.2;
  Tensor yt = f64({0, 1, 1, 0}, {2, 2}), yp = f64({0.3, 0.8, 0.6, 0.1}, {2, 2});
  auto ref = [&](double y, double p) {
    y = y * (1 - ls) + 0.5 * ls;
    return -(y * std::log(p) + (1 - y) * std::log(1 - p));
  };
  losses::BinaryCrossentropy bce({.label_smoothing = ls, .reduction = Reduction::none});
  expect_close(bce(yt, yp), {(ref(0, 0.3) + ref(1, 0.8)) / 2, (ref(1, 0.6) + ref(0, 0.1)) / 2}, 1e-12, 0);
  // axis = 0 averages over the first axis.
  losses::BinaryCrossentropy bce0({.axis = 0, .reduction = Reduction::none});
  expect_close(bce0(yt, yp), {(-std::log(0.7) - std::log(0.6)) / 2, (-std::log(0.8) - std::log(0.9)) / 2}, 1e-12, 0);
  // Logits with smoothing match the probability form on sigmoid(z).
  Tensor z = f64({-1.5, 0.3, 2.0, -0.2}, {2, 2});
  losses::BinaryCrossentropy bl({.from_logits = true, .label_smoothing = ls, .reduction = Reduction::none});
  expect_close(bl(yt, z), bce(yt, core::sigmoid(z)), 1e-12, 1e-12);
  expect_error<ValueError>([] { losses::BinaryCrossentropy({.label_smoothing = 1.5}); },
                           "[binary_crossentropy] label_smoothing must be in [0, 1], got 1.5");
}

TEST(Losses, BinaryCrossentropyExtremeInputsAreFinite) {
  // Probabilities 0 and 1 are clipped to [1e-7, 1 - 1e-7] (Keras's finite values).
  Tensor yt = f32({1, 0, 1, 0}, {4, 1}), yp = f32({0, 1, 1, 0}, {4, 1});
  losses::BinaryCrossentropy bce({.reduction = Reduction::none});
  Tensor l = bce(yt, yp);
  const double hi32 = static_cast<float>(1.0 - 1e-7);
  expect_close(l, {-std::log(1e-7), -std::log(1.0 - hi32), -std::log(hi32), -std::log(1.0 - 1e-7)}, 1e-4, 1e-7);
  expect_close(bce(yt.to(DType::float64), yp.to(DType::float64)),
               {-std::log(1e-7), -std::log(1e-7), -std::log(1 - 1e-7), -std::log(1 - 1e-7)}, 1e-9, 1e-12);
  // Logits of +-1e4.
  losses::BinaryCrossentropy bl({.from_logits = true, .reduction = Reduction::none});
  Tensor z = f32({-1e4f, 1e4f, 1e4f, -1e4f}, {4, 1});
  expect_close(bl(yt, z), {1e4, 1e4, 0, 0}, 1e-6, 0);
  GradientTape tape;
  tape.watch(z);
  Tensor g = tape.gradient(losses::BinaryCrossentropy({.from_logits = true})(yt, z), {z})[0];
  expect_close(g, {-0.25, 0.25, 0, 0}, 0, 1e-7);  // (sigmoid(z) - y) / 4
}

// ---------------------------------------------------------------- categorical crossentropy (G4)

Tensor cce_true() { return f32({0, 1, 0, 0, 0, 1}, {2, 3}); }
Tensor cce_pred() { return f32({0.05f, 0.95f, 0, 0.1f, 0.8f, 0.1f}, {2, 3}); }

TEST(Losses, CategoricalCrossentropyDocstring) {
  expect_close(losses::categorical_crossentropy(cce_true(), cce_pred()), {0.0513, 2.303}, 1e-3, 0);
  losses::CategoricalCrossentropy cce;
  EXPECT_NEAR(item(cce(cce_true(), cce_pred())), 1.177, 1e-3);
  EXPECT_NEAR(item(cce(cce_true(), cce_pred(), f32({0.3f, 0.7f}, {2}))), 0.814, 1e-3);
  EXPECT_NEAR(item(losses::CategoricalCrossentropy({.reduction = Reduction::sum})(cce_true(), cce_pred())), 2.354,
              1e-3);
  // Unnormalized probabilities are renormalized first.
  expect_close(losses::categorical_crossentropy(cce_true(), core::mul(cce_pred(), 3.0)), {0.0513, 2.303}, 1e-3, 0);
}

TEST(Losses, CategoricalCrossentropyLogitsAndSmoothing) {
  Tensor z = f64({1.0, -2.0, 0.5, 3.0, 0.0, -1.0}, {2, 3});
  Tensor y = f64({0, 0, 1, 1, 0, 0}, {2, 3});
  auto lse = [](double a, double b, double c) { return std::log(std::exp(a) + std::exp(b) + std::exp(c)); };
  const double l0 = lse(1, -2, 0.5), l1 = lse(3, 0, -1);
  losses::CategoricalCrossentropy cl({.from_logits = true, .reduction = Reduction::none});
  expect_close(cl(y, z), {l0 - 0.5, l1 - 3.0}, 1e-12, 0);
  // Smoothing 0.3 over 3 classes: y -> y * 0.7 + 0.1.
  losses::CategoricalCrossentropy cls({.from_logits = true, .label_smoothing = 0.3, .reduction = Reduction::none});
  const double r0 = 0.1 * (l0 - 1) + 0.1 * (l0 + 2) + 0.8 * (l0 - 0.5);
  const double r1 = 0.8 * (l1 - 3) + 0.1 * (l1 - 0) + 0.1 * (l1 + 1);
  expect_close(cls(y, z), {r0, r1}, 1e-12, 0);
  // Class axis 0.
  losses::CategoricalCrossentropy c0({.from_logits = true, .axis = 0, .reduction = Reduction::none});
  expect_close(c0(y.transpose(0, 1).contiguous(), z.transpose(0, 1).contiguous()), {l0 - 0.5, l1 - 3.0}, 1e-12, 0);
}

TEST(Losses, CategoricalCrossentropyExtremeInputsAreFinite) {
  Tensor z = f32({1e4f, -1e4f, 0.f, -1e4f, 1e4f, 0.f}, {2, 3});
  Tensor y = f32({0, 1, 0, 0, 1, 0}, {2, 3});
  losses::CategoricalCrossentropy cl({.from_logits = true, .reduction = Reduction::none});
  expect_close(cl(y, z), {2e4, 0}, 1e-6, 0);
  GradientTape tape;
  tape.watch(z);
  Tensor g = tape.gradient(losses::CategoricalCrossentropy({.from_logits = true})(y, z), {z})[0];
  for (double v : g.to_vector<double>()) EXPECT_TRUE(std::isfinite(v));
  // A zero probability on the true class is clipped to 1e-7.
  Tensor p = f32({1, 0, 0}, {1, 3});
  expect_close(losses::categorical_crossentropy(f32({0, 1, 0}, {1, 3}), p), {-std::log(1e-7)}, 1e-4, 0);
}

// ---------------------------------------------------------------- sparse categorical crossentropy

TEST(Losses, SparseCategoricalCrossentropyDocstring) {
  Tensor labels = f32({1, 2}, {2});  // float labels, as Keras accepts
  losses::SparseCategoricalCrossentropy scce;
  EXPECT_NEAR(item(scce(labels, cce_pred())), 1.177, 1e-3);
  EXPECT_NEAR(item(scce(labels, cce_pred(), f32({0.3f, 0.7f}, {2}))), 0.814, 1e-3);
  EXPECT_NEAR(item(losses::SparseCategoricalCrossentropy({.reduction = Reduction::sum})(labels, cce_pred())), 2.354,
              1e-3);
  expect_close(losses::SparseCategoricalCrossentropy({.reduction = Reduction::none})(i64({1, 2}, {2, 1}), cce_pred()),
               {0.0513, 2.303}, 1e-3, 0);
  // uint8 / int32 labels.
  EXPECT_NEAR(item(scce(Tensor::from<std::uint8_t>({1, 2}), cce_pred())), 1.177, 1e-3);
  EXPECT_NEAR(item(scce(Tensor::from<std::int32_t>({1, 2}), cce_pred())), 1.177, 1e-3);
}

TEST(Losses, SparseMatchesCategoricalOnOneHot) {
  Tensor z = uniform({6, 5}, -4, 4, 21, DType::float64);
  Tensor labels = i64({0, 4, 2, 2, 1, 3}, {6});
  Tensor onehot = one_hot(labels, 5, DType::float64);
  for (bool logits : {true, false}) {
    Tensor in = logits ? z : core::softmax(z, -1);
    losses::SparseCategoricalCrossentropy s({.from_logits = logits, .reduction = Reduction::none});
    losses::CategoricalCrossentropy c({.from_logits = logits, .reduction = Reduction::none});
    expect_close(s(labels, in), c(onehot, in), 1e-12, 1e-12);
  }
}

TEST(Losses, SparseFromLogitsIsFusedAndStable) {
  Tensor z = f32({1e4f, -1e4f, 0.f, -1e4f, 1e4f, 0.f}, {2, 3});
  losses::SparseCategoricalCrossentropy s({.from_logits = true});
  GradientTape tape;
  tape.watch(z);
  Tensor l = s(i64({1, 1}, {2}), z);
  EXPECT_LE(tape.size(), 3u);  // fused op, sum, divide
  EXPECT_NEAR(item(l), 1e4, 1e-2);
  Tensor g = tape.gradient(l, {z})[0];
  expect_close(g, {0.5, -0.5, 0, 0, 0, 0}, 0, 1e-7);
}

TEST(Losses, SparseIgnoreClass) {
  Tensor z = uniform({4, 3}, -2, 2, 22, DType::float64);
  Tensor labels = i64({1, -1, 2, -1}, {4});
  Tensor per_all = losses::sparse_categorical_crossentropy(i64({1, 0, 2, 0}, {4}), z, true);
  const double a = per_all.at<double>(0), c = per_all.at<double>(2);
  for (bool logits : {true, false}) {
    SCOPED_TRACE(logits ? "logits" : "probabilities");
    Tensor in = logits ? z : core::softmax(z, -1);
    losses::SparseCategoricalCrossentropy none({.from_logits = logits, .ignore_class = -1, .reduction = Reduction::none});
    expect_close(none(labels, in), {a, 0, c, 0}, 1e-12, 1e-12);
    // The average runs over the valid positions only.
    losses::SparseCategoricalCrossentropy mean({.from_logits = logits, .ignore_class = -1});
    EXPECT_NEAR(item(mean(labels, in)), (a + c) / 2, 1e-12);
    EXPECT_NEAR(item(mean(labels, in, f64({2, 5, 1, 5}, {4}))), (2 * a + c) / 2, 1e-12);
    losses::SparseCategoricalCrossentropy sum({.from_logits = logits, .ignore_class = -1, .reduction = Reduction::sum});
    EXPECT_NEAR(item(sum(labels, in)), a + c, 1e-12);
    // Everything ignored: 0, not NaN.
    EXPECT_EQ(item(mean(i64({-1, -1, -1, -1}, {4}), in)), 0.0);
  }
  // ignore_class inside the class range.
  losses::SparseCategoricalCrossentropy ig0({.from_logits = true, .ignore_class = 0});
  EXPECT_NEAR(item(ig0(i64({1, 0, 2, 0}, {4}), z)), (a + c) / 2, 1e-12);
}

TEST(Losses, SparseProbabilitiesClipZero) {
  Tensor p = f32({1, 0, 0}, {1, 3});
  expect_close(losses::sparse_categorical_crossentropy(i64({2}, {1}), p), {-std::log(1e-7)}, 1e-4, 0);
}

// ---------------------------------------------------------------- gradients (float64)

TEST(Losses, GradCheckEveryLoss) {
  Tensor y01 = f64({0, 1, 1, 0, 1, 0}, {2, 3});
  Tensor yreal = uniform({2, 3}, -1, 1, 31, DType::float64);
  Tensor w = f64({0.3, 1.7}, {2});
  Tensor probs = uniform({2, 3}, 0.05, 0.95, 32, DType::float64);
  Tensor logits = uniform({2, 3}, -3, 3, 33, DType::float64);
  Tensor labels = i64({2, 0}, {2});
  struct Case {
    const char* name;
    std::function<Tensor(const Tensor&)> f;
    Tensor x;
  };
  losses::MeanSquaredError mse;
  losses::MeanAbsoluteError mae({.reduction = Reduction::sum});
  losses::Huber huber({.delta = 0.5});
  losses::BinaryCrossentropy bce({.label_smoothing = 0.1});
  losses::BinaryCrossentropy bcel({.from_logits = true, .reduction = Reduction::mean_with_sample_weight});
  losses::CategoricalCrossentropy cce({.label_smoothing = 0.2});
  losses::CategoricalCrossentropy ccel({.from_logits = true});
  losses::SparseCategoricalCrossentropy scce;
  losses::SparseCategoricalCrossentropy sccel({.from_logits = true});
  losses::SparseCategoricalCrossentropy scceli({.from_logits = true, .ignore_class = 0, .reduction = Reduction::none});
  std::vector<Case> cases = {
      {"mse", [&](const Tensor& x) { return mse(yreal, x, w); }, logits},
      {"mae", [&](const Tensor& x) { return mae(yreal, x); }, logits},
      {"huber", [&](const Tensor& x) { return huber(yreal, x, w); }, logits},
      {"bce", [&](const Tensor& x) { return bce(y01, x, w); }, probs},
      {"bce_logits", [&](const Tensor& x) { return bcel(y01, x, w); }, logits},
      {"cce", [&](const Tensor& x) { return cce(y01, x); }, probs},
      {"cce_logits", [&](const Tensor& x) { return ccel(y01, x, w); }, logits},
      {"scce", [&](const Tensor& x) { return scce(labels, x, w); }, probs},
      {"scce_logits", [&](const Tensor& x) { return sccel(labels, x, w); }, logits},
      {"scce_logits_ignore", [&](const Tensor& x) { return scceli(labels, x); }, logits},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    check_gradients([&](const auto& xs) { return c.f(xs[0]); }, {c.x});
  }
  // Regression losses also differentiate w.r.t. y_true.
  check_gradients([&](const auto& xs) { return mse(xs[0], logits); }, {yreal});
}

TEST(Losses, SecondOrderThroughSparseLogits) {
  // Hessian-vector style: d/dz of the gradient of the loss (nested tapes).
  Tensor labels = i64({2, 0, 1}, {3});
  losses::SparseCategoricalCrossentropy s({.from_logits = true});
  check_gradients(
      [&](const auto& xs) {
        GradientTape inner;
        inner.watch(xs[0]);
        return inner.gradient(s(labels, xs[0]), {xs[0]})[0];
      },
      {uniform({3, 4}, -2, 2, 41, DType::float64)});
}

// ---------------------------------------------------------------- errors and factory

TEST(Losses, ErrorsNameTheLossAndShapes) {
  losses::MeanSquaredError mse;
  expect_error<ShapeError>([&] { mse(zeros({2, 3}), zeros({2, 4})); },
                           "[mean_squared_error] y_true of shape (2, 3) does not match y_pred of shape (2, 4)");
  expect_error<DTypeError>([&] { losses::BinaryCrossentropy()(zeros({2}, DType::float64), zeros({2})); },
                           "[binary_crossentropy] y_true has dtype float64 but y_pred has dtype float32");
  expect_error<DTypeError>([&] { mse(zeros({2}), zeros({2}, DType::int32)); },
                           "[mean_squared_error] y_pred must be float32 or float64, got int32");
  expect_error<ShapeError>([&] { losses::CategoricalCrossentropy()(i64({1, 2}, {2, 1}), zeros({2, 3})); },
                           "(integer class labels need sparse_categorical_crossentropy)");
  expect_error<ShapeError>([&] { mse(zeros({2, 1}), zeros({2, 1}), zeros({3})); },
                           "[mean_squared_error] sample_weight of shape (3,) does not broadcast to the per-sample "
                           "losses of shape (2,)");
  losses::SparseCategoricalCrossentropy scce({.from_logits = true});
  expect_error<IndexError>([&] { scce(i64({0, 3}, {2}), zeros({2, 3})); },
                           "[sparse_categorical_crossentropy] label 3 at position 1 is out of range [0, 3)");
  expect_error<IndexError>([&] { losses::SparseCategoricalCrossentropy()(i64({-1, 0}, {2}), zeros({2, 3})); },
                           "label -1 at position 0 is out of range");
  expect_error<ValueError>([&] { scce(f32({0.5f, 1.f}, {2}), zeros({2, 3})); },
                           "[sparse_categorical_crossentropy] label 0.5 at position 0 is not an integer");
  expect_error<ShapeError>([&] { scce(i64({0, 1, 2}, {3}), zeros({2, 3})); },
                           "[sparse_categorical_crossentropy] y_true of shape (3,) does not match y_pred of shape (2, 3)");
  losses::SparseCategoricalCrossentropy renamed({.name = "my_loss"});
  expect_error<IndexError>([&] { renamed(i64({9}, {1}), zeros({1, 3})); }, "[my_loss] label 9");
}

TEST(Losses, FactoryAndConfigs) {
  for (const auto& id : losses::known_loss_ids()) EXPECT_NE(losses::make_loss(id), nullptr) << id;
  EXPECT_EQ(losses::make_loss("bce")->class_name(), "BinaryCrossentropy");
  EXPECT_EQ(losses::make_loss("sparse_categorical_crossentropy")->name(), "sparse_categorical_crossentropy");
  EXPECT_EQ(losses::make_loss("categorical_crossentropy")->reduction(), Reduction::sum_over_batch_size);
  expect_error<ValueError>([] { losses::make_loss("hinge"); },
                           "[make_loss] unknown loss 'hinge'; known ids: mean_squared_error, mse");
  // The field visitor lists Keras's argument names in order.
  losses::SparseCategoricalCrossentropyConfig cfg{.from_logits = true, .ignore_class = 3};
  std::vector<std::string> keys;
  cfg.visit_fields([&](std::string_view k, auto&) { keys.emplace_back(k); });
  EXPECT_EQ(keys, (std::vector<std::string>{"from_logits", "ignore_class", "axis", "reduction", "name"}));
  const losses::HuberConfig hc{.delta = 2.5};
  double seen = 0;
  hc.visit_fields([&](std::string_view k, const auto& v) {
    if constexpr (std::is_same_v<std::decay_t<decltype(v)>, double>)
      if (k == "delta") seen = v;
  });
  EXPECT_EQ(seen, 2.5);
  // clone keeps the configuration.
  losses::BinaryCrossentropy b({.from_logits = true, .label_smoothing = 0.1, .name = "b"});
  auto copy = b.clone();
  EXPECT_EQ(copy->name(), "b");
  EXPECT_TRUE(dynamic_cast<losses::BinaryCrossentropy&>(*copy).config().from_logits);
}

TEST(Losses, RankFixUpLikeKeras) {
  // y_true (N,) against y_pred (N, 1): expanded, one loss per sample.
  losses::MeanSquaredError mse({.reduction = Reduction::none});
  Tensor l = mse(f32({1, 2, 3}, {3}), f32({1, 1, 1}, {3, 1}));
  EXPECT_EQ(l.shape(), (Shape{3}));
  expect_close(l, {0, 1, 4}, 0, 0);
}

TEST(Losses, CustomLossSubclass) {
  struct Twice : losses::Loss {
    Twice() : Loss("twice", losses::Reduction::sum) {}
    Tensor call(const Tensor& y_true, const Tensor& y_pred) const override {
      return mul(losses::mean_absolute_error(y_true, y_pred), 2.0);
    }
  } twice;
  EXPECT_NEAR(item(twice(f32({0, 0}, {2, 1}), f32({1, 2}, {2, 1}))), 6.0, 1e-7);
  EXPECT_EQ(twice.class_name(), "Loss");
}

}  // namespace
}  // namespace lamina
