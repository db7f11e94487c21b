#pragma once
/// Metrics with Keras 3 semantics (keras-semantics.md G5): stateful running
/// values with update_state / result / reset_state.
///
/// Metrics run outside tapes (nothing is recorded) on plain loops over the
/// batch; result() is a double. Most are running weighted means of per-sample
/// values since the last reset (Keras's MeanMetricWrapper): without
/// sample_weight each sample counts 1; with it, values and weights are reduced
/// to per-sample values exactly as Keras's reduce_to_samplewise_values (a
/// weight of rank 0 weighs the batch mean once).
///
/// Example:
///   metrics::SparseCategoricalAccuracy acc;
///   acc.update_state(labels, logits);       // each batch
///   double a = acc.result();                // fraction correct so far
///   acc.reset_state();                      // each epoch
///   auto m = metrics::make_metric("accuracy", y_true.shape(), y_pred.shape());

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lamina/core/tensor.h"
#include "lamina/layers/losses/losses.h"

namespace lamina::metrics {

class Metric {
 public:
  virtual ~Metric() = default;
  /// Accumulates one batch. Errors (ShapeError / DTypeError / ValueError) name the metric.
  virtual void update_state(const Tensor& y_true, const Tensor& y_pred, const Tensor& sample_weight = Tensor()) = 0;
  /// The metric over everything seen since the last reset (0 before any update).
  virtual double result() const = 0;
  virtual void reset_state() = 0;
  const std::string& name() const { return name_; }
  /// Keras class name, e.g. "SparseCategoricalAccuracy".
  virtual std::string_view class_name() const = 0;
  /// A fresh (reset) metric with the same configuration.
  virtual std::unique_ptr<Metric> clone() const = 0;

 protected:
  explicit Metric(std::string name) : name_(std::move(name)) {}

 private:
  std::string name_;
};

// ---------------------------------------------------------------------------

struct MeanConfig {
  std::string name = "mean";
  template <class V> void visit_fields(V&& v) { v("name", name); }
  template <class V> void visit_fields(V&& v) const { v("name", name); }
};

/// Weighted running mean of values (Keras Mean): total += sum(w * v), count += sum(w)
/// after reducing to per-sample values; result = total / count (0 when count is 0).
/// Used to track the loss: update_state(batch_loss, batch_size).
class Mean final : public Metric {
 public:
  using Config = MeanConfig;
  explicit Mean(Config config = {}) : Metric(config.name), config_(std::move(config)) {}
  void update_state(const Tensor& values, const Tensor& sample_weight = Tensor());
  void update_state(double value, double weight = 1.0);
  /// Mean takes values, not (y_true, y_pred): throws ValueError.
  void update_state(const Tensor& y_true, const Tensor& y_pred, const Tensor& sample_weight) override;
  double result() const override;
  void reset_state() override;
  double total() const { return total_; }
  double count() const { return count_; }
  const Config& config() const { return config_; }
  std::string_view class_name() const override { return "Mean"; }
  std::unique_ptr<Metric> clone() const override { return std::make_unique<Mean>(config_); }

 private:
  Config config_;
  double total_ = 0, count_ = 0;
};

/// Base of the metrics that average per-sample values (Keras MeanMetricWrapper).
class MeanMetricWrapper : public Metric {
 public:
  void update_state(const Tensor& y_true, const Tensor& y_pred, const Tensor& sample_weight = Tensor()) override;
  double result() const override;
  void reset_state() override;
  double total() const { return total_; }
  double count() const { return count_; }

 protected:
  using Metric::Metric;
  /// Per-sample (or per-element) values as a float64 tensor whose leading axis is the batch.
  virtual Tensor values(const Tensor& y_true, const Tensor& y_pred) const = 0;

 private:
  double total_ = 0, count_ = 0;
};

struct AccuracyConfig {
  std::string name = "accuracy";
  template <class V> void visit_fields(V&& v) { v("name", name); }
  template <class V> void visit_fields(V&& v) const { v("name", name); }
};

/// Fraction of exactly equal elements (mean over the last axis per sample).
class Accuracy final : public MeanMetricWrapper {
 public:
  using Config = AccuracyConfig;
  explicit Accuracy(Config config = {}) : MeanMetricWrapper(config.name), config_(std::move(config)) {}
  const Config& config() const { return config_; }
  std::string_view class_name() const override { return "Accuracy"; }
  std::unique_ptr<Metric> clone() const override { return std::make_unique<Accuracy>(config_); }

