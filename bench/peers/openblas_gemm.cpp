// OpenBLAS peer rows for the GEMM cases of bench/compare: cblas_sgemm
// (row-major) on the same buffers as lamina's rows. The pool size follows the
// row's thread count (bench/compare also sets OPENBLAS_NUM_THREADS and unsets
// OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE).

#include <cblas.h>

#include <cstdint>
#include <string>

#include "../compare_registry.h"
#include "../gemm_cases.h"

namespace lamina::bench {
namespace {

void register_openblas_gemm() {
  for (const GemmCase& c : gemm_cases()) {
    register_peer(std::string("gemm/") + c.name, "openblas", [c](int threads) {
      openblas_set_num_threads(threads);
      GemmOperands op(c);
      const int lda = static_cast<int>(gemm_lda(c)), ldb = static_cast<int>(gemm_ldb(c));
      return time_ns([&] {
        cblas_sgemm(CblasRowMajor, c.ta ? CblasTrans : CblasNoTrans, c.tb ? CblasTrans : CblasNoTrans,
                    static_cast<int>(c.M), static_cast<int>(c.N), static_cast<int>(c.K), 1.f, op.A.data(), lda,
                    op.B.data(), ldb, 0.f, op.C.data(), static_cast<int>(c.N));
      });
    });
  }
}

const Registrar registrar(register_openblas_gemm);

}  // namespace
}  // namespace lamina::bench
