#include "lamina/layers/core_layers.h"

#include <cmath>

#include "lamina/layers/registry.h"

namespace lamina::layers {

LAMINA_REGISTER_LAYER(Activation);
LAMINA_REGISTER_LAYER(Flatten);
LAMINA_REGISTER_LAYER(Reshape);
LAMINA_REGISTER_LAYER(Rescaling);
LAMINA_REGISTER_LAYER(ActivityRegularization);

Activation::Activation(ActivationRef activation, LayerOptions base)
    : Layer("Activation", std::move(base)), activation_(std::move(activation)) {}

Config Activation::get_config() const { return Layer::get_config().set("activation", activation_.name()); }

std::shared_ptr<Activation> Activation::from_config(const Config& c) {
  return std::make_shared<Activation>(ActivationRef::from_config_value(c.at("activation")), LayerOptions::from_config(c));
}

Tensor Flatten::call(const Tensor& x, const CallContext&) {
  if (x.ndim() == 0) shape_error("Flatten expects a batch axis, got a scalar");
  return reshape(x, x.ndim() == 1 ? Shape{x.shape()[0], 1} : Shape{x.shape()[0], -1});
}

std::shared_ptr<Flatten> Flatten::from_config(const Config& c) {
  return std::make_shared<Flatten>(LayerOptions::from_config(c));
}

Reshape::Reshape(std::vector<std::int64_t> target_shape, LayerOptions base)
    : Layer("Reshape", std::move(base)), target_shape_(std::move(target_shape)) {
  int unknown = 0;
  for (auto d : target_shape_) {
    LAMINA_CHECK(d > 0 || d == -1, ValueError, "[", name(), "] Reshape target extents must be positive or -1, got ", d);
    unknown += d == -1;
  }
  LAMINA_CHECK(unknown <= 1, ValueError, "[", name(), "] Reshape allows at most one -1 extent");
}

Tensor Reshape::call(const Tensor& x, const CallContext&) {
  Shape target{x.ndim() > 0 ? x.shape()[0] : 1};
  for (auto d : target_shape_) target.push_back(d);
  std::int64_t known = 1;
  for (auto d : target_shape_) known *= d == -1 ? 1 : d;
  const std::int64_t per_sample = x.ndim() > 0 && x.shape()[0] > 0 ? x.numel() / x.shape()[0] : 0;
  if (known == 0 || per_sample % known != 0 ||
      (std::find(target_shape_.begin(), target_shape_.end(), -1) == target_shape_.end() && known != per_sample))
    shape_error("cannot reshape input of shape " + x.shape().str() + " to (batch, " +
                Shape(target_shape_).str().substr(1));
  return reshape(x, target);
}

Config Reshape::get_config() const { return Layer::get_config().set("target_shape", target_shape_); }

std::shared_ptr<Reshape> Reshape::from_config(const Config& c) {
  return std::make_shared<Reshape>(c.get<std::vector<std::int64_t>>("target_shape"), LayerOptions::from_config(c));
}

Rescaling::Rescaling(double scale, double offset, LayerOptions base)
    : Layer("Rescaling", std::move(base)), scale_(scale), offset_(offset) {
  LAMINA_CHECK(std::isfinite(scale_) && std::isfinite(offset_), ValueError, "[", name(),
               "] Rescaling expects a finite scale and offset, got scale=", scale_, " offset=", offset_);
}

Tensor Rescaling::call(const Tensor& x, const CallContext&) {
  Tensor y = x.dtype() == dtype() ? x : cast(x, dtype());
  if (scale_ != 1.0) y = mul(y, scale_);
  if (offset_ != 0.0) y = add(y, offset_);
  return y;
}

Config Rescaling::get_config() const { return Layer::get_config().set("scale", scale_).set("offset", offset_); }

std::shared_ptr<Rescaling> Rescaling::from_config(const Config& c) {
  return std::make_shared<Rescaling>(c.get<double>("scale"), c.get_or("offset", 0.0), LayerOptions::from_config(c));
}

namespace {
LayerOptions with_activity(LayerOptions base, double l1, double l2) {
  base.activity_regularizer = std::make_shared<regularizers::L1L2>(l1, l2);
  return base;
}
}  // namespace

ActivityRegularization::ActivityRegularization(double l1, double l2, LayerOptions base)
    : Layer("ActivityRegularization", with_activity(std::move(base), l1, l2)), l1_(l1), l2_(l2) {}

Config ActivityRegularization::get_config() const {
  Config c = Layer::get_config();
  c.erase("activity_regularizer");
  return c.set("l1", l1_).set("l2", l2_);
}

std::shared_ptr<ActivityRegularization> ActivityRegularization::from_config(const Config& c) {
  Config base = c;
  base.erase("activity_regularizer");
  return std::make_shared<ActivityRegularization>(c.get_or("l1", 0.0), c.get_or("l2", 0.0), LayerOptions::from_config(base));
}

}  // namespace lamina::layers
