// Fused optimizer update kernels compiled for avx2 (flags set in CMake).
#include "lamina/optim/kernels/update_impl.h"

LAMINA_DEFINE_UPDATE_TABLES(avx2, xsimd::fma3<xsimd::avx2>)
