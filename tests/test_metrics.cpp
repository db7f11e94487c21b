// Metrics against hand-computed values and the Keras docstring numbers
// (keras-semantics.md G5): running means across updates, sample weights,
// reset, factory, errors.
#include <algorithm>
#include <cmath>

#include "lamina/layers/metrics/metrics.h"
#include "test_util.h"

namespace lamina {
namespace {

using ::testing::HasSubstr;

Tensor f32(std::vector<float> v, const Shape& s) { return Tensor::from(v, s); }
Tensor i64(std::vector<std::int64_t> v, const Shape& s) { return Tensor::from(v, s); }

template <class E, class F>
void expect_error(F&& f, const std::string& needle) {
  try {
    f();
    ADD_FAILURE() << "expected an exception containing: " << needle;
  } catch (const E& e) {
    EXPECT_THAT(e.what(), HasSubstr(needle));
  }
}

TEST(Metrics, MeanRunningWeightedAndReset) {
  metrics::Mean m;
  EXPECT_EQ(m.name(), "mean");
  EXPECT_EQ(m.result(), 0.0);
  m.update_state(f32({1, 3, 5, 7}, {4}));
  EXPECT_DOUBLE_EQ(m.result(), 4.0);
  m.reset_state();
  m.update_state(f32({1, 3, 5, 7}, {4}), f32({1, 1, 0, 0}, {4}));
  EXPECT_DOUBLE_EQ(m.result(), 2.0);
  // Loss tracking: batch means weighted by batch size.
  m.reset_state();
  m.update_state(0.5, 32);
  m.update_state(2.0, 8);
  EXPECT_DOUBLE_EQ(m.result(), (0.5 * 32 + 2.0 * 8) / 40);
  EXPECT_DOUBLE_EQ(m.count(), 40);
  // 2-D values without weights: per-sample means, count = batch size.
  m.reset_state();
  m.update_state(f32({1, 2, 3, 5}, {2, 2}));
  EXPECT_DOUBLE_EQ(m.result(), 2.75);
  EXPECT_DOUBLE_EQ(m.count(), 2);
  expect_error<ValueError>([&] { m.update_state(f32({1}, {1}), f32({1}, {1}), Tensor()); },
                           "[mean] Mean is updated with update_state(values, sample_weight)");
}

TEST(Metrics, AccuracyDocstring) {
  metrics::Accuracy m;
  m.update_state(f32({1, 2, 3, 4}, {4, 1}), f32({0, 2, 3, 4}, {4, 1}));
  EXPECT_DOUBLE_EQ(m.result(), 0.75);
  m.reset_state();
  m.update_state(f32({1, 2, 3, 4}, {4, 1}), f32({0, 2, 3, 4}, {4, 1}), f32({1, 1, 0, 0}, {4}));
  EXPECT_DOUBLE_EQ(m.result(), 0.5);
  // Accumulates across updates: 1 of 2 weighted, then 2 of 2 -> 3 / 4.
  m.update_state(i64({5, 6}, {2, 1}), f32({5, 6}, {2, 1}));
  EXPECT_DOUBLE_EQ(m.result(), (1.0 + 2.0) / (2.0 + 2.0));
  // As Keras, 1-D inputs are one sample (the mean over the last axis is a scalar).
  m.update_state(i64({1, 2}, {2}), f32({1, 0}, {2}));
  EXPECT_DOUBLE_EQ(m.result(), (3.0 + 0.5) / 5.0);
}

TEST(Metrics, BinaryAccuracyDocstringAndStrictThreshold) {
  metrics::BinaryAccuracy m;
  EXPECT_EQ(m.name(), "binary_accuracy");
  Tensor yt = f32({1, 1, 0, 0}, {4, 1}), yp = f32({0.98f, 1, 0, 0.6f}, {4, 1});
  m.update_state(yt, yp);
  EXPECT_DOUBLE_EQ(m.result(), 0.75);
  m.reset_state();
  m.update_state(yt, yp, f32({1, 0, 0, 1}, {4}));
  EXPECT_DOUBLE_EQ(m.result(), 0.5);
  // y_pred == threshold is negative (strictly greater).
  m.reset_state();
  m.update_state(f32({0, 1}, {2}), f32({0.5f, 0.5f}, {2}));
  EXPECT_DOUBLE_EQ(m.result(), 0.5);
  metrics::BinaryAccuracy t7({.threshold = 0.7});
  t7.update_state(f32({1, 0}, {2}), f32({0.7f, 0.6f}, {2}));
  EXPECT_DOUBLE_EQ(t7.result(), 0.5);
  // A rank-0 weight weighs the batch mean once (Keras reduce_to_samplewise_values).
  metrics::BinaryAccuracy s;
  s.update_state(yt, yp, Tensor::scalar(2.0));
  s.update_state(f32({1, 0, 1, 0}, {4, 1}), f32({1, 0, 1, 0}, {4, 1}));
  EXPECT_DOUBLE_EQ(s.result(), (0.75 * 2 + 4) / 6);
}

TEST(Metrics, CategoricalAccuracyDocstring) {
  metrics::CategoricalAccuracy m;
  Tensor yt = f32({0, 0, 1, 0, 1, 0}, {2, 3}), yp = f32({0.1f, 0.9f, 0.8f, 0.05f, 0.95f, 0}, {2, 3});
  m.update_state(yt, yp);
  EXPECT_DOUBLE_EQ(m.result(), 0.5);
  m.reset_state();
  m.update_state(yt, yp, f32({0.7f, 0.3f}, {2}));
  EXPECT_NEAR(m.result(), 0.3, 1e-7);
  // Ties pick the first index.
  m.reset_state();
  m.update_state(f32({1, 0}, {1, 2}), f32({0.5f, 0.5f}, {1, 2}));
  EXPECT_DOUBLE_EQ(m.result(), 1.0);
}

TEST(Metrics, SparseCategoricalAccuracyDocstring) {
  metrics::SparseCategoricalAccuracy m;
  Tensor yp = f32({0.1f, 0.6f, 0.3f, 0.05f, 0.95f, 0}, {2, 3});
  m.update_state(f32({2, 1}, {2, 1}), yp);
  EXPECT_DOUBLE_EQ(m.result(), 0.5);
  m.reset_state();
  m.update_state(f32({2, 1}, {2, 1}), yp, f32({0.7f, 0.3f}, {2}));
  EXPECT_NEAR(m.result(), 0.3, 1e-7);
  // Integer labels of shape (N,), accumulated over batches, then reset.
  m.reset_state();
  m.update_state(Tensor::from<std::uint8_t>({1, 2}), yp);
  m.update_state(i64({0}, {1}), f32({3, 1, 2}, {1, 3}));
  EXPECT_DOUBLE_EQ(m.result(), 2.0 / 3.0);
  m.reset_state();
  EXPECT_EQ(m.result(), 0.0);
}

TEST(Metrics, TopKDocstringAndTies) {
  Tensor yt = f32({0, 0, 1, 0, 1, 0}, {2, 3}), yp = f32({0.1f, 0.9f, 0.8f, 0.05f, 0.95f, 0}, {2, 3});
  metrics::TopKCategoricalAccuracy k1({.k = 1});
  k1.update_state(yt, yp);
  EXPECT_DOUBLE_EQ(k1.result(), 0.5);
  k1.reset_state();
  k1.update_state(yt, yp, f32({0.7f, 0.3f}, {2}));
  EXPECT_NEAR(k1.result(), 0.3, 1e-7);
  metrics::TopKCategoricalAccuracy k2({.k = 2});
  k2.update_state(yt, yp);
  EXPECT_DOUBLE_EQ(k2.result(), 1.0);
  metrics::TopKCategoricalAccuracy k5;
  EXPECT_EQ(k5.name(), "top_k_categorical_accuracy");
  // Ties at the boundary count as in the top k.
  metrics::SparseTopKCategoricalAccuracy s1({.k = 1});
  s1.update_state(i64({2, 1}, {2}), f32({0.5f, 0.1f, 0.5f, 0.3f, 0.2f, 0.1f}, {2, 3}));
  EXPECT_DOUBLE_EQ(s1.result(), 0.5);
  expect_error<ValueError>([] { metrics::TopKCategoricalAccuracy({.k = 0}); }, "k must be >= 1, got 0");
}

TEST(Metrics, PrecisionRecallDocstring) {
  metrics::Precision p;
  metrics::Recall r;
  Tensor yt = f32({0, 1, 1, 1}, {4}), yp = f32({1, 0, 1, 1}, {4});
  p.update_state(yt, yp);
  r.update_state(yt, yp);
  EXPECT_NEAR(p.result(), 2.0 / 3.0, 1e-12);
  EXPECT_NEAR(r.result(), 2.0 / 3.0, 1e-12);
  p.reset_state();
  r.reset_state();
  p.update_state(yt, yp, f32({0, 0, 1, 0}, {4}));
  r.update_state(yt, yp, f32({0, 0, 1, 0}, {4}));
  EXPECT_DOUBLE_EQ(p.result(), 1.0);
  EXPECT_DOUBLE_EQ(r.result(), 1.0);
  // Threshold 0.5 strict, accumulation, 2-D inputs, class_id.
  metrics::Precision pc({.class_id = 1});
  pc.update_state(f32({0, 1, 1, 0, 0, 1}, {3, 2}), f32({0.9f, 0.6f, 0.2f, 0.5f, 0.1f, 0.7f}, {3, 2}));
  EXPECT_DOUBLE_EQ(pc.result(), 1.0);  // column 1: preds 0.6, 0.5(neg), 0.7 vs labels 1, 0, 1
  metrics::Recall rc({.thresholds = 0.65, .class_id = 1});
  rc.update_state(f32({0, 1, 1, 0, 0, 1}, {3, 2}), f32({0.9f, 0.6f, 0.2f, 0.5f, 0.1f, 0.7f}, {3, 2}));
  EXPECT_DOUBLE_EQ(rc.result(), 0.5);
  metrics::Precision empty;
  EXPECT_EQ(empty.result(), 0.0);
  expect_error<IndexError>([&] { pc.update_state(zeros({2, 1}), zeros({2, 1})); }, "[precision] class_id 1 is out of range");
}

// Exact ROC AUC by pairwise comparison (ties count one half).
double exact_auc(const std::vector<double>& y, const std::vector<double>& p) {
  double pairs = 0, good = 0;
  for (std::size_t i = 0; i < y.size(); ++i)
    for (std::size_t j = 0; j < y.size(); ++j)
      if (y[i] == 1 && y[j] == 0) {
        pairs += 1;
        good += p[i] > p[j] ? 1.0 : p[i] == p[j] ? 0.5 : 0.0;
      }
  return good / pairs;
}

TEST(Metrics, AUCDocstringAndCounts) {
  metrics::AUC m({.num_thresholds = 3});
  m.update_state(f32({0, 0, 1, 1}, {4}), f32({0, 0.5f, 0.3f, 0.9f}, {4}));
  EXPECT_NEAR(m.result(), 0.75, 1e-12);
  EXPECT_EQ(m.true_positives(), (std::vector<double>{2, 1, 0}));
  EXPECT_EQ(m.false_positives(), (std::vector<double>{2, 0, 0}));
  EXPECT_EQ(m.true_negatives(), (std::vector<double>{0, 2, 2}));
  EXPECT_EQ(m.false_negatives(), (std::vector<double>{0, 1, 2}));
  ASSERT_EQ(m.thresholds().size(), 3u);
  EXPECT_DOUBLE_EQ(m.thresholds()[0], -1e-7);
  EXPECT_DOUBLE_EQ(m.thresholds()[1], 0.5);
  EXPECT_DOUBLE_EQ(m.thresholds()[2], 1 + 1e-7);
  // Weighted: sample_weight [1, 0, 0, 1] -> perfect separation.
  m.reset_state();
  m.update_state(f32({0, 0, 1, 1}, {4}), f32({0, 0.5f, 0.3f, 0.9f}, {4}), f32({1, 0, 0, 1}, {4}));
  EXPECT_NEAR(m.result(), 1.0, 1e-12);
  expect_error<ValueError>([] { metrics::AUC({.num_thresholds = 1}); }, "[auc] num_thresholds must be > 1, got 1");
}

TEST(Metrics, AUCApproximatesExactAndAccumulates) {
  Tensor p = uniform({400}, 0, 1, 51, DType::float64);
  Tensor noise = uniform({400}, 0, 1, 52, DType::float64);
  std::vector<double> pv = p.to_vector<double>(), nv = noise.to_vector<double>(), yv;
  for (std::size_t i = 0; i < pv.size(); ++i) yv.push_back(nv[i] < pv[i] ? 1.0 : 0.0);
  Tensor y = Tensor::from(yv, Shape{400});
  metrics::AUC m;  // 200 thresholds
  m.update_state(y.slice(0, 0, 150), p.slice(0, 0, 150));
  m.update_state(y.slice(0, 150, 400), p.slice(0, 150, 400));
  EXPECT_NEAR(m.result(), exact_auc(yv, pv), 5e-3);
  metrics::AUC fine({.num_thresholds = 5000});
  fine.update_state(y, p);
  EXPECT_NEAR(fine.result(), exact_auc(yv, pv), 2e-4);
  // from_logits applies a sigmoid first: logit(p) gives the same result.
  metrics::AUC logits({.from_logits = true});
  logits.update_state(y, core::log(core::div(p, core::sub(ones({400}, DType::float64), p))));
  EXPECT_NEAR(logits.result(), m.result(), 1e-9);
  // Minoring <= interpolation <= majoring.
  metrics::AUC lo({.summation_method = metrics::AUCSummation::minoring});
  metrics::AUC hi({.summation_method = metrics::AUCSummation::majoring});
  lo.update_state(y, p);
  hi.update_state(y, p);
  EXPECT_LE(lo.result(), m.result());
  EXPECT_GE(hi.result(), m.result());
}

TEST(Metrics, AUCPrecisionRecallCurve) {
  metrics::AUC pr({.curve = metrics::AUCCurve::PR});
  pr.update_state(f32({0, 0, 1, 1}, {4}), f32({0.1f, 0.2f, 0.8f, 0.9f}, {4}));
  EXPECT_NEAR(pr.result(), 1.0, 1e-6);
  metrics::AUC pr2({.curve = metrics::AUCCurve::PR});
  pr2.update_state(f32({1, 0, 1, 0}, {4}), f32({0.9f, 0.8f, 0.3f, 0.1f}, {4}));
  // Average precision of this ranking is (1 + 2/3) / 2; the interpolated area is close.
  EXPECT_NEAR(pr2.result(), (1 + 2.0 / 3.0) / 2, 0.1);
  EXPECT_EQ(metrics::parse_auc_curve("PR"), metrics::AUCCurve::PR);
  expect_error<ValueError>([] { metrics::parse_auc_summation("trapezoid"); }, "invalid summation_method 'trapezoid'");
}

TEST(Metrics, LossMetricsAndFactory) {
  auto mse = metrics::make_metric("mse");
  EXPECT_EQ(mse->name(), "mse");
  mse->update_state(f32({1, 0, 1}, {1, 3}), f32({0.9f, 0.1f, 0.8f}, {1, 3}));
  mse->update_state(f32({0, 0, 0}, {1, 3}), f32({1, 1, 1}, {1, 3}));
  EXPECT_NEAR(mse->result(), (0.02 + 1.0) / 2, 1e-6);
  EXPECT_EQ(metrics::make_metric("MeanSquaredError")->name(), "mean_squared_error");
  EXPECT_EQ(metrics::make_metric("acc")->name(), "acc");
  EXPECT_EQ(metrics::make_metric("auc")->class_name(), "AUC");
  EXPECT_EQ(metrics::make_metric("precision")->name(), "precision");
  for (const auto& id : metrics::known_metric_ids()) EXPECT_NE(metrics::make_metric(id), nullptr) << id;
  expect_error<ValueError>([] { metrics::make_metric("f1"); }, "[make_metric] unknown metric 'f1'; known ids: accuracy, acc");
  // "accuracy" resolved from the shapes, as Keras compile().
  auto pick = [](const Shape& t, const Shape& p) { return std::string(metrics::make_metric("accuracy", t, p)->class_name()); };
  EXPECT_EQ(pick({32}, {32, 10}), "SparseCategoricalAccuracy");
  EXPECT_EQ(pick({32, 1}, {32, 10}), "SparseCategoricalAccuracy");
  EXPECT_EQ(pick({32, 10}, {32, 10}), "CategoricalAccuracy");
  EXPECT_EQ(pick({32, 1}, {32, 1}), "BinaryAccuracy");
  EXPECT_EQ(metrics::make_metric("accuracy", {32}, {32, 10})->name(), "accuracy");
  EXPECT_EQ(metrics::make_metric("auc", {32}, {32, 10})->class_name(), "AUC");
  // clone gives a fresh metric with the same configuration.
  metrics::BinaryAccuracy b({.threshold = 0.3, .name = "b"});
  b.update_state(f32({1}, {1}), f32({0.4f}, {1}));
  auto c = b.clone();
  EXPECT_EQ(c->name(), "b");
  EXPECT_EQ(c->result(), 0.0);
  c->update_state(f32({1}, {1}), f32({0.4f}, {1}));
  EXPECT_EQ(c->result(), 1.0);
}

TEST(Metrics, ErrorsNameTheMetric) {
  metrics::CategoricalAccuracy ca;
  expect_error<ShapeError>([&] { ca.update_state(i64({1, 2}, {2}), zeros({2, 3})); },
                           "[categorical_accuracy] y_true of shape (2,) does not match y_pred of shape (2, 3) "
                           "(integer class labels need sparse_categorical_accuracy)");
  metrics::SparseCategoricalAccuracy sa;
  expect_error<ShapeError>([&] { sa.update_state(i64({1, 2, 0}, {3}), zeros({2, 3})); },
                           "[sparse_categorical_accuracy] y_true of shape (3,) does not match y_pred of shape (2, 3)");
  metrics::Accuracy a;
  expect_error<ShapeError>([&] { a.update_state(zeros({2, 3}), zeros({2, 4})); },
                           "[accuracy] y_true of shape (2, 3) does not match y_pred of shape (2, 4)");
  expect_error<ShapeError>([&] { a.update_state(zeros({2, 3}), zeros({2, 3}), zeros({3})); },
                           "[accuracy] sample_weight of shape (3,) does not broadcast");
  metrics::AUC auc;
  expect_error<ShapeError>([&] { auc.update_state(zeros({4}), zeros({4}), zeros({3})); },
                           "[auc] sample_weight of shape (3,) does not broadcast to y_pred of shape (4,)");
}

TEST(Metrics, UpdatesInsideATapeRecordNothing) {
  Tensor logits = uniform({4, 3}, -1, 1, 61);
  GradientTape tape;
  tape.watch(logits);
  metrics::SparseCategoricalAccuracy acc;
  auto mse = metrics::make_metric("mse");
  acc.update_state(i64({0, 1, 2, 0}, {4}), logits);
  mse->update_state(zeros({4, 3}), logits);
  EXPECT_EQ(tape.size(), 0u);
}

}  // namespace
}  // namespace lamina
