#pragma once
/// Counter-based random numbers (Philox4x32-10). The i-th number of a stream
/// depends only on (seed, position), never on the thread count, so random
/// tensors are reproducible and can be filled in parallel.

#include <array>
#include <cstdint>
#include <utility>

#include "lamina/core/tensor.h"

namespace lamina {

/// A random stream: a seed plus the number of 128-bit blocks already used.
/// Its state (seed, offset) can be saved and restored exactly.
class Generator {
 public:
  explicit Generator(std::uint64_t seed = 0) : seed_(seed) {}
  std::uint64_t seed() const { return seed_; }
  std::uint64_t offset() const { return offset_; }
  void set_state(std::uint64_t seed, std::uint64_t offset) {
    seed_ = seed;
    offset_ = offset;
  }
  /// Reserves `blocks` 128-bit counter blocks; returns the first one.
  std::uint64_t advance(std::uint64_t blocks) {
    auto first = offset_;
    offset_ += blocks;
    return first;
  }

 private:
  std::uint64_t seed_;
  std::uint64_t offset_ = 0;
};

/// Uniform values in [low, high).
Tensor uniform(const Shape& shape, double low, double high, Generator& gen, DType dtype = DType::float32);
Tensor uniform(const Shape& shape, double low, double high, std::uint64_t seed, DType dtype = DType::float32);
/// Normal values N(mean, stddev^2).
Tensor normal(const Shape& shape, double mean, double stddev, Generator& gen, DType dtype = DType::float32);
Tensor normal(const Shape& shape, double mean, double stddev, std::uint64_t seed, DType dtype = DType::float32);
/// Bool tensor, each element true with probability p.
Tensor bernoulli(const Shape& shape, double p, Generator& gen);

/// Seeds the global seed sequence used by unseeded initializers, dropout and
/// shuffling, making a whole program reproducible. Thread-safe.
void set_random_seed(std::uint64_t seed);
/// The next seed of the global sequence (a function of the global seed and
/// how many seeds were drawn since it was set).
std::uint64_t next_random_seed();
/// The global seed sequence's state: (global seed, seeds drawn since it was
/// set). Restoring it with set_random_seed_state makes next_random_seed()
/// continue exactly where it was (checkpoints).
std::pair<std::uint64_t, std::uint64_t> random_seed_state();
void set_random_seed_state(std::uint64_t seed, std::uint64_t counter);

namespace detail {
/// One Philox4x32-10 block: four 32-bit random words for (counter, key).
std::array<std::uint32_t, 4> philox4x32(std::uint64_t counter, std::uint64_t key);
}  // namespace detail

}  // namespace lamina
