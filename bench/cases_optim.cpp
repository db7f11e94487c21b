// lamina's rows for the optimizer cases of bench/compare (issue 6):
// optim/adam_step is one Adam step (lr 1e-3, beta_1 0.9, beta_2 0.999,
// epsilon 1e-7) on a 1M-parameter float32 variable with a fixed gradient.

#include <cstdint>
#include <vector>

#include "compare_registry.h"
#include "lamina/autograd/variable.h"
#include "lamina/core/random.h"
#include "lamina/core/tensor.h"
#include "lamina/optim/adam.h"

namespace lamina::bench {
namespace {

constexpr std::int64_t kParams = std::int64_t{1} << 20;

void register_optim_cases() {
  register_case("optim/adam_step", [](int) {
    Variable w(lamina::uniform({kParams}, -1.0, 1.0, 1, DType::float32), "w");
    const std::vector<Tensor> grads = {lamina::uniform({kParams}, -1.0, 1.0, 2, DType::float32)};
    const std::vector<Variable> vars = {w};
    optim::Adam opt({.learning_rate = 1e-3, .beta_1 = 0.9, .beta_2 = 0.999, .epsilon = 1e-7});
    return time_ns([&] { opt.apply_gradients(grads, vars); });
  });
}

const Registrar registrar(register_optim_cases);

}  // namespace
}  // namespace lamina::bench
