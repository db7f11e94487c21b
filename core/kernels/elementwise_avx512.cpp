// Elementwise, reduction and softmax kernels compiled for avx512 (flags set in CMake).
#include "lamina/core/kernels/elementwise_impl.h"

LAMINA_DEFINE_ELEMENTWISE_TABLES(avx512, xsimd::avx512bw)
