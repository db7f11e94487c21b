// oneDNN peer rows for the GEMM cases of bench/compare: dnnl_sgemm (row-major)
// on the same buffers as lamina's rows. oneDNN runs on OpenMP; its pool size
// follows the row's thread count (omp_set_num_threads, looked up at run time
// since only libdnnl links libgomp; bench/compare also sets OMP_NUM_THREADS).

#include <dlfcn.h>
#include <dnnl.h>

#include <cstdint>
#include <string>

#include "../compare_registry.h"
#include "../gemm_cases.h"

namespace lamina::bench {
namespace {

void set_omp_threads(int n) {
  using Fn = void (*)(int);
  if (auto fn = reinterpret_cast<Fn>(dlsym(RTLD_DEFAULT, "omp_set_num_threads"))) fn(n);
}

void register_dnnl_gemm() {
  for (const GemmCase& c : gemm_cases()) {
    register_peer(std::string("gemm/") + c.name, "onednn", [c](int threads) {
      set_omp_threads(threads);
      GemmOperands op(c);
      const dnnl_dim_t lda = gemm_lda(c), ldb = gemm_ldb(c);
      return time_ns([&] {
        dnnl_sgemm(c.ta ? 'T' : 'N', c.tb ? 'T' : 'N', c.M, c.N, c.K, 1.f, op.A.data(), lda, op.B.data(), ldb, 0.f,
                   op.C.data(), c.N);
      });
    });
  }
}

const Registrar registrar(register_dnnl_gemm);

}  // namespace
}  // namespace lamina::bench
