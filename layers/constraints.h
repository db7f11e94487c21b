#pragma once
/// Weight constraints (Keras 3), applied to a variable after each optimizer
/// update: MaxNorm(max_value=2, axis=0), NonNeg, UnitNorm(axis=0),
/// MinMaxNorm(min_value=0, max_value=1, rate=1, axis=0).

#include <string>

#include "lamina/core/tensor.h"
#include "lamina/layers/config.h"
#include "lamina/layers/detail/object_ref.h"
#include "lamina/layers/detail/object_registry.h"

namespace lamina {

class Constraint {
 public:
  virtual ~Constraint() = default;
  /// The constrained value of `w` (a new tensor).
  virtual Tensor operator()(const Tensor& w) const = 0;
  virtual std::string class_name() const = 0;
  virtual Config get_config() const { return {}; }
  static detail::ObjectRegistry<Constraint>& registry();
};

using ConstraintRef = detail::ObjectRef<Constraint>;

namespace constraints {

struct MaxNorm final : Constraint {
  double max_value = 2.0;
  int axis = 0;
  MaxNorm(double max_value = 2.0, int axis = 0) : max_value(max_value), axis(axis) {}
  Tensor operator()(const Tensor& w) const override;
  std::string class_name() const override { return "MaxNorm"; }
  Config get_config() const override;
};
struct NonNeg final : Constraint {
  Tensor operator()(const Tensor& w) const override;
  std::string class_name() const override { return "NonNeg"; }
};
struct UnitNorm final : Constraint {
  int axis = 0;
  UnitNorm(int axis = 0) : axis(axis) {}
  Tensor operator()(const Tensor& w) const override;
  std::string class_name() const override { return "UnitNorm"; }
  Config get_config() const override;
};
struct MinMaxNorm final : Constraint {
  double min_value = 0.0, max_value = 1.0, rate = 1.0;
  int axis = 0;
  MinMaxNorm(double min_value = 0.0, double max_value = 1.0, double rate = 1.0, int axis = 0)
      : min_value(min_value), max_value(max_value), rate(rate), axis(axis) {}
  Tensor operator()(const Tensor& w) const override;
  std::string class_name() const override { return "MinMaxNorm"; }
  Config get_config() const override;
};

}  // namespace constraints
}  // namespace lamina
