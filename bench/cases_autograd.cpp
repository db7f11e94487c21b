// lamina's rows for the autograd cases of bench/compare (issue 4):
//   tape/record_add_1  one recorded add of 1-element float32 tensors and its
//                      backward: a GradientTape watching x, y = x + x2,
//                      tape.gradient(y, {x}).
//   mlp/step           one forward + backward of a 784-256-128-10 ReLU MLP
//                      (Dense layers) with softmax cross-entropy (mean over
//                      the batch) on a fixed random batch of 128, float32,
//                      gradients for the 6 weights, no optimizer.

#include <cstdint>
#include <memory>
#include <vector>

#include "compare_registry.h"
#include "lamina/autograd/nn.h"
#include "lamina/autograd/ops.h"
#include "lamina/autograd/tape.h"
#include "lamina/core/random.h"
#include "lamina/core/tensor.h"
#include "lamina/layers/model.h"
#include "mlp_training.h"

namespace lamina::bench {
namespace {

void* volatile g_sink = nullptr;

std::shared_ptr<Sequential> make_step_mlp() {
  return std::make_shared<Sequential>(std::vector<std::shared_ptr<Layer>>{
      mlp::dense(mlp::kHidden1, "relu"),
      mlp::dense(mlp::kHidden2, "relu"),
      mlp::dense(mlp::kClasses, "linear"),
  });
}

void register_autograd_cases() {
  register_case("tape/record_add_1", [](int) {
    Tensor x = lamina::uniform({1}, -1.0, 1.0, 1, DType::float32);
    Tensor x2 = lamina::uniform({1}, -1.0, 1.0, 2, DType::float32);
    return time_ns([&] {
      GradientTape tape;
      tape.watch(x);
      Tensor y = lamina::add(x, x2);
      std::vector<Tensor> g = tape.gradient(y, {x});
      g_sink = g[0].impl();
    });
  });

  register_case("mlp/step", [](int) {
    lamina::set_random_seed(1);
    auto model = make_step_mlp();
    const Tensor x = Tensor::from(mlp::step_batch_x(), {mlp::kBatch, mlp::kIn});
    const Tensor y = Tensor::from(mlp::step_batch_y(), {mlp::kBatch});
    (*model)(x);  // build
    const std::vector<Variable> vars = model->trainable_weights();
    return time_ns([&] {
      GradientTape tape;
      Tensor logits = (*model)(x, /*training=*/true);
      Tensor loss = lamina::mean(sparse_softmax_cross_entropy_with_logits(y, logits));
      std::vector<Tensor> grads = tape.gradient(loss, vars);
      g_sink = grads[0].impl();
    });
  });
}

const Registrar registrar(register_autograd_cases);

}  // namespace
}  // namespace lamina::bench
