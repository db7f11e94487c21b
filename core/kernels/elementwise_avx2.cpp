// Elementwise, reduction and softmax kernels compiled for avx2 (flags set in CMake).
#include "lamina/core/kernels/elementwise_impl.h"

LAMINA_DEFINE_ELEMENTWISE_TABLES(avx2, xsimd::fma3<xsimd::avx2>)
