#pragma once
/// Optimizer: the base of lamina's Keras 3 optimizers (SGD, Adam, AdamW,
/// RMSprop, Adagrad).
///
/// apply_gradients(grads, vars) follows keras-semantics F1: undefined
/// gradients are dropped (their variables skipped); gradients are clipped
/// (clipnorm per tensor, global_clipnorm over all, or clipvalue — at most one);
/// decoupled weight decay `w -= w*weight_decay*lr` runs when weight_decay is
/// set; the optimizer's update step runs; then iterations += 1. Clipping,
/// weight decay and the update of one parameter tensor are one fused SIMD pass.
///
/// State: the iteration count (an int64 scalar Variable) and per-variable slots
/// (momentum, velocity, ...), Variables created zero-initialized (Adagrad: its
/// initial accumulator value) on the first apply to a variable, or by build().
/// variables() lists them in a fixed order for serialization.
///
/// Example:
///   Adam opt({.learning_rate = 1e-3});
///   for (...) {
///     GradientTape tape;
///     Tensor loss = ...;
///     opt.apply_gradients(tape.gradient(loss, weights), weights);
///   }

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "lamina/autograd/variable.h"
#include "lamina/core/tensor.h"
#include "lamina/optim/learning_rate.h"

namespace lamina::optim {

namespace detail {
enum class UpdateRule : int;
}

/// The arguments every Keras optimizer shares.
struct OptimizerOptions {
  LearningRate learning_rate;
  std::optional<double> weight_decay = std::nullopt;
  std::optional<double> clipnorm = std::nullopt;
  std::optional<double> clipvalue = std::nullopt;
  std::optional<double> global_clipnorm = std::nullopt;
};

/// The shared options of a config struct (any struct with those fields).
template <class Config>
OptimizerOptions options_of(const Config& c) {
  return {c.learning_rate, c.weight_decay, c.clipnorm, c.clipvalue, c.global_clipnorm};
}

/// A slot an optimizer keeps per variable: its name and initial value.
struct SlotSpec {
  std::string name;
  double initial_value = 0.0;
};

class Optimizer {
 public:
  virtual ~Optimizer();
  Optimizer(const Optimizer&) = delete;
  Optimizer& operator=(const Optimizer&) = delete;

  /// Keras class name: "Adam", "SGD", "RMSprop", "Adagrad", "AdamW".
  virtual std::string name() const = 0;

  /// One optimization step. grads[i] is the gradient of vars[i] (same shape
  /// and dtype) or an undefined Tensor, in which case vars[i] is skipped. An
  /// empty list is a no-op; otherwise iterations() grows by one (also when
  /// every gradient is undefined, as in Keras).
  /// Throws ValueError (count mismatch, undefined variable), ShapeError or
  /// DTypeError (gradient/variable mismatch, non-floating variable), naming
  /// the variable; nothing is modified when it throws.
  void apply_gradients(const std::vector<Tensor>& grads, const std::vector<Variable>& vars);

  /// Creates the slots of `vars` now (those not yet known), e.g. before
  /// loading saved optimizer state. apply_gradients does this lazily.
  void build(const std::vector<Variable>& vars);

  /// The learning rate the next update uses (a schedule evaluated at iterations()).
  double learning_rate() const;
  /// Sets a constant learning rate (replacing a schedule), e.g. from
  /// ReduceLROnPlateau or LearningRateScheduler.
  void set_learning_rate(double lr);
  /// Sets a constant or a schedule.
  void set_learning_rate(LearningRate lr);
  /// The configured learning rate (constant or schedule).
  const LearningRate& learning_rate_setting() const { return options_.learning_rate; }

  /// Number of updates applied so far.
  std::int64_t iterations() const;
  /// The iteration counter as a variable (int64 scalar, name "iteration").
  Variable iterations_variable() const { return iterations_; }

  /// Every state variable in a fixed order: the iteration counter first, then
  /// each tracked variable's slots (in slot_names() order), variables in the
  /// order their slots were created.
  std::vector<Variable> variables() const;
  /// The names of the slots kept per variable, e.g. {"momentum", "velocity"}.
  std::vector<std::string> slot_names() const;
  /// The slot `slot_name` of `var`; an undefined Variable when `var` has no
  /// slots yet. Throws ValueError for a name not in slot_names().
  Variable get_slot(const Variable& var, std::string_view slot_name) const;
  /// The variables that have slots, in creation order.
  std::vector<Variable> tracked_variables() const;

  /// Excludes variables (by identity, or whose name contains one of
  /// `var_names`) from weight decay.
  void exclude_from_weight_decay(const std::vector<Variable>& vars, const std::vector<std::string>& var_names = {});

  const std::optional<double>& weight_decay() const { return options_.weight_decay; }
  const std::optional<double>& clipnorm() const { return options_.clipnorm; }
  const std::optional<double>& clipvalue() const { return options_.clipvalue; }
  const std::optional<double>& global_clipnorm() const { return options_.global_clipnorm; }

 protected:
  /// Throws ValueError when more than one clipping option is set or a
  /// constant learning rate is negative or not finite.
  Optimizer(std::string_view class_name, OptimizerOptions options);

  /// ValueError "[Adam] `beta_1` must be in [lo, hi]. Received: beta_1=1.5"
  /// unless lo <= value <= hi (NaN fails).
  void check_hyperparameter(std::string_view name, double value, double lo, double hi) const;

 private:
  void check_learning_rate(const LearningRate& lr) const;

 protected:

  /// What the base computed for one variable's update.
  struct StepInfo {
    double learning_rate = 0;  // at the current iteration
    std::int64_t iterations = 0;  // before this update (Adam's t = iterations + 1)
    double grad_scale = 1;     // clipnorm / global_clipnorm factor
    std::optional<double> clipvalue;
    double decay = 0;          // weight_decay * learning_rate, 0 when none
  };
  /// Scalars of a fused update, in double (cast to the variable's type).
  struct RuleScalars {
    double lr = 0, momentum = 0, one_minus_b1 = 0, one_minus_b2 = 0, rho = 0, one_minus_rho = 0, epsilon = 0;
  };

  /// The slots this optimizer keeps per variable (in order).
  virtual std::vector<SlotSpec> slot_specs() const = 0;
  /// Updates `var` from its raw gradient (contiguous, same shape and dtype).
  /// The gradient preparation and weight decay described by `info` must be
  /// applied too; fused_update does all of it in one pass.
  virtual void update_step(const Tensor& grad, const Variable& var, std::span<const Variable> slots,
                           const StepInfo& info) = 0;
  /// Runs the fused kernel `rule` over var, grad and slots (parallel above a grain).
  void fused_update(detail::UpdateRule rule, const Tensor& grad, const Variable& var,
                    std::span<const Variable> slots, const StepInfo& info, const RuleScalars& s);

  /// The shared options, with the current learning rate (for config()).
  const OptimizerOptions& options() const { return options_; }
  /// Copies the current learning rate into a config struct.
  template <class Config>
  Config with_current_options(Config c) const {
    c.learning_rate = options_.learning_rate;
    return c;
  }

 private:
  struct Entry {
    Variable var;
    std::vector<Variable> slots;
  };
  const Entry& ensure_slots(const Variable& var);
  bool uses_weight_decay(const Variable& var) const;

  std::string class_name_;
  OptimizerOptions options_;
  Variable iterations_;
  std::vector<Entry> entries_;
  std::unordered_map<const void*, std::size_t> index_;
  std::vector<Variable> wd_excluded_;
  std::vector<std::string> wd_excluded_names_;
};

}  // namespace lamina::optim
