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

void register_torch_training() {
  register_peer("mlp/epoch", "libtorch", [](int threads) {
    if (!std::filesystem::exists(std::string(mlp::kFashionMnistDir) + "/train-images-idx3-ubyte.gz"))
      return std::numeric_limits<double>::quiet_NaN();
    torch::Tensor x, y;
    {
      const data::MnistData m = data::load_mnist(mlp::kFashionMnistDir);
      const std::int64_t n = m.x_train.shape()[0];
      const Tensor xs = m.x_train.contiguous();
      const Tensor ys = m.y_train.contiguous();
      x = torch::from_blob(const_cast<std::uint8_t*>(xs.data<std::uint8_t>()), {n, mlp::kIn}, torch::kUInt8)
              .to(torch::kFloat)
              .div_(255);
      y = torch::from_blob(const_cast<std::int64_t*>(ys.data<std::int64_t>()), {n}, torch::kLong).clone();
    }
    mlp::TorchTrainer trainer(x, y);
    return torch_time_grad("mlp/epoch", threads, [&] { trainer.run_epoch(); },
                           [](const std::function<void()>& fn) { return mlp::time_long_ns(fn); });
  });
  register_peer("cnn/epoch", "libtorch", [](int threads) {
    if (!std::filesystem::exists(std::string(mlp::kFashionMnistDir) + "/train-images-idx3-ubyte.gz"))
      return std::numeric_limits<double>::quiet_NaN();
    torch::Tensor x, y;
    {
      const data::MnistData m = data::load_mnist(mlp::kFashionMnistDir);
      const std::int64_t n = m.x_train.shape()[0];
      const Tensor xs = m.x_train.contiguous();
      const Tensor ys = m.y_train.contiguous();
      x = torch::from_blob(const_cast<std::uint8_t*>(xs.data<std::uint8_t>()), {n, 1, 28, 28}, torch::kUInt8)
              .to(torch::kFloat)
              .div_(255);
      y = torch::from_blob(const_cast<std::int64_t*>(ys.data<std::int64_t>()), {n}, torch::kLong).clone();
    }
    cnn::TorchCnnTrainer trainer(x, y);
    return torch_time_grad("cnn/epoch", threads, [&] { trainer.run_epoch(); },
                           [](const std::function<void()>& fn) { return mlp::time_long_ns(fn, 1); });
  });
}

const Registrar registrar(register_torch_training);

}  // namespace
}  // namespace lamina::bench
