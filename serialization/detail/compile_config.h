#pragma once
// Internal: Config conversion of the compile settings a model file stores
// (optimizers with their schedules, losses), and the {"class_name",
// "config"} envelope they and the architecture share. Unknown classes and
// unknown config keys are ValueErrors naming them.

#include <memory>
#include <string>
#include <utility>

#include "lamina/layers/config.h"
#include "lamina/layers/losses/losses.h"
#include "lamina/optim/optimizer.h"

namespace lamina::detail {

/// {"class_name": class_name, "config": config}.
Config envelope(const std::string& class_name, Config config);
/// The class name and config of an envelope; ValueError naming `who` otherwise.
std::pair<std::string, Config> open_envelope(const Config& env, const std::string& who);

Config optimizer_to_config(const optim::Optimizer& opt);
std::shared_ptr<optim::Optimizer> optimizer_from_config(const Config& env);

/// The loss's envelope, or null when there is none.
ConfigValue loss_to_value(const losses::Loss* loss);
std::shared_ptr<losses::Loss> loss_from_config(const Config& env);

}  // namespace lamina::detail
