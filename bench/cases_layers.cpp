// lamina's rows for the layer cases of bench/compare (issue 5):
//   layer/dense_small  a built Dense(8) (glorot kernel, zero bias, no
//                      activation) called on a 1x8 float32 input outside any
//                      tape: layer dispatch + matmul + bias add.

#include "compare_registry.h"
#include "lamina/core/random.h"
#include "lamina/core/tensor.h"
#include "lamina/layers/dense.h"

namespace lamina::bench {
namespace {

void* volatile g_sink = nullptr;

void register_layer_cases() {
  register_case("layer/dense_small", [](int) {
    lamina::set_random_seed(1);
    layers::DenseOptions options;
    options.units = 8;
    layers::Dense dense(options);
    const Tensor x = lamina::uniform({1, 8}, -1.0, 1.0, 1, DType::float32);
    dense(x);  // build
    return time_ns([&] {
      Tensor y = dense(x);
      g_sink = y.impl();
    });
  });
}

const Registrar registrar(register_layer_cases);

}  // namespace
}  // namespace lamina::bench
