// Special values through the kernels: NaN propagates through relu, clip,
// maximum/minimum and the max/min reductions (as in NumPy, TensorFlow and
// PyTorch), wherever it sits in a vector or tail and on every ISA; integer
// arithmetic wraps instead of overflowing; integer sums are int64.
#include <cmath>
#include <cstdint>
#include <limits>

#include "test_util.h"

namespace lamina {
namespace {

using testing::for_each_isa;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

class SpecialValues : public ::testing::TestWithParam<DType> {};

// Values in [-2, 2) with a NaN at `at` (or none when at < 0).
Tensor with_nan(std::int64_t n, std::int64_t at, DType dt) {
  std::vector<double> v(static_cast<std::size_t>(n));
  for (std::int64_t i = 0; i < n; ++i) v[i] = static_cast<double>((i * 37) % 64) / 16.0 - 2.0;
  if (at >= 0) v[at] = kNaN;
  return Tensor::from(v, {n}).to(dt);
}

TEST_P(SpecialValues, ElementwiseOpsKeepNaNAtEveryLanePosition) {
  const DType dt = GetParam();
  for (std::int64_t n : {1, 3, 7, 8, 9, 16, 17, 33}) {
    for (std::int64_t at = 0; at < n; at += (n > 9 ? 5 : 1)) {
      SCOPED_TRACE("n=" + std::to_string(n) + " NaN at " + std::to_string(at));
      const Tensor x = with_nan(n, at, dt);
      const Tensor one = full({n}, 1.0, dt);
      for_each_isa([&] {
        const std::vector<std::pair<const char*, Tensor>> results = {
            {"relu", core::relu(x)},           {"clip", core::clip(x, -1, 1)},
            {"maximum(x, 1)", core::maximum(x, one)}, {"maximum(1, x)", core::maximum(one, x)},
            {"minimum(x, 1)", core::minimum(x, one)}, {"minimum(1, x)", core::minimum(one, x)},
            {"maximum(x, scalar)", core::maximum(x, 0.5)}, {"leaky_relu", core::leaky_relu(x, 0.2)},
            {"softplus", core::softplus(x)},   {"elu", core::elu(x, 1.0)},
        };
        for (const auto& [name, y] : results) {
          SCOPED_TRACE(name);
          auto v = y.to_vector<double>();
          for (std::int64_t i = 0; i < n; ++i) EXPECT_EQ(std::isnan(v[i]), i == at) << "element " << i;
        }
      });
    }
  }
}

TEST_P(SpecialValues, InfinitiesThroughReluClipAndMaximum) {
  const DType dt = GetParam();
  const Tensor x = Tensor::from({kInf, -kInf, 0.5, -0.5}).to(dt);
  for_each_isa([&] {
    EXPECT_EQ(core::relu(x).to_vector<double>(), (std::vector<double>{kInf, 0, 0.5, 0}));
    EXPECT_EQ(core::clip(x, -1, 1).to_vector<double>(), (std::vector<double>{1, -1, 0.5, -0.5}));
    EXPECT_EQ(core::maximum(x, 0.0).to_vector<double>(), (std::vector<double>{kInf, 0, 0.5, 0}));
    EXPECT_EQ(core::minimum(x, 0.0).to_vector<double>(), (std::vector<double>{0, -kInf, 0, -0.5}));
  });
}

TEST_P(SpecialValues, MaxAndMinReductionsAreNaNWhenAnyElementIs) {
  const DType dt = GetParam();
  // Lengths through the SIMD tails, several vectors, and the multi-block
  // parallel path of a whole-tensor reduction.
  for (std::int64_t n : {1, 5, 8, 17, 1023, 4099, 100003}) {
    for (std::int64_t at : {std::int64_t{0}, n / 2, n - 1}) {
      SCOPED_TRACE("n=" + std::to_string(n) + " NaN at " + std::to_string(at));
      const Tensor x = with_nan(n, at, dt);
      for_each_isa([&] {
        EXPECT_TRUE(std::isnan(core::max(x).item<double>()));
        EXPECT_TRUE(std::isnan(core::min(x).item<double>()));
        EXPECT_EQ(core::argmax(x, 0).item<std::int64_t>(), at);  // the first NaN, as NumPy
        EXPECT_EQ(core::argmin(x, 0).item<std::int64_t>(), at);
      });
      if (n > 1) {
        const Tensor clean = with_nan(n, -1, dt);
        EXPECT_FALSE(std::isnan(core::max(clean).item<double>()));
      }
    }
  }
  // Along an axis, rows and columns: only the rows/columns holding a NaN.
  Tensor m = with_nan(6 * 11, 3 * 11 + 4, dt).reshape({6, 11});
  for_each_isa([&] {
    auto rows = core::max(m, {1}).to_vector<double>();
    for (int r = 0; r < 6; ++r) EXPECT_EQ(std::isnan(rows[r]), r == 3) << "row " << r;
    auto cols = core::min(m, {0}).to_vector<double>();
    for (int c = 0; c < 11; ++c) EXPECT_EQ(std::isnan(cols[c]), c == 4) << "column " << c;
  });
  // Two NaNs: argmax gives the first.
  Tensor two = Tensor::from({1.0, kNaN, 5.0, kNaN}).to(dt);
  EXPECT_EQ(core::argmax(two, 0).item<std::int64_t>(), 1);
}

INSTANTIATE_TEST_SUITE_P(Floats, SpecialValues, ::testing::Values(DType::float32, DType::float64),
                         [](const auto& info) { return std::string(dtype_name(info.param)); });

TEST(IntegerArithmetic, WrapsLikeNumPyInsteadOfOverflowing) {
  constexpr auto kMax32 = std::numeric_limits<std::int32_t>::max();
  constexpr auto kMin32 = std::numeric_limits<std::int32_t>::min();
  const Tensor a = Tensor::from(std::vector<std::int32_t>{kMax32, kMin32, 65536, -7}, {4});
  const Tensor one = Tensor::from(std::vector<std::int32_t>{1, 1, 1, 1}, {4});
  EXPECT_EQ(core::add(a, one).to_vector<std::int32_t>(), (std::vector<std::int32_t>{kMin32, kMin32 + 1, 65537, -6}));
  EXPECT_EQ(core::sub(a, one).to_vector<std::int32_t>(), (std::vector<std::int32_t>{kMax32 - 1, kMax32, 65535, -8}));
  EXPECT_EQ(core::mul(a, a).to_vector<std::int32_t>(), (std::vector<std::int32_t>{1, 0, 0, 49}));
  EXPECT_EQ(core::neg(a).to_vector<std::int32_t>(), (std::vector<std::int32_t>{-kMax32, kMin32, -65536, 7}));
  EXPECT_EQ(core::abs(a).to_vector<std::int32_t>(), (std::vector<std::int32_t>{kMax32, kMin32, 65536, 7}));
  EXPECT_EQ(core::square(a).to_vector<std::int32_t>(), (std::vector<std::int32_t>{1, 0, 0, 49}));
  constexpr auto kMax64 = std::numeric_limits<std::int64_t>::max();
  const Tensor b = Tensor::from(std::vector<std::int64_t>{kMax64, 3}, {2});
  EXPECT_EQ(core::add(b, b).to_vector<std::int64_t>(), (std::vector<std::int64_t>{-2, 6}));
  EXPECT_EQ(core::sum(b).item<std::int64_t>(), std::numeric_limits<std::int64_t>::min() + 2);
}

TEST(IntegerArithmetic, ClipWithBoundsBeyondTheTypeOrBetweenIntegers) {
  const Tensor a = Tensor::from(std::vector<std::int32_t>{-5, 0, 1, 2, 9}, {5});
  EXPECT_EQ(core::clip(a, -1e20, 1e20).to_vector<std::int32_t>(), (std::vector<std::int32_t>{-5, 0, 1, 2, 9}));
  EXPECT_EQ(core::clip(a, 0.5, 2.5).to_vector<std::int32_t>(), (std::vector<std::int32_t>{1, 1, 1, 2, 2}));
  EXPECT_EQ(core::clip(a, 1e10, 2e10).to_vector<std::int32_t>(),
            std::vector<std::int32_t>(5, std::numeric_limits<std::int32_t>::max()));
  const Tensor b = Tensor::from(std::vector<std::int64_t>{-3, 4}, {2});
  EXPECT_EQ(core::clip(b, -1e30, -1e29).to_vector<std::int64_t>(),
            std::vector<std::int64_t>(2, std::numeric_limits<std::int64_t>::min()));
}

TEST(IntegerSums, AreInt64AndDoNotWrapAtTheInputType) {
  // 300 uint8 ones are 300, not 44.
  const Tensor pixels = full({300}, 1.0, DType::uint8);
  Tensor s = core::sum(pixels);
  EXPECT_EQ(s.dtype(), DType::int64);
  EXPECT_EQ(s.item<std::int64_t>(), 300);
  // 255 * 1000 along an axis, keepdims.
  Tensor rows = core::sum(full({2, 1000}, 255.0, DType::uint8), {1}, true);
  EXPECT_EQ(rows.dtype(), DType::int64);
  EXPECT_EQ(rows.shape(), (Shape{2, 1}));
  EXPECT_EQ(rows.to_vector<std::int64_t>(), (std::vector<std::int64_t>{255000, 255000}));
  // int32 sums past 2^31.
  Tensor big = core::sum(full({3}, 2e9, DType::int32));
  EXPECT_EQ(big.dtype(), DType::int64);
  EXPECT_EQ(big.item<std::int64_t>(), 6000000000);
  // bool counts.
  Tensor flags = core::greater(Tensor::from({1.0, -1.0, 2.0}), 0.0);
  EXPECT_EQ(core::sum(flags).dtype(), DType::int64);
  EXPECT_EQ(core::sum(flags).item<std::int64_t>(), 2);
  // Max and min keep the input's dtype.
  EXPECT_EQ(core::max(pixels).dtype(), DType::uint8);
}

}  // namespace
}  // namespace lamina
