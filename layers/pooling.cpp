#include "lamina/layers/pooling.h"

#include "lamina/layers/registry.h"

namespace lamina::layers {

LAMINA_REGISTER_LAYER(MaxPooling2D);
LAMINA_REGISTER_LAYER(AveragePooling2D);
LAMINA_REGISTER_LAYER(GlobalAveragePooling2D);
LAMINA_REGISTER_LAYER(GlobalMaxPooling2D);
LAMINA_REGISTER_LAYER(ZeroPadding2D);
LAMINA_REGISTER_LAYER(UpSampling2D);

namespace {

std::string list_str(const std::vector<std::int64_t>& v) { return Shape(v).str(); }

void check_data_format(const std::string& f, const std::string& layer) {
  LAMINA_CHECK(f == "channels_last" || f == "channels_first", ValueError, "[", layer,
               "] data_format must be 'channels_last' or 'channels_first', got '", f, "'");
}

/// Two positive values from one or two.
void pair(std::vector<std::int64_t>& v, const std::string& layer, const char* what) {
  LAMINA_CHECK(v.size() == 1 || v.size() == 2, ValueError, "[", layer, "] ", what, " must have 1 or 2 values, got ",
               list_str(v));
  if (v.size() == 1) v = {v[0], v[0]};
  LAMINA_CHECK(v[0] > 0 && v[1] > 0, ValueError, "[", layer, "] ", what, " must be positive, got ", list_str(v));
}

bool is_cf(const std::string& f) { return f == "channels_first"; }

}  // namespace

// ---- MaxPooling2D / AveragePooling2D -------------------------------------------

Pool2DBase::Pool2DBase(const char* class_name, bool is_max, Pool2DOptions options, LayerOptions base)
    : Layer(class_name, std::move(base)), is_max_(is_max), options_(std::move(options)) {
  pair(options_.pool_size, name(), "pool_size");
  if (options_.strides.empty()) options_.strides = options_.pool_size;
  pair(options_.strides, name(), "strides");
  LAMINA_CHECK(options_.padding == "valid" || options_.padding == "same", ValueError, "[", name(),
               "] padding must be 'valid' or 'same', got '", options_.padding, "'");
  check_data_format(options_.data_format, name());
}

Pool2DParams Pool2DBase::params() const {
  Pool2DParams p;
  p.pool_size = {options_.pool_size[0], options_.pool_size[1]};
  p.strides = {options_.strides[0], options_.strides[1]};
  p.padding = options_.padding;
  p.data_format = options_.data_format;
  return p;
}

void Pool2DBase::build(const Shape& s) {
  if (s.ndim() != 4)
    shape_error(class_name() + " expects inputs of rank 4 (" +
                (is_cf(options_.data_format) ? "batch, channels, height, width" : "batch, height, width, channels") +
                "), got shape " + s.str());
  try {
    (void)pool2d_output_shape(s, params());
  } catch (const ShapeError&) {
    shape_error("pool_size " + list_str(options_.pool_size) + " with padding '" + options_.padding +
                "' is larger than the input of shape " + s.str());
  }
}

Tensor Pool2DBase::call(const Tensor& x, const CallContext&) {
  if (x.ndim() != 4) shape_error(class_name() + " expects inputs of rank 4, got shape " + x.shape().str());
  try {
    return is_max_ ? max_pool2d(x, params()) : avg_pool2d(x, params());
  } catch (const ShapeError& e) {
    shape_error(std::string(e.what()));
  }
}

Config Pool2DBase::get_config() const { return merged(Layer::get_config(), fields_to_config(options_)); }

std::shared_ptr<MaxPooling2D> MaxPooling2D::from_config(const Config& c) {
  Pool2DOptions o;
  fields_from_config(o, c);
  return std::make_shared<MaxPooling2D>(o, LayerOptions::from_config(c));
}

std::shared_ptr<AveragePooling2D> AveragePooling2D::from_config(const Config& c) {
  Pool2DOptions o;
  fields_from_config(o, c);
  return std::make_shared<AveragePooling2D>(o, LayerOptions::from_config(c));
}

// ---- global pools ----------------------------------------------------------------

GlobalAveragePooling2D::GlobalAveragePooling2D(GlobalPool2DOptions options, LayerOptions base)
    : Layer("GlobalAveragePooling2D", std::move(base)), options_(std::move(options)) {
  check_data_format(options_.data_format, name());
}

Tensor GlobalAveragePooling2D::call(const Tensor& x, const CallContext&) {
  if (x.ndim() != 4) shape_error("GlobalAveragePooling2D expects inputs of rank 4, got shape " + x.shape().str());
  return global_avg_pool2d(x, options_.data_format, options_.keepdims);
}

Config GlobalAveragePooling2D::get_config() const { return merged(Layer::get_config(), fields_to_config(options_)); }

std::shared_ptr<GlobalAveragePooling2D> GlobalAveragePooling2D::from_config(const Config& c) {
  GlobalPool2DOptions o;
  fields_from_config(o, c);
  return std::make_shared<GlobalAveragePooling2D>(o, LayerOptions::from_config(c));
}

GlobalMaxPooling2D::GlobalMaxPooling2D(GlobalPool2DOptions options, LayerOptions base)
    : Layer("GlobalMaxPooling2D", std::move(base)), options_(std::move(options)) {
  check_data_format(options_.data_format, name());
}

Tensor GlobalMaxPooling2D::call(const Tensor& x, const CallContext&) {
  if (x.ndim() != 4) shape_error("GlobalMaxPooling2D expects inputs of rank 4, got shape " + x.shape().str());
  return global_max_pool2d(x, options_.data_format, options_.keepdims);
}

Config GlobalMaxPooling2D::get_config() const { return merged(Layer::get_config(), fields_to_config(options_)); }

std::shared_ptr<GlobalMaxPooling2D> GlobalMaxPooling2D::from_config(const Config& c) {
  GlobalPool2DOptions o;
  fields_from_config(o, c);
  return std::make_shared<GlobalMaxPooling2D>(o, LayerOptions::from_config(c));
}

// ---- ZeroPadding2D -----------------------------------------------------------------

ZeroPadding2D::ZeroPadding2D(ZeroPadding2DOptions options, LayerOptions base)
    : Layer("ZeroPadding2D", std::move(base)), options_(std::move(options)) {
  auto& p = options_.padding;
  LAMINA_CHECK(p.size() == 1 || p.size() == 2 || p.size() == 4, ValueError, "[", name(),
               "] padding must have 1, 2 or 4 values, got ", list_str(p));
  if (p.size() == 1) p = {p[0], p[0], p[0], p[0]};
  else if (p.size() == 2) p = {p[0], p[0], p[1], p[1]};
  for (auto v : p) LAMINA_CHECK(v >= 0, ValueError, "[", name(), "] padding must be >= 0, got ", list_str(p));
  check_data_format(options_.data_format, name());
}

Tensor ZeroPadding2D::call(const Tensor& x, const CallContext&) {
  if (x.ndim() != 4) shape_error("ZeroPadding2D expects inputs of rank 4, got shape " + x.shape().str());
  const auto& p = options_.padding;
  return zero_pad2d(x, {p[0], p[1], p[2], p[3]}, options_.data_format);
}

Config ZeroPadding2D::get_config() const { return merged(Layer::get_config(), fields_to_config(options_)); }

std::shared_ptr<ZeroPadding2D> ZeroPadding2D::from_config(const Config& c) {
  ZeroPadding2DOptions o;
  fields_from_config(o, c);
  return std::make_shared<ZeroPadding2D>(o, LayerOptions::from_config(c));
}

// ---- UpSampling2D ------------------------------------------------------------------

UpSampling2D::UpSampling2D(UpSampling2DOptions options, LayerOptions base)
    : Layer("UpSampling2D", std::move(base)), options_(std::move(options)) {
  pair(options_.size, name(), "size");
  check_data_format(options_.data_format, name());
  LAMINA_CHECK(options_.interpolation == "nearest", ValueError, "[", name(),
               "] only interpolation 'nearest' is implemented, got '", options_.interpolation, "'");
}

Tensor UpSampling2D::call(const Tensor& x, const CallContext&) {
  if (x.ndim() != 4) shape_error("UpSampling2D expects inputs of rank 4, got shape " + x.shape().str());
  return upsample2d(x, {options_.size[0], options_.size[1]}, options_.data_format);
}

Config UpSampling2D::get_config() const { return merged(Layer::get_config(), fields_to_config(options_)); }

std::shared_ptr<UpSampling2D> UpSampling2D::from_config(const Config& c) {
  UpSampling2DOptions o;
  fields_from_config(o, c);
  return std::make_shared<UpSampling2D>(o, LayerOptions::from_config(c));
}

}  // namespace lamina::layers
