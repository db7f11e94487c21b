#include "lamina/layers/normalization.h"

#include "lamina/layers/registry.h"

namespace lamina::layers {

LAMINA_REGISTER_LAYER(BatchNormalization);
LAMINA_REGISTER_LAYER(LayerNormalization);

namespace {

// Shape (1, ..., C, ..., 1) that broadcasts a per-channel vector along `axis`.
Shape channel_shape(int ndim, int axis, std::int64_t channels) {
  Shape s;
  for (int d = 0; d < ndim; ++d) s.push_back(d == axis ? channels : 1);
  return s;
}

Axes all_but(int ndim, int axis) {
  Axes out;
  for (int d = 0; d < ndim; ++d)
    if (d != axis) out.push_back(d);
  return out;
}

}  // namespace

BatchNormalization::BatchNormalization(BatchNormalizationOptions options, LayerOptions base)
    : Layer("BatchNormalization", std::move(base)), options_(std::move(options)) {
  LAMINA_CHECK(options_.epsilon > 0, ValueError, "[", name(), "] epsilon must be > 0, got ", options_.epsilon);
  LAMINA_CHECK(options_.momentum >= 0 && options_.momentum <= 1, ValueError, "[", name(),
               "] momentum must be in [0, 1], got ", options_.momentum);
}

void BatchNormalization::build(const Shape& input_shape) {
  if (input_shape.ndim() < 1) shape_error("BatchNormalization needs at least one axis, got a scalar");
  axis_ = normalize_axis(options_.axis, input_shape.ndim(), name().c_str());
  const Shape c{input_shape[axis_]};
  if (options_.scale) gamma_ = add_weight("gamma", c, options_.gamma_initializer, true, options_.gamma_regularizer);
  if (options_.center) beta_ = add_weight("beta", c, options_.beta_initializer, true, options_.beta_regularizer);
  moving_mean_ = add_weight("moving_mean", c, options_.moving_mean_initializer, false);
  moving_variance_ = add_weight("moving_variance", c, options_.moving_variance_initializer, false);
}

Tensor BatchNormalization::call(const Tensor& x, const CallContext& ctx) {
  if (x.ndim() != build_shape().ndim() || x.shape()[axis_] != moving_mean_.shape()[0])
    shape_error("expected inputs of rank " + std::to_string(build_shape().ndim()) + " with " +
                std::to_string(moving_mean_.shape()[0]) + " channels on axis " + std::to_string(axis_) +
                ", got shape " + x.shape().str());
  const Shape cs = channel_shape(x.ndim(), axis_, moving_mean_.shape()[0]);
  const Axes reduce_axes = all_but(x.ndim(), axis_);
  Tensor mean_b, var_b;
  if (ctx.training && trainable()) {
    mean_b = mean(x, reduce_axes, /*keepdims=*/true);
    var_b = mean(square(sub(x, mean_b)), reduce_axes, /*keepdims=*/true);
    {
      NoRecord guard;  // moving statistics are not part of the graph
      const double m = options_.momentum;
      moving_mean_.assign(core::add(core::mul(moving_mean_.value(), m), core::mul(mean_b.reshape(moving_mean_.shape()), 1 - m)));
      moving_variance_.assign(
          core::add(core::mul(moving_variance_.value(), m), core::mul(var_b.reshape(moving_variance_.shape()), 1 - m)));
    }
  } else {
    mean_b = reshape(moving_mean_, cs);
    var_b = reshape(moving_variance_, cs);
  }
  // As TensorFlow's batch_normalization: y = x * inv + (beta - mean * inv)
  // with inv = gamma / sqrt(var + eps). The per-channel factors are small
  // tensors, so the full-size activation is touched twice (mul, add)
  // instead of four times, forward and backward.
  Tensor inv = rsqrt(add(var_b, options_.epsilon));
  if (options_.scale) inv = mul(inv, reshape(gamma_, cs));
  Tensor offset = neg(mul(mean_b, inv));
  if (options_.center) offset = add(offset, reshape(beta_, cs));
  return add(mul(x, inv), offset);
}

Config BatchNormalization::get_config() const { return merged(Layer::get_config(), fields_to_config(options_)); }

std::shared_ptr<BatchNormalization> BatchNormalization::from_config(const Config& c) {
  BatchNormalizationOptions o;
  fields_from_config(o, c);
  return std::make_shared<BatchNormalization>(o, LayerOptions::from_config(c));
}

LayerNormalization::LayerNormalization(LayerNormalizationOptions options, LayerOptions base)
    : Layer("LayerNormalization", std::move(base)), options_(std::move(options)) {
  LAMINA_CHECK(options_.epsilon > 0, ValueError, "[", name(), "] epsilon must be > 0, got ", options_.epsilon);
}

void LayerNormalization::build(const Shape& input_shape) {
  if (input_shape.ndim() < 1) shape_error("LayerNormalization needs at least one axis, got a scalar");
  axis_ = normalize_axis(options_.axis, input_shape.ndim(), name().c_str());
  const Shape c{input_shape[axis_]};
  if (options_.scale) gamma_ = add_weight("gamma", c, options_.gamma_initializer);
  if (options_.center) beta_ = add_weight("beta", c, options_.beta_initializer);
}

Tensor LayerNormalization::call(const Tensor& x, const CallContext&) {
  if (x.ndim() != build_shape().ndim() || x.shape()[axis_] != build_shape()[axis_])
    shape_error("expected inputs like " + build_shape().str() + ", got shape " + x.shape().str());
  const Shape cs = channel_shape(x.ndim(), axis_, x.shape()[axis_]);
  Tensor m = mean(x, {axis_}, true);
  Tensor v = mean(square(sub(x, m)), {axis_}, true);
  Tensor y = mul(sub(x, m), rsqrt(add(v, options_.epsilon)));
  if (options_.scale) y = mul(y, reshape(gamma_, cs));
  if (options_.center) y = add(y, reshape(beta_, cs));
  return y;
}

Config LayerNormalization::get_config() const { return merged(Layer::get_config(), fields_to_config(options_)); }

std::shared_ptr<LayerNormalization> LayerNormalization::from_config(const Config& c) {
  LayerNormalizationOptions o;
  fields_from_config(o, c);
  return std::make_shared<LayerNormalization>(o, LayerOptions::from_config(c));
}

}  // namespace lamina::layers
