#pragma once
/// RMSprop, Keras 3 semantics (keras-semantics F5):
///   v = rho*v + (1-rho)*g²
///   denominator = v + epsilon   (centered: mg = rho*mg + (1-rho)*g; v - mg² + epsilon)
///   inc = lr*g / sqrt(denominator)   (epsilon INSIDE the sqrt)
///   momentum > 0: mom = momentum*mom + inc; w -= mom   else w -= inc
/// Docstring check: w = 10, lr = 0.1, loss = w²/2, one step -> 9.683772.
///
/// Example:
///   RMSprop opt({.learning_rate = 1e-3, .momentum = 0.9, .centered = true});

#include <optional>
#include <string>

#include "lamina/optim/optimizer.h"

namespace lamina::optim {

struct RMSpropConfig {
  LearningRate learning_rate = 0.001;
  double rho = 0.9;
  double momentum = 0.0;
  double epsilon = 1e-7;
  bool centered = false;
  std::optional<double> weight_decay = std::nullopt;
  std::optional<double> clipnorm = std::nullopt;
  std::optional<double> clipvalue = std::nullopt;
  std::optional<double> global_clipnorm = std::nullopt;
  std::string name = "rmsprop";

  template <class V>
  void visit_fields(V&& v) {
    v("name", name);
    v("learning_rate", learning_rate);
    v("weight_decay", weight_decay);
    v("clipnorm", clipnorm);
    v("global_clipnorm", global_clipnorm);
    v("clipvalue", clipvalue);
    v("rho", rho);
    v("momentum", momentum);
    v("epsilon", epsilon);
    v("centered", centered);
  }
};

class RMSprop : public Optimizer {
 public:
  using Config = RMSpropConfig;
  explicit RMSprop(Config config = {});
  std::string name() const override { return "RMSprop"; }
  /// The configuration, with the current learning rate.
  Config config() const { return with_current_options(config_); }

 protected:
  /// "velocity", then "momentum" (momentum > 0), then "average_gradient" (centered).
  std::vector<SlotSpec> slot_specs() const override;
  void update_step(const Tensor& grad, const Variable& var, std::span<const Variable> slots,
                   const StepInfo& info) override;

 private:
  Config config_;
};

}  // namespace lamina::optim
