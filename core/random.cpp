#include "lamina/core/random.h"

#include <atomic>
#include <cmath>

#include "lamina/core/detail/parallel.h"

namespace lamina {

namespace detail {

std::array<std::uint32_t, 4> philox4x32(std::uint64_t counter, std::uint64_t key) {
  // Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3").
  constexpr std::uint32_t kM0 = 0xD2511F53u, kM1 = 0xCD9E8D57u;
  constexpr std::uint32_t kW0 = 0x9E3779B9u, kW1 = 0xBB67AE85u;
  std::uint32_t x0 = static_cast<std::uint32_t>(counter), x1 = static_cast<std::uint32_t>(counter >> 32);
  std::uint32_t x2 = 0, x3 = 0;
  std::uint32_t k0 = static_cast<std::uint32_t>(key), k1 = static_cast<std::uint32_t>(key >> 32);
  for (int round = 0; round < 10; ++round) {
    std::uint64_t p0 = static_cast<std::uint64_t>(kM0) * x0;
    std::uint64_t p1 = static_cast<std::uint64_t>(kM1) * x2;
    std::uint32_t y0 = static_cast<std::uint32_t>(p1 >> 32) ^ x1 ^ k0;
    std::uint32_t y1 = static_cast<std::uint32_t>(p1);
    std::uint32_t y2 = static_cast<std::uint32_t>(p0 >> 32) ^ x3 ^ k1;
    std::uint32_t y3 = static_cast<std::uint32_t>(p0);
    x0 = y0, x1 = y1, x2 = y2, x3 = y3;
    k0 += kW0;
    k1 += kW1;
  }
  return {x0, x1, x2, x3};
}

}  // namespace detail

namespace {

// Uniform in (0, 1): never exactly 0 (safe for log) nor 1.
inline float unit_float(std::uint32_t x) { return (static_cast<float>(x >> 8) + 0.5f) * 0x1p-24f; }
inline double unit_double(std::uint32_t hi, std::uint32_t lo) {
  std::uint64_t bits = ((static_cast<std::uint64_t>(hi) << 32) | lo) >> 11;
  return (static_cast<double>(bits) + 0.5) * 0x1p-53;
}

// Fills n values; block b of the stream yields `per_block` values through
// emit(block_words, out_pointer, count).
template <class T, class Emit>
Tensor fill_blocks(const Shape& shape, DType dtype, Generator& gen, int per_block, Emit emit) {
  Tensor t = Tensor::empty(shape, dtype);
  const std::int64_t n = t.numel();
  const std::int64_t blocks = (n + per_block - 1) / per_block;
  const std::uint64_t first = gen.advance(static_cast<std::uint64_t>(blocks));
  const std::uint64_t key = gen.seed();
  T* out = static_cast<T*>(t.raw_data());
  detail::parallel_for(blocks, 4096, [&](std::int64_t b, std::int64_t e) {
    for (std::int64_t blk = b; blk < e; ++blk) {
      auto words = detail::philox4x32(first + static_cast<std::uint64_t>(blk), key);
      std::int64_t start = blk * per_block;
      emit(words, out + start, static_cast<int>(std::min<std::int64_t>(per_block, n - start)));
    }
  });
  return t;
}

void check_float(DType dtype, const char* op) {
  LAMINA_CHECK(is_floating(dtype), DTypeError, "[", op, "] expected a float dtype, got ", dtype);
}

}  // namespace

Tensor uniform(const Shape& shape, double low, double high, Generator& gen, DType dtype) {
  check_float(dtype, "uniform");
  LAMINA_CHECK(low <= high, ValueError, "[uniform] expected low <= high, got low=", low, " high=", high);
  if (dtype == DType::float32) {
    const float lo = static_cast<float>(low), span = static_cast<float>(high - low);
    return fill_blocks<float>(shape, dtype, gen, 4, [=](const auto& w, float* out, int count) {
      for (int i = 0; i < count; ++i) out[i] = lo + span * unit_float(w[i]);
    });
  }
  return fill_blocks<double>(shape, dtype, gen, 2, [=](const auto& w, double* out, int count) {
    for (int i = 0; i < count; ++i) out[i] = low + (high - low) * unit_double(w[2 * i], w[2 * i + 1]);
  });
}

Tensor normal(const Shape& shape, double mean, double stddev, Generator& gen, DType dtype) {
  check_float(dtype, "normal");
  LAMINA_CHECK(stddev >= 0, ValueError, "[normal] expected stddev >= 0, got ", stddev);
  constexpr double kTwoPi = 6.283185307179586;
  if (dtype == DType::float32) {
    return fill_blocks<float>(shape, dtype, gen, 4, [=](const auto& w, float* out, int count) {
      // Box-Muller in double for accuracy of the tails; two normals per pair of words.
      double z[4];
      for (int p = 0; p < 2; ++p) {
        double u1 = unit_float(w[2 * p]), u2 = unit_float(w[2 * p + 1]);
        double r = std::sqrt(-2.0 * std::log(u1));
        z[2 * p] = r * std::cos(kTwoPi * u2);
        z[2 * p + 1] = r * std::sin(kTwoPi * u2);
      }
      for (int i = 0; i < count; ++i) out[i] = static_cast<float>(mean + stddev * z[i]);
    });
  }
  return fill_blocks<double>(shape, dtype, gen, 2, [=](const auto& w, double* out, int count) {
    double u1 = unit_double(w[0], w[1]), u2 = unit_double(w[2], w[3]);
    double r = std::sqrt(-2.0 * std::log(u1));
    double z[2] = {r * std::cos(kTwoPi * u2), r * std::sin(kTwoPi * u2)};
    for (int i = 0; i < count; ++i) out[i] = mean + stddev * z[i];
  });
}

namespace {
std::atomic<std::uint64_t> g_global_seed{0};
std::atomic<std::uint64_t> g_seed_counter{0};
}  // namespace

void set_random_seed(std::uint64_t seed) {
  g_global_seed.store(seed);
  g_seed_counter.store(0);
}

std::pair<std::uint64_t, std::uint64_t> random_seed_state() {
  return {g_global_seed.load(), g_seed_counter.load()};
}

void set_random_seed_state(std::uint64_t seed, std::uint64_t counter) {
  g_global_seed.store(seed);
  g_seed_counter.store(counter);
}

std::uint64_t next_random_seed() {
  const std::uint64_t n = g_seed_counter.fetch_add(1);
  auto w = detail::philox4x32(n, g_global_seed.load() ^ 0x5eed5eed5eed5eedull);
  return (static_cast<std::uint64_t>(w[0]) << 32) | w[1];
}

Tensor uniform(const Shape& shape, double low, double high, std::uint64_t seed, DType dtype) {
  Generator gen(seed);
  return uniform(shape, low, high, gen, dtype);
}

Tensor normal(const Shape& shape, double mean, double stddev, std::uint64_t seed, DType dtype) {
  Generator gen(seed);
  return normal(shape, mean, stddev, gen, dtype);
}

Tensor bernoulli(const Shape& shape, double p, Generator& gen) {
  LAMINA_CHECK(p >= 0 && p <= 1, ValueError, "[bernoulli] expected 0 <= p <= 1, got ", p);
  // Compare 32-bit words against p * 2^32 (exact for p = 0 and p = 1).
  const double threshold = p * 4294967296.0;
  return fill_blocks<std::uint8_t>(shape, DType::bool_, gen, 4, [=](const auto& w, std::uint8_t* out, int count) {
    for (int i = 0; i < count; ++i) out[i] = static_cast<double>(w[i]) < threshold ? 1 : 0;
  });
}

}  // namespace lamina
