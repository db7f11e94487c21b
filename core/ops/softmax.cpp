// Softmax / log-softmax: rows along the last axis go straight to the fused
// row kernels; another axis is moved last, computed, and moved back.
#include "lamina/core/ops/softmax.h"

#include <algorithm>

#include "lamina/core/detail/grain.h"
#include "lamina/core/detail/parallel.h"
#include "lamina/core/kernels/kernel_table.h"

namespace lamina::core {

namespace {

Tensor softmax_impl(const Tensor& x, int axis, bool log, const char* name) {
  LAMINA_CHECK(is_floating(x.dtype()), DTypeError, "[", name, "] expected float32 or float64, got ", x.dtype());
  LAMINA_CHECK(x.ndim() > 0, ValueError, "[", name, "] expected at least 1 dimension, got a scalar");
  const int a = normalize_axis(axis, x.ndim(), name);
  const int last = x.ndim() - 1;
  Tensor src = (a == last ? x : x.transpose(a, last)).contiguous();
  Tensor out = Tensor::empty(src.shape(), src.dtype());
  const std::int64_t row = src.shape()[last];
  const std::int64_t rows = row ? src.numel() / row : 0;
  visit_dtype(x.dtype(), [&](auto zero) {
    using T = decltype(zero);
    if constexpr (std::is_floating_point_v<T>) {
      const auto& k = detail::kernels_for<T>();
      const T* px = static_cast<const T*>(src.raw_data());
      T* py = static_cast<T*>(out.raw_data());
      const std::int64_t grain = std::max<std::int64_t>(1, detail::kGrainTranscendental / std::max<std::int64_t>(row, 1));
      detail::parallel_for(rows, grain, [&](std::int64_t b, std::int64_t e) {
        k.softmax_rows(px + b * row, py + b * row, e - b, row, log);
      });
    }
  });
  return a == last ? out : out.transpose(a, last).contiguous();
}

}  // namespace

Tensor softmax(const Tensor& x, int axis) { return softmax_impl(x, axis, false, "softmax"); }
Tensor log_softmax(const Tensor& x, int axis) { return softmax_impl(x, axis, true, "log_softmax"); }

}  // namespace lamina::core
