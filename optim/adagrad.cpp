#include "lamina/optim/adagrad.h"

#include <limits>

#include "lamina/optim/kernels/update_kernels.h"

namespace lamina::optim {

Adagrad::Adagrad(Config config) : Optimizer("Adagrad", options_of(config)), config_(std::move(config)) {
  check_hyperparameter("initial_accumulator_value", config_.initial_accumulator_value, 0.0,
                       std::numeric_limits<double>::max());
  check_hyperparameter("epsilon", config_.epsilon, 0.0, std::numeric_limits<double>::max());
}

std::vector<SlotSpec> Adagrad::slot_specs() const {
  return {{"accumulator", config_.initial_accumulator_value}};
}

void Adagrad::update_step(const Tensor& grad, const Variable& var, std::span<const Variable> slots,
                          const StepInfo& info) {
  RuleScalars s;
  s.lr = info.learning_rate;
  s.epsilon = config_.epsilon;
  fused_update(detail::UpdateRule::adagrad, grad, var, slots, info, s);
}

}  // namespace lamina::optim
