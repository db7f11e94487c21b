// Counter-based random numbers: reproducible, thread-count independent,
// statistically sound, streams advance.
#include <cmath>

#include "test_util.h"

namespace lamina {
namespace {

TEST(Random, PhiloxKnownAnswer) {
  // Random123 known-answer test for philox4x32-10 with counter 0 and key 0.
  auto w = detail::philox4x32(0, 0);
  EXPECT_EQ(w[0], 0x6627e8d5u);
  EXPECT_EQ(w[1], 0xe169c58du);
  EXPECT_EQ(w[2], 0xbc57ac4cu);
  EXPECT_EQ(w[3], 0x9b00dbd8u);
}

TEST(Random, SameSeedSameValuesAnyThreadCount) {
  for (DType dt : {DType::float32, DType::float64}) {
    testing::expect_thread_invariant([&] { return uniform({1000003}, -1, 1, 42, dt); });
    testing::expect_thread_invariant([&] { return normal({1000003}, 0, 1, 42, dt); });
    Tensor a = normal({100}, 0, 1, 7, dt), b = normal({100}, 0, 1, 7, dt), c = normal({100}, 0, 1, 8, dt);
    EXPECT_EQ(a.to_vector<double>(), b.to_vector<double>());
    EXPECT_NE(a.to_vector<double>(), c.to_vector<double>());
  }
}

TEST(Random, GeneratorAdvancesAndRestores) {
  Generator g(5);
  Tensor first = uniform({10}, 0, 1, g);
  EXPECT_EQ(g.offset(), 3u);  // ceil(10 / 4) blocks
  Tensor second = uniform({10}, 0, 1, g);
  EXPECT_NE(first.to_vector<float>(), second.to_vector<float>());
  Generator replay(0);
  replay.set_state(5, 3);
  EXPECT_EQ(uniform({10}, 0, 1, replay).to_vector<float>(), second.to_vector<float>());
  // A prefix of a longer draw equals a shorter draw from the same state.
  EXPECT_EQ(uniform({1000}, 0, 1, 9).slice(0, 0, 10).to_vector<float>(), uniform({10}, 0, 1, 9).to_vector<float>());
}

TEST(Random, Statistics) {
  const std::int64_t n = 1 << 20;
  Tensor u = uniform({n}, 2, 4, 1, DType::float64);
  EXPECT_NEAR(core::mean(u).item<double>(), 3.0, 4 * std::sqrt(1.0 / 3 / n));
  EXPECT_GE(core::min(u).item<double>(), 2.0);
  EXPECT_LT(core::max(u).item<double>(), 4.0);
  for (DType dt : {DType::float32, DType::float64}) {
    Tensor z = normal({n}, 1.5, 2.0, 2, dt);
    EXPECT_NEAR(core::mean(z).item<double>(), 1.5, 4 * 2.0 / std::sqrt(n));
    EXPECT_NEAR(std::sqrt(core::var(z).item<double>()), 2.0, 0.01);
  }
  Generator g(3);
  Tensor mask = bernoulli({n}, 0.3, g);
  EXPECT_EQ(mask.dtype(), DType::bool_);
  const double p = static_cast<double>(core::sum(mask).item<std::int64_t>()) / n;
  EXPECT_NEAR(p, 0.3, 4 * std::sqrt(0.3 * 0.7 / n));
  EXPECT_EQ(core::sum(bernoulli({1000}, 0.0, g)).item<std::int64_t>(), 0);
  EXPECT_EQ(core::sum(bernoulli({1000}, 1.0, g)).item<std::int64_t>(), 1000);
}

TEST(Random, BadArguments) {
  EXPECT_THROW(uniform({3}, 1, 0, 1), ValueError);
  EXPECT_THROW(normal({3}, 0, -1, 1), ValueError);
  EXPECT_THROW(uniform({3}, 0, 1, 1, DType::int32), DTypeError);
  Generator g;
  EXPECT_THROW(bernoulli({3}, 1.5, g), ValueError);
}

}  // namespace
}  // namespace lamina
