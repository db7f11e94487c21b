// libtorch peer rows for the training cases of bench/compare (issue 6):
//   mlp/epoch  one epoch of the same training in libtorch C++ (torch_mlp.h):
//              torch::nn::Linear x3, relu, cross_entropy, torch::optim::Adam,
//              batch 128, a randperm shuffle per epoch, the training set as
//              float32 tensors in memory. Timed like lamina's row
//              (mlp::time_long_ns); at 2 threads both thread splits are tried.
//   cnn/epoch  one epoch of the Fashion-MNIST CNN (torch_cnn.h), NCHW, timed
//              like lamina's row (one warm-up epoch, then one timed epoch x
//              LAMINA_BENCH_TIME_SCALE).

#include <torch/torch.h>

#include <vector>

#include <cstdint>
#include <filesystem>
#include <limits>

#include "../mlp_common.h"
#include "lamina/layers/data/idx.h"
#include "torch_grad_common.h"
#include "torch_cnn.h"
#include "torch_mlp.h"

namespace lamina::bench {
namespace {

using torch_peer::torch_time_grad;

// Fashion-MNIST's training set as torch tensors: x float32 in [0, 1] of shape
// (n, image_shape...), y int64. False when the dataset is not installed.
bool load_fashion_mnist(std::vector<std::int64_t> image_shape, torch::Tensor& x, torch::Tensor& y) {
  if (!std::filesystem::exists(std::string(mlp::kFashionMnistDir) + "/train-images-idx3-ubyte.gz")) return false;
  const data::MnistData m = data::load_mnist(mlp::kFashionMnistDir);
  const std::int64_t n = m.x_train.shape()[0];
  const Tensor xs = m.x_train.contiguous();
  const Tensor ys = m.y_train.contiguous();
  image_shape.insert(image_shape.begin(), n);
  x = torch::from_blob(const_cast<std::uint8_t*>(xs.data<std::uint8_t>()), image_shape, torch::kUInt8)
          .to(torch::kFloat)
          .div_(255);
  y = torch::from_blob(const_cast<std::int64_t*>(ys.data<std::int64_t>()), {n}, torch::kLong).clone();
  return true;
}

void register_torch_training() {
  register_peer("mlp/epoch", "libtorch", [](int threads) {
    torch::Tensor x, y;
    if (!load_fashion_mnist({mlp::kIn}, x, y)) return std::numeric_limits<double>::quiet_NaN();
    mlp::TorchTrainer trainer(x, y);
    return torch_time_grad("mlp/epoch", threads, [&] { trainer.run_epoch(); },
                           [](const std::function<void()>& fn) { return mlp::time_long_ns(fn); });
  });
  register_peer("cnn/epoch", "libtorch", [](int threads) {
    torch::Tensor x, y;
    if (!load_fashion_mnist({1, 28, 28}, x, y)) return std::numeric_limits<double>::quiet_NaN();
    cnn::TorchCnnTrainer trainer(x, y);
    return torch_time_grad("cnn/epoch", threads, [&] { trainer.run_epoch(); },
                           [](const std::function<void()>& fn) { return mlp::time_long_ns(fn, 1); });
  });
}

const Registrar registrar(register_torch_training);

}  // namespace
}  // namespace lamina::bench
