#pragma once
// The GEMM shapes of issue 3, shared by bench_gemm and bench/compare's rows
// (lamina and its BLAS peers). Row-major float32; `ta` / `tb` mean the operand
// is stored transposed (A as K x M, B as N x K).

#include <cstdint>
#include <vector>

namespace lamina::bench {

struct GemmCase {
  const char* name;  // case name without the "gemm/" prefix
  std::int64_t M, N, K;
  bool ta, tb;
};

inline const std::vector<GemmCase>& gemm_cases() {
  static const std::vector<GemmCase> all = {
      {"sq64", 64, 64, 64, false, false},
      {"sq128", 128, 128, 128, false, false},
      {"sq256", 256, 256, 256, false, false},
      {"sq512", 512, 512, 512, false, false},
      {"sq1024", 1024, 1024, 1024, false, false},
      {"sq2048", 2048, 2048, 2048, false, false},
      // MLP 784-256-128-10 training at batch 128.
      {"fwd1", 128, 256, 784, false, false},     // X[128x784] . W[784x256]
      {"fwd2", 128, 128, 256, false, false},     // X[128x256] . W[256x128]
      {"fwd3", 128, 10, 128, false, false},      // X[128x128] . W[128x10]
      {"bwd1_dw", 784, 256, 128, true, false},   // X^T[784x128] . dY[128x256]
      {"bwd1_dx", 128, 784, 256, false, true},   // dY[128x256] . W^T[256x784]
  };
  return all;
}

/// Leading dimensions of the row-major storage of a case's operands.
inline std::int64_t gemm_lda(const GemmCase& c) { return c.ta ? c.M : c.K; }
inline std::int64_t gemm_ldb(const GemmCase& c) { return c.tb ? c.K : c.N; }

}  // namespace lamina::bench
