// Keras 3 metrics (keras-semantics.md G5) on plain loops over float64 copies
// of the batch; nothing is recorded on tapes.
#include "lamina/layers/metrics/metrics.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <numeric>

#include "lamina/autograd/tape.h"
#include "lamina/core/ops/binary.h"
#include "lamina/core/ops/reduce.h"
#include "lamina/core/ops/unary.h"

namespace lamina::metrics {

namespace {

Tensor as_f64(const Tensor& t) { return t.to(DType::float64).contiguous(); }

double divide_no_nan(double a, double b) { return b == 0.0 ? 0.0 : a / b; }

bool broadcasts_to(const Shape& from, const Shape& to) {
  if (from.ndim() > to.ndim()) return false;
  const int lead = to.ndim() - from.ndim();
  for (int d = 0; d < from.ndim(); ++d)
    if (from[d] != 1 && from[d] != to[lead + d]) return false;
  return true;
}

core::Axes axes_from(int first, int ndim) {
  core::Axes a;
  for (int d = first; d < ndim; ++d) a.push_back(d);
  return a;
}

// Keras's squeeze_or_expand_to_same_rank on raw tensors.
void squeeze_or_expand(Tensor& a, Tensor& b) {
  const int ra = a.ndim(), rb = b.ndim();
  if (ra == rb + 1 && a.shape().back() == 1) {
    if (rb == 1) b = b.unsqueeze(-1);
    else a = a.squeeze(-1);
  } else if (rb == ra + 1 && b.shape().back() == 1) {
    if (ra == 1) a = a.unsqueeze(-1);
    else b = b.squeeze(-1);
  }
}

void check_inputs(const Tensor& y_true, const Tensor& y_pred, std::string_view who) {
  LAMINA_CHECK(y_true.defined(), ValueError, "[", who, "] y_true is undefined");
  LAMINA_CHECK(y_pred.defined(), ValueError, "[", who, "] y_pred is undefined");
}

// Equal-shape float64 copies of (y_true, y_pred) after Keras's rank fix-up.
std::pair<Tensor, Tensor> dense_pair(const Tensor& y_true, const Tensor& y_pred, std::string_view who) {
  check_inputs(y_true, y_pred, who);
  Tensor t = y_true, p = y_pred;
  squeeze_or_expand(t, p);
  LAMINA_CHECK(t.shape() == p.shape(), ShapeError, "[", who, "] y_true of shape ", y_true.shape(),
               " does not match y_pred of shape ", y_pred.shape());
  return {as_f64(t), as_f64(p)};
}

// Index of the first maximum of row[0..n).
std::int64_t argmax_row(const double* row, std::int64_t n) {
  std::int64_t best = 0;
  for (std::int64_t c = 1; c < n; ++c)
    if (row[c] > row[best]) best = c;
  return best;
}

Shape drop_last(const Shape& s) {
  Shape out = s;
  out.erase(s.ndim() - 1);
  return out;
}

// Keras in_top_k: the target's score is >= the k-th largest score.
bool in_top_k(const double* row, std::int64_t n, std::int64_t target, int k) {
  if (target < 0 || target >= n) return false;
  const double v = row[target];
  std::int64_t greater = 0;
  for (std::int64_t c = 0; c < n; ++c) greater += row[c] > v;
  return greater < k;
}

// Keras reduce_to_samplewise_values + Mean.update_state.
void accumulate(Tensor values, const Tensor& sample_weight, double& total, double& count, std::string_view who) {
  if (!sample_weight.defined()) {
    if (values.ndim() > 1) values = core::mean(values, axes_from(1, values.ndim()));
    const Tensor v = values.contiguous();
    const double* p = v.data<double>();
    double s = 0;
    for (std::int64_t i = 0; i < v.numel(); ++i) s += p[i];
    total += s;
    count += values.ndim() >= 1 ? static_cast<double>(values.shape()[0]) : 1.0;
    return;
  }
  Tensor sw = sample_weight.to(DType::float64);
  const Shape values_shape = values.shape();
  squeeze_or_expand(values, sw);
  const int wr = sw.ndim();
  if (values.ndim() > wr) values = core::mean(values, axes_from(wr, values.ndim()));
  LAMINA_CHECK(broadcasts_to(sw.shape(), values.shape()), ShapeError, "[", who, "] sample_weight of shape ",
               sample_weight.shape(), " does not broadcast to the per-sample values of shape ", values_shape);
  sw = sw.broadcast_to(values.shape());
  values = core::mul(values, sw);
  if (wr > 1) sw = core::mean(sw, axes_from(1, wr));
  total += core::sum(values).item<double>();
  count += core::sum(sw).item<double>();
}

}  // namespace

// ---------------------------------------------------------------------------
// Mean

void Mean::update_state(const Tensor& values, const Tensor& sample_weight) {
  LAMINA_CHECK(values.defined(), ValueError, "[", name(), "] values are undefined");
  accumulate(as_f64(values), sample_weight, total_, count_, name());
}

void Mean::update_state(double value, double weight) {
  total_ += value * weight;
  count_ += weight;
}

void Mean::update_state(const Tensor&, const Tensor&, const Tensor&) {
  LAMINA_CHECK(false, ValueError, "[", name(),
               "] Mean is updated with update_state(values, sample_weight), not (y_true, y_pred, sample_weight)");
}

double Mean::result() const { return divide_no_nan(total_, count_); }
void Mean::reset_state() { total_ = count_ = 0; }

// ---------------------------------------------------------------------------
// MeanMetricWrapper and the accuracies

void MeanMetricWrapper::update_state(const Tensor& y_true, const Tensor& y_pred, const Tensor& sample_weight) {
  NoRecord no_record;
  accumulate(values(y_true, y_pred), sample_weight, total_, count_, name());
}

double MeanMetricWrapper::result() const { return divide_no_nan(total_, count_); }
void MeanMetricWrapper::reset_state() { total_ = count_ = 0; }

Tensor Accuracy::values(const Tensor& y_true, const Tensor& y_pred) const {
  auto [t, p] = dense_pair(y_true, y_pred, name());
  const double* a = t.data<double>();
  const double* b = p.data<double>();
  if (t.ndim() == 0) return Tensor::scalar(a[0] == b[0] ? 1.0 : 0.0, DType::float64);
  const std::int64_t inner = t.shape().back();
  Tensor out = empty(drop_last(t.shape()), DType::float64);
  double* o = out.data<double>();
  for (std::int64_t r = 0; r < out.numel(); ++r) {
    std::int64_t hits = 0;
    for (std::int64_t c = 0; c < inner; ++c) hits += a[r * inner + c] == b[r * inner + c];
    o[r] = inner == 0 ? 0.0 : static_cast<double>(hits) / static_cast<double>(inner);
  }
  return out;
}

Tensor BinaryAccuracy::values(const Tensor& y_true, const Tensor& y_pred) const {
  auto [t, p] = dense_pair(y_true, y_pred, name());
  const double* a = t.data<double>();
  const double* b = p.data<double>();
  Tensor out = empty(t.shape(), DType::float64);
  double* o = out.data<double>();
  for (std::int64_t i = 0; i < out.numel(); ++i) o[i] = a[i] == (b[i] > config_.threshold ? 1.0 : 0.0) ? 1.0 : 0.0;
  return out;
}

Tensor CategoricalAccuracy::values(const Tensor& y_true, const Tensor& y_pred) const {
  check_inputs(y_true, y_pred, name());
  LAMINA_CHECK(y_pred.ndim() >= 1, ShapeError, "[", name(), "] y_pred must have a class axis, got shape ",
               y_pred.shape());
  LAMINA_CHECK(y_true.shape() == y_pred.shape(), ShapeError, "[", name(), "] y_true of shape ", y_true.shape(),
               " does not match y_pred of shape ", y_pred.shape(),
               y_true.ndim() < y_pred.ndim() || y_true.shape().back() == 1
                   ? " (integer class labels need sparse_categorical_accuracy)"
                   : "");
  const Tensor t = as_f64(y_true), p = as_f64(y_pred);
  const std::int64_t classes = p.shape().back();
  Tensor out = empty(drop_last(p.shape()), DType::float64);
  double* o = out.data<double>();
  const double* a = t.data<double>();
  const double* b = p.data<double>();
  for (std::int64_t r = 0; r < out.numel(); ++r)
    o[r] = classes > 0 && argmax_row(a + r * classes, classes) == argmax_row(b + r * classes, classes) ? 1.0 : 0.0;
  return out;
}

namespace {

// Labels for the sparse accuracies: float64 copy of y_true whose element count
// equals y_pred's rows; `org` is y_true's shape.
Tensor sparse_labels(const Tensor& y_true, const Tensor& y_pred, std::string_view who) {
  check_inputs(y_true, y_pred, who);
  LAMINA_CHECK(y_pred.ndim() >= 1, ShapeError, "[", who, "] y_pred must have a class axis, got shape ",
               y_pred.shape());
  Tensor t = y_true;
  if (t.ndim() == y_pred.ndim() && t.ndim() >= 1 && t.shape().back() == 1) t = t.squeeze(-1);
  LAMINA_CHECK(t.shape() == drop_last(y_pred.shape()), ShapeError, "[", who, "] y_true of shape ", y_true.shape(),
               " does not match y_pred of shape ", y_pred.shape(), " (expected integer labels of shape ",
               drop_last(y_pred.shape()), ")");
  return as_f64(t);
}

}  // namespace

Tensor SparseCategoricalAccuracy::values(const Tensor& y_true, const Tensor& y_pred) const {
  const Tensor t = sparse_labels(y_true, y_pred, name());
  const Tensor p = as_f64(y_pred);
  const std::int64_t classes = p.shape().back();
  Tensor out = empty(y_true.shape(), DType::float64);
  double* o = out.data<double>();
  const double* a = t.data<double>();
  const double* b = p.data<double>();
  for (std::int64_t r = 0; r < out.numel(); ++r)
    o[r] = classes > 0 && static_cast<double>(argmax_row(b + r * classes, classes)) == a[r] ? 1.0 : 0.0;
  return out;
}

TopKCategoricalAccuracy::TopKCategoricalAccuracy(Config config)
    : MeanMetricWrapper(config.name), config_(std::move(config)) {
  LAMINA_CHECK(config_.k >= 1, ValueError, "[", name(), "] k must be >= 1, got ", config_.k);
}

Tensor TopKCategoricalAccuracy::values(const Tensor& y_true, const Tensor& y_pred) const {
  check_inputs(y_true, y_pred, name());
  LAMINA_CHECK(y_pred.ndim() >= 1 && y_true.shape() == y_pred.shape(), ShapeError, "[", name(),
               "] y_true of shape ", y_true.shape(), " does not match y_pred of shape ", y_pred.shape());
  const Tensor t = as_f64(y_true), p = as_f64(y_pred);
  const std::int64_t classes = p.shape().back();
  Tensor out = empty(drop_last(p.shape()), DType::float64);
  double* o = out.data<double>();
  for (std::int64_t r = 0; r < out.numel(); ++r) {
    const std::int64_t target = classes > 0 ? argmax_row(t.data<double>() + r * classes, classes) : -1;
    o[r] = in_top_k(p.data<double>() + r * classes, classes, target, config_.k) ? 1.0 : 0.0;
  }
  return out;
}

SparseTopKCategoricalAccuracy::SparseTopKCategoricalAccuracy(Config config)
    : MeanMetricWrapper(config.name), config_(std::move(config)) {
  LAMINA_CHECK(config_.k >= 1, ValueError, "[", name(), "] k must be >= 1, got ", config_.k);
}

Tensor SparseTopKCategoricalAccuracy::values(const Tensor& y_true, const Tensor& y_pred) const {
  const Tensor t = sparse_labels(y_true, y_pred, name());
  const Tensor p = as_f64(y_pred);
  const std::int64_t classes = p.shape().back();
  Tensor out = empty(y_true.shape(), DType::float64);
  double* o = out.data<double>();
  const double* a = t.data<double>();
  for (std::int64_t r = 0; r < out.numel(); ++r) {
    const double label = a[r];
    const auto target = std::floor(label) == label ? static_cast<std::int64_t>(label) : -1;
    o[r] = in_top_k(p.data<double>() + r * classes, classes, target, config_.k) ? 1.0 : 0.0;
  }
  return out;
}

LossMetric::LossMetric(std::unique_ptr<losses::Loss> loss, std::string name)
    : MeanMetricWrapper(name.empty() && loss ? loss->name() : name), loss_(std::move(loss)) {
  LAMINA_CHECK(loss_ != nullptr, ValueError, "[LossMetric] the loss is null");
}

std::unique_ptr<Metric> LossMetric::clone() const {
  auto copy = loss_->clone();
  LAMINA_CHECK(copy != nullptr, ValueError, "[", name(), "] the wrapped loss cannot be cloned");
  return std::make_unique<LossMetric>(std::move(copy), name());
}

Tensor LossMetric::values(const Tensor& y_true, const Tensor& y_pred) const {
  return as_f64(loss_->call(y_true, y_pred));
}

// ---------------------------------------------------------------------------
// Confusion-matrix metrics

namespace {

struct Confusion {
  Tensor t, p, w;  // float64, contiguous, equal shapes (w undefined = 1)
};

Confusion confusion_inputs(const Tensor& y_true, const Tensor& y_pred, const Tensor& sample_weight,
                           std::optional<std::int64_t> class_id, std::string_view who) {
  check_inputs(y_true, y_pred, who);
  Tensor t = y_true, p = y_pred;
  if (class_id) {
    LAMINA_CHECK(p.ndim() >= 1 && t.ndim() >= 1 && *class_id >= 0 && *class_id < p.shape().back() &&
                     *class_id < t.shape().back(),
                 IndexError, "[", who, "] class_id ", *class_id, " is out of range for y_true of shape ", t.shape(),
                 " and y_pred of shape ", p.shape());
    t = t.select(-1, *class_id);
    p = p.select(-1, *class_id);
  }
  squeeze_or_expand(t, p);
  LAMINA_CHECK(t.shape() == p.shape(), ShapeError, "[", who, "] y_true of shape ", y_true.shape(),
               " does not match y_pred of shape ", y_pred.shape());
  Confusion c{as_f64(t), as_f64(p), Tensor()};
  if (sample_weight.defined()) {
    Tensor w = sample_weight.to(DType::float64);
    if (class_id && w.ndim() == y_pred.ndim() && w.ndim() >= 1 && w.shape().back() == y_pred.shape().back() &&
        w.shape().back() != 1)
      w = w.select(-1, *class_id);
    while (w.ndim() > c.p.ndim() && w.shape().back() == 1) w = w.squeeze(-1);
    LAMINA_CHECK(broadcasts_to(w.shape(), c.p.shape()), ShapeError, "[", who, "] sample_weight of shape ",
                 sample_weight.shape(), " does not broadcast to y_pred of shape ", c.p.shape());
    c.w = w.broadcast_to(c.p.shape()).contiguous();
  }
  return c;
}

}  // namespace

void Precision::update_state(const Tensor& y_true, const Tensor& y_pred, const Tensor& sample_weight) {
  const Confusion c = confusion_inputs(y_true, y_pred, sample_weight, config_.class_id, name());
  const double* t = c.t.data<double>();
  const double* p = c.p.data<double>();
  const double* w = c.w.defined() ? c.w.data<double>() : nullptr;
  for (std::int64_t i = 0; i < c.t.numel(); ++i) {
    if (!(p[i] > config_.thresholds)) continue;
    const double wi = w ? w[i] : 1.0;
    (t[i] != 0.0 ? tp_ : fp_) += wi;
  }
}

double Precision::result() const { return divide_no_nan(tp_, tp_ + fp_); }

void Recall::update_state(const Tensor& y_true, const Tensor& y_pred, const Tensor& sample_weight) {
  const Confusion c = confusion_inputs(y_true, y_pred, sample_weight, config_.class_id, name());
  const double* t = c.t.data<double>();
  const double* p = c.p.data<double>();
  const double* w = c.w.defined() ? c.w.data<double>() : nullptr;
  for (std::int64_t i = 0; i < c.t.numel(); ++i) {
    if (t[i] == 0.0) continue;
    const double wi = w ? w[i] : 1.0;
    (p[i] > config_.thresholds ? tp_ : fn_) += wi;
  }
}

double Recall::result() const { return divide_no_nan(tp_, tp_ + fn_); }

// ---------------------------------------------------------------------------
// AUC

std::string_view auc_curve_name(AUCCurve c) { return c == AUCCurve::ROC ? "ROC" : "PR"; }

AUCCurve parse_auc_curve(std::string_view s) {
  if (s == "ROC" || s == "roc") return AUCCurve::ROC;
  if (s == "PR" || s == "pr") return AUCCurve::PR;
  LAMINA_CHECK(false, ValueError, "[AUC] invalid curve '", s, "'; expected ROC or PR");
  return AUCCurve::ROC;
}

std::string_view auc_summation_name(AUCSummation s) {
  switch (s) {
    case AUCSummation::interpolation: return "interpolation";
    case AUCSummation::minoring: return "minoring";
    case AUCSummation::majoring: return "majoring";
  }
  return "?";
}

AUCSummation parse_auc_summation(std::string_view s) {
  if (s == "interpolation") return AUCSummation::interpolation;
  if (s == "minoring") return AUCSummation::minoring;
  if (s == "majoring") return AUCSummation::majoring;
  LAMINA_CHECK(false, ValueError, "[AUC] invalid summation_method '", s,
               "'; expected interpolation, minoring or majoring");
  return AUCSummation::interpolation;
}

AUC::AUC(Config config) : Metric(config.name), config_(std::move(config)) {
  const int n = config_.num_thresholds;
  LAMINA_CHECK(n > 1, ValueError, "[", name(), "] num_thresholds must be > 1, got ", n);
  constexpr double eps = 1e-7;
  thresholds_.push_back(0.0 - eps);
  for (int i = 0; i < n - 2; ++i) thresholds_.push_back(static_cast<double>(i + 1) / static_cast<double>(n - 1));
  thresholds_.push_back(1.0 + eps);
  reset_state();
}

void AUC::reset_state() {
  pos_.assign(static_cast<std::size_t>(config_.num_thresholds), 0.0);
  neg_.assign(static_cast<std::size_t>(config_.num_thresholds), 0.0);
}

void AUC::update_state(const Tensor& y_true, const Tensor& y_pred, const Tensor& sample_weight) {
  const Confusion c = confusion_inputs(y_true, y_pred, sample_weight, std::nullopt, name());
  const double* t = c.t.data<double>();
  const double* p = c.p.data<double>();
  const double* w = c.w.defined() ? c.w.data<double>() : nullptr;
  const int n = config_.num_thresholds;
  const double scale = static_cast<double>(n - 1);
  for (std::int64_t i = 0; i < c.t.numel(); ++i) {
    double q = p[i];
    if (config_.from_logits) q = 1.0 / (1.0 + std::exp(-q));
    if (std::isnan(q)) continue;
    q = std::clamp(q, 0.0, 1.0);
    // Predictions exceed thresholds 0..bucket (strictly greater), as Keras's
    // ceil(p * (n - 1)) - 1 bucketing with the first bucket taking p = 0.
    const auto bucket = std::max<std::int64_t>(0, static_cast<std::int64_t>(std::ceil(q * scale)) - 1);
    const double wi = w ? w[i] : 1.0;
    pos_[static_cast<std::size_t>(bucket)] += t[i] * wi;
    neg_[static_cast<std::size_t>(bucket)] += (1.0 - t[i]) * wi;
  }
}

namespace {
std::vector<double> suffix_sums(const std::vector<double>& v) {
  std::vector<double> out(v.size());
  double s = 0;
  for (std::size_t i = v.size(); i-- > 0;) out[i] = s += v[i];
  return out;
}
double total_of(const std::vector<double>& v) { return std::accumulate(v.begin(), v.end(), 0.0); }
}  // namespace

std::vector<double> AUC::true_positives() const { return suffix_sums(pos_); }
std::vector<double> AUC::false_positives() const { return suffix_sums(neg_); }

std::vector<double> AUC::false_negatives() const {
  auto tp = true_positives();
  const double total = total_of(pos_);
  for (auto& x : tp) x = total - x;
  return tp;
}

std::vector<double> AUC::true_negatives() const {
  auto fp = false_positives();
  const double total = total_of(neg_);
  for (auto& x : fp) x = total - x;
  return fp;
}

double AUC::result() const {
  const auto tp = true_positives(), fp = false_positives(), fn = false_negatives(), tn = true_negatives();
  const std::size_t n = tp.size();
  if (config_.curve == AUCCurve::PR && config_.summation_method == AUCSummation::interpolation) {
    // Davis & Goadrich interpolation, as Keras's interpolate_pr_auc.
    double area = 0;
    for (std::size_t i = 0; i + 1 < n; ++i) {
      const double dtp = tp[i] - tp[i + 1];
      const double p0 = tp[i] + fp[i], p1 = tp[i + 1] + fp[i + 1];
      const double dp = p0 - p1;
      const double slope = divide_no_nan(dtp, std::max(dp, 0.0));
      const double intercept = tp[i + 1] - slope * p1;
      const double ratio = (p0 > 0 && p1 > 0) ? divide_no_nan(p0, std::max(p1, 0.0)) : 1.0;
      area += divide_no_nan(slope * (dtp + intercept * std::log(ratio)), std::max(tp[i + 1] + fn[i + 1], 0.0));
    }
    return area;
  }
  std::vector<double> x(n), y(n);
  for (std::size_t i = 0; i < n; ++i) {
    const double recall = divide_no_nan(tp[i], tp[i] + fn[i]);
    if (config_.curve == AUCCurve::ROC) {
      x[i] = divide_no_nan(fp[i], fp[i] + tn[i]);
      y[i] = recall;
    } else {
      x[i] = recall;
      y[i] = divide_no_nan(tp[i], tp[i] + fp[i]);
    }
  }
  double area = 0;
  for (std::size_t i = 0; i + 1 < n; ++i) {
    double h;
    switch (config_.summation_method) {
      case AUCSummation::minoring: h = std::min(y[i], y[i + 1]); break;
      case AUCSummation::majoring: h = std::max(y[i], y[i + 1]); break;
      default: h = (y[i] + y[i + 1]) / 2.0; break;
    }
    area += (x[i] - x[i + 1]) * h;
  }
  return area;
}

// ---------------------------------------------------------------------------
// Factory

namespace {

using Maker = std::function<std::unique_ptr<Metric>(const std::string& name)>;

struct MetricEntry {
  const char* id;
  Maker make;
  bool named_by_id;  // function ids name the metric by the id, classes keep their default name
};

template <class M>
Maker config_maker() {
  return [](const std::string& name) {
    typename M::Config c;
    if (!name.empty()) c.name = name;
    return std::make_unique<M>(std::move(c));
  };
}

Maker loss_maker(const char* loss_id) {
  return [loss_id](const std::string& name) {
    return std::make_unique<LossMetric>(losses::make_loss(loss_id), name);
  };
}

const std::vector<MetricEntry>& registry() {
  static const std::vector<MetricEntry> r = {
      {"accuracy", config_maker<Accuracy>(), true},
      {"acc", config_maker<Accuracy>(), true},
      {"Accuracy", config_maker<Accuracy>(), false},
      {"binary_accuracy", config_maker<BinaryAccuracy>(), true},
      {"BinaryAccuracy", config_maker<BinaryAccuracy>(), false},
      {"categorical_accuracy", config_maker<CategoricalAccuracy>(), true},
      {"CategoricalAccuracy", config_maker<CategoricalAccuracy>(), false},
      {"sparse_categorical_accuracy", config_maker<SparseCategoricalAccuracy>(), true},
      {"SparseCategoricalAccuracy", config_maker<SparseCategoricalAccuracy>(), false},
      {"top_k_categorical_accuracy", config_maker<TopKCategoricalAccuracy>(), true},
      {"TopKCategoricalAccuracy", config_maker<TopKCategoricalAccuracy>(), false},
      {"sparse_top_k_categorical_accuracy", config_maker<SparseTopKCategoricalAccuracy>(), true},
      {"SparseTopKCategoricalAccuracy", config_maker<SparseTopKCategoricalAccuracy>(), false},
      {"precision", config_maker<Precision>(), false},
      {"Precision", config_maker<Precision>(), false},
      {"recall", config_maker<Recall>(), false},
      {"Recall", config_maker<Recall>(), false},
      {"auc", config_maker<AUC>(), false},
      {"AUC", config_maker<AUC>(), false},
      {"mean", config_maker<Mean>(), false},
      {"Mean", config_maker<Mean>(), false},
      {"mean_squared_error", loss_maker("mean_squared_error"), true},
      {"mse", loss_maker("mean_squared_error"), true},
      {"MSE", loss_maker("mean_squared_error"), true},
      {"MeanSquaredError", loss_maker("mean_squared_error"), false},
      {"mean_absolute_error", loss_maker("mean_absolute_error"), true},
      {"mae", loss_maker("mean_absolute_error"), true},
      {"MAE", loss_maker("mean_absolute_error"), true},
      {"MeanAbsoluteError", loss_maker("mean_absolute_error"), false},
      {"binary_crossentropy", loss_maker("binary_crossentropy"), true},
      {"bce", loss_maker("binary_crossentropy"), true},
      {"BinaryCrossentropy", loss_maker("binary_crossentropy"), false},
      {"categorical_crossentropy", loss_maker("categorical_crossentropy"), true},
      {"CategoricalCrossentropy", loss_maker("categorical_crossentropy"), false},
      {"sparse_categorical_crossentropy", loss_maker("sparse_categorical_crossentropy"), true},
      {"SparseCategoricalCrossentropy", loss_maker("sparse_categorical_crossentropy"), false},
  };
  return r;
}

}  // namespace

const std::vector<std::string>& known_metric_ids() {
  static const std::vector<std::string> ids = [] {
    std::vector<std::string> v;
    for (const auto& e : registry()) v.emplace_back(e.id);
    return v;
  }();
  return ids;
}

std::unique_ptr<Metric> make_metric(std::string_view id) {
  for (const auto& e : registry())
    if (id == e.id) return e.make(e.named_by_id ? std::string(id) : std::string());
  std::string known;
  for (const auto& k : known_metric_ids()) known += (known.empty() ? "" : ", ") + k;
  LAMINA_CHECK(false, ValueError, "[make_metric] unknown metric '", id, "'; known ids: ", known);
  return nullptr;
}

std::unique_ptr<Metric> make_metric(std::string_view id, const Shape& y_true_shape, const Shape& y_pred_shape) {
  if (id != "accuracy" && id != "acc") return make_metric(id);
  const std::string name(id);
  const std::int64_t pred_last = y_pred_shape.ndim() ? y_pred_shape.back() : 1;
  const std::int64_t true_last = y_true_shape.ndim() ? y_true_shape.back() : 1;
  if (pred_last == 1) return config_maker<BinaryAccuracy>()(name);
  if (y_true_shape.ndim() < y_pred_shape.ndim() || (true_last == 1 && pred_last > 1))
    return config_maker<SparseCategoricalAccuracy>()(name);
  return config_maker<CategoricalAccuracy>()(name);
}

}  // namespace lamina::metrics
