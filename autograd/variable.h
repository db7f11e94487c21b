#pragma once
/// Variable: named, trainable state (a layer's weight, an optimizer's slot).
///
/// A Variable is a handle: copies refer to the same state. Its value is a
/// Tensor whose identity never changes (assign() writes into it), so a
/// GradientTape can find the gradient for it. Trainable variables are watched
/// by every GradientTape automatically.
///
/// Example:
///   Variable w(normal({3, 2}, 0, 0.05, 1), "kernel");
///   GradientTape tape;
///   Tensor loss = sum(square(matmul(x, w)));
///   Tensor dw = tape.gradient(loss, std::vector<Variable>{w})[0];

#include <memory>
#include <string>

#include "lamina/core/tensor.h"

namespace lamina {

class Variable {
 public:
  /// An empty handle (defined() == false).
  Variable() = default;
  /// Takes `initial_value` (copied to its own contiguous storage).
  explicit Variable(const Tensor& initial_value, std::string name = "variable", bool trainable = true);

  bool defined() const { return state_ != nullptr; }
  const Tensor& value() const;
  operator const Tensor&() const { return value(); }
  const std::string& name() const;
  bool trainable() const;
  void set_trainable(bool trainable);
  const Shape& shape() const { return value().shape(); }
  DType dtype() const { return value().dtype(); }
  std::int64_t numel() const { return value().numel(); }

  /// Copies `v` into the variable (same shape; converted to its dtype).
  /// Throws ShapeError naming the variable otherwise.
  void assign(const Tensor& v);
  /// value += delta.
  void assign_add(const Tensor& delta);
  /// value -= delta.
  void assign_sub(const Tensor& delta);

  /// True when both handles refer to the same variable.
  bool same(const Variable& other) const { return state_ == other.state_; }
  /// Identity key (stable for the variable's lifetime), e.g. for slot maps.
  const void* key() const { return state_.get(); }

 private:
  struct State;
  std::shared_ptr<State> state_;
};

}  // namespace lamina
