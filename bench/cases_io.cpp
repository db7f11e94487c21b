// lamina's rows for the io cases of bench/compare (issue 7): save_model and
// load_model of the 784-256-128-10 MLP (float32, ~0.95 MB of weights, not
// compiled: architecture JSON + weights + random state, like torch::save of
// a module's parameters). Files go to the system temporary directory.
//
// fsync is OFF for this bench only (SaveOptions{.fsync = false}): the save
// still writes a temporary file, checksums every section and renames it over
// the target, but does not wait for the disk. With fsync the time is the
// device's flush latency, which the peer (torch::save) never pays.

#include <filesystem>
#include <string>
#include <unistd.h>

#include "compare_registry.h"
#include "lamina/lamina.h"
#include "lamina/serialization/saving.h"

namespace lamina::bench {
namespace {

void* volatile g_sink = nullptr;

std::shared_ptr<Sequential> mlp() {
  set_random_seed(1);
  auto m = std::make_shared<Sequential>(std::vector<std::shared_ptr<Layer>>{
      std::make_shared<layers::Dense>(layers::DenseOptions{.units = 256, .activation = "relu"}),
      std::make_shared<layers::Dense>(layers::DenseOptions{.units = 128, .activation = "relu"}),
      std::make_shared<layers::Dense>(layers::DenseOptions{.units = 10})});
  m->build_for({1, 784});
  (*m)(zeros({1, 784}));
  return m;
}

std::string io_path(const char* what) {
  return (std::filesystem::temp_directory_path() /
          ("lamina_bench_" + std::string(what) + "_" + std::to_string(::getpid()) + ".lamina"))
      .string();
}

void register_io_cases() {
  register_case("io/save_mlp", [](int) {
    auto m = mlp();
    const std::string path = io_path("save");
    const double ns = time_ns([&] { save_model(*m, path, SaveOptions{.fsync = false}); });
    std::filesystem::remove(path);
    return ns;
  });
  register_case("io/load_mlp", [](int) {
    const std::string path = io_path("load");
    save_model(*mlp(), path, SaveOptions{.fsync = false});
    const double ns = time_ns([&] {
      auto m = load_model(path);
      g_sink = m.get();
    });
    std::filesystem::remove(path);
    return ns;
  });
}

const Registrar registrar(register_io_cases);

}  // namespace
}  // namespace lamina::bench
