#pragma once
/// Learning-rate schedules (Keras 3 keras.optimizers.schedules), evaluated by
/// an optimizer at its iteration count. Each has a config aggregate with the
/// Keras defaults and a field visitor for serialization.
///
/// Example:
///   ExponentialDecay s({.initial_learning_rate = 0.1, .decay_steps = 100, .decay_rate = 0.5});
///   s(50);  // 0.1 * 0.5^(50/100)
///   Adam opt({.learning_rate = CosineDecay({.initial_learning_rate = 0.0, .decay_steps = 1000,
///                                           .warmup_target = 1e-3, .warmup_steps = 100})});

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "lamina/optim/learning_rate.h"

namespace lamina::optim {

/// `initial_learning_rate * decay_rate^(step / decay_steps)`, the exponent
/// floored when `staircase`.
struct ExponentialDecayConfig {
  double initial_learning_rate = 0.0;  // required in Keras
  std::int64_t decay_steps = 0;        // required, > 0
  double decay_rate = 0.0;             // required
  bool staircase = false;
  std::string name = "ExponentialDecay";

  template <class V>
  void visit_fields(V&& v) {
    v("initial_learning_rate", initial_learning_rate);
    v("decay_steps", decay_steps);
    v("decay_rate", decay_rate);
    v("staircase", staircase);
    v("name", name);
  }
};

class ExponentialDecay final : public LearningRateSchedule {
 public:
  using Config = ExponentialDecayConfig;
  /// Throws ValueError when decay_steps <= 0.
  explicit ExponentialDecay(Config config);
  double operator()(std::int64_t step) const override;
  std::string name() const override { return "ExponentialDecay"; }
  const Config& config() const { return config_; }

 private:
  Config config_;
};

/// `values[0]` for step <= boundaries[0], `values[i]` for
/// boundaries[i-1] < step <= boundaries[i], `values.back()` after the last
/// boundary. Needs values.size() == boundaries.size() + 1.
struct PiecewiseConstantDecayConfig {
  std::vector<double> boundaries{};
  std::vector<double> values{};
  std::string name = "PiecewiseConstant";

  template <class V>
  void visit_fields(V&& v) {
    v("boundaries", boundaries);
    v("values", values);
    v("name", name);
  }
};

class PiecewiseConstantDecay final : public LearningRateSchedule {
 public:
  using Config = PiecewiseConstantDecayConfig;
  /// Throws ValueError when the lengths do not fit.
  explicit PiecewiseConstantDecay(Config config);
  double operator()(std::int64_t step) const override;
  std::string name() const override { return "PiecewiseConstantDecay"; }
  const Config& config() const { return config_; }

 private:
  Config config_;
};

/// Cosine decay from initial_learning_rate (or, with a warm-up, from
/// warmup_target after a linear warm-up of warmup_steps) down to
/// alpha * that rate over decay_steps, then constant.
struct CosineDecayConfig {
  double initial_learning_rate = 0.0;  // required in Keras
  std::int64_t decay_steps = 0;        // required, > 0
  double alpha = 0.0;
  std::optional<double> warmup_target = std::nullopt;  // none: no warm-up
  std::int64_t warmup_steps = 0;
  std::string name = "CosineDecay";

  template <class V>
  void visit_fields(V&& v) {
    v("initial_learning_rate", initial_learning_rate);
    v("decay_steps", decay_steps);
    v("alpha", alpha);
    v("name", name);
    v("warmup_target", warmup_target);
    v("warmup_steps", warmup_steps);
  }
};

class CosineDecay final : public LearningRateSchedule {
 public:
  using Config = CosineDecayConfig;
  /// Throws ValueError when decay_steps <= 0 or warmup_steps < 0.
  explicit CosineDecay(Config config);
  double operator()(std::int64_t step) const override;
  std::string name() const override { return "CosineDecay"; }
  const Config& config() const { return config_; }

 private:
  Config config_;
};

}  // namespace lamina::optim
