// GEMM kernels for SSE4.2 (no FMA: xsimd::fma is a multiply then an add).
// Compiled with this ISA's -m flags (see lamina_add_isa_sources); only the
// table accessors below have external linkage.

#include "lamina/core/kernels/gemm_kernels.h"
#include "lamina/core/kernels/gemm_impl.h"

namespace lamina::detail {
namespace {
using Arch = xsimd::sse4_2;
constexpr GemmKernels<float> kF32 = make_gemm_kernels<float, Arch, 6, 2>(144, 256, 4080);
constexpr GemmKernels<double> kF64 = make_gemm_kernels<double, Arch, 6, 2>(72, 256, 2040);
}  // namespace

const GemmKernels<float>* gemm_kernels_f32_sse42() { return &kF32; }
const GemmKernels<double>* gemm_kernels_f64_sse42() { return &kF64; }

}  // namespace lamina::detail
