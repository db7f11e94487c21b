#include "lamina/optim/rmsprop.h"

#include <limits>

#include "lamina/optim/kernels/update_kernels.h"

namespace lamina::optim {

RMSprop::RMSprop(Config config) : Optimizer("RMSprop", options_of(config)), config_(std::move(config)) {
  check_hyperparameter("rho", config_.rho, 0.0, 1.0);
  check_hyperparameter("momentum", config_.momentum, 0.0, 1.0);
  check_hyperparameter("epsilon", config_.epsilon, 0.0, std::numeric_limits<double>::max());
}

std::vector<SlotSpec> RMSprop::slot_specs() const {
  std::vector<SlotSpec> s{{"velocity", 0.0}};
  if (config_.momentum > 0) s.push_back({"momentum", 0.0});
  if (config_.centered) s.push_back({"average_gradient", 0.0});
  return s;
}

void RMSprop::update_step(const Tensor& grad, const Variable& var, std::span<const Variable> slots,
                          const StepInfo& info) {
  RuleScalars s;
  s.lr = info.learning_rate;
  s.rho = config_.rho;
  s.one_minus_rho = 1.0 - config_.rho;
  s.momentum = config_.momentum;
  s.epsilon = config_.epsilon;
  const bool mom = config_.momentum > 0;
  using detail::UpdateRule;
  if (!config_.centered) {
    // Kernel slots: velocity[, momentum] — the same order as slot_specs().
    fused_update(mom ? UpdateRule::rmsprop_momentum : UpdateRule::rmsprop, grad, var, slots, info, s);
  } else if (!mom) {
    fused_update(UpdateRule::rmsprop_centered, grad, var, slots, info, s);  // velocity, average_gradient
  } else {
    // Kernel slots: velocity, average_gradient, momentum.
    const Variable ordered[3] = {slots[0], slots[2], slots[1]};
    fused_update(UpdateRule::rmsprop_centered_momentum, grad, var, ordered, info, s);
  }
}

}  // namespace lamina::optim
