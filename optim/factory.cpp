#include "lamina/optim/factory.h"

#include "lamina/core/error.h"
#include "lamina/optim/adagrad.h"
#include "lamina/optim/adam.h"
#include "lamina/optim/rmsprop.h"
#include "lamina/optim/sgd.h"

namespace lamina::optim {

std::vector<std::string> optimizer_names() { return {"adagrad", "adam", "adamw", "rmsprop", "sgd"}; }

std::unique_ptr<Optimizer> make_optimizer(std::string_view name) {
  // Keras accepts the lower-case id and the class name.
  if (name == "sgd" || name == "SGD") return std::make_unique<SGD>();
  if (name == "adam" || name == "Adam") return std::make_unique<Adam>();
  if (name == "adamw" || name == "AdamW") return std::make_unique<AdamW>();
  if (name == "rmsprop" || name == "RMSprop") return std::make_unique<RMSprop>();
  if (name == "adagrad" || name == "Adagrad") return std::make_unique<Adagrad>();
  std::string known;
  for (const std::string& n : optimizer_names()) known += (known.empty() ? "" : ", ") + n;
  throw ValueError(lamina::detail::concat("[make_optimizer] Could not interpret optimizer identifier: '", name,
                                          "'; known optimizers: ", known));
}

}  // namespace lamina::optim
