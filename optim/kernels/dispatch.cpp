#include "lamina/core/isa.h"
#include "lamina/optim/kernels/update_kernels.h"

namespace lamina::optim::detail {

namespace {

// A table is fetched only when its ISA is supported: code from an ISA unit
// never runs on a CPU without that ISA.
template <class T>
struct TableSet {
  const UpdateKernels<T>* tables[kIsaCount] = {};
  template <class F0, class F1, class F2>
  TableSet(F0 sse, F1 avx2, F2 avx512) {
    if (isa_supported(Isa::sse42)) tables[0] = sse();
    if (isa_supported(Isa::avx2)) tables[1] = avx2();
    if (isa_supported(Isa::avx512)) tables[2] = avx512();
  }
};

}  // namespace

template <>
const UpdateKernels<float>& update_kernels_for<float>() {
  static const TableSet<float> set(update_f32_sse42, update_f32_avx2, update_f32_avx512);
  return *set.tables[static_cast<int>(current_isa())];
}

template <>
const UpdateKernels<double>& update_kernels_for<double>() {
  static const TableSet<double> set(update_f64_sse42, update_f64_avx2, update_f64_avx512);
  return *set.tables[static_cast<int>(current_isa())];
}

}  // namespace lamina::optim::detail
