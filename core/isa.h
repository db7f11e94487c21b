#pragma once
/// Instruction sets the SIMD kernels are compiled for, and the run-time choice.
/// One binary carries SSE4.2, AVX2+FMA and AVX-512 versions of every kernel;
/// the best one the CPU supports is used unless LAMINA_ISA or set_isa says otherwise.

#include <string_view>
#include <vector>

namespace lamina {

enum class Isa { sse42 = 0, avx2 = 1, avx512 = 2 };
inline constexpr int kIsaCount = 3;

/// "sse4.2", "avx2", "avx512".
std::string_view isa_name(Isa isa);
/// Whether this CPU (and OS) can run kernels compiled for `isa`.
bool isa_supported(Isa isa);
/// All ISAs this CPU supports, lowest first.
std::vector<Isa> supported_isas();
/// The ISA kernels currently dispatch to (best supported by default; the
/// environment variable LAMINA_ISA=sse4.2|avx2|avx512 lowers it at start-up).
Isa current_isa();
/// Forces kernels to `isa` (for tests and benchmarks); throws ValueError when
/// the CPU does not support it. Not meant to be called while kernels run.
void set_isa(Isa isa);

}  // namespace lamina
