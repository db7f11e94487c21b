#pragma once
/// Losses with Keras 3 semantics (keras-semantics.md G1-G4).
///
/// A Loss maps (y_true, y_pred) to per-sample losses (`call`), then
/// `operator()` applies sample weights and the reduction. Everything is built
/// from differentiable lamina ops, so a loss computed under a GradientTape
/// differentiates w.r.t. y_pred (and y_true, for the regression losses).
///
/// Example:
///   losses::SparseCategoricalCrossentropy loss_fn({.from_logits = true});
///   GradientTape tape;
///   Tensor loss = loss_fn(labels, model_logits);           // scalar
///   auto grads = tape.gradient(loss, model_weights);
///   auto mse = losses::make_loss("mse");                     // by Keras id
///
/// Inputs: y_pred must be float32/float64. A floating y_true must have
/// y_pred's dtype (DTypeError naming the loss and both dtypes); an integer or
/// bool y_true is converted to y_pred's dtype (labels). As Keras, when the
/// ranks differ by one and the longer shape ends in 1, that axis is squeezed
/// (or the rank-1 operand expanded); after that the shapes must be equal
/// (ShapeError naming the loss and both shapes; Keras would broadcast).
///
/// Configs are aggregates with a field visitor for serialization:
///   cfg.visit_fields([](std::string_view key, auto& value) { ... });
/// Field types: bool, double, int, std::int64_t, std::optional<std::int64_t>,
/// std::string and Reduction (see reduction_name / parse_reduction).

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lamina/core/tensor.h"

namespace lamina::losses {

/// Keras's backend epsilon: probabilities are clipped to [kEpsilon, 1 - kEpsilon].
inline constexpr double kEpsilon = 1e-7;

enum class Reduction {
  sum_over_batch_size,      ///< sum(w * l) / num_elements(l)   (Keras default; "mean" is an alias)
  sum,                      ///< sum(w * l)
  mean_with_sample_weight,  ///< sum(w * l) / sum(w)  (sum_over_batch_size when no weights are given)
  none,                     ///< the weighted per-sample losses, unreduced
};

/// "sum_over_batch_size", "sum", "mean_with_sample_weight", "none".
std::string_view reduction_name(Reduction r);
/// Parses a Keras reduction name ("mean" is sum_over_batch_size); ValueError otherwise.
Reduction parse_reduction(std::string_view name);

/// Keras's reduce_weighted_values: merges `mask` (positions to count, e.g.
/// from ignore_class) into `sample_weight`, multiplies, and reduces. Divisions
/// are divide_no_nan (0 / 0 = 0). A 0-d `values` passes through after
/// weighting; an empty one reduces to 0. Undefined sample_weight/mask = none.
/// ShapeError (naming `who`) when sample_weight does not broadcast to values.
Tensor reduce_weighted_values(const Tensor& values, const Tensor& sample_weight, const Tensor& mask,
                              Reduction reduction, std::string_view who = "loss");

/// Base class. Subclasses implement `call` (per-sample losses); custom losses
/// derive from it the same way.
class Loss {
 public:
  virtual ~Loss() = default;

  /// Per-sample losses, then weighting and reduction (a scalar unless the
  /// reduction is none). `sample_weight` broadcasts against the per-sample
  /// losses (e.g. shape (batch,) or (batch, 1)).
  Tensor operator()(const Tensor& y_true, const Tensor& y_pred, const Tensor& sample_weight = Tensor()) const;

  /// Per-sample losses (unreduced, unweighted).
  virtual Tensor call(const Tensor& y_true, const Tensor& y_pred) const = 0;

  const std::string& name() const { return name_; }
  Reduction reduction() const { return reduction_; }
  /// Keras class name, e.g. "MeanSquaredError" (custom losses: "Loss").
  virtual std::string_view class_name() const { return "Loss"; }
  /// A copy with the same configuration (nullptr for custom losses that do not override it).
  virtual std::unique_ptr<Loss> clone() const { return nullptr; }

 protected:
  Loss(std::string name, Reduction reduction) : name_(std::move(name)), reduction_(reduction) {}
  /// Like call(), and may set `mask` (positions that count, e.g. not ignore_class).
  virtual Tensor call_masked(const Tensor& y_true, const Tensor& y_pred, Tensor& mask) const {
    return call(y_true, y_pred);
  }

