#pragma once
/// SGD with optional (Nesterov) momentum, Keras 3 semantics (keras-semantics F2):
///   momentum 0:  w -= lr*g
///   otherwise:   v = momentum*v - lr*g;  w += v
///   nesterov:    v = momentum*v - lr*g;  w += momentum*v - lr*g
///
/// Example:
///   SGD opt({.learning_rate = 0.1, .momentum = 0.9, .nesterov = true});

#include <optional>
#include <string>

#include "lamina/optim/optimizer.h"

namespace lamina::optim {

struct SGDConfig {
  LearningRate learning_rate = 0.01;
  double momentum = 0.0;  // in [0, 1]
  bool nesterov = false;
  std::optional<double> weight_decay = std::nullopt;
  std::optional<double> clipnorm = std::nullopt;
  std::optional<double> clipvalue = std::nullopt;
  std::optional<double> global_clipnorm = std::nullopt;
  std::string name = "SGD";

  template <class V>
  void visit_fields(V&& v) {
    v("name", name);
    v("learning_rate", learning_rate);
    v("weight_decay", weight_decay);
    v("clipnorm", clipnorm);
    v("global_clipnorm", global_clipnorm);
    v("clipvalue", clipvalue);
    v("momentum", momentum);
    v("nesterov", nesterov);
  }
};

class SGD : public Optimizer {
 public:
  using Config = SGDConfig;
  /// Throws ValueError when momentum is outside [0, 1] or several clipping
  /// options are set.
  explicit SGD(Config config = {});
  std::string name() const override { return "SGD"; }
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
