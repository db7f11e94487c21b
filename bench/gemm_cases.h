#pragma once
// The GEMM shapes of issue 3, shared by bench_gemm and bench/compare's rows
// (lamina and its BLAS peers). Row-major float32; `ta` / `tb` mean the operand
// is stored transposed (A as K x M, B as N x K).

#include <cstddef>
#include <cstdint>
#include <new>
#include <random>
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

template <class T>
struct Aligned64Allocator {
  using value_type = T;
  Aligned64Allocator() = default;
  template <class U>
  explicit Aligned64Allocator(const Aligned64Allocator<U>&) {}
  T* allocate(std::size_t n) { return static_cast<T*>(::operator new(n * sizeof(T), std::align_val_t{64})); }
  void deallocate(T* p, std::size_t) { ::operator delete(p, std::align_val_t{64}); }
  bool operator==(const Aligned64Allocator&) const = default;
};

/// A case's operands (uniform in [-1, 1), fixed seeds) and output, 64-byte
/// aligned as lamina's tensors are (and libtorch's). malloc puts blocks of
/// 128 KiB and more 16 bytes past a cache line, and for some shapes GEMM
/// speed depends on B's alignment (core/gemm.cpp, read_b_in_place). lamina's
/// rows and every peer's use these same buffers.
struct GemmOperands {
  using Buffer = std::vector<float, Aligned64Allocator<float>>;
  explicit GemmOperands(const GemmCase& c)
      : A(random(c.M * c.K, 1)), B(random(c.K * c.N, 2)), C(static_cast<std::size_t>(c.M * c.N)) {}
  Buffer A, B, C;

 private:
  static Buffer random(std::int64_t n, unsigned seed) {
    std::mt19937 gen(seed);
    std::uniform_real_distribution<float> d(-1.f, 1.f);
    Buffer v(static_cast<std::size_t>(n));
    for (auto& x : v) x = d(gen);
    return v;
  }
};

}  // namespace lamina::bench
