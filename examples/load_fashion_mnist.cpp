// Loads Fashion-MNIST (or any MNIST-format directory given as the first
// argument), prints the shapes and the first label, and walks one shuffled
// epoch of float batches the way a training loop would.
//
//   load_fashion_mnist [DIR]     (default /usr/share/datasets/fashion-mnist)

#include <chrono>
#include <cstdio>
#include <exception>
#include <string>

#include "lamina/core/tensor.h"
#include "lamina/layers/data/dataset.h"
#include "lamina/layers/data/idx.h"

int main(int argc, char** argv) {
  namespace data = lamina::data;
  const std::string dir = argc > 1 ? argv[1] : "/usr/share/datasets/fashion-mnist";
  static const char* const kClasses[10] = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                           "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};
  try {
    const auto t0 = std::chrono::steady_clock::now();
    data::MnistData m = data::load_mnist(dir);
    const auto t1 = std::chrono::steady_clock::now();
    std::printf("x_train %s %s\n", m.x_train.shape().str().c_str(), std::string(lamina::dtype_name(m.x_train.dtype())).c_str());
    std::printf("y_train %s %s\n", m.y_train.shape().str().c_str(), std::string(lamina::dtype_name(m.y_train.dtype())).c_str());
    std::printf("x_test  %s\ny_test  %s\n", m.x_test.shape().str().c_str(), m.y_test.shape().str().c_str());
    const auto first = m.y_train.at<std::int64_t>(0);
    std::printf("first label: %lld (%s)\n", static_cast<long long>(first),
                first >= 0 && first < 10 ? kClasses[first] : "?");
    std::printf("loaded in %.2f s\n", std::chrono::duration<double>(t1 - t0).count());

    // Pixels stay uint8 in memory; each batch becomes float32 in [0, 1].
    auto ds = data::Dataset(m.x_train, m.y_train)
                  .shuffle(42)
                  .batch(128)
                  .map(data::cast_x(lamina::DType::float32, 1.0 / 255));
    double sum = 0;
    std::int64_t batches = 0;
    for (const data::Batch& b : ds.epoch(0)) {
      sum += b.x.at<float>(0, 14, 14);
      ++batches;
    }
    const auto t2 = std::chrono::steady_clock::now();
    std::printf("one epoch: %lld batches of %s in %.3f s (checksum %.3f)\n", static_cast<long long>(batches),
                ds.get_batch(0, 0).x.shape().str().c_str(), std::chrono::duration<double>(t2 - t1).count(), sum);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 2;
  }
  return 0;
}