 protected:
  Tensor values(const Tensor& y_true, const Tensor& y_pred) const override;

 private:
  Config config_;
};

struct BinaryAccuracyConfig {
  double threshold = 0.5;
  std::string name = "binary_accuracy";
  template <class V> void visit_fields(V&& v) { v("threshold", threshold); v("name", name); }
  template <class V> void visit_fields(V&& v) const { v("threshold", threshold); v("name", name); }
};

/// Fraction of elements with (y_pred > threshold) == y_true (strictly greater).
class BinaryAccuracy final : public MeanMetricWrapper {
 public:
  using Config = BinaryAccuracyConfig;
  explicit BinaryAccuracy(Config config = {}) : MeanMetricWrapper(config.name), config_(std::move(config)) {}
  const Config& config() const { return config_; }
  std::string_view class_name() const override { return "BinaryAccuracy"; }
  std::unique_ptr<Metric> clone() const override { return std::make_unique<BinaryAccuracy>(config_); }

 protected:
  Tensor values(const Tensor& y_true, const Tensor& y_pred) const override;

 private:
  Config config_;
};

struct CategoricalAccuracyConfig {
  std::string name = "categorical_accuracy";
  template <class V> void visit_fields(V&& v) { v("name", name); }
  template <class V> void visit_fields(V&& v) const { v("name", name); }
};

/// argmax(y_true, -1) == argmax(y_pred, -1) (first index on ties); one-hot y_true
/// of y_pred's shape (ShapeError otherwise, with a hint for integer labels).
class CategoricalAccuracy final : public MeanMetricWrapper {
 public:
  using Config = CategoricalAccuracyConfig;
  explicit CategoricalAccuracy(Config config = {}) : MeanMetricWrapper(config.name), config_(std::move(config)) {}
  const Config& config() const { return config_; }
  std::string_view class_name() const override { return "CategoricalAccuracy"; }
  std::unique_ptr<Metric> clone() const override { return std::make_unique<CategoricalAccuracy>(config_); }

 protected:
  Tensor values(const Tensor& y_true, const Tensor& y_pred) const override;

 private:
  Config config_;
};

struct SparseCategoricalAccuracyConfig {
  std::string name = "sparse_categorical_accuracy";
  template <class V> void visit_fields(V&& v) { v("name", name); }
  template <class V> void visit_fields(V&& v) const { v("name", name); }
};

/// argmax(y_pred, -1) == y_true, with integer labels of shape y_pred.shape()[:-1]
/// (a trailing label axis of 1 is squeezed).
class SparseCategoricalAccuracy final : public MeanMetricWrapper {
 public:
  using Config = SparseCategoricalAccuracyConfig;
  explicit SparseCategoricalAccuracy(Config config = {})
      : MeanMetricWrapper(config.name), config_(std::move(config)) {}
  const Config& config() const { return config_; }
  std::string_view class_name() const override { return "SparseCategoricalAccuracy"; }
  std::unique_ptr<Metric> clone() const override { return std::make_unique<SparseCategoricalAccuracy>(config_); }

 protected:
  Tensor values(const Tensor& y_true, const Tensor& y_pred) const override;

 private:
  Config config_;
};

struct TopKCategoricalAccuracyConfig {
  int k = 5;
  std::string name = "top_k_categorical_accuracy";
  template <class V> void visit_fields(V&& v) { v("k", k); v("name", name); }
  template <class V> void visit_fields(V&& v) const { v("k", k); v("name", name); }
};

/// The true class (argmax of one-hot y_true) is among the k highest
/// predictions; ties at the boundary count as in (Keras in_top_k).
class TopKCategoricalAccuracy final : public MeanMetricWrapper {
 public:
  using Config = TopKCategoricalAccuracyConfig;
  explicit TopKCategoricalAccuracy(Config config = {});
  const Config& config() const { return config_; }
  std::string_view class_name() const override { return "TopKCategoricalAccuracy"; }
  std::unique_ptr<Metric> clone() const override { return std::make_unique<TopKCategoricalAccuracy>(config_); }

