// GEMM kernels for AVX-512F: 14x32 float / 14x16 double tiles, 28 accumulators of 32 zmm.
// Compiled with this ISA's -m flags (see lamina_add_isa_sources); only the
// table accessors below have external linkage.

#include "lamina/core/kernels/gemm_kernels.h"
#include "lamina/core/kernels/gemm_impl.h"

namespace lamina::detail {
namespace {
using Arch = xsimd::avx512f;
constexpr GemmKernels<float> kF32 = make_gemm_kernels<float, Arch, 14, 2>(168, 192, 4064);
constexpr GemmKernels<double> kF64 = make_gemm_kernels<double, Arch, 14, 2>(84, 192, 2032);
}  // namespace

const GemmKernels<float>* gemm_kernels_f32_avx512() { return &kF32; }
const GemmKernels<double>* gemm_kernels_f64_avx512() { return &kF64; }

}  // namespace lamina::detail
