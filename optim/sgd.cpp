#include "lamina/optim/sgd.h"

#include "lamina/core/error.h"
#include "lamina/optim/kernels/update_kernels.h"

namespace lamina::optim {

SGD::SGD(Config config) : Optimizer("SGD", options_of(config)), config_(std::move(config)) {
  LAMINA_CHECK(config_.momentum >= 0.0 && config_.momentum <= 1.0, ValueError,
               "[SGD] `momentum` must be a float between [0, 1]. Received: momentum=", config_.momentum);
}

std::vector<SlotSpec> SGD::slot_specs() const {
  if (config_.momentum == 0.0) return {};
  return {{"momentum", 0.0}};
}

void SGD::update_step(const Tensor& grad, const Variable& var, std::span<const Variable> slots,
                      const StepInfo& info) {
  RuleScalars s;
  s.lr = info.learning_rate;
  s.momentum = config_.momentum;
  detail::UpdateRule rule = detail::UpdateRule::sgd;
  if (config_.momentum != 0.0) rule = config_.nesterov ? detail::UpdateRule::sgd_nesterov : detail::UpdateRule::sgd_momentum;
  fused_update(rule, grad, var, slots, info, s);
}

}  // namespace lamina::optim