 protected:
  Tensor values(const Tensor& y_true, const Tensor& y_pred) const override;

 private:
  Config config_;
};

struct SparseTopKCategoricalAccuracyConfig {
  int k = 5;
  std::string name = "sparse_top_k_categorical_accuracy";
  template <class V> void visit_fields(V&& v) { v("k", k); v("name", name); }
  template <class V> void visit_fields(V&& v) const { v("k", k); v("name", name); }
};

/// As TopKCategoricalAccuracy with integer labels.
class SparseTopKCategoricalAccuracy final : public MeanMetricWrapper {
 public:
  using Config = SparseTopKCategoricalAccuracyConfig;
  explicit SparseTopKCategoricalAccuracy(Config config = {});
  const Config& config() const { return config_; }
  std::string_view class_name() const override { return "SparseTopKCategoricalAccuracy"; }
  std::unique_ptr<Metric> clone() const override {
    return std::make_unique<SparseTopKCategoricalAccuracy>(config_);
  }

 protected:
  Tensor values(const Tensor& y_true, const Tensor& y_pred) const override;

 private:
  Config config_;
};

/// A loss function used as a metric: the running weighted mean of its
/// per-sample values (Keras's MeanSquaredError metric, metrics=["mse"], ...).
class LossMetric final : public MeanMetricWrapper {
 public:
  /// `name` defaults to the loss's name.
  explicit LossMetric(std::unique_ptr<losses::Loss> loss, std::string name = {});
  const losses::Loss& loss() const { return *loss_; }
  std::string_view class_name() const override { return "LossMetric"; }
  std::unique_ptr<Metric> clone() const override;

 protected:
  Tensor values(const Tensor& y_true, const Tensor& y_pred) const override;

 private:
  std::unique_ptr<losses::Loss> loss_;
};

// ---------------------------------------------------------------------------
// Confusion-matrix metrics. y_true is a 0/1 (or bool) label per element of
// y_pred (nonzero = positive); a prediction is positive when y_pred > threshold.
// sample_weight broadcasts to y_pred's shape.

struct PrecisionConfig {
  double thresholds = 0.5;
  std::optional<std::int64_t> class_id = std::nullopt;
  std::string name = "precision";
  template <class V> void visit_fields(V&& v) { v("thresholds", thresholds); v("class_id", class_id); v("name", name); }
  template <class V> void visit_fields(V&& v) const {
    v("thresholds", thresholds); v("class_id", class_id); v("name", name);
  }
};

/// tp / (tp + fp) (0 when undefined). class_id restricts to one column of the last axis.
class Precision final : public Metric {
 public:
  using Config = PrecisionConfig;
  explicit Precision(Config config = {}) : Metric(config.name), config_(std::move(config)) {}
  void update_state(const Tensor& y_true, const Tensor& y_pred, const Tensor& sample_weight = Tensor()) override;
  double result() const override;
  void reset_state() override { tp_ = fp_ = 0; }
  double true_positives() const { return tp_; }
  double false_positives() const { return fp_; }
  const Config& config() const { return config_; }
  std::string_view class_name() const override { return "Precision"; }
  std::unique_ptr<Metric> clone() const override { return std::make_unique<Precision>(config_); }

 private:
  Config config_;
  double tp_ = 0, fp_ = 0;
};

struct RecallConfig {
  double thresholds = 0.5;
  std::optional<std::int64_t> class_id = std::nullopt;
  std::string name = "recall";
  template <class V> void visit_fields(V&& v) { v("thresholds", thresholds); v("class_id", class_id); v("name", name); }
  template <class V> void visit_fields(V&& v) const {
    v("thresholds", thresholds); v("class_id", class_id); v("name", name);
  }
};

/// tp / (tp + fn) (0 when undefined).
class Recall final : public Metric {
 public:
  using Config = RecallConfig;
  explicit Recall(Config config = {}) : Metric(config.name), config_(std::move(config)) {}
  void update_state(const Tensor& y_true, const Tensor& y_pred, const Tensor& sample_weight = Tensor()) override;
  double result() const override;
  void reset_state() override { tp_ = fn_ = 0; }
  double true_positives() const { return tp_; }
  double false_negatives() const { return fn_; }
  const Config& config() const { return config_; }
  std::string_view class_name() const override { return "Recall"; }
  std::unique_ptr<Metric> clone() const override { return std::make_unique<Recall>(config_); }

