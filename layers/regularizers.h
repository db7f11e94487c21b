#pragma once
/// Weight and activity regularizers (Keras 3 formulas and defaults).
/// L1(l1=0.01): l1 * sum(|x|); L2(l2=0.01): l2 * sum(x^2);
/// L1L2(l1=0, l2=0): both, zero terms skipped. String ids "l1", "l2", "l1l2".
/// The penalty is a differentiable scalar (recorded on active tapes).

#include <string>

#include "lamina/core/tensor.h"
#include "lamina/layers/config.h"
#include "lamina/layers/detail/object_ref.h"
#include "lamina/layers/detail/object_registry.h"

namespace lamina {

class Regularizer {
 public:
  virtual ~Regularizer() = default;
  /// The scalar penalty for `x`.
  virtual Tensor operator()(const Tensor& x) const = 0;
  virtual std::string class_name() const = 0;
  virtual Config get_config() const { return {}; }
  static detail::ObjectRegistry<Regularizer>& registry();
};

using RegularizerRef = detail::ObjectRef<Regularizer>;

namespace regularizers {

struct L1L2 : Regularizer {
  double l1 = 0.0, l2 = 0.0;
  /// Throws ValueError for negative or non-finite factors.
  L1L2(double l1 = 0.0, double l2 = 0.0);
  Tensor operator()(const Tensor& x) const override;
  std::string class_name() const override { return "L1L2"; }
  Config get_config() const override;
};
struct L1 final : L1L2 {
  L1(double l1 = 0.01) : L1L2(l1, 0.0) {}
  std::string class_name() const override { return "L1"; }
  Config get_config() const override;
};
struct L2 final : L1L2 {
  L2(double l2 = 0.01) : L1L2(0.0, l2) {}
  std::string class_name() const override { return "L2"; }
  Config get_config() const override;
};

}  // namespace regularizers
}  // namespace lamina
