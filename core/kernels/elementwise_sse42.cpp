// Elementwise, reduction and softmax kernels compiled for sse42 (flags set in CMake).
#include "lamina/core/kernels/elementwise_impl.h"

LAMINA_DEFINE_ELEMENTWISE_TABLES(sse42, xsimd::sse4_2)
