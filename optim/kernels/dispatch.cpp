#include "lamina/core/detail/isa_tables.h"
#include "lamina/optim/kernels/update_kernels.h"

namespace lamina::optim::detail {

template <>
const UpdateKernels<float>& update_kernels_for<float>() {
  static const lamina::detail::IsaTables<UpdateKernels<float>> tables(update_f32_sse42, update_f32_avx2,
                                                                      update_f32_avx512);
  return tables.current();
}

template <>
const UpdateKernels<double>& update_kernels_for<double>() {
  static const lamina::detail::IsaTables<UpdateKernels<double>> tables(update_f64_sse42, update_f64_avx2,
                                                                       update_f64_avx512);
  return tables.current();
}

}  // namespace lamina::optim::detail