 private:
  std::string name_;
  Reduction reduction_;
};

// ---------------------------------------------------------------------------
// Per-sample loss functions (Keras's functional forms: keras.losses.mean_squared_error, ...).
// `who` names the loss in error messages.

/// mean((y_pred - y_true)^2, axis=-1)
Tensor mean_squared_error(const Tensor& y_true, const Tensor& y_pred, std::string_view who = "mean_squared_error");
/// mean(|y_pred - y_true|, axis=-1)
Tensor mean_absolute_error(const Tensor& y_true, const Tensor& y_pred, std::string_view who = "mean_absolute_error");
/// mean(0.5 x^2 if |x| <= delta else delta |x| - 0.5 delta^2, axis=-1), x = y_pred - y_true.
Tensor huber(const Tensor& y_true, const Tensor& y_pred, double delta = 1.0, std::string_view who = "huber_loss");
/// mean(-(y log p + (1 - y) log(1 - p)), axis), y smoothed towards 0.5; p clipped
/// to [eps, 1 - eps]; with from_logits the stable softplus(z) - z y.
Tensor binary_crossentropy(const Tensor& y_true, const Tensor& y_pred, bool from_logits = false,
                           double label_smoothing = 0.0, int axis = -1,
                           std::string_view who = "binary_crossentropy");
/// -sum(y log p, axis), y smoothed towards 1/num_classes; p renormalized and
/// clipped, or log_softmax(logits).
Tensor categorical_crossentropy(const Tensor& y_true, const Tensor& y_pred, bool from_logits = false,
                                double label_smoothing = 0.0, int axis = -1,
                                std::string_view who = "categorical_crossentropy");
/// Integer labels (int32/int64/uint8, or integral floats); a trailing label
/// axis of extent 1 is squeezed. Positions labelled `ignore_class` get 0 (and,
/// through operator(), are left out of the average). With from_logits this is
/// the fused sparse_softmax_cross_entropy_with_logits op.
/// IndexError naming the loss for labels outside [0, num_classes).
Tensor sparse_categorical_crossentropy(const Tensor& y_true, const Tensor& y_pred, bool from_logits = false,
                                       std::optional<std::int64_t> ignore_class = std::nullopt, int axis = -1,
                                       std::string_view who = "sparse_categorical_crossentropy");

// ---------------------------------------------------------------------------
// Configurations (Keras argument names and defaults) and loss classes.

struct MeanSquaredErrorConfig {
  Reduction reduction = Reduction::sum_over_batch_size;
  std::string name = "mean_squared_error";
  template <class V> void visit_fields(V&& v) { v("reduction", reduction); v("name", name); }
  template <class V> void visit_fields(V&& v) const { v("reduction", reduction); v("name", name); }
};

struct MeanAbsoluteErrorConfig {
  Reduction reduction = Reduction::sum_over_batch_size;
  std::string name = "mean_absolute_error";
  template <class V> void visit_fields(V&& v) { v("reduction", reduction); v("name", name); }
  template <class V> void visit_fields(V&& v) const { v("reduction", reduction); v("name", name); }
};

struct HuberConfig {
  double delta = 1.0;
  Reduction reduction = Reduction::sum_over_batch_size;
  std::string name = "huber_loss";
  template <class V> void visit_fields(V&& v) { v("delta", delta); v("reduction", reduction); v("name", name); }
  template <class V> void visit_fields(V&& v) const { v("delta", delta); v("reduction", reduction); v("name", name); }
};

struct BinaryCrossentropyConfig {
  bool from_logits = false;
  double label_smoothing = 0.0;
  int axis = -1;
  Reduction reduction = Reduction::sum_over_batch_size;
  std::string name = "binary_crossentropy";
  template <class V> void visit_fields(V&& v) {
    v("from_logits", from_logits); v("label_smoothing", label_smoothing); v("axis", axis);
    v("reduction", reduction); v("name", name);
  }
  template <class V> void visit_fields(V&& v) const {
    v("from_logits", from_logits); v("label_smoothing", label_smoothing); v("axis", axis);
    v("reduction", reduction); v("name", name);
  }
};

struct CategoricalCrossentropyConfig {
  bool from_logits = false;
  double label_smoothing = 0.0;
  int axis = -1;
  Reduction reduction = Reduction::sum_over_batch_size;
  std::string name = "categorical_crossentropy";
  template <class V> void visit_fields(V&& v) {
    v("from_logits", from_logits); v("label_smoothing", label_smoothing); v("axis", axis);
    v("reduction", reduction); v("name", name);
  }
  template <class V> void visit_fields(V&& v) const {
    v("from_logits", from_logits); v("label_smoothing", label_smoothing); v("axis", axis);
    v("reduction", reduction); v("name", name);
  }
};

struct SparseCategoricalCrossentropyConfig {
  bool from_logits = false;
  std::optional<std::int64_t> ignore_class = std::nullopt;
  int axis = -1;
  Reduction reduction = Reduction::sum_over_batch_size;
  std::string name = "sparse_categorical_crossentropy";
  template <class V> void visit_fields(V&& v) {
    v("from_logits", from_logits); v("ignore_class", ignore_class); v("axis", axis);
    v("reduction", reduction); v("name", name);
  }
  template <class V> void visit_fields(V&& v) const {
    v("from_logits", from_logits); v("ignore_class", ignore_class); v("axis", axis);
    v("reduction", reduction); v("name", name);
  }
};

/// Shared boilerplate of the built-in losses: holds the config.
template <class Derived, class ConfigT>
class LossWithConfig : public Loss {
 public:
  using Config = ConfigT;
  const Config& config() const { return config_; }
  std::unique_ptr<Loss> clone() const override { return std::make_unique<Derived>(config_); }

