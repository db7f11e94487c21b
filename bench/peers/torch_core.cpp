// libtorch peer rows for the core cases of bench/compare (issue 2). Same
// shapes, float32, allocating ops (at::relu etc., which torch::relu forwards
// to), no autograd recording.

#include <cstdint>
#include <string>

#include "torch_common.h"

namespace lamina::bench {
namespace {

using torch_peer::input;
using torch_peer::torch_time;

void* volatile g_sink = nullptr;

void register_torch_core() {
  for (std::int64_t n : {std::int64_t{1}, std::int64_t{10'000'000}}) {
    const std::string suffix = n == 1 ? "/1" : "/1e7";
    register_peer("relu" + suffix, "libtorch", [n, suffix](int threads) {
      at::Tensor x = input({n}, 1);
      return torch_time("relu" + suffix, threads, [&] {
        at::Tensor y = at::relu(x);
        g_sink = y.data_ptr();
      });
    });
    register_peer("add" + suffix, "libtorch", [n, suffix](int threads) {
      at::Tensor a = input({n}, 1);
      at::Tensor b = input({n}, 2);
      return torch_time("add" + suffix, threads, [&] {
        at::Tensor y = at::add(a, b);
        g_sink = y.data_ptr();
      });
    });
    register_peer("sum" + suffix, "libtorch", [n, suffix](int threads) {
      at::Tensor x = input({n}, 1);
      return torch_time("sum" + suffix, threads, [&] {
        at::Tensor y = at::sum(x);
        g_sink = y.data_ptr();
      });
    });
  }
  for (auto [rows, cols] : {std::pair<std::int64_t, std::int64_t>{128, 10}, {4096, 1000}}) {
    const std::string name = "softmax/" + std::to_string(rows) + "x" + std::to_string(cols);
    register_peer(name, "libtorch", [rows, cols, name](int threads) {
      at::Tensor x = input({rows, cols}, 3);
      return torch_time(name, threads, [&] {
        at::Tensor y = at::softmax(x, -1);
        g_sink = y.data_ptr();
      });
    });
  }
}

const Registrar registrar(register_torch_core);

}  // namespace
}  // namespace lamina::bench
