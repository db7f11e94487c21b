// Reductions and softmax against float64 references over every axis
// combination, keepdims, many lengths, every ISA; 1 vs 2 threads bitwise.
#include <cmath>
#include <limits>

#include "test_util.h"

namespace lamina {
namespace {

using testing::expect_close;

// Reference reduction of x over `axes` (all when empty), with keepdims=false.
std::vector<double> reference_reduce(const Tensor& x, std::vector<int> axes, const std::string& op, int ddof = 0) {
  if (axes.empty())
    for (int d = 0; d < x.ndim(); ++d) axes.push_back(d);
  for (int& a : axes) a = a < 0 ? a + x.ndim() : a;
  auto reduced = [&](int d) { return std::find(axes.begin(), axes.end(), d) != axes.end(); };
  Shape out_shape;
  for (int d = 0; d < x.ndim(); ++d)
    if (!reduced(d)) out_shape.push_back(x.shape()[d]);
  const std::int64_t n_out = out_shape.numel();
  std::vector<std::vector<double>> groups(n_out);
  std::vector<std::int64_t> idx(x.ndim());
  for (std::int64_t flat = 0; flat < x.numel(); ++flat) {
    std::int64_t rem = flat;
    for (int d = x.ndim() - 1; d >= 0; --d) idx[d] = rem % x.shape()[d], rem /= x.shape()[d];
    std::int64_t o = 0;
    for (int d = 0; d < x.ndim(); ++d)
      if (!reduced(d)) o = o * x.shape()[d] + idx[d];
    groups[o].push_back(testing::reference_read(x, idx));
  }
  std::vector<double> out;
  for (auto& g : groups) {
    double s = 0, mx = -INFINITY, mn = INFINITY;
    for (double v : g) s += v, mx = std::max(mx, v), mn = std::min(mn, v);
    const double mean = s / static_cast<double>(g.size());
    double ss = 0;
    for (double v : g) ss += (v - mean) * (v - mean);
    if (op == "sum") out.push_back(s);
    else if (op == "mean") out.push_back(mean);
    else if (op == "max") out.push_back(mx);
    else if (op == "min") out.push_back(mn);
    else out.push_back(ss / static_cast<double>(static_cast<std::int64_t>(g.size()) - ddof));
  }
  return out;
}

const std::vector<std::vector<int>>& axis_sets() {
  static const std::vector<std::vector<int>> v = {{}, {0}, {1}, {2}, {-1}, {0, 1}, {1, 2}, {0, 2}, {0, 1, 2}};
  return v;
}

class ReduceTest : public ::testing::TestWithParam<DType> {};

TEST_P(ReduceTest, EveryAxisCombinationMatchesReference) {
  const DType dt = GetParam();
  const double tol = dt == DType::float32 ? 2e-5 : 1e-11;
  for (Shape shape : {Shape{3, 5, 7}, Shape{1, 17, 1}, Shape{16, 1, 33}, Shape{2, 1023, 3}, Shape{64, 3, 1025}}) {
    Tensor x = uniform(shape, -1, 1, 21, dt);
    for (Tensor view : {x, testing::strided_copy(x)}) {
      for (const auto& axes : axis_sets()) {
        SCOPED_TRACE("shape=" + shape.str() + " axes=" + std::to_string(axes.size()));
        testing::for_each_isa([&] {
          expect_close(core::sum(view, axes), reference_reduce(view, axes, "sum"), tol, tol);
          expect_close(core::mean(view, axes), reference_reduce(view, axes, "mean"), tol, tol);
          expect_close(core::max(view, axes), reference_reduce(view, axes, "max"), 0, 0);
          expect_close(core::min(view, axes), reference_reduce(view, axes, "min"), 0, 0);
          expect_close(core::var(view, axes), reference_reduce(view, axes, "var"), tol, tol);
        });
      }
    }
  }
}

TEST_P(ReduceTest, FullSumOfManyLengths) {
  const DType dt = GetParam();
  for (auto n : testing::lengths()) {
    SCOPED_TRACE(n);
    Tensor x = uniform({n}, 0, 1, 3, dt);
    testing::for_each_isa([&] {
      expect_close(core::sum(x), reference_reduce(x, {}, "sum"), dt == DType::float32 ? 1e-5 : 1e-12, 1e-12);
      if (n > 0) {
        expect_close(core::max(x), reference_reduce(x, {}, "max"), 0, 0);
        expect_close(core::min(x), reference_reduce(x, {}, "min"), 0, 0);
        const double tol = dt == DType::float32 ? 1e-5 : 1e-12;
        expect_close(core::mean(x), reference_reduce(x, {}, "mean"), tol, tol);
        expect_close(core::var(x), reference_reduce(x, {}, "var"), tol * 10, tol);
      }
    });
  }
}

// Long runs are reduced in fixed blocks of 2^14 elements, several blocks per
// pass: whole groups, leftover blocks, and a shorter last block.
TEST_P(ReduceTest, LongRunsInBlocksMatchReference) {
  const DType dt = GetParam();
  constexpr std::int64_t kBlock = std::int64_t{1} << 14;
  for (std::int64_t n : {2 * kBlock, 4 * kBlock, 5 * kBlock - 3, 8 * kBlock, 9 * kBlock + 5, 11 * kBlock + 1}) {
    SCOPED_TRACE(n);
    Tensor x = uniform({n}, -1, 1, 17, dt);
    testing::for_each_isa([&] {
      // A block missed or counted twice moves the sum by ~70 (the mean by ~1e-4).
      expect_close(core::sum(x), reference_reduce(x, {}, "sum"), dt == DType::float32 ? 1e-5 : 1e-12,
                   dt == DType::float32 ? 2e-3 : 1e-9);
      expect_close(core::max(x), reference_reduce(x, {}, "max"), 0, 0);
      expect_close(core::min(x), reference_reduce(x, {}, "min"), 0, 0);
      expect_close(core::mean(x), reference_reduce(x, {}, "mean"), dt == DType::float32 ? 1e-5 : 1e-12,
                   dt == DType::float32 ? 1e-7 : 1e-14);
    });
    testing::expect_thread_invariant([&] { return core::sum(x); });
    testing::expect_thread_invariant([&] { return core::max(x); });
  }
}

TEST_P(ReduceTest, KeepdimsAndShapes) {
  const DType dt = GetParam();
  Tensor x = ones({2, 3, 4}, dt);
  EXPECT_EQ(core::sum(x, {1}, true).shape(), (Shape{2, 1, 4}));
  EXPECT_EQ(core::sum(x, {0, 2}, true).shape(), (Shape{1, 3, 1}));
  EXPECT_EQ(core::sum(x, {0, 2}).shape(), (Shape{3}));
  EXPECT_EQ(core::sum(x).shape(), Shape{});
  EXPECT_EQ(core::sum(x).item<double>(), 24);
  EXPECT_EQ(core::sum(x, {}, true).shape(), (Shape{1, 1, 1}));
  EXPECT_EQ(core::sum(zeros({0, 3}, dt), {0}).to_vector<double>(), (std::vector<double>{0, 0, 0}));
}

TEST_P(ReduceTest, OneAndTwoThreadsBitwiseEqual) {
  const DType dt = GetParam();
  Tensor x = uniform({1000, 1001}, -1, 1, 9, dt);
  Tensor flat = uniform({10000019}, -1, 1, 10, dt);
  testing::expect_thread_invariant([&] { return core::sum(flat); });
  testing::expect_thread_invariant([&] { return core::sum(x, {0}); });
  testing::expect_thread_invariant([&] { return core::sum(x, {1}); });
  testing::expect_thread_invariant([&] { return core::var(x, {0}); });
  testing::expect_thread_invariant([&] { return core::max(x, {1}); });
  testing::expect_thread_invariant([&] { return core::argmax(x, 1); });
  testing::expect_thread_invariant([&] { return core::softmax(x, 1); });
  testing::expect_thread_invariant([&] { return core::log_softmax(x, 0); });
}

TEST_P(ReduceTest, ArgmaxArgmin) {
  const DType dt = GetParam();
  Tensor x = Tensor::from({3., 9., 9., -1., 0., 5.}, {2, 3}).to(dt);
  EXPECT_EQ(core::argmax(x, 1).to_vector<std::int64_t>(), (std::vector<std::int64_t>{1, 2}));  // first on ties
  EXPECT_EQ(core::argmin(x, 1).to_vector<std::int64_t>(), (std::vector<std::int64_t>{0, 0}));
  EXPECT_EQ(core::argmax(x, 0).to_vector<std::int64_t>(), (std::vector<std::int64_t>{0, 0, 0}));
  EXPECT_EQ(core::argmax(x, 0, true).shape(), (Shape{1, 3}));
  EXPECT_EQ(core::argmax(x, -1).dtype(), DType::int64);
  // Every axis of 3-D shapes (ties included: values on a coarse grid),
  // contiguous and transposed, 1 and 2 threads, against a plain loop.
  for (Shape shape : {Shape{1, 7, 1}, Shape{3, 17, 5}, Shape{2, 1023, 3}, Shape{5, 4, 4099}}) {
    Tensor grid = core::mul(uniform(shape, 0, 8, 33, DType::float64).to(DType::int32).to(DType::float64), 0.25).to(dt);
    for (Tensor view : {grid, testing::strided_copy(grid)}) {
      for (int axis = 0; axis < 3; ++axis) {
        SCOPED_TRACE("shape=" + shape.str() + " axis=" + std::to_string(axis));
        std::vector<std::int64_t> want_max, want_min;
        Shape out = shape;
        out[axis] = 1;
        std::vector<std::int64_t> idx(3);
        for (std::int64_t o = 0; o < out.numel(); ++o) {
          idx = {o / (out[1] * out[2]), (o / out[2]) % out[1], o % out[2]};
          std::int64_t best_max = 0, best_min = 0;
          double vmax = -INFINITY, vmin = INFINITY;
          for (std::int64_t r = 0; r < shape[axis]; ++r) {
            idx[axis] = r;
            const double v = testing::reference_read(view, idx);
            if (v > vmax) vmax = v, best_max = r;
            if (v < vmin) vmin = v, best_min = r;
          }
          want_max.push_back(best_max);
          want_min.push_back(best_min);
        }
        EXPECT_EQ(core::argmax(view, axis).to_vector<std::int64_t>(), want_max);
        EXPECT_EQ(core::argmin(view, axis).to_vector<std::int64_t>(), want_min);
        testing::expect_thread_invariant([&] { return core::argmax(view, axis); });
      }
    }
  }
}

// Softmax reference in float64.
std::vector<double> reference_softmax(const Tensor& x2d, bool log) {
  std::vector<double> out;
  auto v = x2d.to_vector<double>();
  const std::int64_t rows = x2d.shape()[0], cols = x2d.shape()[1];
  for (std::int64_t r = 0; r < rows; ++r) {
    double m = -INFINITY, s = 0;
    for (std::int64_t c = 0; c < cols; ++c) m = std::max(m, v[r * cols + c]);
    for (std::int64_t c = 0; c < cols; ++c) s += std::exp(v[r * cols + c] - m);
    for (std::int64_t c = 0; c < cols; ++c)
      out.push_back(log ? v[r * cols + c] - m - std::log(s) : std::exp(v[r * cols + c] - m) / s);
  }
  return out;
}

TEST_P(ReduceTest, SoftmaxMatchesReference) {
  const DType dt = GetParam();
  const double tol = dt == DType::float32 ? 3e-6 : 1e-13;
  for (auto cols : {1, 3, 10, 16, 17, 1000}) {
    SCOPED_TRACE(cols);
    Tensor x = uniform({37, cols}, -20, 20, 4, dt);
    testing::for_each_isa([&] {
      expect_close(core::softmax(x), reference_softmax(x, false), tol, 1e-7);
      expect_close(core::log_softmax(x), reference_softmax(x, true), tol, 1e-5);
      // Along axis 0 equals the transpose's softmax along axis 1.
      expect_close(core::softmax(x.t(), 0), core::softmax(x, 1).t().contiguous(), 0, 0);
    });
  }
}

// Softmax along `axis` of any tensor (any strides) in float64, read element
// by element; the result is in row-major order of x's shape.
std::vector<double> reference_softmax_axis(const Tensor& x, int axis, bool log) {
  const int nd = x.ndim();
  const int a = axis < 0 ? axis + nd : axis;
  const std::int64_t len = x.shape()[a];
  std::vector<double> out(static_cast<std::size_t>(x.numel()));
  std::vector<std::int64_t> idx(nd, 0);
  for (std::int64_t flat = 0; flat < x.numel(); ++flat) {
    std::int64_t rem = flat;
    for (int d = nd - 1; d >= 0; --d) idx[d] = rem % x.shape()[d], rem /= x.shape()[d];
    if (idx[a] != 0) continue;  // one pass per line along the axis, from its first element
    std::vector<double> line(static_cast<std::size_t>(len));
    for (std::int64_t i = 0; i < len; ++i) idx[a] = i, line[i] = testing::reference_read(x, idx);
    double m = -INFINITY, s = 0;
    for (double v : line) m = std::max(m, v);
    for (double v : line) s += std::exp(v - m);
    std::int64_t stride = 1;
    for (int d = nd - 1; d > a; --d) stride *= x.shape()[d];
    for (std::int64_t i = 0; i < len; ++i)
      out[flat + i * stride] = log ? line[i] - m - std::log(s) : std::exp(line[i] - m) / s;
  }
  return out;
}

// Short rows take a grouped kernel (several rows per vector pass, a padded
// path for the last rows): every row count around the vector widths, row
// lengths on both sides of each width, on every ISA.
TEST_P(ReduceTest, SoftmaxShortRowsMatchReference) {
  const DType dt = GetParam();
  const double tol = dt == DType::float32 ? 3e-6 : 1e-13;
  std::vector<std::int64_t> row_counts;
  for (std::int64_t r = 1; r <= 17; ++r) row_counts.push_back(r);
  for (std::int64_t r : {31, 33, 128, 515}) row_counts.push_back(r);
  for (std::int64_t rows : row_counts) {
    for (std::int64_t cols : {1, 2, 3, 4, 5, 7, 8, 9, 10, 15, 16, 17, 24, 31, 32, 33}) {
      SCOPED_TRACE("rows=" + std::to_string(rows) + " cols=" + std::to_string(cols));
      Tensor x = uniform({rows, cols}, -20, 20, static_cast<std::uint64_t>(rows * 100 + cols), dt);
      const auto ref = reference_softmax(x, false), ref_log = reference_softmax(x, true);
      testing::for_each_isa([&] {
        expect_close(core::softmax(x), ref, tol, 1e-7);
        expect_close(core::log_softmax(x), ref_log, tol, 1e-5);
      });
    }
  }
}

TEST_P(ReduceTest, SoftmaxOtherAxesAndStridedInput) {
  const DType dt = GetParam();
  const double tol = dt == DType::float32 ? 3e-6 : 1e-13;
  for (Shape shape : {Shape{5, 10, 3}, Shape{128, 10}, Shape{9, 17}, Shape{4, 1, 7}}) {
    Tensor x = uniform(shape, -8, 8, 31, dt);
    for (Tensor view : {x, testing::strided_copy(x)}) {
      for (int axis = -1; axis < view.ndim(); ++axis) {
        SCOPED_TRACE("shape=" + shape.str() + " axis=" + std::to_string(axis) +
                     (view.is_contiguous() ? "" : " strided"));
        testing::for_each_isa([&] {
          expect_close(core::softmax(view, axis), reference_softmax_axis(view, axis, false), tol, 1e-7);
          expect_close(core::log_softmax(view, axis), reference_softmax_axis(view, axis, true), tol, 1e-5);
        });
      }
    }
  }
}

TEST_P(ReduceTest, SoftmaxShortRowsThreadInvariant) {
  const DType dt = GetParam();
  // Enough rows that the row range is split between threads.
  for (Shape shape : {Shape{1000, 10}, Shape{5001, 3}, Shape{777, 17}, Shape{3000, 1}}) {
    SCOPED_TRACE(shape.str());
    Tensor x = uniform(shape, -5, 5, 17, dt);
    testing::for_each_isa([&] {
      testing::expect_thread_invariant([&] { return core::softmax(x, -1); });
      testing::expect_thread_invariant([&] { return core::log_softmax(x, -1); });
    });
  }
}

// -inf logits (masking) give exact zeros, a NaN spreads over its row only,
// and huge logits stay finite, on the short-row kernel and every ISA.
TEST_P(ReduceTest, SoftmaxShortRowsSpecialValues) {
  const DType dt = GetParam();
  const double inf = std::numeric_limits<double>::infinity(), nan = std::numeric_limits<double>::quiet_NaN();
  const double big = dt == DType::float32 ? 1e30 : 1e300;
  std::vector<double> v = {
      0, 1, -inf, 2, -inf, 0, 1, -inf, 2, -inf,      // masked entries
      nan, 0, 0, 0, 0, 0, 0, 0, 0, 0,                // NaN row
      big, -big, 0, big, 0, 0, 0, 0, 0, 0,           // two equal huge maxima
      -0.0, 0.0, -0.0, 0.0, -0.0, 0.0, -0.0, 0.0, -0.0, 0.0};
  Tensor x = Tensor::from(v, {4, 10}).to(dt);
  const double e0 = 1 / (2 * (1 + std::exp(1.0) + std::exp(2.0)));
  testing::for_each_isa([&] {
    auto p = core::softmax(x).to_vector<double>();
    auto lp = core::log_softmax(x).to_vector<double>();
    const double tol = dt == DType::float32 ? 1e-6 : 1e-13;
    EXPECT_NEAR(p[0], e0, tol);
    EXPECT_NEAR(p[3], e0 * std::exp(2.0), tol);
    for (int i : {2, 4, 7, 9}) {
      EXPECT_EQ(p[i], 0.0) << i;
      EXPECT_EQ(lp[i], -inf) << i;
    }
    for (int i = 10; i < 20; ++i) EXPECT_TRUE(std::isnan(p[i]) && std::isnan(lp[i])) << i;
    EXPECT_EQ(p[20], 0.5);
    EXPECT_EQ(p[23], 0.5);
    EXPECT_EQ(p[21], 0.0);
    EXPECT_NEAR(lp[20], -std::log(2.0), tol);
    for (int i = 30; i < 40; ++i) EXPECT_NEAR(p[i], 0.1, tol) << i;
  });
}

TEST(Softmax, StableForExtremeLogits) {
  Tensor x = Tensor::from({1e4f, -1e4f, 0.f, -1e4f, 1e4f, 1e4f}, {2, 3});
  expect_close(core::softmax(x), {1, 0, 0, 0, 0.5, 0.5}, 1e-6, 1e-30);
  expect_close(core::log_softmax(x), {0, -2e4, -1e4, -2e4 - std::log(2.0), -std::log(2.0), -std::log(2.0)}, 1e-6, 1e-6);
}

INSTANTIATE_TEST_SUITE_P(Floats, ReduceTest, ::testing::Values(DType::float32, DType::float64),
                         [](const auto& info) { return std::string(dtype_name(info.param)); });

TEST(Reduce, IntegerSumsAndBoolCounts) {
  Tensor i = Tensor::from<std::int32_t>({1, 2, 3, 4}, {2, 2});
  EXPECT_EQ(core::sum(i, {0}).to_vector<int>(), (std::vector<int>{4, 6}));
  EXPECT_EQ(core::max(i).item<int>(), 4);
  Tensor b = Tensor::from<bool>({true, false, true});
  EXPECT_EQ(core::sum(b).dtype(), DType::int64);
  EXPECT_EQ(core::sum(b).item<std::int64_t>(), 2);
}

TEST(Reduce, SumToReducesBroadcastAxes) {
  Tensor g = ones({4, 2, 3});
  expect_close(core::sum_to(g, {2, 3}), std::vector<double>(6, 4.0), 0, 0);
  expect_close(core::sum_to(g, {2, 1}), {12, 12}, 0, 0);
  expect_close(core::sum_to(g, {1, 1, 3}), {8, 8, 8}, 0, 0);
  EXPECT_EQ(core::sum_to(g, Shape{}).item<float>(), 24);
  EXPECT_THROW(core::sum_to(g, {5}), ShapeError);
}

TEST(Reduce, ErrorsNameTheOp) {
  EXPECT_THAT([] { core::sum(ones({2, 3}), {2}); },
              ::testing::ThrowsMessage<IndexError>(::testing::HasSubstr("[sum] axis 2 is out of range")));
  EXPECT_THAT([] { core::max(zeros({0})); },
              ::testing::ThrowsMessage<ValueError>(::testing::HasSubstr("[max] zero-size axis")));
  EXPECT_THAT([] { core::mean(ones({2}, DType::int32)); },
              ::testing::ThrowsMessage<DTypeError>(::testing::HasSubstr("[mean] expected float32 or float64")));
  EXPECT_THAT([] { core::sum(ones({2, 2}), {0, -2}); },
              ::testing::ThrowsMessage<ValueError>(::testing::HasSubstr("[sum] repeated axis")));
  EXPECT_THAT([] { core::softmax(Tensor::scalar(1)); },
              ::testing::ThrowsMessage<ValueError>(::testing::HasSubstr("[softmax] expected at least 1 dimension")));
}

}  // namespace
}  // namespace lamina