 private:
  Config config_;
  double tp_ = 0, fn_ = 0;
};

enum class AUCCurve { ROC, PR };
enum class AUCSummation { interpolation, minoring, majoring };
/// "ROC"/"PR"; "interpolation"/"minoring"/"majoring" (parsers throw ValueError).
std::string_view auc_curve_name(AUCCurve c);
AUCCurve parse_auc_curve(std::string_view s);
std::string_view auc_summation_name(AUCSummation s);
AUCSummation parse_auc_summation(std::string_view s);

struct AUCConfig {
  int num_thresholds = 200;
  AUCCurve curve = AUCCurve::ROC;
  AUCSummation summation_method = AUCSummation::interpolation;
  bool from_logits = false;
  std::string name = "auc";
  template <class V> void visit_fields(V&& v) {
    v("num_thresholds", num_thresholds); v("curve", curve); v("summation_method", summation_method);
    v("from_logits", from_logits); v("name", name);
  }
  template <class V> void visit_fields(V&& v) const {
    v("num_thresholds", num_thresholds); v("curve", curve); v("summation_method", summation_method);
    v("from_logits", from_logits); v("name", name);
  }
};

/// Area under the ROC (or PR) curve, approximated on num_thresholds thresholds
/// {-eps, 1/(n-1), ..., (n-2)/(n-1), 1+eps} (eps = 1e-7) with a Riemann sum
/// (interpolation = trapezoids; PR interpolation = Davis & Goadrich, as Keras).
/// Labels may be soft: y_true weighs the positive and 1 - y_true the negative
/// counts. Predictions are clipped to [0, 1] (sigmoid first with from_logits).
/// O(batch) per update (predictions are bucketed, as Keras's evenly spaced thresholds).
/// ValueError for num_thresholds <= 1.
class AUC final : public Metric {
 public:
  using Config = AUCConfig;
  explicit AUC(Config config = {});
  void update_state(const Tensor& y_true, const Tensor& y_pred, const Tensor& sample_weight = Tensor()) override;
  double result() const override;
  void reset_state() override;
  /// Confusion counts per threshold (size num_thresholds).
  std::vector<double> true_positives() const;
  std::vector<double> false_positives() const;
  std::vector<double> true_negatives() const;
  std::vector<double> false_negatives() const;
  const std::vector<double>& thresholds() const { return thresholds_; }
  const Config& config() const { return config_; }
  std::string_view class_name() const override { return "AUC"; }
  std::unique_ptr<Metric> clone() const override { return std::make_unique<AUC>(config_); }

 private:
  Config config_;
  std::vector<double> thresholds_;
  // Weighted positives / negatives per bucket: bucket b = number of thresholds
  // a prediction exceeds minus one.
  std::vector<double> pos_, neg_;
};

// ---------------------------------------------------------------------------

/// A metric by Keras string id, default configuration, named by the id for
/// function ids (metrics=["mse"] reports "mse"): "accuracy"/"acc" (Accuracy —
/// see the shape-aware overload), "binary_accuracy", "categorical_accuracy",
/// "sparse_categorical_accuracy", "top_k_categorical_accuracy",
/// "sparse_top_k_categorical_accuracy", "precision", "recall", "auc", "mean",
/// "mse"/"mean_squared_error", "mae"/"mean_absolute_error",
/// "binary_crossentropy"/"bce", "categorical_crossentropy",
/// "sparse_categorical_crossentropy", and the class names ("AUC", ...).
/// ValueError listing the known ids otherwise.
std::unique_ptr<Metric> make_metric(std::string_view id);
/// As Keras compile(): "accuracy"/"acc" become BinaryAccuracy when y_pred's
/// last axis is 1, SparseCategoricalAccuracy when y_true has a lower rank or a
/// last axis of 1 (and y_pred's is > 1), else CategoricalAccuracy — named by
/// the id. Other ids as make_metric(id).
std::unique_ptr<Metric> make_metric(std::string_view id, const Shape& y_true_shape, const Shape& y_pred_shape);
const std::vector<std::string>& known_metric_ids();

}  // namespace lamina::metrics
