#pragma once
/// Optimizers by Keras string id, as in `model.compile(optimizer="adam")`.

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "lamina/optim/optimizer.h"

namespace lamina::optim {

/// A default-configured optimizer for a Keras id: "sgd", "adam", "adamw",
/// "rmsprop", "adagrad", or the class name ("SGD", "Adam", "AdamW",
/// "RMSprop", "Adagrad"). Throws ValueError listing the known ids otherwise.
std::unique_ptr<Optimizer> make_optimizer(std::string_view name);

/// The lower-case ids make_optimizer knows, sorted.
std::vector<std::string> optimizer_names();

}  // namespace lamina::optim
