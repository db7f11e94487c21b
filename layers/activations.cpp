#include "lamina/layers/activations.h"

#include <map>

#include "lamina/autograd/ops.h"
#include "lamina/layers/detail/object_registry.h"

namespace lamina {

namespace {

Tensor selu(const Tensor& x) {
  constexpr double kAlpha = 1.6732632423543772, kScale = 1.0507009873554805;
  return mul(elu(x, kAlpha), kScale);
}
Tensor silu(const Tensor& x) { return mul(x, sigmoid(x)); }

const std::map<std::string, ActivationFn>& table() {
  static const std::map<std::string, ActivationFn> t = {
      {"linear", nullptr},
      {"relu", [](const Tensor& x) { return relu(x); }},
      {"sigmoid", [](const Tensor& x) { return sigmoid(x); }},
      {"tanh", [](const Tensor& x) { return tanh(x); }},
      {"softmax", [](const Tensor& x) { return softmax(x, -1); }},
      {"log_softmax", [](const Tensor& x) { return log_softmax(x, -1); }},
      {"gelu", [](const Tensor& x) { return gelu(x, true); }},  // Keras default approximate=True
      {"elu", [](const Tensor& x) { return elu(x, 1.0); }},
      {"selu", selu},
      {"softplus", [](const Tensor& x) { return softplus(x); }},
      {"leaky_relu", [](const Tensor& x) { return leaky_relu(x, 0.2); }},  // keras.activations.leaky_relu default
      {"silu", silu},
      {"swish", silu},
      {"exponential", [](const Tensor& x) { return exp(x); }},
  };
  return t;
}

}  // namespace

std::vector<std::string> activation_names() {
  std::vector<std::string> out;
  for (const auto& kv : table()) out.push_back(kv.first);
  return out;
}

ActivationRef::ActivationRef(const std::string& name) {
  if (name.empty()) return;
  auto it = table().find(name);
  if (it == table().end()) throw ValueError(detail::unknown_name_message("activation", name, activation_names()));
  name_ = name;
  fn_ = it->second;
}

ActivationRef ActivationRef::from_config_value(const ConfigValue& v) {
  if (v.is_null()) return {};
  auto* s = std::get_if<std::string>(&v.value);
  LAMINA_CHECK(s != nullptr, ValueError, "[activation] expected a name, got ", v.str());
  return ActivationRef(*s);
}

}  // namespace lamina
