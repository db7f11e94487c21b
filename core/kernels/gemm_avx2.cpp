// GEMM kernels for AVX2 + FMA3: 6x16 float / 6x8 double tiles, 12 accumulators of 16 ymm.
// Compiled with this ISA's -m flags (see lamina_add_isa_sources); only the
// table accessors below have external linkage.

#include "lamina/core/kernels/gemm_kernels.h"
#include "lamina/core/kernels/gemm_impl.h"

namespace lamina::detail {
namespace {
using Arch = xsimd::fma3<xsimd::avx2>;
constexpr GemmKernels<float> kF32 = make_gemm_kernels<float, Arch, 6, 2>(144, 256, 4080, 512);
constexpr GemmKernels<double> kF64 = make_gemm_kernels<double, Arch, 6, 2>(72, 256, 2040, 512);
}  // namespace

const GemmKernels<float>* gemm_kernels_f32_avx2() { return &kF32; }
const GemmKernels<double>* gemm_kernels_f64_avx2() { return &kF64; }

}  // namespace lamina::detail
