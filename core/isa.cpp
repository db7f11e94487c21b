#include "lamina/core/isa.h"

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "lamina/core/error.h"

namespace lamina {

namespace {

bool cpu_has(Isa isa) {
  // __builtin_cpu_supports also checks that the OS saves the wider registers.
  switch (isa) {
    case Isa::sse42: return __builtin_cpu_supports("sse4.2");
    case Isa::avx2: return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    case Isa::avx512:
      return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
             __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl") &&
             __builtin_cpu_supports("avx512cd");
  }
  return false;
}

Isa best_supported() {
  Isa best = Isa::sse42;
  for (Isa isa : supported_isas()) best = isa;
  return best;
}

Isa initial_isa() {
  // Every kernel is built for SSE4.2 at least: on an older CPU they would
  // die of an illegal instruction, so say why instead.
  LAMINA_CHECK(cpu_has(Isa::sse42), Error,
               "[lamina] this CPU lacks SSE4.2, the oldest instruction set lamina's kernels are built for");
  Isa isa = best_supported();
  if (const char* env = std::getenv("LAMINA_ISA")) {
    std::string want(env), names;
    bool found = false;
    for (int i = 0; i < kIsaCount; ++i) {
      auto candidate = static_cast<Isa>(i);
      if (isa_supported(candidate)) names += (names.empty() ? "" : ", ") + std::string(isa_name(candidate));
      if (want == isa_name(candidate) && isa_supported(candidate)) {
        isa = candidate;
        found = true;
      }
    }
    // A typo must not pass silently; the default choice still works.
    if (!found)
      std::fprintf(stderr, "lamina: ignoring LAMINA_ISA=%s: expected one this CPU supports (%s); using %s\n",
                   env, names.c_str(), std::string(isa_name(isa)).c_str());
  }
  return isa;
}

std::atomic<Isa>& active() {
  static std::atomic<Isa> isa{initial_isa()};
  return isa;
}

}  // namespace

std::string_view isa_name(Isa isa) {
  switch (isa) {
    case Isa::sse42: return "sse4.2";
    case Isa::avx2: return "avx2";
    case Isa::avx512: return "avx512";
  }
  return "?";
}

bool isa_supported(Isa isa) { return cpu_has(isa); }

std::vector<Isa> supported_isas() {
  std::vector<Isa> out;
  for (int i = 0; i < kIsaCount; ++i)
    if (cpu_has(static_cast<Isa>(i))) out.push_back(static_cast<Isa>(i));
  return out;
}

Isa current_isa() { return active().load(std::memory_order_relaxed); }

void set_isa(Isa isa) {
  LAMINA_CHECK(isa_supported(isa), ValueError, "[set_isa] this CPU does not support ", isa_name(isa));
  active().store(isa, std::memory_order_relaxed);
}

}  // namespace lamina
