// lamina-inspect FILE [--hash]
//
// Verifies every checksum of a lamina model or weights file (FORMAT.md) and
// prints the model summary, each weight's dtype, shape and statistics, the
// compile config, the optimizer and its state, the random states and the
// training position. With --hash, prints only the 64-bit FNV-1a hash of all
// weights (see weights_hash in saving.h) as 16 hex digits.
// Exit status: 0 on success, 1 for a bad or unreadable file, 2 for bad usage.

#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <string>

#include "lamina/core/error.h"
#include "lamina/serialization/json.h"
#include "lamina/serialization/saving.h"

namespace {

using namespace lamina;

struct Stats {
  double mean = 0, std = 0, min = 0, max = 0;
};

Stats stats_of(const Tensor& value) {
  const Tensor t = value.contiguous();
  const std::int64_t n = t.numel();
  Stats s;
  if (n == 0) return s;
  double sum = 0, sq = 0, lo = std::numeric_limits<double>::infinity(), hi = -lo;
  auto run = [&](const auto* p) {
    for (std::int64_t i = 0; i < n; ++i) {
      const double x = static_cast<double>(p[i]);
      sum += x;
      lo = std::min(lo, x);
      hi = std::max(hi, x);
    }
    const double mean = sum / static_cast<double>(n);
    for (std::int64_t i = 0; i < n; ++i) {
      const double d = static_cast<double>(p[i]) - mean;
      sq += d * d;
    }
  };
  const void* raw = t.raw_data();
  switch (t.dtype()) {
    case DType::float32: run(static_cast<const float*>(raw)); break;
    case DType::float64: run(static_cast<const double*>(raw)); break;
    case DType::int32: run(static_cast<const std::int32_t*>(raw)); break;
    case DType::int64: run(static_cast<const std::int64_t*>(raw)); break;
    case DType::uint8:
    case DType::bool_: run(static_cast<const std::uint8_t*>(raw)); break;
  }
  s.mean = sum / static_cast<double>(n);
  s.std = std::sqrt(sq / static_cast<double>(n));
  s.min = lo;
  s.max = hi;
  return s;
}

void print_tensors(const std::vector<TensorRecord>& recs) {
  std::printf("  %-40s %-8s %-16s %12s %12s %12s %12s\n", "name", "dtype", "shape", "mean", "std", "min", "max");
  for (const auto& r : recs) {
    const Stats s = stats_of(r.value);
    std::printf("  %-40s %-8s %-16s %12.5g %12.5g %12.5g %12.5g\n", r.name.c_str(),
                std::string(dtype_name(r.value.dtype())).c_str(), r.value.shape().str().c_str(), s.mean, s.std, s.min,
                s.max);
  }
}

int usage() {
  std::fprintf(stderr, "usage: lamina-inspect FILE [--hash]\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  std::string file;
  bool hash_only = false;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--hash") == 0) hash_only = true;
    else if (std::strcmp(argv[i], "-h") == 0 || std::strcmp(argv[i], "--help") == 0) return usage(), 0;
    else if (file.empty()) file = argv[i];
    else return usage();
  }
  if (file.empty()) return usage();
  try {
    const auto bytes = read_file_bytes(file);
    const ModelFile f = parse_model_file(bytes, file);
    if (hash_only) {
      std::printf("%016" PRIx64 "\n", weights_hash(f.weights));
      return 0;
    }
    std::printf("File: %s (%zu bytes)\n", file.c_str(), bytes.size());
    std::printf("Format version %u, %s file; all %zu section checksums OK\n", f.version,
                f.kind == FileKind::model ? "model" : "weights", f.sections.size());
    std::printf("\nSections:\n  %-6s %12s %12s %10s\n", "tag", "offset", "length", "crc32");
    for (const auto& s : f.sections)
      std::printf("  %-6s %12" PRIu64 " %12" PRIu64 "   %08x OK\n", s.tag.c_str(), s.offset, s.length, s.crc32);

    if (f.architecture) {
      std::printf("\nArchitecture:\n");
      bool summarized = false;
      try {
        auto layer = model_from_config(*f.architecture);
        if (auto* m = dynamic_cast<Model*>(layer.get())) {
          std::printf("%s", m->summary().c_str());
          summarized = true;
        }
      } catch (const Error& e) {
        std::printf("  (cannot build the model here: %s)\n", e.what());
      }
      if (!summarized) std::printf("%s\n", to_json_pretty(*f.architecture).c_str());
    }

    std::int64_t total = 0;
    for (const auto& w : f.weights) total += w.value.numel();
    std::printf("\nWeights (%zu tensors, %" PRId64 " values):\n", f.weights.size(), total);
    print_tensors(f.weights);
    std::printf("  hash (FNV-1a 64): %016" PRIx64 "\n", weights_hash(f.weights));

    if (f.compile_config) std::printf("\nCompile config: %s\n", to_json(*f.compile_config).c_str());
    if (f.optimizer_config) {
      std::printf("\nOptimizer: %s\n", to_json(*f.optimizer_config).c_str());
      for (const auto& r : f.optimizer_state)
        if (r.name == "iterations" && r.value.dtype() == DType::int64)
          std::printf("  iterations: %" PRId64 "\n", *static_cast<const std::int64_t*>(r.value.raw_data()));
      std::printf("  state (%zu tensors):\n", f.optimizer_state.size());
      print_tensors(f.optimizer_state);
    } else if (f.kind == FileKind::model) {
      std::printf("\nOptimizer: none (not compiled)\n");
    }
    if (f.global_seed_state) {
      std::printf("\nRandom state: global seed %" PRIu64 ", %" PRIu64 " seeds drawn\n", f.global_seed_state->first,
                  f.global_seed_state->second);
      for (const auto& d : f.dropout_states)
        std::printf("  %s: generator seed %" PRIu64 ", offset %" PRIu64 "\n", d.path.c_str(), d.seed, d.offset);
    }
    if (f.training_position) {
      const auto& p = *f.training_position;
      std::printf("\nTraining position: epoch %" PRId64 ", step %" PRId64 ", shuffle seed ", p.epoch, p.step);
      if (p.shuffle_seed) std::printf("%" PRIu64 "\n", *p.shuffle_seed);
      else std::printf("none\n");
    } else if (f.kind == FileKind::model) {
      std::printf("\nTraining position: none\n");
    }
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "lamina-inspect: %s\n", e.what());
    return 1;
  }
}
