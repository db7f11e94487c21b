// lamina's rows for the GEMM cases of bench/compare (issue 3): lamina::gemm on
// the row-major float32 buffers of GemmOperands, like the peers' cblas_sgemm /
// dnnl_sgemm rows (bench/peers/openblas_gemm.cpp, bench/peers/dnnl_gemm.cpp).

#include <cstdint>
#include <string>

#include "compare_registry.h"
#include "gemm_cases.h"
#include "lamina/core/gemm.h"

namespace lamina::bench {
namespace {

void register_gemm_cases() {
  for (const GemmCase& c : gemm_cases()) {
    register_case(std::string("gemm/") + c.name, [c](int) {
      GemmOperands op(c);
      const std::int64_t lda = gemm_lda(c), ldb = gemm_ldb(c);
      return time_ns([&] {
        lamina::gemm<float>(c.M, c.N, c.K, 1.f, op.A.data(), c.ta ? 1 : lda, c.ta ? lda : 1, op.B.data(),
                            c.tb ? 1 : ldb, c.tb ? ldb : 1, 0.f, op.C.data(), c.N, 1);
      });
    });
  }
}

const Registrar registrar(register_gemm_cases);

}  // namespace
}  // namespace lamina::bench
