#include "lamina/layers/conv.h"

#include "lamina/layers/registry.h"

namespace lamina::layers {

LAMINA_REGISTER_LAYER(Conv2D);
LAMINA_REGISTER_LAYER(Conv1D);

namespace {

std::string list_str(const std::vector<std::int64_t>& v) { return Shape(v).str(); }

/// One value per spatial axis: a single value is repeated.
void normalize_tuple(std::vector<std::int64_t>& v, int rank, const std::string& layer, const char* what,
                     bool allow_zero = false) {
  LAMINA_CHECK(static_cast<int>(v.size()) == 1 || static_cast<int>(v.size()) == rank, ValueError, "[", layer, "] ",
               what, " must have 1 or ", rank, " values, got ", list_str(v));
  if (v.size() == 1) v.assign(static_cast<std::size_t>(rank), v[0]);
  for (auto e : v)
    LAMINA_CHECK(e > 0 || (allow_zero && e == 0), ValueError, "[", layer, "] ", what, " must be positive, got ",
                 list_str(v));
}

}  // namespace

ConvBase::ConvBase(const char* class_name, int rank, ConvOptions options, LayerOptions base)
    : Layer(class_name, std::move(base)), rank_(rank), options_(std::move(options)) {
  const std::string& n = name();
  LAMINA_CHECK(options_.filters > 0, ValueError, "[", n, "] ", class_name, " expects filters > 0, got filters=",
               options_.filters);
  LAMINA_CHECK(!options_.kernel_size.empty(), ValueError, "[", n, "] ", class_name, " needs a kernel_size");
  normalize_tuple(options_.kernel_size, rank, n, "kernel_size");
  normalize_tuple(options_.strides, rank, n, "strides");
  normalize_tuple(options_.dilation_rate, rank, n, "dilation_rate");
  const bool causal_ok = rank == 1;
  LAMINA_CHECK(options_.padding == "valid" || options_.padding == "same" || (causal_ok && options_.padding == "causal"),
               ValueError, "[", n, "] padding must be 'valid', 'same'", causal_ok ? " or 'causal'" : "", ", got '",
               options_.padding, "'");
  LAMINA_CHECK(options_.data_format == "channels_last" || options_.data_format == "channels_first", ValueError, "[",
               n, "] data_format must be 'channels_last' or 'channels_first', got '", options_.data_format, "'");
  LAMINA_CHECK(options_.groups > 0, ValueError, "[", n, "] groups must be positive, got ", options_.groups);
  LAMINA_CHECK(options_.filters % options_.groups == 0, ValueError, "[", n, "] filters (", options_.filters,
               ") must be divisible by groups (", options_.groups, ")");
  bool strided = false, dilated = false;
  for (auto s : options_.strides) strided |= s > 1;
  for (auto d : options_.dilation_rate) dilated |= d > 1;
  LAMINA_CHECK(!(strided && dilated), ValueError, "[", n, "] strides > 1 are not supported together with dilation_rate > 1 (strides ",
               list_str(options_.strides), ", dilation_rate ", list_str(options_.dilation_rate), ")");
}

namespace {

/// The conv2d view of a Conv1D/Conv2D call: input shape, kernel shape, params.
struct Plan2D {
  Shape x, kernel;
  Conv2DParams params;
};

Plan2D plan(int rank, const ConvOptions& o, const Shape& x, std::int64_t in_channels) {
  const bool cf = o.data_format == "channels_first";
  Plan2D p;
  p.params.data_format = o.data_format;
  p.params.groups = o.groups;
  const std::int64_t cg = in_channels / o.groups;
  if (rank == 2) {
    p.x = x;
    p.kernel = Shape{o.kernel_size[0], o.kernel_size[1], cg, o.filters};
    p.params.strides = {o.strides[0], o.strides[1]};
    p.params.dilation = {o.dilation_rate[0], o.dilation_rate[1]};
    p.params.padding = o.padding;
  } else {
    p.x = cf ? Shape{x[0], x[1], 1, x[2]} : Shape{x[0], 1, x[1], x[2]};
    p.kernel = Shape{1, o.kernel_size[0], cg, o.filters};
    p.params.strides = {1, o.strides[0]};
    p.params.dilation = {1, o.dilation_rate[0]};
    if (o.padding == "causal") {
      p.params.padding = "explicit";
      p.params.pads = {0, 0, o.dilation_rate[0] * (o.kernel_size[0] - 1), 0};
    } else {
      p.params.padding = o.padding;
    }
  }
  return p;
}

}  // namespace

void ConvBase::build(const Shape& s) {
  const bool cf = options_.data_format == "channels_first";
  const int want = rank_ + 2;
  if (s.ndim() != want)
    shape_error(class_name() + " expects inputs of rank " + std::to_string(want) + " (" +
                (rank_ == 2 ? (cf ? "batch, channels, height, width" : "batch, height, width, channels")
                            : (cf ? "batch, channels, steps" : "batch, steps, channels")) +
                "), got shape " + s.str());
  const std::int64_t c = cf ? s[1] : s[s.ndim() - 1];
  if (c <= 0 || c % options_.groups != 0)
    shape_error("input channels " + std::to_string(c) + " (input shape " + s.str() +
                ") must be positive and divisible by groups=" + std::to_string(options_.groups));
  const Plan2D p = plan(rank_, options_, s, c);
  try {
    (void)conv2d_output_shape(p.x, p.kernel, p.params);
  } catch (const ShapeError&) {
    shape_error("kernel_size " + list_str(options_.kernel_size) + " with dilation_rate " +
                list_str(options_.dilation_rate) + " and padding '" + options_.padding +
                "' is larger than the input of shape " + s.str());
  }
  Shape kshape = rank_ == 2 ? p.kernel : Shape{options_.kernel_size[0], c / options_.groups, options_.filters};
  kernel_ = add_weight("kernel", kshape, options_.kernel_initializer, true, options_.kernel_regularizer,
                       options_.kernel_constraint);
  if (options_.use_bias)
    bias_ = add_weight("bias", {options_.filters}, options_.bias_initializer, true, options_.bias_regularizer,
                       options_.bias_constraint);
}

Tensor ConvBase::call(const Tensor& x, const CallContext&) {
  const bool cf = options_.data_format == "channels_first";
  const std::int64_t cg = kernel_.shape()[rank_];  // in-channels per group
  const std::int64_t c = cg * options_.groups;
  if (x.ndim() != rank_ + 2 || (cf ? x.shape()[1] : x.shape().back()) != c)
    shape_error("expected inputs of rank " + std::to_string(rank_ + 2) + " with " + std::to_string(c) +
                " channels (" + options_.data_format + "), got shape " + x.shape().str() + " (kernel " +
                kernel_.shape().str() + ")");
  const Plan2D p = plan(rank_, options_, x.shape(), c);
  const bool relu = options_.activation.name() == "relu";
  if (rank_ == 2 && (relu || options_.activation.is_linear())) {
    // Bias and ReLU fused into the convolution (one op, one pass over the output).
    try {
      return conv2d_bias_act(x, kernel_, options_.use_bias ? Tensor(bias_) : Tensor(), relu, p.params);
    } catch (const ShapeError& e) {
      shape_error(std::string(e.what()) + " (input shape " + x.shape().str() + ")");
    }
  }
  Tensor y;
  try {
    if (rank_ == 2) {
      y = conv2d(x, kernel_, p.params);
    } else {
      y = conv2d(reshape(x, p.x), reshape(kernel_, p.kernel), p.params);
      const Shape& s = y.shape();  // (N, 1, L, F) or (N, F, 1, L)
      y = reshape(y, cf ? Shape{s[0], s[1], s[3]} : Shape{s[0], s[2], s[3]});
    }
  } catch (const ShapeError& e) {
    shape_error(std::string(e.what()) + " (input shape " + x.shape().str() + ")");
  }
  if (options_.use_bias) {
    const std::int64_t f = options_.filters;
    y = add(y, cf ? reshape(bias_, rank_ == 2 ? Shape{f, 1, 1} : Shape{f, 1}) : Tensor(bias_));
  }
  return options_.activation(y);
}

Config ConvBase::get_config() const { return merged(Layer::get_config(), fields_to_config(options_)); }

Conv2D::Conv2D(ConvOptions options, LayerOptions base) : ConvBase("Conv2D", 2, std::move(options), std::move(base)) {}

std::shared_ptr<Conv2D> Conv2D::from_config(const Config& c) {
  ConvOptions o;
  fields_from_config(o, c);
  return std::make_shared<Conv2D>(o, LayerOptions::from_config(c));
}

Conv1D::Conv1D(ConvOptions options, LayerOptions base) : ConvBase("Conv1D", 1, std::move(options), std::move(base)) {}

std::shared_ptr<Conv1D> Conv1D::from_config(const Config& c) {
  ConvOptions o;
  fields_from_config(o, c);
  return std::make_shared<Conv1D>(o, LayerOptions::from_config(c));
}

}  // namespace lamina::layers
