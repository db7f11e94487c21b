#pragma once
/// Differentiable 2-D convolution and pooling (the ops under layers/conv.h and
/// layers/pooling.h).
///
/// Layouts follow Keras: data_format "channels_last" (default) is NHWC,
/// "channels_first" is NCHW; the kernel is always HWIO, (kh, kw, in/groups,
/// out), whatever the data format.
///
/// Output extents (Keras/TensorFlow rules), for input length L, kernel k,
/// stride s, dilation d, effective kernel ke = d*(k-1)+1:
///   "valid":    floor((L - ke) / s) + 1        (ShapeError when ke > L)
///   "same":     ceil(L / s); total padding max((out-1)*s + ke - L, 0), the
///               smaller half before (top/left), the rest after
///   "explicit": floor((L + before + after - ke) / s) + 1 with `pads`
///
/// Kernels: convolution is im2col of tiles of output rows packed straight
/// into lamina::gemm (x patches [rows, kh*kw*in/groups] · kernel
/// [kh*kw*in/groups, out]); 1×1 stride-1 unpadded convolutions skip im2col.
/// Backward data is GEMM + col2im, parallel over images and serial inside one
/// image; backward filter is GEMM over row chunks of a size fixed by the
/// shapes, then summed in chunk order. Scratch comes from the caching
/// allocator. Results are bitwise identical for any thread count.
///
/// Gradients: for input, kernel and bias (conv) and input (pooling), to any
/// order. Without an outer tape the backward passes run the raw kernels;
/// under one (a gradient of a gradient, such as a gradient penalty) they are
/// recorded as conv / input-gradient / filter-gradient ops (three adjoint
/// forms of one trilinear map) and as the pools' linear backward maps.
/// Max pooling's second derivative with respect to its input is zero (the
/// chosen positions are constants), as in TensorFlow. zero_pad2d, upsample2d
/// and the global pools are built from differentiable ops.
///
/// Example:
///   Tensor x = uniform({8, 28, 28, 1}, -1, 1, 0);          // NHWC
///   Tensor k = uniform({3, 3, 1, 32}, -1, 1, 1);           // HWIO
///   Tensor y = conv2d(x, k, {.padding = "same"});          // (8, 28, 28, 32)
///   Tensor p = max_pool2d(y, {.pool_size = {2, 2}});        // (8, 14, 14, 32)

#include <array>
#include <cstdint>
#include <string>

#include "lamina/core/shape.h"
#include "lamina/core/tensor.h"

namespace lamina {

struct Conv2DParams {
  std::array<std::int64_t, 2> strides = {1, 1};
  /// "valid", "same" or "explicit" (then `pads` is used).
  std::string padding = "valid";
  /// top, bottom, left, right (only for padding "explicit").
  std::array<std::int64_t, 4> pads = {0, 0, 0, 0};
  std::array<std::int64_t, 2> dilation = {1, 1};
  std::int64_t groups = 1;
  /// "channels_last" (NHWC) or "channels_first" (NCHW).
  std::string data_format = "channels_last";
};

struct Pool2DParams {
  std::array<std::int64_t, 2> pool_size = {2, 2};
  /// {0, 0}: the pool size (Keras's strides=None).
  std::array<std::int64_t, 2> strides = {0, 0};
  /// "valid", "same" or "explicit". Padded positions never count: max ignores
  /// them and average divides by the number of real elements in the window
  /// (TensorFlow's rule).
  std::string padding = "valid";
  std::array<std::int64_t, 4> pads = {0, 0, 0, 0};
  std::string data_format = "channels_last";
};

/// Output length of one spatial axis (rules above); padding "explicit" uses
/// before/after. Returns a value <= 0 when the window does not fit.
std::int64_t conv_output_length(std::int64_t length, std::int64_t kernel, std::int64_t stride,
                                std::int64_t dilation, const std::string& padding, std::int64_t before = 0,
                                std::int64_t after = 0);

/// The output shape of conv2d(x, kernel, p); throws ShapeError (naming the
/// shapes) for wrong ranks, channel/group mismatches or a kernel larger than
/// the (padded) input, ValueError for bad parameters.
Shape conv2d_output_shape(const Shape& x, const Shape& kernel, const Conv2DParams& p = {});
/// Likewise for the pools.
Shape pool2d_output_shape(const Shape& x, const Pool2DParams& p = {});

/// 2-D cross-correlation (what Keras and PyTorch call convolution), no bias.
/// x rank 4 (N,H,W,C) or (N,C,H,W); kernel (KH, KW, C/groups, O); float32 or
/// float64, both the same dtype.
Tensor conv2d(const Tensor& x, const Tensor& kernel, const Conv2DParams& p = {});

/// relu(conv2d(x, kernel, p) + bias) (ReLU only when `relu`) as one op: the
/// bias and the ReLU are applied to each output tile while it is in cache,
/// and the backward pass masks the output gradient and sums the bias
/// gradient in one sweep (what Conv2D with activation "relu" or "linear"
/// runs). `bias` (O,) may be undefined (no bias). Same results as the
/// unfused ops; the bias gradient is summed in fixed row chunks (bitwise the
/// same for any thread count). First order only, like conv2d.
Tensor conv2d_bias_act(const Tensor& x, const Tensor& kernel, const Tensor& bias, bool relu,
                       const Conv2DParams& p = {});

/// Max over each window. The gradient goes to the first maximum of the
/// window in row-major window order.
Tensor max_pool2d(const Tensor& x, const Pool2DParams& p = {});
/// Mean over the real (unpadded) elements of each window.
Tensor avg_pool2d(const Tensor& x, const Pool2DParams& p = {});

/// Mean / max over the spatial axes: (N, C), or (N,1,1,C) / (N,C,1,1) with keepdims.
Tensor global_avg_pool2d(const Tensor& x, const std::string& data_format = "channels_last", bool keepdims = false);
Tensor global_max_pool2d(const Tensor& x, const std::string& data_format = "channels_last", bool keepdims = false);

/// Pads the spatial axes with zeros: pads = top, bottom, left, right (>= 0).
Tensor zero_pad2d(const Tensor& x, const std::array<std::int64_t, 4>& pads,
                  const std::string& data_format = "channels_last");

/// Nearest-neighbour upsampling: every pixel repeated size[0] × size[1] times.
Tensor upsample2d(const Tensor& x, const std::array<std::int64_t, 2>& size,
                  const std::string& data_format = "channels_last");

}  // namespace lamina
