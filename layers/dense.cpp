#include "lamina/layers/dense.h"

#include "lamina/layers/registry.h"

namespace lamina::layers {

LAMINA_REGISTER_LAYER(Dense);

Dense::Dense(DenseOptions options, LayerOptions base) : Layer("Dense", std::move(base)), options_(std::move(options)) {
  LAMINA_CHECK(options_.units > 0, ValueError, "[", name(), "] Dense expects units > 0, got units=", options_.units);
}

void Dense::build(const Shape& input_shape) {
  if (input_shape.ndim() < 1 || input_shape.back() <= 0)
    shape_error("Dense expects inputs with a known last dimension, got shape " + input_shape.str());
  kernel_ = add_weight("kernel", {input_shape.back(), options_.units}, options_.kernel_initializer, true,
                       options_.kernel_regularizer, options_.kernel_constraint);
  if (options_.use_bias)
    bias_ = add_weight("bias", {options_.units}, options_.bias_initializer, true, options_.bias_regularizer,
                       options_.bias_constraint);
}

Tensor Dense::call(const Tensor& x, const CallContext&) {
  if (x.ndim() < 1 || x.shape().back() != kernel_.shape()[0])
    shape_error("expected inputs with last dimension " + std::to_string(kernel_.shape()[0]) + ", got shape " +
                x.shape().str() + " (kernel " + kernel_.shape().str() + ")");
  Tensor y = matmul(x, kernel_);
  if (options_.use_bias) y = add(y, bias_);
  return options_.activation(y);
}

Config Dense::get_config() const {
  return merged(Layer::get_config(), fields_to_config(options_));
}

std::shared_ptr<Dense> Dense::from_config(const Config& c) {
  DenseOptions o;
  fields_from_config(o, c);
  return std::make_shared<Dense>(o, LayerOptions::from_config(c));
}

}  // namespace lamina::layers