 protected:
  explicit LossWithConfig(Config config) : Loss(config.name, config.reduction), config_(std::move(config)) {}
  Config config_;
};

class MeanSquaredError final : public LossWithConfig<MeanSquaredError, MeanSquaredErrorConfig> {
 public:
  explicit MeanSquaredError(Config config = {}) : LossWithConfig(std::move(config)) {}
  Tensor call(const Tensor& y_true, const Tensor& y_pred) const override;
  std::string_view class_name() const override { return "MeanSquaredError"; }
};

class MeanAbsoluteError final : public LossWithConfig<MeanAbsoluteError, MeanAbsoluteErrorConfig> {
 public:
  explicit MeanAbsoluteError(Config config = {}) : LossWithConfig(std::move(config)) {}
  Tensor call(const Tensor& y_true, const Tensor& y_pred) const override;
  std::string_view class_name() const override { return "MeanAbsoluteError"; }
};

/// ValueError for delta < 0.
class Huber final : public LossWithConfig<Huber, HuberConfig> {
 public:
  explicit Huber(Config config = {});
  Tensor call(const Tensor& y_true, const Tensor& y_pred) const override;
  std::string_view class_name() const override { return "Huber"; }
};

/// ValueError for label_smoothing outside [0, 1].
class BinaryCrossentropy final : public LossWithConfig<BinaryCrossentropy, BinaryCrossentropyConfig> {
 public:
  explicit BinaryCrossentropy(Config config = {});
  Tensor call(const Tensor& y_true, const Tensor& y_pred) const override;
  std::string_view class_name() const override { return "BinaryCrossentropy"; }
};

/// ValueError for label_smoothing outside [0, 1].
class CategoricalCrossentropy final
    : public LossWithConfig<CategoricalCrossentropy, CategoricalCrossentropyConfig> {
 public:
  explicit CategoricalCrossentropy(Config config = {});
  Tensor call(const Tensor& y_true, const Tensor& y_pred) const override;
  std::string_view class_name() const override { return "CategoricalCrossentropy"; }
};

class SparseCategoricalCrossentropy final
    : public LossWithConfig<SparseCategoricalCrossentropy, SparseCategoricalCrossentropyConfig> {
 public:
  explicit SparseCategoricalCrossentropy(Config config = {}) : LossWithConfig(std::move(config)) {}
  Tensor call(const Tensor& y_true, const Tensor& y_pred) const override;
  std::string_view class_name() const override { return "SparseCategoricalCrossentropy"; }

 protected:
  Tensor call_masked(const Tensor& y_true, const Tensor& y_pred, Tensor& mask) const override;
};

/// A loss by Keras string id, with default configuration: "mean_squared_error"
/// / "mse" / "MSE", "mean_absolute_error" / "mae" / "MAE", "huber" / "huber_loss",
/// "binary_crossentropy" / "bce" / "BCE", "categorical_crossentropy",
/// "sparse_categorical_crossentropy", and the class names ("MeanSquaredError", ...).
/// The loss is named by its function name (make_loss("mse")->name() == "mean_squared_error").
/// ValueError listing the known ids otherwise.
std::unique_ptr<Loss> make_loss(std::string_view id);
/// The ids make_loss accepts.
const std::vector<std::string>& known_loss_ids();

}  // namespace lamina::losses
