// Differentiable shape and type ops. Views in the forward pass; their
// backward passes are shape ops too, so they differentiate again.
#include <numeric>

#include "lamina/autograd/detail/record.h"
#include "lamina/autograd/ops.h"

namespace lamina {

namespace {

using detail::Grads;
using detail::Needs;

// Zeros of `shape` with `g` written into the slice [start:stop:step] of `axis`
// (the adjoint of slice); differentiable: its own backward is that slice.
Tensor embed_slice(const Tensor& g, const Shape& shape, int axis, std::int64_t start, std::int64_t stop,
                   std::int64_t step) {
  Tensor out = zeros(shape, g.dtype());
  Tensor window = out.slice(axis, start, stop, step);
  window.copy_(g);
  detail::record_unary(g, out, [axis, start, stop, step](const Tensor& gg, Grads& gi, const Needs&) {
    gi[0] = slice(gg, axis, start, stop, step);
  });
  return out;
}

}  // namespace

Tensor reshape(const Tensor& x, const Shape& shape) {
  Tensor y = x.reshape(shape);
  detail::record_unary(x, y, [s = x.shape()](const Tensor& g, Grads& gi, const Needs&) { gi[0] = reshape(g, s); });
  return y;
}

Tensor transpose(const Tensor& x, int axis0, int axis1) {
  Tensor y = x.transpose(axis0, axis1);
  detail::record_unary(x, y, [axis0, axis1](const Tensor& g, Grads& gi, const Needs&) {
    gi[0] = transpose(g, axis0, axis1);
  });
  return y;
}

Tensor permute(const Tensor& x, const std::vector<int>& dims) {
  Tensor y = x.permute(std::span<const int>(dims));
  detail::record_unary(x, y, [dims, n = x.ndim()](const Tensor& g, Grads& gi, const Needs&) {
    std::vector<int> inverse(static_cast<std::size_t>(n));
    for (int i = 0; i < n; ++i) inverse[normalize_axis(dims[i], n, "permute")] = i;
    gi[0] = permute(g, inverse);
  });
  return y;
}

Tensor slice(const Tensor& x, int axis, std::int64_t start, std::int64_t stop, std::int64_t step) {
  Tensor y = x.slice(axis, start, stop, step);
  detail::record_unary(x, y, [shape = x.shape(), axis, start, stop, step](const Tensor& g, Grads& gi, const Needs&) {
    gi[0] = embed_slice(g, shape, axis, start, stop, step);
  });
  return y;
}

Tensor select(const Tensor& x, int axis, std::int64_t index) {
  Tensor y = x.select(axis, index);
  const int a = normalize_axis(axis, x.ndim(), "select");
  const std::int64_t i = index < 0 ? index + x.shape()[a] : index;
  detail::record_unary(x, y, [shape = x.shape(), a, i](const Tensor& g, Grads& gi, const Needs&) {
    gi[0] = embed_slice(unsqueeze(g, a), shape, a, i, i + 1, 1);
  });
  return y;
}

Tensor broadcast_to(const Tensor& x, const Shape& shape) {
  if (x.shape() == shape) return x;
  Tensor y = x.broadcast_to(shape);
  detail::record_unary(x, y, [s = x.shape()](const Tensor& g, Grads& gi, const Needs&) { gi[0] = sum_to(g, s); });
  return y;
}

Tensor squeeze(const Tensor& x, int axis) { return reshape(x, x.squeeze(axis).shape()); }
Tensor unsqueeze(const Tensor& x, int axis) { return reshape(x, x.unsqueeze(axis).shape()); }
Tensor flatten(const Tensor& x, int start_axis, int end_axis) {
  return reshape(x, x.flatten(start_axis, end_axis).shape());
}

Tensor cast(const Tensor& x, DType dtype) {
  Tensor y = x.to(dtype);
  if (y.impl() == x.impl()) return y;
  if (is_floating(dtype) && is_floating(x.dtype()))
    detail::record_unary(x, y, [from = x.dtype()](const Tensor& g, Grads& gi, const Needs&) { gi[0] = cast(g, from); });
  return y;
}

}  // namespace lamina
