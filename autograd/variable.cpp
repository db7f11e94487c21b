#include "lamina/autograd/variable.h"

#include "lamina/autograd/detail/record.h"
#include "lamina/core/ops/binary.h"

namespace lamina {

struct Variable::State {
  Tensor value;
  std::string name;
};

Variable::Variable(const Tensor& initial_value, std::string name, bool trainable)
    : state_(std::make_shared<State>()) {
  LAMINA_CHECK(initial_value.defined(), ValueError, "[Variable] '", name, "' needs a defined initial value");
  state_->value = initial_value.clone();
  state_->name = std::move(name);
  auto& meta = detail::ensure_meta(state_->value);
  meta.is_variable = true;
  meta.trainable.store(trainable && is_floating(initial_value.dtype()));
}

const Tensor& Variable::value() const {
  LAMINA_CHECK(state_ != nullptr, ValueError, "[Variable] use of an undefined variable");
  return state_->value;
}

const std::string& Variable::name() const {
  LAMINA_CHECK(state_ != nullptr, ValueError, "[Variable] use of an undefined variable");
  return state_->name;
}

bool Variable::trainable() const { return detail::meta_of(value())->trainable.load(); }

void Variable::set_trainable(bool trainable) {
  detail::meta_of(value())->trainable.store(trainable && is_floating(dtype()));
}

void Variable::assign(const Tensor& v) {
  LAMINA_CHECK(v.shape() == shape(), ShapeError, "[Variable.assign] variable '", name(), "' has shape ", shape(),
               ", got a value of shape ", v.shape());
  Tensor dst = value();
  dst.copy_(v);
}

void Variable::assign_add(const Tensor& delta) {
  Tensor dst = value();
  core::add_(dst, delta.to(dtype()));
}

void Variable::assign_sub(const Tensor& delta) {
  Tensor dst = value();
  core::sub_(dst, delta.to(dtype()));
}

}  // namespace lamina
