#pragma once
/// Pooling and resampling layers for 4-D inputs (Keras 3 semantics):
/// MaxPooling2D, AveragePooling2D, GlobalAveragePooling2D, GlobalMaxPooling2D,
/// ZeroPadding2D, UpSampling2D. data_format "channels_last" (default) is
/// (batch, h, w, c); "channels_first" is (batch, c, h, w).
///
/// Pool output extents: "valid" floor((L - pool) / stride) + 1, "same"
/// ceil(L / stride); padded positions never count (max ignores them, average
/// divides by the real elements of each window, as TensorFlow).
///
/// Example:
///   auto pool = std::make_shared<layers::MaxPooling2D>(layers::Pool2DOptions{.pool_size = {2}});

#include <string>
#include <vector>

#include "lamina/autograd/conv.h"
#include "lamina/layers/layer.h"

namespace lamina::layers {

struct Pool2DOptions {
  /// One value (both axes) or two.
  std::vector<std::int64_t> pool_size = {2, 2};
  /// Empty: pool_size (Keras's strides=None). One value or two.
  std::vector<std::int64_t> strides{};
  std::string padding = "valid";
  std::string data_format = "channels_last";

  template <class V>
  void visit_fields(V&& v) {
    v("pool_size", pool_size);
    v("strides", strides);
    v("padding", padding);
    v("data_format", data_format);
  }
};

/// Shared implementation of MaxPooling2D and AveragePooling2D.
class Pool2DBase : public Layer {
 public:
  const Pool2DOptions& options() const { return options_; }
  Config get_config() const override;

 protected:
  Pool2DBase(const char* class_name, bool is_max, Pool2DOptions options, LayerOptions base);
  void build(const Shape& input_shape) override;
  Tensor call(const Tensor& x, const CallContext& ctx) override;

 private:
  Pool2DParams params() const;
  bool is_max_;
  Pool2DOptions options_;
};

class MaxPooling2D : public Pool2DBase {
 public:
  explicit MaxPooling2D(Pool2DOptions options = {}, LayerOptions base = {})
      : Pool2DBase("MaxPooling2D", true, std::move(options), std::move(base)) {}
  static std::shared_ptr<MaxPooling2D> from_config(const Config& c);
};

class AveragePooling2D : public Pool2DBase {
 public:
  explicit AveragePooling2D(Pool2DOptions options = {}, LayerOptions base = {})
      : Pool2DBase("AveragePooling2D", false, std::move(options), std::move(base)) {}
  static std::shared_ptr<AveragePooling2D> from_config(const Config& c);
};

struct GlobalPool2DOptions {
  std::string data_format = "channels_last";
  bool keepdims = false;

  template <class V>
  void visit_fields(V&& v) {
    v("data_format", data_format);
    v("keepdims", keepdims);
  }
};

/// Mean (or max) over the spatial axes: (batch, c), or rank 4 with keepdims.
class GlobalAveragePooling2D : public Layer {
 public:
  explicit GlobalAveragePooling2D(GlobalPool2DOptions options = {}, LayerOptions base = {});
  const GlobalPool2DOptions& options() const { return options_; }
  Config get_config() const override;
  static std::shared_ptr<GlobalAveragePooling2D> from_config(const Config& c);

 protected:
  Tensor call(const Tensor& x, const CallContext&) override;

 private:
  GlobalPool2DOptions options_;
};

class GlobalMaxPooling2D : public Layer {
 public:
  explicit GlobalMaxPooling2D(GlobalPool2DOptions options = {}, LayerOptions base = {});
  const GlobalPool2DOptions& options() const { return options_; }
  Config get_config() const override;
  static std::shared_ptr<GlobalMaxPooling2D> from_config(const Config& c);

 protected:
  Tensor call(const Tensor& x, const CallContext&) override;

 private:
  GlobalPool2DOptions options_;
};

struct ZeroPadding2DOptions {
  /// One value (all sides), two (height, width: symmetric) or four (top,
  /// bottom, left, right); stored as four.
  std::vector<std::int64_t> padding = {1};
  std::string data_format = "channels_last";

  template <class V>
  void visit_fields(V&& v) {
    v("padding", padding);
    v("data_format", data_format);
  }
};

class ZeroPadding2D : public Layer {
 public:
  explicit ZeroPadding2D(ZeroPadding2DOptions options = {}, LayerOptions base = {});
  const ZeroPadding2DOptions& options() const { return options_; }
  Config get_config() const override;
  static std::shared_ptr<ZeroPadding2D> from_config(const Config& c);

 protected:
  Tensor call(const Tensor& x, const CallContext&) override;

 private:
  ZeroPadding2DOptions options_;
};

struct UpSampling2DOptions {
  /// One value (both axes) or two.
  std::vector<std::int64_t> size = {2, 2};
  std::string data_format = "channels_last";
  /// Only "nearest" is implemented (ValueError otherwise).
  std::string interpolation = "nearest";

  template <class V>
  void visit_fields(V&& v) {
    v("size", size);
    v("data_format", data_format);
    v("interpolation", interpolation);
  }
};

class UpSampling2D : public Layer {
 public:
  explicit UpSampling2D(UpSampling2DOptions options = {}, LayerOptions base = {});
  const UpSampling2DOptions& options() const { return options_; }
  Config get_config() const override;
  static std::shared_ptr<UpSampling2D> from_config(const Config& c);

 protected:
  Tensor call(const Tensor& x, const CallContext&) override;

 private:
  UpSampling2DOptions options_;
};

}  // namespace lamina::layers
