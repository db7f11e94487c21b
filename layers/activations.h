#pragma once
/// Activation functions by Keras name: "linear" (identity), "relu", "sigmoid",
/// "tanh", "softmax", "log_softmax", "gelu", "elu", "selu", "softplus",
/// "leaky_relu", "silu"/"swish", "exponential". Differentiable.

#include <string>
#include <vector>

#include "lamina/core/tensor.h"
#include "lamina/layers/config.h"

namespace lamina {

using ActivationFn = Tensor (*)(const Tensor&);

/// An activation given by name; empty or "linear" is the identity.
class ActivationRef {
 public:
  ActivationRef() = default;
  ActivationRef(const char* name) : ActivationRef(std::string(name)) {}
  /// Throws ValueError listing the known names for an unknown one.
  ActivationRef(const std::string& name);

  Tensor operator()(const Tensor& x) const { return fn_ ? fn_(x) : x; }
  const std::string& name() const { return name_; }
  bool is_linear() const { return fn_ == nullptr; }

  ConfigValue to_config_value() const { return ConfigValue(name_); }
  static ActivationRef from_config_value(const ConfigValue& v);
  friend bool operator==(const ActivationRef& a, const ActivationRef& b) { return a.name_ == b.name_; }

 private:
  std::string name_ = "linear";
  ActivationFn fn_ = nullptr;
};

/// The known activation names.
std::vector<std::string> activation_names();

}  // namespace lamina
