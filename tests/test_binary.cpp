// Binary kernels against a stride-arithmetic reference: every broadcasting
// pattern, non-contiguous operands, every ISA, ints, comparisons, where,
// in-place/out forms, and pinned error messages.
#include <cmath>

#include "test_util.h"

namespace lamina {
namespace {

using testing::expect_close;
using testing::reference_binary;

struct BinaryCase {
  const char* name;
  Tensor (*op)(const Tensor&, const Tensor&);
  double (*ref)(double, double);
};

const std::vector<BinaryCase>& cases() {
  static const std::vector<BinaryCase> v = {
      {"add", core::add, [](double a, double b) { return a + b; }},
      {"sub", core::sub, [](double a, double b) { return a - b; }},
      {"mul", core::mul, [](double a, double b) { return a * b; }},
      {"div", core::div, [](double a, double b) { return a / b; }},
      {"pow", core::pow, [](double a, double b) { return std::pow(a, b); }},
      {"maximum", core::maximum, [](double a, double b) { return std::max(a, b); }},
      {"minimum", core::minimum, [](double a, double b) { return std::min(a, b); }},
  };
  return v;
}

// Shape pairs covering equal shapes, scalars on either side, row and column
// vectors, rank differences and two-sided broadcasting.
const std::vector<std::pair<Shape, Shape>>& shape_pairs() {
  static const std::vector<std::pair<Shape, Shape>> v = {
      {{17}, {17}},          {{1023}, {1023}},      {{0}, {0}},           {{7, 5}, {}},
      {{1}, {1}},            {{7}, {7}},            {{15}, {15}},         {{16}, {16}},
      {{33}, {33}},          {{4099}, {4099}},
      {{}, {7, 5}},          {{1}, {100003}},       {{128, 10}, {10}},    {{10}, {128, 10}},
      {{33, 17}, {33, 1}},   {{4, 1, 5}, {3, 1}},   {{2, 3, 4, 5}, {3, 1, 5}}, {{1, 6}, {5, 1}},
      {{300, 257}, {257}},   {{5, 0, 3}, {1, 3}},
      // Per-channel values over NHWC (the row-vector fast path), on either
      // side, and trailing blocks of more than one axis.
      {{2, 5, 7, 3}, {1, 1, 1, 3}}, {{1, 1, 3}, {4, 5, 3}}, {{6, 4, 5}, {4, 5}}, {{64, 129}, {1, 129}},
  };
  return v;
}

class BinaryTest : public ::testing::TestWithParam<DType> {};

TEST_P(BinaryTest, BroadcastingPatternsMatchReference) {
  const DType dt = GetParam();
  for (const auto& [sa, sb] : shape_pairs()) {
    SCOPED_TRACE("a=" + sa.str() + " b=" + sb.str());
    Tensor a = uniform(sa, 0.5, 2.0, 11, dt);
    Tensor b = uniform(sb, -2.0, 2.0, 12, dt);
    const Shape out_shape = core::broadcast_shapes(sa, sb);
    for (const auto& c : cases()) {
      SCOPED_TRACE(c.name);
      auto want = reference_binary(a, b, out_shape, c.ref);
      testing::for_each_isa([&] {
        Tensor got = c.op(a, b);
        ASSERT_EQ(got.shape(), out_shape);
        expect_close(got, want, dt == DType::float32 ? 4e-6 : 1e-12, 1e-30);
      });
    }
  }
}

TEST_P(BinaryTest, NonContiguousOperands) {
  const DType dt = GetParam();
  Tensor base_a = uniform({40, 30}, 0.5, 2, 1, dt), base_b = uniform({30, 40}, 0.5, 2, 2, dt);
  Tensor a = base_a.slice(0, 1, 40, 3);          // (13, 30), row stride 90
  Tensor b = base_b.t().slice(0, 0, 13);         // (13, 30) transposed view
  Tensor col = base_b.select(1, 5).slice(0, 0, 13).unsqueeze(1);  // (13, 1) strided column
  for (const auto& c : cases()) {
    SCOPED_TRACE(c.name);
    expect_close(c.op(a, b), reference_binary(a, b, a.shape(), c.ref), 4e-6, 1e-30);
    expect_close(c.op(a, col), reference_binary(a, col, a.shape(), c.ref), 4e-6, 1e-30);
    expect_close(c.op(b.t(), a.t()), reference_binary(b.t(), a.t(), Shape{30, 13}, c.ref), 4e-6, 1e-30);
  }
}

TEST_P(BinaryTest, OneAndTwoThreadsBitwiseEqual) {
  const DType dt = GetParam();
  Tensor a = uniform({513, 1001}, 0.5, 2, 5, dt), row = uniform({1001}, 0.5, 2, 6, dt);
  for (const auto& c : cases()) {
    SCOPED_TRACE(c.name);
    testing::expect_thread_invariant([&] { return c.op(a, row); });
    testing::expect_thread_invariant([&] { return c.op(a, a); });
  }
}

// Outputs of 8 MiB and more are written with streaming stores, after a
// peeled head when the output is not vector-aligned (an in-place add into a
// view starting one element into its buffer).
TEST_P(BinaryTest, LargeOutputsMatchReference) {
  const DType dt = GetParam();
  const std::int64_t n = dt == DType::float32 ? 4'400'007 : 2'200'007;  // > 8 MiB per thread at 2 threads
  Tensor a = uniform({n}, -5, 5, 8, dt), b = uniform({n}, -5, 5, 9, dt);
  const auto av = a.to_vector<double>(), bv = b.to_vector<double>();
  std::vector<double> sum_ref(av.size()), max_ref(av.size());
  for (std::size_t i = 0; i < av.size(); ++i) sum_ref[i] = av[i] + bv[i], max_ref[i] = std::max(av[i], bv[i]);
  const double tol = dt == DType::float32 ? 1e-6 : 1e-15;
  testing::for_each_isa([&] {
    expect_close(core::add(a, b), sum_ref, tol, 0);
    expect_close(core::maximum(a, b), max_ref, 0, 0);
    Tensor base = full({n + 1}, 7.0, dt);
    Tensor view = base.slice(0, 1, n + 1);
    view.copy_(a);
    core::add_(view, b);
    expect_close(view, sum_ref, tol, 0);
    EXPECT_EQ(base.to_vector<double>()[0], 7.0);
  });
  testing::expect_thread_invariant([&] { return core::add(a, b); });
  // Row-vector broadcasting split over threads: (rows, 96) * (96,).
  const std::int64_t rows = 20'011;
  Tensor m = uniform({rows, 96}, -5, 5, 10, dt), v = uniform({96}, -5, 5, 11, dt);
  const auto mv = m.to_vector<double>(), vv = v.to_vector<double>();
  std::vector<double> prod_ref(mv.size());
  for (std::size_t i = 0; i < mv.size(); ++i) prod_ref[i] = mv[i] * vv[i % 96];
  testing::for_each_isa([&] { expect_close(core::mul(m, v), prod_ref, tol, 0); });
  testing::expect_thread_invariant([&] { return core::sub(v, m); });
}

INSTANTIATE_TEST_SUITE_P(Floats, BinaryTest, ::testing::Values(DType::float32, DType::float64),
                         [](const auto& info) { return std::string(dtype_name(info.param)); });

TEST(Binary, ScalarOverloads) {
  Tensor x = Tensor::from({1.f, 2.f, 4.f});
  expect_close(core::add(x, 1.0), {2, 3, 5}, 0, 0);
  expect_close(core::sub(x, 1.0), {0, 1, 3}, 0, 0);
  expect_close(core::mul(x, 2.0), {2, 4, 8}, 0, 0);
  expect_close(core::div(x, 2.0), {0.5, 1, 2}, 0, 0);
  expect_close(core::pow(x, 2.0), {1, 4, 16}, 1e-6, 0);
  expect_close(core::maximum(x, 2.0), {2, 2, 4}, 0, 0);
  expect_close(core::minimum(x, 2.0), {1, 2, 2}, 0, 0);
}

TEST(Binary, Integers) {
  Tensor a = Tensor::from<std::int64_t>({1, -2, 3, 4}, {2, 2});
  Tensor b = Tensor::from<std::int64_t>({10, 20});
  EXPECT_EQ(core::add(a, b).to_vector<std::int64_t>(), (std::vector<std::int64_t>{11, 18, 13, 24}));
  EXPECT_EQ(core::mul(a, b).to_vector<std::int64_t>(), (std::vector<std::int64_t>{10, -40, 30, 80}));
  EXPECT_EQ(core::maximum(a, b).to_vector<std::int64_t>(), (std::vector<std::int64_t>{10, 20, 10, 20}));
  EXPECT_THAT([&] { core::div(a, b); },
              ::testing::ThrowsMessage<DTypeError>(::testing::HasSubstr("[div] unsupported dtype int64")));
}

TEST(Binary, ComparisonsGiveBool) {
  Tensor a = Tensor::from({1.f, 2.f, 3.f, 4.f}, {2, 2});
  Tensor b = Tensor::from({2.f, 2.f});
  Tensor lt = core::less(a, b);
  EXPECT_EQ(lt.dtype(), DType::bool_);
  EXPECT_EQ(lt.to_vector<int>(), (std::vector<int>{1, 0, 0, 0}));
  EXPECT_EQ(core::less_equal(a, b).to_vector<int>(), (std::vector<int>{1, 1, 0, 0}));
  EXPECT_EQ(core::greater(a, b).to_vector<int>(), (std::vector<int>{0, 0, 1, 1}));
  EXPECT_EQ(core::greater_equal(a, b).to_vector<int>(), (std::vector<int>{0, 1, 1, 1}));
  EXPECT_EQ(core::equal(a, b).to_vector<int>(), (std::vector<int>{0, 1, 0, 0}));
  EXPECT_EQ(core::not_equal(a, b).to_vector<int>(), (std::vector<int>{1, 0, 1, 1}));
  EXPECT_EQ(core::greater(a, 2.5).to_vector<int>(), (std::vector<int>{0, 0, 1, 1}));
  Tensor big = arange(0, 100003, 1, DType::int32);
  Tensor gt = core::greater(big, Tensor::scalar(50000, DType::int32));
  EXPECT_EQ(core::sum(gt).item<std::int64_t>(), 50002);
}

// Values on a grid of quarters in [-2, 2), so that ties occur.
Tensor quarters(const Shape& shape, std::uint64_t seed, DType dt) {
  std::vector<double> v(static_cast<std::size_t>(shape.numel()));
  std::uint64_t state = seed;
  for (double& x : v) {
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    x = static_cast<double>(static_cast<int>(state >> 61)) * 0.5 - 2.0;  // 8 values, some twice
  }
  return Tensor::from(v, shape).to(dt);
}

TEST(Binary, ComparisonsAndWhereMatchReferenceOverShapesLayoutsAndThreads) {
  using Cmp = Tensor (*)(const Tensor&, const Tensor&);
  const std::vector<std::tuple<const char*, Cmp, bool (*)(double, double)>> ops = {
      {"less", core::less, [](double a, double b) { return a < b; }},
      {"less_equal", core::less_equal, [](double a, double b) { return a <= b; }},
      {"greater", core::greater, [](double a, double b) { return a > b; }},
      {"greater_equal", core::greater_equal, [](double a, double b) { return a >= b; }},
      {"equal", core::equal, [](double a, double b) { return a == b; }},
      {"not_equal", core::not_equal, [](double a, double b) { return a != b; }},
  };
  for (DType dt : {DType::float32, DType::float64, DType::int32}) {
    for (const auto& [sa, sb] : shape_pairs()) {
      SCOPED_TRACE(std::string(dtype_name(dt)) + " a=" + sa.str() + " b=" + sb.str());
      const Tensor a = quarters(sa, 1, dt), b = quarters(sb, 2, dt);
      const Shape shape = core::broadcast_shapes(sa, sb);
      for (bool strided : {false, true}) {
        SCOPED_TRACE(strided ? "non-contiguous inputs" : "contiguous inputs");
        const Tensor as = strided && sa.ndim() > 0 ? testing::gapped_copy(a) : a;
        const Tensor bs = strided && sb.ndim() > 0 ? testing::strided_copy(b) : b;
        for (const auto& entry : ops) {
          // Plain locals: clang 14 cannot capture structured bindings.
          const char* name = std::get<0>(entry);
          const Cmp op = std::get<1>(entry);
          bool (*ref)(double, double) = std::get<2>(entry);
          SCOPED_TRACE(name);
          const auto want = testing::reference_each(shape, [&](const auto& idx) {
            return ref(testing::reference_read(a, idx), testing::reference_read(b, idx)) ? 1.0 : 0.0;
          });
          testing::for_each_isa([&] {
            Tensor got = op(as, bs);
            ASSERT_EQ(got.dtype(), DType::bool_);
            expect_close(got, want, 0, 0);
          });
          testing::expect_thread_invariant([&] { return op(as, bs); });
        }
        // where(a < b, a, b) and where(cond, b, a) with a 3-way broadcast.
        const Tensor cond = core::less(as, bs);
        const auto want_min = testing::reference_each(shape, [&](const auto& idx) {
          return std::min(testing::reference_read(a, idx), testing::reference_read(b, idx));
        });
        testing::for_each_isa([&] { expect_close(core::where(cond, as, bs), want_min, 0, 0); });
        testing::expect_thread_invariant([&] { return core::where(cond, as, bs); });
      }
    }
  }
  EXPECT_THAT([] { core::where(ones({2}), ones({2}), ones({2})); },
              ::testing::ThrowsMessage<DTypeError>(::testing::HasSubstr("[where]")));
}

TEST(Binary, WhereBroadcastsAllThree) {
  Tensor cond = Tensor::from<bool>({true, false, true}, {3});
  Tensor a = Tensor::from({1.f, 2.f, 3.f, 4.f, 5.f, 6.f}, {2, 3});
  Tensor b = Tensor::scalar(-1);
  expect_close(core::where(cond, a, b), {1, -1, 3, 4, -1, 6}, 0, 0);
  EXPECT_THROW(core::where(a, a, b), DTypeError);
}

TEST(Binary, OutAndInPlaceForms) {
  Tensor a = Tensor::from({1.f, 2.f, 3.f, 4.f}, {2, 2});
  Tensor bias = Tensor::from({10.f, 20.f});
  Tensor out = empty({2, 2});
  core::add_out(a, bias, out);
  expect_close(out, {11, 22, 13, 24}, 0, 0);
  core::mul_out(a, a, out);
  expect_close(out, {1, 4, 9, 16}, 0, 0);
  core::sub_out(a, bias, out);
  expect_close(out, {-9, -18, -7, -16}, 0, 0);
  core::add_(a, bias);
  expect_close(a, {11, 22, 13, 24}, 0, 0);
  core::mul_(a, 0.5);
  expect_close(a, {5.5, 11, 6.5, 12}, 0, 0);
  core::axpy_(a, 2.0, ones({2, 2}));
  expect_close(a, {7.5, 13, 8.5, 14}, 0, 0);
  core::sub_(a, a);
  expect_close(a, {0, 0, 0, 0}, 0, 0);
  Tensor small = ones({2});
  EXPECT_THAT([&] { core::add_(small, a); },
              ::testing::ThrowsMessage<ShapeError>(::testing::HasSubstr("[add_] cannot broadcast (2, 2)")));
}

// axpy_ against a float64 reference and bitwise across thread counts on
// every ISA: the 2-thread split puts elements in the vector tail that one
// thread computes in the vector body, so both must round alike.
TEST(Binary, AxpyMatchesReferenceAndThreads) {
  for (DType dt : {DType::float32, DType::float64})
    for (std::int64_t n : {std::int64_t{1}, std::int64_t{17}, std::int64_t{100'003}}) {
      const Tensor x = uniform({n}, -3, 3, 21, dt), y0 = uniform({n}, -3, 3, 22, dt);
      const auto xv = x.to_vector<double>(), yv = y0.to_vector<double>();
      std::vector<double> ref(xv.size());
      for (std::size_t i = 0; i < xv.size(); ++i) ref[i] = yv[i] + 1.7 * xv[i];
      testing::for_each_isa([&] {
        Tensor y = y0.clone();
        core::axpy_(y, 1.7, x);
        expect_close(y, ref, dt == DType::float32 ? 1e-6 : 1e-15, 1e-6);
        testing::expect_thread_invariant([&] {
          Tensor z = y0.clone();
          core::axpy_(z, 1.7, x);
          return z;
        });
      });
    }
}

TEST(Binary, ErrorMessagesArePinned) {
  EXPECT_THAT([] { core::add(ones({3, 4}), ones({5})); },
              ::testing::ThrowsMessage<ShapeError>(::testing::StrEq("[add] cannot broadcast (3, 4) with (5,)")));
  EXPECT_THAT([] { core::mul(ones({2}), ones({2}, DType::float64)); },
              ::testing::ThrowsMessage<DTypeError>(::testing::HasSubstr("[mul] dtypes differ: float32 and float64")));
  EXPECT_THAT([] { core::less(ones({2}), ones({3})); },
              ::testing::ThrowsMessage<ShapeError>(::testing::StrEq("[less] cannot broadcast (2,) with (3,)")));
}

TEST(Aliasing, InPlaceOpsReadAnOverlappingSourceBeforeWritingIt) {
  // a += aᵀ: through the transposed view the kernel would read elements it
  // has already overwritten.
  for (std::int64_t n : {3, 17, 300}) {
    SCOPED_TRACE(n);
    Tensor a = uniform({n, n}, -1, 1, 5, DType::float64);
    const Tensor want = core::add(a, a.transpose(0, 1).contiguous());
    core::add_(a, a.transpose(0, 1));
    EXPECT_EQ(a.to_vector<double>(), want.to_vector<double>());
  }
  // The very same view is fine as it is: a *= a.
  Tensor b = Tensor::from({1.0, 2.0, 3.0});
  core::mul_(b, b);
  EXPECT_EQ(b.to_vector<double>(), (std::vector<double>{1, 4, 9}));
  // out overlapping an input shifted by one element.
  Tensor buf = arange(0, 9, 1, DType::float64);
  Tensor out = buf.slice(0, 1, 9), in = buf.slice(0, 0, 8);
  core::add_out(in, in, out);
  EXPECT_EQ(buf.to_vector<double>(), (std::vector<double>{0, 0, 2, 4, 6, 8, 10, 12, 14}));
  // copy_ between overlapping windows behaves like memmove.
  Tensor m = arange(0, 6, 1, DType::float64);
  m.slice(0, 1, 6).copy_(m.slice(0, 0, 5));
  EXPECT_EQ(m.to_vector<double>(), (std::vector<double>{0, 0, 1, 2, 3, 4}));
}

TEST(Aliasing, WritingIntoABroadcastViewIsAnError) {
  Tensor row = zeros({1, 4});
  Tensor wide = row.broadcast_to({3, 4});
  EXPECT_THAT([&] { core::add_(wide, ones({3, 4})); },
              ::testing::ThrowsMessage<ValueError>(::testing::HasSubstr("[add] cannot write into a broadcast view")));
  EXPECT_THAT([&] { wide.copy_(ones({3, 4})); },
              ::testing::ThrowsMessage<ValueError>(::testing::HasSubstr("[copy_] cannot write into a broadcast view")));
  EXPECT_THAT([&] { wide.fill_(1.0); }, ::testing::Throws<ValueError>());
  EXPECT_EQ(row.to_vector<float>(), std::vector<float>(4, 0.0f));  // nothing written
}

TEST(OutParameters, WrongDtypeIsADTypeErrorAndWrongShapeAShapeError) {
  Tensor a = ones({2, 3}), out64 = zeros({2, 3}, DType::float64), small = zeros({3});
  EXPECT_THAT([&] { core::add_out(a, a, out64); },
              ::testing::ThrowsMessage<DTypeError>(::testing::StrEq("[add] out has dtype float64, expected float32")));
  EXPECT_THAT([&] { core::mul_out(a, a, small); },
              ::testing::ThrowsMessage<ShapeError>(::testing::StrEq("[mul] out has shape (3,), expected (2, 3)")));
  EXPECT_THAT([&] { core::relu_out(a, out64); }, ::testing::Throws<DTypeError>());
  EXPECT_THAT([&] { a.copy_(zeros({4})); },
              ::testing::ThrowsMessage<ShapeError>(::testing::StrEq("[copy_] cannot copy a tensor of shape (4,) into one of shape (2, 3)")));
}

}  // namespace
}  // namespace lamina
