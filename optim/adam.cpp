#include "lamina/optim/adam.h"

#include <cmath>
#include <limits>

#include "lamina/core/error.h"
#include "lamina/optim/kernels/update_kernels.h"

namespace lamina::optim {

Adam::Adam(Config config) : Adam("Adam", std::move(config)) {}

Adam::Adam(std::string_view class_name, Config config)
    : Optimizer(class_name, options_of(config)), config_(std::move(config)) {
  check_hyperparameter("beta_1", config_.beta_1, 0.0, 1.0);
  check_hyperparameter("beta_2", config_.beta_2, 0.0, 1.0);
  check_hyperparameter("epsilon", config_.epsilon, 0.0, std::numeric_limits<double>::max());
}

std::vector<SlotSpec> Adam::slot_specs() const {
  if (config_.amsgrad) return {{"momentum", 0.0}, {"velocity", 0.0}, {"velocity_hat", 0.0}};
  return {{"momentum", 0.0}, {"velocity", 0.0}};
}

void Adam::update_step(const Tensor& grad, const Variable& var, std::span<const Variable> slots,
                       const StepInfo& info) {
  const double t = static_cast<double>(info.iterations + 1);
  const double beta_1_power = std::pow(config_.beta_1, t);
  const double beta_2_power = std::pow(config_.beta_2, t);
  RuleScalars s;
  s.lr = info.learning_rate * std::sqrt(1.0 - beta_2_power) / (1.0 - beta_1_power);  // alpha
  s.one_minus_b1 = 1.0 - config_.beta_1;
  s.one_minus_b2 = 1.0 - config_.beta_2;
  s.epsilon = config_.epsilon;
  fused_update(config_.amsgrad ? detail::UpdateRule::adam_amsgrad : detail::UpdateRule::adam, grad, var, slots, info,
               s);
}

namespace {
AdamConfig adam_part(const AdamWConfig& c) {
  AdamConfig a;
  a.learning_rate = c.learning_rate;
  a.beta_1 = c.beta_1;
  a.beta_2 = c.beta_2;
  a.epsilon = c.epsilon;
  a.amsgrad = c.amsgrad;
  a.weight_decay = c.weight_decay;
  a.clipnorm = c.clipnorm;
  a.clipvalue = c.clipvalue;
  a.global_clipnorm = c.global_clipnorm;
  a.name = c.name;
  return a;
}
}  // namespace

AdamW::AdamW(Config config) : Adam("AdamW", adam_part(config)), configw_(std::move(config)) {
  LAMINA_CHECK(std::isfinite(configw_.weight_decay), ValueError,
               "[AdamW] Argument `weight_decay` must be a float. Received: weight_decay=", configw_.weight_decay);
}

}  // namespace lamina::optim
