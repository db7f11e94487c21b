// Model::compile / fit / evaluate / predict (keras-semantics E, B5).
#include <algorithm>
#include <chrono>
#include <cmath>

#include "lamina/autograd/ops.h"
#include "lamina/core/random.h"
#include "lamina/layers/data/dataset.h"
#include "lamina/layers/losses/losses.h"
#include "lamina/layers/metrics/metrics.h"
#include "lamina/layers/model.h"
#include "lamina/optim/factory.h"
#include "lamina/optim/optimizer.h"

namespace lamina {

struct Model::TrainingState {
  std::shared_ptr<optim::Optimizer> optimizer;
  std::shared_ptr<losses::Loss> loss;
  std::vector<std::string> metric_ids;
  std::vector<std::unique_ptr<metrics::Metric>> metrics;  // built on the first batch
  metrics::Mean loss_tracker{metrics::MeanConfig{.name = "loss"}};
};

Model::Model(std::string class_name, LayerOptions options) : Layer(std::move(class_name), std::move(options)) {}
Model::~Model() = default;

void Model::compile(std::shared_ptr<optim::Optimizer> optimizer, std::shared_ptr<losses::Loss> loss,
                    std::vector<std::string> metrics) {
  LAMINA_CHECK(optimizer != nullptr, ValueError, "[", path(), "] compile needs an optimizer");
  // Metrics are built on the first batch (accuracy depends on the shapes);
  // an unknown id fails here, not in the middle of fit.
  for (const auto& id : metrics) {
    if (id == "accuracy" || id == "acc") continue;
    try {
      metrics::make_metric(id);
    } catch (const ValueError& e) {
      LAMINA_CHECK(false, ValueError, "[", path(), ".compile] ", e.what());
    }
  }
  training_ = std::make_unique<TrainingState>();
  training_->optimizer = std::move(optimizer);
  training_->loss = std::move(loss);
  training_->metric_ids = std::move(metrics);
}

void Model::compile(const std::string& optimizer, const std::string& loss, std::vector<std::string> metrics) {
  compile(std::shared_ptr<optim::Optimizer>(optim::make_optimizer(optimizer)),
          loss.empty() ? nullptr : std::shared_ptr<losses::Loss>(losses::make_loss(loss)), std::move(metrics));
}

bool Model::compiled() const { return training_ != nullptr; }
optim::Optimizer* Model::optimizer() const { return training_ ? training_->optimizer.get() : nullptr; }
const losses::Loss* Model::loss() const { return training_ ? training_->loss.get() : nullptr; }

std::vector<std::string> Model::metrics_names() const {
  std::vector<std::string> names{"loss"};
  if (!training_) return names;
  if (!training_->metrics.empty()) {
    for (const auto& m : training_->metrics) names.push_back(m->name());
  } else {
    for (const auto& id : training_->metric_ids) names.push_back(id);
  }
  return names;
}

void Model::ensure_metrics(const Tensor& y, const Tensor& y_pred) {
  if (!training_->metrics.empty() || training_->metric_ids.empty()) return;
  for (const auto& id : training_->metric_ids) training_->metrics.push_back(metrics::make_metric(id, y.shape(), y_pred.shape()));
}

void Model::reset_metrics() {
  training_->loss_tracker.reset_state();
  for (auto& m : training_->metrics) m->reset_state();
}

void Model::write_metric_logs(Logs& logs, const std::string& prefix) const {
  logs.set(prefix + "loss", training_->loss_tracker.result());
  for (const auto& m : training_->metrics) logs.set(prefix + m->name(), m->result());
}

// Compiled loss plus every add_loss and regularization term (B5).
Tensor Model::compute_total_loss(const Tensor& y, const Tensor& y_pred) {
  Tensor total;
  if (training_->loss) total = (*training_->loss)(y, y_pred);
  for (const Tensor& extra : losses()) {
    Tensor e = extra.dtype() == y_pred.dtype() ? extra : cast(extra, y_pred.dtype());
    total = total.defined() ? add(total, e) : e;
  }
  LAMINA_CHECK(total.defined(), ValueError, "[", path(),
               "] No loss to compute. Provide a `loss` argument in `compile()`.");
  return total;
}

void Model::train_step(const Tensor& x, const Tensor& y, Logs& logs) {
  std::vector<Variable> vars;
  Tensor loss_value;
  std::vector<Tensor> grads;
  Tensor y_pred;
  {
    GradientTape tape;
    y_pred = (*this)(x, /*training=*/true);
    loss_value = compute_total_loss(y, y_pred);
    // Listed after the forward pass: on a model not built yet, the first call
    // creates the weights, and the first batch must train them too (Keras
    // builds the model before its first step).
    vars = trainable_weights();
    grads = tape.gradient(loss_value, vars);
  }
  training_->optimizer->apply_gradients(grads, vars);
  apply_constraints();
  const double batch = x.ndim() > 0 ? static_cast<double>(x.shape()[0]) : 1.0;
  training_->loss_tracker.update_state(loss_value.item<double>(), batch);
  ensure_metrics(y, y_pred);
  for (auto& m : training_->metrics) m->update_state(y, y_pred);
  write_metric_logs(logs, "");
}

void Model::test_step(const Tensor& x, const Tensor& y) {
  NoRecord guard;
  Tensor y_pred = (*this)(x, /*training=*/false);
  Tensor loss_value = compute_total_loss(y, y_pred);
  const double batch = x.ndim() > 0 ? static_cast<double>(x.shape()[0]) : 1.0;
  training_->loss_tracker.update_state(loss_value.item<double>(), batch);
  ensure_metrics(y, y_pred);
  for (auto& m : training_->metrics) m->update_state(y, y_pred);
}

Logs Model::train_on_batch(const Tensor& x, const Tensor& y) {
  LAMINA_CHECK(compiled(), ValueError, "[", path(), "] You must call compile() before train_on_batch()");
  reset_metrics();
  Logs logs;
  train_step(x, y, logs);
  return logs;
}

Logs Model::test_on_batch(const Tensor& x, const Tensor& y) {
  LAMINA_CHECK(compiled(), ValueError, "[", path(), "] You must call compile() before test_on_batch()");
  reset_metrics();
  test_step(x, y);
  Logs logs;
  write_metric_logs(logs, "");
  return logs;
}

namespace {

// Index of the first NaN or infinity in a floating tensor, or -1.
template <class T>
std::int64_t first_non_finite(const T* p, std::int64_t n) {
  constexpr std::int64_t kBlock = 4096;
  for (std::int64_t b = 0; b < n; b += kBlock) {
    const std::int64_t e = std::min(n, b + kBlock);
    // v - v is 0 for finite v and NaN otherwise; branch-free so it vectorizes.
    bool all_finite = true;
    for (std::int64_t i = b; i < e; ++i) all_finite &= (p[i] - p[i] == T(0));
    if (!all_finite)
      for (std::int64_t i = b; i < e; ++i)
        if (!std::isfinite(p[i])) return i;
  }
  return -1;
}

// NaN or infinity in training data poisons every weight within a step; Keras
// trains on regardless (and TerminateOnNaN stops it afterwards). Refusing
// the data up front names the culprit sample instead.
void check_finite(const Tensor& t, const char* name, const std::string& who) {
  if (!is_floating(t.dtype())) return;
  const Tensor c = t.dtype() == DType::float64 || t.dtype() == DType::float32 ? t.contiguous() : t.to(DType::float32);
  const std::int64_t at = c.dtype() == DType::float64 ? first_non_finite(c.data<double>(), c.numel())
                                                      : first_non_finite(c.data<float>(), c.numel());
  if (at < 0) return;
  const std::int64_t per_sample = c.shape()[0] > 0 ? c.numel() / c.shape()[0] : 1;
  const double v = c.dtype() == DType::float64 ? c.data<double>()[at] : c.data<float>()[at];
  throw ValueError(detail::concat("[", who, "] ", name, " contains ", std::isnan(v) ? "NaN" : "infinity",
                                  " (first in sample ", at / per_sample, " of ", c.shape()[0], ", flat index ", at,
                                  " of ", name, " ", c.shape(), "): clean or impute the data first"));
}

void check_xy(const Tensor& x, const Tensor& y, const std::string& who, bool finite = true) {
  LAMINA_CHECK(x.defined() && x.ndim() > 0, ValueError, "[", who, "] x must be a tensor with a batch axis");
  LAMINA_CHECK(y.defined() && y.ndim() > 0, ValueError, "[", who, "] y must be a tensor with a batch axis");
  LAMINA_CHECK(x.shape()[0] == y.shape()[0], ShapeError, "[", who, "] x and y have different numbers of samples: x ",
               x.shape(), ", y ", y.shape());
  LAMINA_CHECK(x.shape()[0] > 0, ValueError, "[", who, "] empty dataset: x has shape ", x.shape());
  if (finite) {
    check_finite(x, "x", who);
    check_finite(y, "y", who);
  }
}

// Floating x is used as is (layers cast); integer images become float32.
data::Dataset make_dataset(const Tensor& x, const Tensor& y) {
  data::Dataset ds(x, y);
  if (!is_floating(x.dtype())) ds = ds.map(data::cast_x(DType::float32));
  return ds;
}

}  // namespace

std::shared_ptr<History> Model::fit(const Tensor& x, const Tensor& y, FitOptions options) {
  check_xy(x, y, path() + ".fit", options.check_finite);
  LAMINA_CHECK(options.batch_size > 0, ValueError, "[", path(), ".fit] batch_size must be > 0, got ",
               options.batch_size);
  LAMINA_CHECK(options.validation_split >= 0 && options.validation_split < 1, ValueError, "[", path(),
               ".fit] validation_split must be in [0, 1), got ", options.validation_split);
  data::Dataset all = make_dataset(x, y);
  std::optional<data::Dataset> val;
  data::Dataset train = all;
  if (options.validation_data) {
    check_xy(options.validation_data->first, options.validation_data->second, path() + ".fit validation_data",
             options.check_finite);
    val = make_dataset(options.validation_data->first, options.validation_data->second).batch(options.batch_size);
  } else if (options.validation_split > 0) {
    auto [head, tail] = all.split_tail(options.validation_split);  // last samples, before shuffling
    train = head;
    val = tail.batch(options.batch_size);
  }
  if (options.shuffle) train = train.shuffle(options.seed ? *options.seed : next_random_seed());
  train = train.batch(options.batch_size);
  return fit(train, options, val ? &*val : nullptr);
}

std::shared_ptr<History> Model::fit(const data::Dataset& train, FitOptions options, const data::Dataset* validation) {
  LAMINA_CHECK(compiled(), ValueError, "[", path(), "] You must call compile() before fit()");
  LAMINA_CHECK(options.epochs >= 0, ValueError, "[", path(), ".fit] epochs must be >= 0, got ", options.epochs);
  const std::int64_t steps = train.num_batches();
  LAMINA_CHECK(options.initial_step >= 0 && (options.initial_step == 0 || options.initial_step < steps), ValueError,
               "[", path(), ".fit] initial_step (", options.initial_step,
               ") must be >= 0 and less than the number of batches per epoch (", steps, ")");
  auto history = std::make_shared<History>();
  std::vector<std::shared_ptr<Callback>> callbacks = options.callbacks;
  callbacks.push_back(history);  // after user callbacks, as Keras: it sees their log additions
  if (options.verbose > 0) {
    std::optional<bool> interactive;
    if (options.verbose == 2) interactive = false;
    callbacks.push_back(std::make_shared<ProgbarLogger>(steps, options.epochs, stdout, interactive));
  }
  const CallbackParams params{
      .epochs = options.epochs, .steps = steps, .verbose = options.verbose, .shuffle_seed = train.shuffle_seed()};
  for (auto& cb : callbacks) {
    cb->set_model(this);
    cb->set_params(params);
  }
  stop_training = false;
  Logs empty;
  for (auto& cb : callbacks) cb->on_train_begin(empty);
  if (trainable_weights().empty() && built()) std::fprintf(stderr, "The model does not have any trainable weights.\n");
  for (int epoch = options.initial_epoch; epoch < options.epochs && !stop_training; ++epoch) {
    reset_metrics();
    for (auto& cb : callbacks) cb->on_epoch_begin(epoch, empty);
    Logs logs;
    // Resuming inside the first epoch: its first batches were done before.
    const std::int64_t first = epoch == options.initial_epoch ? options.initial_step : 0;
    int step = static_cast<int>(first);
    for (const data::Batch& b : train.epoch(epoch, first)) {
      for (auto& cb : callbacks) cb->on_train_batch_begin(step, empty);
      logs = Logs();
      train_step(b.x, b.y, logs);
      for (auto& cb : callbacks) cb->on_train_batch_end(step, logs);
      ++step;
      if (stop_training) break;
    }
    Logs epoch_logs;
    write_metric_logs(epoch_logs, "");
    if (validation) {
      Logs val_logs = evaluate(*validation, 0);
      for (const auto& [k, v] : val_logs.items()) epoch_logs.set("val_" + k, v);
    }
    for (auto& cb : callbacks) cb->on_epoch_end(epoch, epoch_logs);
  }
  for (auto& cb : callbacks) cb->on_train_end(empty);
  return history;
}

Logs Model::evaluate(const data::Dataset& ds, int verbose) {
  LAMINA_CHECK(compiled(), ValueError, "[", path(), "] You must call compile() before evaluate()");
  reset_metrics();
  for (const data::Batch& b : ds.epoch(0)) test_step(b.x, b.y);
  Logs logs;
  write_metric_logs(logs, "");
  if (verbose > 0) {
    std::string line = std::to_string(ds.num_batches()) + "/" + std::to_string(ds.num_batches());
    for (const auto& [k, v] : logs.items()) line += " - " + k + ": " + ProgbarLogger::format_value(v);
    std::printf("%s\n", line.c_str());
  }
  return logs;
}

Logs Model::evaluate(const Tensor& x, const Tensor& y, std::int64_t batch_size, int verbose, bool check_finite) {
  check_xy(x, y, path() + ".evaluate", check_finite);
  LAMINA_CHECK(batch_size > 0, ValueError, "[", path(), ".evaluate] batch_size must be > 0, got ", batch_size);
  return evaluate(make_dataset(x, y).batch(batch_size), verbose);
}

Tensor Model::predict(const Tensor& x, std::int64_t batch_size) {
  LAMINA_CHECK(x.defined() && x.ndim() > 0, ValueError, "[", path(), ".predict] x must have a batch axis");
  LAMINA_CHECK(batch_size > 0, ValueError, "[", path(), ".predict] batch_size must be > 0, got ", batch_size);
  NoRecord guard;
  const std::int64_t n = x.shape()[0];
  Tensor out;
  for (std::int64_t s = 0; s < n; s += batch_size) {
    Tensor xb = x.slice(0, s, std::min(n, s + batch_size));
    if (!is_floating(xb.dtype())) xb = xb.to(DType::float32);
    Tensor yb = (*this)(xb, /*training=*/false);
    if (!out.defined()) {
      Shape shape = yb.shape();
      shape[0] = n;
      out = Tensor::empty(shape, yb.dtype());
    }
    Tensor dst = out.slice(0, s, s + yb.shape()[0]);
    dst.copy_(yb);
  }
  return out;
}

}  // namespace lamina
