// GEMM kernels for AVX-512F: 8x32 float tiles (16 accumulators of 32 zmm) /
// 14x16 double tiles (28 accumulators).
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
//
// Float tiles of 8x32 rather than 14x32 since the K blocks of kc_wide
// (gemm.cpp): every variant linked into one process and alternated call
// by call (6-8 rounds each), 1 thread, GFLOP/s 14x32 -> 8x32: 64^3 103-105
// -> 111-112, 100^3 80 -> 89, 128^3 113 -> 116, 256^3 109-113 -> 110-114,
// 512^3 106-110 -> 108-109, 1024^3 107-109 -> 106-111, the MLP shapes
// 115.1 -> 115.8 (fwd1), 112.0 -> 113.6-114.0 (bwd1_dw), 110.0 -> 110.8
// (bwd1_dx), 128x10x128 equal; 2 threads 64^3 137 -> 149, 1024^3 200 ->
// 206, 784x256x128 214 -> 226, 2048^3 equal (210). 12x32 was slower on
// 512^3 and 1024^3 (97-98); 7x32, 6x32, 6x64, 8x48 and 4x64 were each
// within a few percent of 8x32, 4x64 ahead on 64^3 (114) and behind on
// 128x10x128 (72 against 79). The double tile was not re-measured.

#include "lamina/core/kernels/gemm_kernels.h"
#include "lamina/core/kernels/gemm_impl.h"

namespace lamina::detail {
namespace {
using Arch = xsimd::avx512f;
constexpr GemmKernels<float> kF32ShortK = make_gemm_kernels<float, Arch, 4, 4>(168, 256, 4064, 512, 1024, 80, 128);
constexpr GemmKernels<float> kF32 = [] {
  GemmKernels<float> k = make_gemm_kernels<float, Arch, 8, 2>(168, 256, 4064, 512, 1024, 80, 128);
  k.short_k = &kF32ShortK;
  k.short_k_max = 128;
  return k;
}();
constexpr GemmKernels<double> kF64 = make_gemm_kernels<double, Arch, 14, 2>(84, 256, 2032, 512);
}  // namespace

const GemmKernels<float>* gemm_kernels_f32_avx512() { return &kF32; }
const GemmKernels<double>* gemm_kernels_f64_avx512() { return &kF64; }

}  // namespace lamina::detail
