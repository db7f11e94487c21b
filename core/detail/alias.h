#pragma once
// Internal: the aliasing rules of in-place and out-parameter ops.

#include "lamina/core/error.h"
#include "lamina/core/tensor.h"

namespace lamina::detail {

/// Throws ValueError when `dst` repeats an element (an axis of extent > 1
/// with stride 0, e.g. an expand()ed view): several threads would write one
/// address and the result would depend on their order.
inline void check_writable(const Tensor& dst, const char* op) {
  for (int d = 0; d < dst.ndim(); ++d)
    LAMINA_CHECK(dst.shape()[d] <= 1 || dst.strides()[d] != 0, ValueError, "[", op,
                 "] cannot write into a broadcast view: axis ", d, " of shape ", dst.shape(), " has stride 0");
}

/// `src`, or a copy of it when it shares memory with `dst` without being the
/// very same view. Elementwise kernels read each element of that view before
/// writing it; through another view they could read elements already
/// overwritten (add_(a, a.transpose(0, 1)) would be wrong).
inline Tensor unaliased(const Tensor& src, const Tensor& dst) {
  if (!src.shares_storage(dst)) return src;
  if (src.offset() == dst.offset() && src.strides() == dst.strides() && src.shape() == dst.shape()) return src;
  return src.clone();
}

}  // namespace lamina::detail
