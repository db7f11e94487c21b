// libtorch peer rows for the io cases of bench/compare (issue 7):
// torch::save / torch::load of an nn::Sequential equivalent to lamina's
// 784-256-128-10 MLP (Linear, ReLU, Linear, ReLU, Linear; float32). Like
// lamina's rows: a file in the temporary directory, no fsync (torch::save
// never fsyncs). torch::load reads into an already constructed module, as
// libtorch requires; constructing it (its random init) is timed too, since
// lamina's load_model builds its model from the file.

#include <torch/torch.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "torch_common.h"

namespace lamina::bench {
namespace {

using torch_peer::torch_time;

void* volatile g_sink = nullptr;

torch::nn::Sequential torch_mlp() {
  return torch::nn::Sequential(torch::nn::Linear(784, 256), torch::nn::ReLU(), torch::nn::Linear(256, 128),
                               torch::nn::ReLU(), torch::nn::Linear(128, 10));
}

std::string io_path(const char* what) {
  return (std::filesystem::temp_directory_path() /
          ("torch_bench_" + std::string(what) + "_" + std::to_string(::getpid()) + ".pt"))
      .string();
}

void register_torch_io() {
  register_peer("io/save_mlp", "libtorch", [](int threads) {
    torch::manual_seed(1);
    auto m = torch_mlp();
    const std::string path = io_path("save");
    const double ns = torch_time("io/save_mlp", threads, [&] { torch::save(m, path); });
    std::filesystem::remove(path);
    return ns;
  });
  register_peer("io/load_mlp", "libtorch", [](int threads) {
    torch::manual_seed(1);
    const std::string path = io_path("load");
    torch::save(torch_mlp(), path);
    const double ns = torch_time("io/load_mlp", threads, [&] {
      auto m = torch_mlp();
      torch::load(m, path);
      g_sink = m.ptr().get();
    });
    std::filesystem::remove(path);
    return ns;
  });
}

const Registrar registrar(register_torch_io);

}  // namespace
}  // namespace lamina::bench
