// Helper of kill_during_save.sh: `save PATH [N]` saves a model to PATH N times
// (forever without N), alternating between two weight states; `check PATH`
// exits 0 when PATH loads and holds one of those two states.
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <string>

#include "lamina/lamina.h"
#include "lamina/serialization/saving.h"

using namespace lamina;

namespace {

std::shared_ptr<Sequential> model_with(int state) {
  set_random_seed(100 + state);
  auto m = std::make_shared<Sequential>(std::vector<std::shared_ptr<Layer>>{
      std::make_shared<layers::Dense>(layers::DenseOptions{.units = 256}, LayerOptions{.name = "hidden"}),
      std::make_shared<layers::Dense>(layers::DenseOptions{.units = 10}, LayerOptions{.name = "out"})},
      LayerOptions{.name = "mlp"});
  m->build_for({1, 784});
  (*m)(zeros({1, 784}));
  m->compile("adam", "mse");
  return m;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: kill_save_helper save|check PATH [N]\n");
    return 2;
  }
  const std::string mode = argv[1], path = argv[2];
  try {
    if (mode == "save") {
      const long n = argc > 3 ? std::atol(argv[3]) : -1;
      auto a = model_with(0), b = model_with(1);
      for (long i = 0; n < 0 || i < n; ++i) save_model(i % 2 ? *b : *a, path);
      return 0;
    }
    if (mode == "check") {
      auto m = load_model(path);
      const std::uint64_t h = weights_hash(*m);
      if (h == weights_hash(*model_with(0)) || h == weights_hash(*model_with(1))) return 0;
      std::fprintf(stderr, "kill_save_helper: %s loads but holds unknown weights (hash %016" PRIx64 ")\n", path.c_str(), h);
      return 1;
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "kill_save_helper: %s\n", e.what());
    return 1;
  }
  return 2;
}
