#pragma once
/// Dense: y = activation(x · kernel + bias), over the last axis of x.
/// kernel (input_dim, units), bias (units,). Keras defaults: glorot_uniform
/// kernel, zeros bias, no activation.
///
/// Example: auto d = std::make_shared<layers::Dense>(layers::DenseOptions{.units = 64, .activation = "relu"});

#include "lamina/layers/activations.h"
#include "lamina/layers/layer.h"

namespace lamina::layers {

struct DenseOptions {
  std::int64_t units = 0;
  ActivationRef activation;
  bool use_bias = true;
  InitializerRef kernel_initializer = "glorot_uniform";
  InitializerRef bias_initializer = "zeros";
  RegularizerRef kernel_regularizer;
  RegularizerRef bias_regularizer;
  ConstraintRef kernel_constraint;
  ConstraintRef bias_constraint;

  template <class V>
  void visit_fields(V&& v) {
    v("units", units);
    v("activation", activation);
    v("use_bias", use_bias);
    v("kernel_initializer", kernel_initializer);
    v("bias_initializer", bias_initializer);
    v("kernel_regularizer", kernel_regularizer);
    v("bias_regularizer", bias_regularizer);
    v("kernel_constraint", kernel_constraint);
    v("bias_constraint", bias_constraint);
  }
};

class Dense : public Layer {
 public:
  /// Throws ValueError when units <= 0.
  explicit Dense(DenseOptions options, LayerOptions base = {});
  const DenseOptions& options() const { return options_; }
  const Variable& kernel() const { return kernel_; }
  const Variable& bias() const { return bias_; }

  Config get_config() const override;
  static std::shared_ptr<Dense> from_config(const Config& c);

 protected:
  void build(const Shape& input_shape) override;
  Tensor call(const Tensor& x, const CallContext& ctx) override;

 private:
  DenseOptions options_;
  Variable kernel_, bias_;
};

}  // namespace lamina::layers
