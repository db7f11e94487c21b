#include "lamina/core/detail/isa_tables.h"
#include "lamina/core/kernels/kernel_table.h"

namespace lamina::detail {

template <>
const FloatKernels<float>& kernels_for<float>() {
  static const IsaTables<FloatKernels<float>> tables(elementwise_f32_sse42, elementwise_f32_avx2,
                                                     elementwise_f32_avx512);
  return tables.current();
}

template <>
const FloatKernels<double>& kernels_for<double>() {
  static const IsaTables<FloatKernels<double>> tables(elementwise_f64_sse42, elementwise_f64_avx2,
                                                      elementwise_f64_avx512);
  return tables.current();
}

}  // namespace lamina::detail
