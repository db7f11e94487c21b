// GEMM kernels for AVX-512F: 14x32 float / 14x16 double tiles, 28 accumulators of 32 zmm.
// Compiled with this ISA's -m flags (see lamina_add_isa_sources); only the
// table accessors below have external linkage.
//
// Float blocking measured on an AMD EPYC (Zen 4, 1 MiB L2, 32 KiB L1d),
// 1 thread, alternated runs: K blocks of 256 (512 when B is packed and narrow,
// as on AVX2) against 192: 1.00-1.08x the GFLOP/s on the issue-3 shapes
// (sq1024 99-103 -> 107-110, sq2048 97-101 -> 104). Tiles of 12x32, 6x64 and
// 8x48 were no better. Double, the same change: 1024^3 49.5-50.2 -> 51.5-52.0
// GFLOP/s, 512^3 51 -> 54, 128x256x784 53 -> 55, other shapes equal; K
// blocks of 128 or 192 (with 512 for narrow B) were slower on 1024^3.

#include "lamina/core/kernels/gemm_kernels.h"
#include "lamina/core/kernels/gemm_impl.h"

namespace lamina::detail {
namespace {
using Arch = xsimd::avx512f;
constexpr GemmKernels<float> kF32 = make_gemm_kernels<float, Arch, 14, 2>(168, 256, 4064, 512, 1024, 84, 128);
constexpr GemmKernels<double> kF64 = make_gemm_kernels<double, Arch, 14, 2>(84, 256, 2032, 512);
}  // namespace

const GemmKernels<float>* gemm_kernels_f32_avx512() { return &kF32; }
const GemmKernels<double>* gemm_kernels_f64_avx512() { return &kF64; }

}  // namespace lamina::detail
