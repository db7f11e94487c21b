#pragma once
/// Convolution layers (Keras 3 semantics): Conv2D and Conv1D.
///
/// Conv2D: y = activation(conv2d(x, kernel) + bias). Input (batch, h, w, c)
/// for data_format "channels_last" (default) or (batch, c, h, w) for
/// "channels_first"; kernel (kh, kw, c / groups, filters), bias (filters,).
/// Output extents follow Keras: "valid" floor((L - d*(k-1) - 1) / s) + 1,
/// "same" ceil(L / s) (see autograd/conv.h).
/// Conv1D: input (batch, steps, c) or (batch, c, steps); kernel
/// (k, c / groups, filters); padding also "causal" (left padding d*(k-1)).
///
/// kernel_size, strides and dilation_rate take one value (used for every
/// spatial axis) or one per axis; the stored options (and get_config) always
/// hold one per axis, as Keras does.
///
/// Example:
///   auto conv = std::make_shared<layers::Conv2D>(layers::ConvOptions{
///       .filters = 32, .kernel_size = {3}, .padding = "same", .activation = "relu"});

#include <string>
#include <vector>

#include "lamina/autograd/conv.h"
#include "lamina/layers/activations.h"
#include "lamina/layers/layer.h"

namespace lamina::layers {

struct ConvOptions {
  std::int64_t filters = 0;
  std::vector<std::int64_t> kernel_size{};
  std::vector<std::int64_t> strides = {1};
  std::string padding = "valid";
  std::string data_format = "channels_last";
  std::vector<std::int64_t> dilation_rate = {1};
  std::int64_t groups = 1;
  ActivationRef activation{};
  bool use_bias = true;
  InitializerRef kernel_initializer = "glorot_uniform";
  InitializerRef bias_initializer = "zeros";
  RegularizerRef kernel_regularizer{};
  RegularizerRef bias_regularizer{};
  ConstraintRef kernel_constraint{};
  ConstraintRef bias_constraint{};

  template <class V>
  void visit_fields(V&& v) {
    v("filters", filters);
    v("kernel_size", kernel_size);
    v("strides", strides);
    v("padding", padding);
    v("data_format", data_format);
    v("dilation_rate", dilation_rate);
    v("groups", groups);
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
using Conv2DOptions = ConvOptions;
using Conv1DOptions = ConvOptions;

/// Shared implementation of Conv1D and Conv2D (`rank` spatial axes).
class ConvBase : public Layer {
 public:
  const ConvOptions& options() const { return options_; }
  const Variable& kernel() const { return kernel_; }
  const Variable& bias() const { return bias_; }
  Config get_config() const override;

 protected:
  /// Validates and normalizes the options; throws ValueError naming the layer.
  ConvBase(const char* class_name, int rank, ConvOptions options, LayerOptions base);
  void build(const Shape& input_shape) override;
  Tensor call(const Tensor& x, const CallContext& ctx) override;

 private:
  int rank_;
  ConvOptions options_;
  Variable kernel_, bias_;
};

class Conv2D : public ConvBase {
 public:
  explicit Conv2D(ConvOptions options, LayerOptions base = {});
  static std::shared_ptr<Conv2D> from_config(const Config& c);
};

class Conv1D : public ConvBase {
 public:
  explicit Conv1D(ConvOptions options, LayerOptions base = {});
  static std::shared_ptr<Conv1D> from_config(const Config& c);
};

}  // namespace lamina::layers
