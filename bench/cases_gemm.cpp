// lamina's rows for the GEMM cases of bench/compare (issue 3): lamina::gemm on
// preallocated row-major float32 buffers, like the peers' cblas_sgemm /
// dnnl_sgemm rows (bench/peers/openblas_gemm.cpp, bench/peers/dnnl_gemm.cpp).

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "compare_registry.h"
#include "gemm_cases.h"
#include "lamina/core/gemm.h"

namespace lamina::bench {
namespace {

std::vector<float> random_floats(std::int64_t n, unsigned seed) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> d(-1.f, 1.f);
  std::vector<float> v(static_cast<std::size_t>(n));
  for (auto& x : v) x = d(gen);
  return v;
}

void register_gemm_cases() {
  for (const GemmCase& c : gemm_cases()) {
    register_case(std::string("gemm/") + c.name, [c](int) {
      auto A = random_floats(c.M * c.K, 1), B = random_floats(c.K * c.N, 2);
      std::vector<float> C(static_cast<std::size_t>(c.M * c.N));
      const std::int64_t lda = gemm_lda(c), ldb = gemm_ldb(c);
      return time_ns([&] {
        lamina::gemm<float>(c.M, c.N, c.K, 1.f, A.data(), c.ta ? 1 : lda, c.ta ? lda : 1, B.data(),
                            c.tb ? 1 : ldb, c.tb ? ldb : 1, 0.f, C.data(), c.N, 1);
      });
    });
  }
}

const Registrar registrar(register_gemm_cases);

}  // namespace
}  // namespace lamina::bench
