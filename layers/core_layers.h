#pragma once
/// Small built-in layers: Activation, Flatten, Reshape, Rescaling, ActivityRegularization.

#include "lamina/layers/activations.h"
#include "lamina/layers/layer.h"

namespace lamina::layers {

/// Applies an activation function by name.
class Activation : public Layer {
 public:
  explicit Activation(ActivationRef activation, LayerOptions base = {});
  Config get_config() const override;
  static std::shared_ptr<Activation> from_config(const Config& c);

 protected:
  Tensor call(const Tensor& x, const CallContext&) override { return activation_(x); }

 private:
  ActivationRef activation_;
};

/// (batch, d1, d2, ...) -> (batch, d1 * d2 * ...).
class Flatten : public Layer {
 public:
  explicit Flatten(LayerOptions base = {}) : Layer("Flatten", std::move(base)) {}
  static std::shared_ptr<Flatten> from_config(const Config& c);

 protected:
  Tensor call(const Tensor& x, const CallContext&) override;
};

/// Reshapes everything but the batch axis to `target_shape` (one extent may be -1).
class Reshape : public Layer {
 public:
  explicit Reshape(std::vector<std::int64_t> target_shape, LayerOptions base = {});
  Config get_config() const override;
  static std::shared_ptr<Reshape> from_config(const Config& c);

 protected:
  Tensor call(const Tensor& x, const CallContext&) override;

 private:
  std::vector<std::int64_t> target_shape_;
};

/// Keras's Rescaling: y = cast(x, dtype) * scale + offset, elementwise, any shape.
/// Puts input preprocessing (e.g. pixels / 255, or standardization with a
/// dataset's mean and deviation) inside the model, so a saved model carries it.
/// scale and offset must be finite (ValueError naming the layer otherwise).
class Rescaling : public Layer {
 public:
  explicit Rescaling(double scale, double offset = 0.0, LayerOptions base = {});
  double scale() const { return scale_; }
  double offset() const { return offset_; }
  Config get_config() const override;
  static std::shared_ptr<Rescaling> from_config(const Config& c);

 protected:
  Tensor call(const Tensor& x, const CallContext&) override;

 private:
  double scale_, offset_;
};

/// Identity that adds the L1L2(l1, l2) penalty of its output (divided by the batch size).
class ActivityRegularization : public Layer {
 public:
  explicit ActivityRegularization(double l1 = 0.0, double l2 = 0.0, LayerOptions base = {});
  Config get_config() const override;
  static std::shared_ptr<ActivityRegularization> from_config(const Config& c);

 protected:
  Tensor call(const Tensor& x, const CallContext&) override { return x; }

 private:
  double l1_, l2_;
};

}  // namespace lamina::layers
