// lamina's rows for the core cases of bench/compare (issue 2): per-op
// overhead on one element, memory-bound elementwise ops and reductions on
// 1e7 floats, and softmax. Every op allocates its output, as in the peers.

#include <cstdint>

#include "compare_registry.h"
#include "lamina/core/ops/binary.h"
#include "lamina/core/ops/reduce.h"
#include "lamina/core/ops/softmax.h"
#include "lamina/core/ops/unary.h"
#include "lamina/core/random.h"
#include "lamina/core/tensor.h"

namespace lamina::bench {
namespace {

// Keeps each result observable so no call can be dropped.
void* volatile g_sink = nullptr;

Tensor input(const Shape& shape, std::uint64_t seed) {
  return lamina::uniform(shape, -1.0, 1.0, seed, DType::float32);
}

void register_core_cases() {
  for (std::int64_t n : {std::int64_t{1}, std::int64_t{10'000'000}}) {
    const std::string suffix = n == 1 ? "/1" : "/1e7";
    register_case("relu" + suffix, [n](int) {
      Tensor x = input({n}, 1);
      return time_ns([&] {
        Tensor y = core::relu(x);
        g_sink = y.impl();
      });
    });
    register_case("add" + suffix, [n](int) {
      Tensor a = input({n}, 1);
      Tensor b = input({n}, 2);
      return time_ns([&] {
        Tensor y = core::add(a, b);
        g_sink = y.impl();
      });
    });
    register_case("sum" + suffix, [n](int) {
      Tensor x = input({n}, 1);
      return time_ns([&] {
        Tensor y = core::sum(x);
        g_sink = y.impl();
      });
    });
  }
  for (auto [rows, cols] : {std::pair<std::int64_t, std::int64_t>{128, 10}, {4096, 1000}}) {
    register_case("softmax/" + std::to_string(rows) + "x" + std::to_string(cols), [rows, cols](int) {
      Tensor x = input({rows, cols}, 3);
      return time_ns([&] {
        Tensor y = core::softmax(x, -1);
        g_sink = y.impl();
      });
    });
  }
}

const Registrar registrar(register_core_cases);

}  // namespace
}  // namespace lamina::bench
