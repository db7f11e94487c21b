#pragma once
/// BatchNormalization and LayerNormalization (Keras 3 semantics).

#include "lamina/layers/layer.h"

namespace lamina::layers {

struct BatchNormalizationOptions {
  int axis = -1;
  double momentum = 0.99;
  double epsilon = 1e-3;
  bool center = true;
  bool scale = true;
  InitializerRef beta_initializer = "zeros";
  InitializerRef gamma_initializer = "ones";
  InitializerRef moving_mean_initializer = "zeros";
  InitializerRef moving_variance_initializer = "ones";
  RegularizerRef beta_regularizer;
  RegularizerRef gamma_regularizer;

  template <class V>
  void visit_fields(V&& v) {
    v("axis", axis);
    v("momentum", momentum);
    v("epsilon", epsilon);
    v("center", center);
    v("scale", scale);
    v("beta_initializer", beta_initializer);
    v("gamma_initializer", gamma_initializer);
    v("moving_mean_initializer", moving_mean_initializer);
    v("moving_variance_initializer", moving_variance_initializer);
    v("beta_regularizer", beta_regularizer);
    v("gamma_regularizer", gamma_regularizer);
  }
};

/// Normalizes over every axis but `axis`. Training (training && trainable):
/// batch mean and biased variance, and moving_x = moving_x * momentum +
/// batch_x * (1 - momentum). Otherwise (inference or frozen) the moving
/// statistics. Weights: gamma, beta (trainable), moving_mean, moving_variance.
class BatchNormalization : public Layer {
 public:
  explicit BatchNormalization(BatchNormalizationOptions options = {}, LayerOptions base = {});
  Config get_config() const override;
  static std::shared_ptr<BatchNormalization> from_config(const Config& c);
  const Variable& moving_mean() const { return moving_mean_; }
  const Variable& moving_variance() const { return moving_variance_; }

 protected:
  void build(const Shape& input_shape) override;
  Tensor call(const Tensor& x, const CallContext& ctx) override;

 private:
  BatchNormalizationOptions options_;
  int axis_ = -1;
  Variable gamma_, beta_, moving_mean_, moving_variance_;
};

struct LayerNormalizationOptions {
  int axis = -1;
  double epsilon = 1e-3;
  bool center = true;
  bool scale = true;
  InitializerRef beta_initializer = "zeros";
  InitializerRef gamma_initializer = "ones";

  template <class V>
  void visit_fields(V&& v) {
    v("axis", axis);
    v("epsilon", epsilon);
    v("center", center);
    v("scale", scale);
    v("beta_initializer", beta_initializer);
    v("gamma_initializer", gamma_initializer);
  }
};

/// Normalizes each sample over `axis`: gamma * (x - mean) / sqrt(var + eps) + beta.
class LayerNormalization : public Layer {
 public:
  explicit LayerNormalization(LayerNormalizationOptions options = {}, LayerOptions base = {});
  Config get_config() const override;
  static std::shared_ptr<LayerNormalization> from_config(const Config& c);

 protected:
  void build(const Shape& input_shape) override;
  Tensor call(const Tensor& x, const CallContext& ctx) override;

 private:
  LayerNormalizationOptions options_;
  int axis_ = -1;
  Variable gamma_, beta_;
};

}  // namespace lamina::layers
