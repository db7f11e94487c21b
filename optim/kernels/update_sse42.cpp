// Fused optimizer update kernels compiled for sse42 (flags set in CMake).
#include "lamina/optim/kernels/update_impl.h"

LAMINA_DEFINE_UPDATE_TABLES(sse42, xsimd::sse4_2)
