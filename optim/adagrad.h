#pragma once
/// Adagrad, Keras 3 semantics (keras-semantics F6):
///   acc += g²;  w -= lr*g / sqrt(acc + epsilon)
/// The accumulator starts at initial_accumulator_value (not zero).
///
/// Example:
///   Adagrad opt({.learning_rate = 0.01});

#include <optional>
#include <string>

#include "lamina/optim/optimizer.h"

namespace lamina::optim {

struct AdagradConfig {
  LearningRate learning_rate = 0.001;
  double initial_accumulator_value = 0.1;
  double epsilon = 1e-7;
  std::optional<double> weight_decay = std::nullopt;
  std::optional<double> clipnorm = std::nullopt;
  std::optional<double> clipvalue = std::nullopt;
  std::optional<double> global_clipnorm = std::nullopt;
  std::string name = "adagrad";

  template <class V>
  void visit_fields(V&& v) {
    v("name", name);
    v("learning_rate", learning_rate);
    v("weight_decay", weight_decay);
    v("clipnorm", clipnorm);
    v("global_clipnorm", global_clipnorm);
    v("clipvalue", clipvalue);
    v("initial_accumulator_value", initial_accumulator_value);
    v("epsilon", epsilon);
  }
};

class Adagrad : public Optimizer {
 public:
  using Config = AdagradConfig;
  explicit Adagrad(Config config = {});
  std::string name() const override { return "Adagrad"; }
  /// The configuration, with the current learning rate.
  Config config() const { return with_current_options(config_); }

 protected:
  std::vector<SlotSpec> slot_specs() const override;
  void update_step(const Tensor& grad, const Variable& var, std::span<const Variable> slots,
                   const StepInfo& info) override;

 private:
  Config config_;
};

}  // namespace lamina::optim
