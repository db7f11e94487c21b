# Shared compile settings for lamina targets.

# Warnings and portable code generation. The default target is plain x86-64;
# SIMD kernels get their own per-ISA flags (see lamina_add_isa_sources).
function(lamina_set_target_options target)
  # Designated initializers of option structs leave the rest at their defaults on purpose.
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers)
  if(LAMINA_NATIVE)
    target_compile_options(${target} PRIVATE -march=native)  # only with the opt-in LAMINA_NATIVE option
  endif()
endfunction()

# The instruction sets each kernel family is compiled for. The runtime picks the
# best one the CPU supports (core/isa.h); tests force each in turn.
set(LAMINA_ISA_LIST sse42 avx2 avx512 CACHE INTERNAL "")
set(LAMINA_ISA_FLAGS_sse42 -msse4.2 CACHE INTERNAL "")
set(LAMINA_ISA_FLAGS_avx2 -mavx2 -mfma -mf16c CACHE INTERNAL "")
set(LAMINA_ISA_FLAGS_avx512 -mavx512f -mavx512cd -mavx512bw -mavx512dq -mavx512vl -mavx2 -mfma -mf16c CACHE INTERNAL "")

# lamina_add_isa_sources(target family): for each ISA, adds
# core/kernels/<family>_<isa>.cpp with that ISA's flags.
# -ffp-contract=off: kernels compute exactly what they write. A fused
# multiply-add is asked for explicitly (core/detail/simd_fma.h), never left to
# the compiler, whose choices can differ between inlined copies of one kernel
# (GCC's C++ default is fast contraction) and so between the code paths that
# a thread split or an output size selects.
function(lamina_add_isa_sources target dir family)
  foreach(isa IN LISTS LAMINA_ISA_LIST)
    set(src ${dir}/${family}_${isa}.cpp)
    target_sources(${target} PRIVATE ${src})
    set_source_files_properties(${src} PROPERTIES COMPILE_OPTIONS "${LAMINA_ISA_FLAGS_${isa}};-ffp-contract=off")
  endforeach()
endfunction()
