// Fused optimizer update kernels compiled for avx512 (flags set in CMake).
#include "lamina/optim/kernels/update_impl.h"

LAMINA_DEFINE_UPDATE_TABLES(avx512, xsimd::avx512bw)
