// Keras 3 losses on differentiable lamina ops (keras-semantics.md G1-G4).
#include "lamina/layers/losses/losses.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <utility>

#include "lamina/autograd/indexing.h"
#include "lamina/autograd/nn.h"
#include "lamina/autograd/ops.h"

namespace lamina::losses {

namespace {

Tensor scalar_like(double v, const Tensor& t) { return Tensor::scalar(v, t.dtype()); }

// True when `from` broadcasts to exactly `to`.
bool broadcasts_to(const Shape& from, const Shape& to) {
  if (from.ndim() > to.ndim()) return false;
  const int lead = to.ndim() - from.ndim();
  for (int d = 0; d < from.ndim(); ++d)
    if (from[d] != 1 && from[d] != to[lead + d]) return false;
  return true;
}

int norm_axis(int axis, int ndim, std::string_view who) { return normalize_axis(axis, ndim, std::string(who).c_str()); }

// Keras's squeeze_or_expand_to_same_rank (expand_rank_1 = true): when the
// ranks differ by one and the longer operand ends in 1, squeeze that axis, or
// expand a rank-1 partner instead.
std::pair<Tensor, Tensor> squeeze_or_expand(Tensor a, Tensor b) {
  const int ra = a.ndim(), rb = b.ndim();
  if (ra == rb + 1 && a.shape().back() == 1) {
    if (rb == 1) b = unsqueeze(b, -1);
    else a = squeeze(a, -1);
  } else if (rb == ra + 1 && b.shape().back() == 1) {
    if (ra == 1) a = unsqueeze(a, -1);
    else b = squeeze(b, -1);
  }
  return {a, b};
}

void check_defined(const Tensor& y_true, const Tensor& y_pred, std::string_view who) {
  LAMINA_CHECK(y_true.defined(), ValueError, "[", who, "] y_true is undefined");
  LAMINA_CHECK(y_pred.defined(), ValueError, "[", who, "] y_pred is undefined");
  LAMINA_CHECK(is_floating(y_pred.dtype()), DTypeError, "[", who, "] y_pred must be float32 or float64, got ",
               y_pred.dtype());
}

// Validated (y_true, y_pred) of equal shapes and dtypes for the dense losses.
std::pair<Tensor, Tensor> prepare(const Tensor& y_true_in, const Tensor& y_pred_in, std::string_view who) {
  check_defined(y_true_in, y_pred_in, who);
  Tensor y_true = y_true_in;
  if (is_floating(y_true.dtype())) {
    LAMINA_CHECK(y_true.dtype() == y_pred_in.dtype(), DTypeError, "[", who, "] y_true has dtype ", y_true.dtype(),
                 " but y_pred has dtype ", y_pred_in.dtype(), " (shapes ", y_true.shape(), " and ",
                 y_pred_in.shape(), ")");
  } else {
    y_true = y_true.to(y_pred_in.dtype());  // integer or bool labels
  }
  auto [t, p] = squeeze_or_expand(y_true, y_pred_in);
  if (!(t.shape() == p.shape())) {
    const bool sparse_hint = y_true_in.ndim() >= 1 && y_pred_in.ndim() >= 1 && y_pred_in.shape().back() > 1 &&
                             (y_true_in.ndim() < y_pred_in.ndim() || y_true_in.shape().back() == 1);
    LAMINA_CHECK(false, ShapeError, "[", who, "] y_true of shape ", y_true_in.shape(),
                 " does not match y_pred of shape ", y_pred_in.shape(),
                 sparse_hint ? " (integer class labels need sparse_categorical_crossentropy)" : "");
  }
  return {t, p};
}

// mean over the last axis (identity for 0-d).
Tensor mean_last(const Tensor& x) { return x.ndim() == 0 ? x : mean(x, {-1}); }

void check_smoothing(double ls, std::string_view who) {
  LAMINA_CHECK(ls >= 0.0 && ls <= 1.0, ValueError, "[", who, "] label_smoothing must be in [0, 1], got ", ls);
}

// Labels for the sparse losses, squeezed and checked; returns int64 labels
// and writes the validity mask (undefined when ignore_class is unset).
Tensor sparse_labels(const Tensor& y_true_in, const Tensor& y_pred, int axis, std::optional<std::int64_t> ignore,
                     std::string_view who, Tensor* valid) {
  check_defined(y_true_in, y_pred, who);
  LAMINA_CHECK(y_pred.ndim() >= 1, ShapeError, "[", who, "] y_pred must have a class axis, got shape ",
               y_pred.shape());
  Tensor y_true = y_true_in;
  if (y_true.ndim() == y_pred.ndim() && y_true.ndim() >= 1 && y_true.shape().back() == 1)
    y_true = y_true.squeeze(-1);
  const int a = norm_axis(axis, y_pred.ndim(), who);
  Shape expect = y_pred.shape();
  expect.erase(a);
  LAMINA_CHECK(y_true.shape() == expect, ShapeError, "[", who, "] y_true of shape ", y_true_in.shape(),
               " does not match y_pred of shape ", y_pred.shape(), " (expected integer labels of shape ", expect,
               ")");
  const std::int64_t classes = y_pred.shape()[a];
  Tensor labels;
  if (is_floating(y_true.dtype())) {
    const Tensor f = y_true.to(DType::float64).contiguous();
    const double* p = f.data<double>();
    for (std::int64_t i = 0; i < f.numel(); ++i)
      LAMINA_CHECK(std::floor(p[i]) == p[i], ValueError, "[", who, "] label ", p[i], " at position ", i,
                   " is not an integer");
    labels = f.to(DType::int64);
  } else {
    LAMINA_CHECK(y_true.dtype() != DType::bool_, DTypeError, "[", who, "] labels must be integers, got bool");
    labels = y_true.to(DType::int64).contiguous();
  }
  const std::int64_t* l = labels.data<std::int64_t>();
  for (std::int64_t i = 0; i < labels.numel(); ++i) {
    if (ignore && l[i] == *ignore) continue;
    LAMINA_CHECK(l[i] >= 0 && l[i] < classes, IndexError, "[", who, "] label ", l[i], " at position ", i,
                 " is out of range [0, ", classes, ")");
  }
  if (ignore && valid) *valid = core::not_equal(labels, Tensor::scalar(static_cast<double>(*ignore), DType::int64));
  return labels;
}

Tensor sparse_impl(const Tensor& y_true, const Tensor& y_pred, bool from_logits, std::optional<std::int64_t> ignore,
                   int axis, std::string_view who, Tensor* mask_out) {
  Tensor valid;
  Tensor labels = sparse_labels(y_true, y_pred, axis, ignore, who, &valid);
  const int a = norm_axis(axis, y_pred.ndim(), who);
  Tensor out;
  if (from_logits) {
    out = sparse_softmax_cross_entropy_with_logits(labels, y_pred, a, ignore);
  } else {
    Tensor safe = valid.defined() ? core::where(valid, labels, Tensor::scalar(0, DType::int64)) : labels;
    Tensor p = div(y_pred, sum(y_pred, {a}, /*keepdims=*/true));
    p = clip(p, kEpsilon, 1.0 - kEpsilon);
    out = neg(squeeze(take_along_axis(log(p), safe.unsqueeze(a), a), a));
    if (valid.defined()) out = where(valid, out, scalar_like(0.0, out));
  }
  if (mask_out && valid.defined()) *mask_out = valid;
  return out;
}

}  // namespace

// ---------------------------------------------------------------------------

std::string_view reduction_name(Reduction r) {
  switch (r) {
    case Reduction::sum_over_batch_size: return "sum_over_batch_size";
    case Reduction::sum: return "sum";
    case Reduction::mean_with_sample_weight: return "mean_with_sample_weight";
    case Reduction::none: return "none";
  }
  return "?";
}

Reduction parse_reduction(std::string_view name) {
  if (name == "sum_over_batch_size" || name == "mean") return Reduction::sum_over_batch_size;
  if (name == "sum") return Reduction::sum;
  if (name == "mean_with_sample_weight") return Reduction::mean_with_sample_weight;
  if (name == "none") return Reduction::none;
  LAMINA_CHECK(false, ValueError, "[loss] invalid reduction '", name,
               "'; expected one of sum_over_batch_size, mean, sum, mean_with_sample_weight, none");
  return Reduction::none;
}

Tensor reduce_weighted_values(const Tensor& values_in, const Tensor& sample_weight, const Tensor& mask,
                              Reduction reduction, std::string_view who) {
  Tensor values = values_in;
  const DType dt = values.dtype();
  Tensor sw = sample_weight.defined() ? cast(sample_weight, dt) : Tensor();
  if (mask.defined()) {
    Tensor m = mask.to(dt);
    if (reduction == Reduction::sum_over_batch_size) {
      // Valid entries weigh total/valid, so the mean runs over valid entries only.
      const double valid = core::sum(m).item<double>();
      const double total = static_cast<double>(m.numel());
      m = core::mul(m, valid == 0.0 ? 0.0 : total / valid);
    }
    if (sw.defined()) {
      auto [mm, ww] = squeeze_or_expand(m, sw);
      sw = mul(ww, mm);
    } else {
      sw = m;
    }
  }
  if (sw.defined()) {
    auto [v, w] = squeeze_or_expand(values, sw);
    LAMINA_CHECK(broadcasts_to(w.shape(), v.shape()), ShapeError, "[", who,
                 "] sample_weight of shape ", sample_weight.defined() ? sample_weight.shape() : w.shape(),
                 " does not broadcast to the per-sample losses of shape ", values_in.shape());
    values = mul(v, w);
    sw = w;
  }
  if (reduction == Reduction::none || values.ndim() == 0) return values;
  Tensor loss = sum(values);
  if (reduction == Reduction::sum) return loss;
  double divisor;
  if (reduction == Reduction::mean_with_sample_weight && sw.defined()) {
    const double s = core::sum(sw).item<double>();
    if (s == 0.0) return where(Tensor::scalar(0, DType::bool_), loss, scalar_like(0.0, loss));
    return div(loss, sum(sw));
  }
  divisor = static_cast<double>(values.numel());
  if (divisor == 0.0) return where(Tensor::scalar(0, DType::bool_), loss, scalar_like(0.0, loss));
  return div(loss, divisor);
}

Tensor Loss::operator()(const Tensor& y_true, const Tensor& y_pred, const Tensor& sample_weight) const {
  Tensor mask;
  Tensor values = call_masked(y_true, y_pred, mask);
  return reduce_weighted_values(values, sample_weight, mask, reduction_, name_);
}

// ---------------------------------------------------------------------------

Tensor mean_squared_error(const Tensor& y_true, const Tensor& y_pred, std::string_view who) {
  auto [t, p] = prepare(y_true, y_pred, who);
  return mean_last(square(sub(p, t)));
}

Tensor mean_absolute_error(const Tensor& y_true, const Tensor& y_pred, std::string_view who) {
  auto [t, p] = prepare(y_true, y_pred, who);
  return mean_last(abs(sub(p, t)));
}

Tensor huber(const Tensor& y_true, const Tensor& y_pred, double delta, std::string_view who) {
  LAMINA_CHECK(delta >= 0.0, ValueError, "[", who, "] delta must be >= 0, got ", delta);
  auto [t, p] = prepare(y_true, y_pred, who);
  Tensor err = sub(p, t);
  Tensor abs_err = abs(err);
  Tensor quadratic = mul(square(err), 0.5);
  Tensor linear = sub(mul(abs_err, delta), 0.5 * delta * delta);
  Tensor small = core::less_equal(abs_err, scalar_like(delta, abs_err));
  return mean_last(where(small, quadratic, linear));
}

Tensor binary_crossentropy(const Tensor& y_true, const Tensor& y_pred, bool from_logits, double label_smoothing,
                           int axis, std::string_view who) {
  check_smoothing(label_smoothing, who);
  auto [y, p] = prepare(y_true, y_pred, who);
  if (label_smoothing > 0.0) y = add(mul(y, 1.0 - label_smoothing), 0.5 * label_smoothing);
  Tensor elem;
  if (from_logits) {
    // Stable sigmoid cross-entropy: softplus(z) - z y (= -(y log s(z) + (1-y) log(1-s(z)))).
    elem = sub(softplus(p), mul(p, y));
  } else {
    Tensor q = clip(p, kEpsilon, 1.0 - kEpsilon);
    elem = neg(add(mul(y, log(q)), mul(1.0 - y, log(1.0 - q))));
  }
  if (elem.ndim() == 0) return elem;
  return mean(elem, {axis});
}

Tensor categorical_crossentropy(const Tensor& y_true, const Tensor& y_pred, bool from_logits, double label_smoothing,
                                int axis, std::string_view who) {
  check_smoothing(label_smoothing, who);
  auto [y, p] = prepare(y_true, y_pred, who);
  LAMINA_CHECK(p.ndim() >= 1, ShapeError, "[", who, "] y_pred must have a class axis, got shape ", p.shape());
  const int a = norm_axis(axis, p.ndim(), who);
  if (label_smoothing > 0.0) {
    const double classes = static_cast<double>(p.shape()[a]);
    y = add(mul(y, 1.0 - label_smoothing), label_smoothing / classes);
  }
  Tensor log_p;
  if (from_logits) {
    log_p = log_softmax(p, a);
  } else {
    Tensor q = div(p, sum(p, {a}, /*keepdims=*/true));
    log_p = log(clip(q, kEpsilon, 1.0 - kEpsilon));
  }
  return neg(sum(mul(y, log_p), {a}));
}

Tensor sparse_categorical_crossentropy(const Tensor& y_true, const Tensor& y_pred, bool from_logits,
                                       std::optional<std::int64_t> ignore_class, int axis, std::string_view who) {
  return sparse_impl(y_true, y_pred, from_logits, ignore_class, axis, who, nullptr);
}

// ---------------------------------------------------------------------------

Tensor MeanSquaredError::call(const Tensor& y_true, const Tensor& y_pred) const {
  return mean_squared_error(y_true, y_pred, name());
}

Tensor MeanAbsoluteError::call(const Tensor& y_true, const Tensor& y_pred) const {
  return mean_absolute_error(y_true, y_pred, name());
}

Huber::Huber(Config config) : LossWithConfig(std::move(config)) {
  LAMINA_CHECK(config_.delta >= 0.0, ValueError, "[", name(), "] delta must be >= 0, got ", config_.delta);
}

Tensor Huber::call(const Tensor& y_true, const Tensor& y_pred) const {
  return huber(y_true, y_pred, config_.delta, name());
}

BinaryCrossentropy::BinaryCrossentropy(Config config) : LossWithConfig(std::move(config)) {
  check_smoothing(config_.label_smoothing, name());
}

Tensor BinaryCrossentropy::call(const Tensor& y_true, const Tensor& y_pred) const {
  return binary_crossentropy(y_true, y_pred, config_.from_logits, config_.label_smoothing, config_.axis, name());
}

CategoricalCrossentropy::CategoricalCrossentropy(Config config) : LossWithConfig(std::move(config)) {
  check_smoothing(config_.label_smoothing, name());
}

Tensor CategoricalCrossentropy::call(const Tensor& y_true, const Tensor& y_pred) const {
  return categorical_crossentropy(y_true, y_pred, config_.from_logits, config_.label_smoothing, config_.axis,
                                  name());
}

Tensor SparseCategoricalCrossentropy::call(const Tensor& y_true, const Tensor& y_pred) const {
  return sparse_impl(y_true, y_pred, config_.from_logits, config_.ignore_class, config_.axis, name(), nullptr);
}

Tensor SparseCategoricalCrossentropy::call_masked(const Tensor& y_true, const Tensor& y_pred, Tensor& mask) const {
  return sparse_impl(y_true, y_pred, config_.from_logits, config_.ignore_class, config_.axis, name(), &mask);
}

// ---------------------------------------------------------------------------

namespace {

struct LossEntry {
  const char* id;
  std::function<std::unique_ptr<Loss>()> make;
};

template <class L>
std::function<std::unique_ptr<Loss>()> maker(const char* name = nullptr) {
  return [name] {
    typename L::Config c;
    if (name) c.name = name;
    return std::make_unique<L>(std::move(c));
  };
}

const std::vector<LossEntry>& registry() {
  static const std::vector<LossEntry> r = {
      {"mean_squared_error", maker<MeanSquaredError>()},
      {"mse", maker<MeanSquaredError>()},
      {"MSE", maker<MeanSquaredError>()},
      {"MeanSquaredError", maker<MeanSquaredError>()},
      {"mean_absolute_error", maker<MeanAbsoluteError>()},
      {"mae", maker<MeanAbsoluteError>()},
      {"MAE", maker<MeanAbsoluteError>()},
      {"MeanAbsoluteError", maker<MeanAbsoluteError>()},
      {"huber", maker<Huber>("huber")},
      {"huber_loss", maker<Huber>()},
      {"Huber", maker<Huber>()},
      {"binary_crossentropy", maker<BinaryCrossentropy>()},
      {"bce", maker<BinaryCrossentropy>()},
      {"BCE", maker<BinaryCrossentropy>()},
      {"BinaryCrossentropy", maker<BinaryCrossentropy>()},
      {"categorical_crossentropy", maker<CategoricalCrossentropy>()},
      {"CategoricalCrossentropy", maker<CategoricalCrossentropy>()},
      {"sparse_categorical_crossentropy", maker<SparseCategoricalCrossentropy>()},
      {"SparseCategoricalCrossentropy", maker<SparseCategoricalCrossentropy>()},
  };
  return r;
}

}  // namespace

const std::vector<std::string>& known_loss_ids() {
  static const std::vector<std::string> ids = [] {
    std::vector<std::string> v;
    for (const auto& e : registry()) v.emplace_back(e.id);
    return v;
  }();
  return ids;
}

std::unique_ptr<Loss> make_loss(std::string_view id) {
  for (const auto& e : registry())
    if (id == e.id) return e.make();
  std::string known;
  for (const auto& k : known_loss_ids()) known += (known.empty() ? "" : ", ") + k;
  LAMINA_CHECK(false, ValueError, "[make_loss] unknown loss '", id, "'; known ids: ", known);
  return nullptr;
}

}  // namespace lamina::losses
