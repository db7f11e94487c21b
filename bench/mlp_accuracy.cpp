// bench_mlp_accuracy: test accuracy of the mlp/epoch training after N epochs,
// lamina or libtorch (one per run, so `/usr/bin/time -v` gives each one's
// peak RSS). Built only with -DLAMINA_BENCH_PEERS=ON and libtorch found.
//
//   bench_mlp_accuracy lamina|torch [--epochs N] [--threads T] [--seed S] [--data DIR]
//
// Same model and training as bench/compare's mlp/epoch (mlp_training.h,
// peers/torch_mlp.h): 784-256-128-10 ReLU, softmax cross-entropy, Adam(1e-3),
// batch 128, shuffled, no Dropout. lamina keeps the pixels as uint8 in a
// Dataset and converts per batch; the libtorch program streams the gzip IDX
// files straight into float32 tensors (no uint8 copy kept), as a libtorch user
// would hold them. Threads: lamina T; libtorch ATen 1 + OpenBLAS T (its best
// MLP split). Prints one line:
//   lib=L epochs=N threads=T seed=S test_accuracy=0.XXXX seconds_per_epoch=S total_seconds=S

#include <ATen/Parallel.h>
#include <torch/torch.h>
#include <zlib.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <vector>

#include "compare_registry.h"
#include "lamina/core/threading.h"
#include "mlp_training.h"
#include "peers/torch_mlp.h"

namespace {

using Clock = std::chrono::steady_clock;
namespace mlp = lamina::bench::mlp;

std::uint32_t read_be32(gzFile f) {
  unsigned char b[4];
  if (gzread(f, b, 4) != 4) throw std::runtime_error("truncated IDX header");
  return (std::uint32_t{b[0]} << 24) | (std::uint32_t{b[1]} << 16) | (std::uint32_t{b[2]} << 8) | b[3];
}

/// Images as (N, rows*cols) float32 / 255, or labels as (N,) int64.
torch::Tensor read_idx_gz(const std::string& path, bool images) {
  gzFile f = gzopen(path.c_str(), "rb");
  if (!f) throw std::runtime_error("cannot open " + path);
  const std::uint32_t magic = read_be32(f);
  if (magic != (images ? 0x803u : 0x801u)) throw std::runtime_error("bad IDX magic in " + path);
  const std::int64_t n = read_be32(f);
  std::int64_t row = 1;
  if (images) row = std::int64_t{read_be32(f)} * read_be32(f);
  torch::Tensor out = torch::empty({n, row}, images ? torch::kFloat : torch::kLong);
  std::vector<unsigned char> buf(1 << 16);
  std::int64_t done = 0, total = n * row;
  while (done < total) {
    const int want = static_cast<int>(std::min<std::int64_t>(buf.size(), total - done));
    if (gzread(f, buf.data(), want) != want) throw std::runtime_error("truncated " + path);
    if (images) {
      float* p = out.data_ptr<float>() + done;
      for (int i = 0; i < want; ++i) p[i] = buf[i] * (1.0f / 255);
    } else {
      std::int64_t* p = out.data_ptr<std::int64_t>() + done;
      for (int i = 0; i < want; ++i) p[i] = buf[i];
    }
    done += want;
  }
  gzclose(f);
  return images ? out : out.view({n});
}

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: bench_mlp_accuracy lamina|torch [--epochs N] [--threads T] [--seed S] [--data DIR]\n");
    return 2;
  }
  const std::string lib = argv[1];
  int epochs = 5, threads = 1;
  std::uint64_t seed = 42;
  std::string dir = mlp::kFashionMnistDir;
  for (int i = 2; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--epochs") epochs = std::atoi(argv[i + 1]);
    else if (flag == "--threads") threads = std::atoi(argv[i + 1]);
    else if (flag == "--seed") seed = std::strtoull(argv[i + 1], nullptr, 10);
    else if (flag == "--data") dir = argv[i + 1];
  }
  try {
    const auto t0 = Clock::now();
    double accuracy = 0, train_seconds = 0;
    if (lib == "lamina") {
      lamina::set_num_threads(threads);
      const lamina::data::MnistData m = lamina::data::load_mnist(dir);
      mlp::LaminaTrainer trainer(m, seed);
      const auto t1 = Clock::now();
      for (int e = 0; e < epochs; ++e) trainer.run_epoch();
      train_seconds = seconds_since(t1);
      accuracy = trainer.test_accuracy(m);
    } else if (lib == "torch") {
      at::set_num_threads(1);
      lamina::bench::set_openblas_threads(threads);
      const torch::Tensor x = read_idx_gz(dir + "/train-images-idx3-ubyte.gz", true);
      const torch::Tensor y = read_idx_gz(dir + "/train-labels-idx1-ubyte.gz", false);
      const torch::Tensor xt = read_idx_gz(dir + "/t10k-images-idx3-ubyte.gz", true);
      const torch::Tensor yt = read_idx_gz(dir + "/t10k-labels-idx1-ubyte.gz", false);
      mlp::TorchTrainer trainer(x, y, seed);
      const auto t1 = Clock::now();
      for (int e = 0; e < epochs; ++e) trainer.run_epoch();
      train_seconds = seconds_since(t1);
      accuracy = trainer.test_accuracy(xt, yt);
    } else {
      std::fprintf(stderr, "bench_mlp_accuracy: unknown library '%s' (lamina or torch)\n", lib.c_str());
      return 2;
    }
    std::printf("lib=%s epochs=%d threads=%d seed=%llu test_accuracy=%.4f seconds_per_epoch=%.3f total_seconds=%.1f\n",
                lib.c_str(), epochs, threads, static_cast<unsigned long long>(seed), accuracy, train_seconds / epochs, seconds_since(t0));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_mlp_accuracy: %s\n", e.what());
    return 1;
  }
  return 0;
}
