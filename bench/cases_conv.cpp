// lamina's rows for the convolution cases of bench/compare (issue 8):
// conv/fwd_bwd_32x64 is one 3x3 Conv2D 32 -> 64 (valid, with bias) on a
// batch of 128 13x13 images (the second conv of the Fashion-MNIST CNN):
// forward, then backward for input, kernel and bias with a fixed output
// gradient. lamina runs NHWC (Keras's default); the libtorch peer NCHW (its
// default). 2*128*11*11*64*288 = 571 MFLOP forward, twice that backward.

#include "compare_registry.h"
#include "lamina/autograd/conv.h"
#include "lamina/autograd/ops.h"
#include "lamina/autograd/tape.h"
#include "lamina/core/random.h"
#include "lamina/core/tensor.h"

namespace lamina::bench {
namespace {

void register_conv_cases() {
  register_case("conv/fwd_bwd_32x64", [](int) {
    const Tensor x = lamina::uniform({128, 13, 13, 32}, -1.0, 1.0, 1);
    const Tensor k = lamina::uniform({3, 3, 32, 64}, -0.1, 0.1, 2);
    const Tensor b = lamina::zeros({64});
    const Tensor gy = lamina::uniform({128, 11, 11, 64}, -1.0, 1.0, 3);
    return time_ns([&] {
      GradientTape tape;
      tape.watch(x);
      tape.watch(k);
      tape.watch(b);
      Tensor y = add(conv2d(x, k), b);
      auto grads = tape.gradient(y, {x, k, b}, gy);
    });
  });
}

const Registrar registrar(register_conv_cases);

}  // namespace
}  // namespace lamina::bench
