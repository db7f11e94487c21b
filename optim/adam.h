#pragma once
/// Adam and AdamW, Keras 3 semantics (keras-semantics F3, F4). With
/// t = iterations + 1:
///   m += (g - m)*(1 - beta_1);  v += (g² - v)*(1 - beta_2)
///   alpha = lr*sqrt(1 - beta_2^t)/(1 - beta_1^t)
///   w -= alpha*m/(sqrt(v) + epsilon)     (epsilon "hat": added to the raw sqrt(v))
/// amsgrad uses v_hat = max(v_hat, v) in place of v. AdamW is the same step
/// preceded by the decoupled weight decay w -= w*weight_decay*lr.
///
/// Example:
///   Adam opt({.learning_rate = 1e-3, .amsgrad = true});
///   AdamW opt2({.learning_rate = 1e-3, .weight_decay = 0.01});

#include <optional>
#include <string>

#include "lamina/optim/optimizer.h"

namespace lamina::optim {

struct AdamConfig {
  LearningRate learning_rate = 0.001;
  double beta_1 = 0.9;
  double beta_2 = 0.999;
  double epsilon = 1e-7;
  bool amsgrad = false;
  std::optional<double> weight_decay = std::nullopt;
  std::optional<double> clipnorm = std::nullopt;
  std::optional<double> clipvalue = std::nullopt;
  std::optional<double> global_clipnorm = std::nullopt;
  std::string name = "adam";

  template <class V>
  void visit_fields(V&& v) {
    v("name", name);
    v("learning_rate", learning_rate);
    v("weight_decay", weight_decay);
    v("clipnorm", clipnorm);
    v("global_clipnorm", global_clipnorm);
    v("clipvalue", clipvalue);
    v("beta_1", beta_1);
    v("beta_2", beta_2);
    v("epsilon", epsilon);
    v("amsgrad", amsgrad);
  }
};

class Adam : public Optimizer {
 public:
  using Config = AdamConfig;
  explicit Adam(Config config = {});
  std::string name() const override { return "Adam"; }
  /// The configuration, with the current learning rate.
  Config config() const { return with_current_options(config_); }

 protected:
  Adam(std::string_view class_name, Config config);
  std::vector<SlotSpec> slot_specs() const override;
  void update_step(const Tensor& grad, const Variable& var, std::span<const Variable> slots,
                   const StepInfo& info) override;

 private:
  Config config_;
};

/// AdamW: weight_decay is required (default 0.004).
struct AdamWConfig {
  LearningRate learning_rate = 0.001;
  double weight_decay = 0.004;
  double beta_1 = 0.9;
  double beta_2 = 0.999;
  double epsilon = 1e-7;
  bool amsgrad = false;
  std::optional<double> clipnorm = std::nullopt;
  std::optional<double> clipvalue = std::nullopt;
  std::optional<double> global_clipnorm = std::nullopt;
  std::string name = "adamw";

  template <class V>
  void visit_fields(V&& v) {
    v("name", name);
    v("learning_rate", learning_rate);
    v("weight_decay", weight_decay);
    v("clipnorm", clipnorm);
    v("global_clipnorm", global_clipnorm);
    v("clipvalue", clipvalue);
    v("beta_1", beta_1);
    v("beta_2", beta_2);
    v("epsilon", epsilon);
    v("amsgrad", amsgrad);
  }
};

class AdamW : public Adam {
 public:
  using Config = AdamWConfig;
  explicit AdamW(Config config = {});
  std::string name() const override { return "AdamW"; }
  /// The configuration, with the current learning rate.
  Config config() const { return with_current_options(configw_); }

 private:
  Config configw_;
};

}  // namespace lamina::optim
