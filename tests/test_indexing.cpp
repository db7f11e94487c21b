// take_along_axis, one_hot and the fused sparse softmax cross-entropy:
// values, errors, gradients (first and second order).
#include "gradcheck.h"

namespace lamina {
namespace {

using ::testing::HasSubstr;
using testing::check_gradients;
using testing::expect_close;

Tensor f64(std::vector<double> v, const Shape& s) { return Tensor::from(v, s); }
Tensor i64(std::vector<std::int64_t> v, const Shape& s) { return Tensor::from(v, s); }

template <class E, class F>
void expect_error(F&& f, const std::string& needle) {
  try {
    f();
    ADD_FAILURE() << "expected an exception containing: " << needle;
  } catch (const E& e) {
    EXPECT_THAT(e.what(), HasSubstr(needle));
  }
}

// ---------------------------------------------------------------- take_along_axis

TEST(TakeAlongAxis, LastAxis) {
  Tensor x = Tensor::from({1.f, 2.f, 3.f, 4.f, 5.f, 6.f}, {2, 3});
  Tensor y = take_along_axis(x, i64({2, 0, 1, 1}, {2, 2}), 1);
  EXPECT_EQ(y.shape(), (Shape{2, 2}));
  EXPECT_EQ(y.dtype(), DType::float32);
  expect_close(y, {3, 1, 5, 5}, 0, 0);
}

TEST(TakeAlongAxis, FirstAxisAndNegativeIndices) {
  Tensor x = Tensor::from({1.0, 2.0, 3.0, 4.0, 5.0, 6.0}, {3, 2});
  Tensor y = take_along_axis(x, Tensor::from<std::int32_t>({-1, 0}, {1, 2}), 0);
  EXPECT_EQ(y.shape(), (Shape{1, 2}));
  expect_close(y, {5, 2}, 0, 0);
}

TEST(TakeAlongAxis, BroadcastsOtherAxes) {
  // x (1, 4) against indices (3, 2): rows of x broadcast.
  Tensor x = f64({10, 11, 12, 13}, {1, 4});
  Tensor y = take_along_axis(x, i64({0, 3, 1, 1, 2, 0}, {3, 2}), 1);
  EXPECT_EQ(y.shape(), (Shape{3, 2}));
  expect_close(y, {10, 13, 11, 11, 12, 10}, 0, 0);
  // indices (1, 1) against x (2, 3): indices broadcast.
  Tensor x2 = f64({1, 2, 3, 4, 5, 6}, {2, 3});
  expect_close(take_along_axis(x2, i64({2}, {1, 1}), 1), {3, 6}, 0, 0);
}

TEST(TakeAlongAxis, ThreeDimsMiddleAxisStridedAndIntegerX) {
  Tensor x = arange(0, 24, 1, DType::int32).reshape({2, 3, 4});
  Tensor idx = Tensor::from<std::uint8_t>({2, 0, 1, 2, 0, 0, 0, 1}, {2, 1, 4});
  Tensor y = take_along_axis(x, idx, 1);
  EXPECT_EQ(y.dtype(), DType::int32);
  std::vector<double> expect;
  for (int a = 0; a < 2; ++a)
    for (int c = 0; c < 4; ++c) expect.push_back(a * 12 + idx.at<std::uint8_t>(a, 0, c) * 4 + c);
  expect_close(y, expect, 0, 0);
  // A transposed (non-contiguous) x gives the same answer as its contiguous copy.
  Tensor xt = f64({1, 2, 3, 4, 5, 6}, {3, 2}).transpose(0, 1);  // (2, 3) view
  expect_close(take_along_axis(xt, i64({2, 1}, {2, 1}), 1), {5, 4}, 0, 0);
}

TEST(TakeAlongAxis, EmptyIndices) {
  Tensor y = take_along_axis(f64({1, 2}, {1, 2}), i64({}, {1, 0}), 1);
  EXPECT_EQ(y.shape(), (Shape{1, 0}));
}

TEST(TakeAlongAxis, Errors) {
  Tensor x = zeros({2, 5});
  expect_error<IndexError>([&] { take_along_axis(x, i64({1, 7}, {2, 1}), 1); },
                           "[take_along_axis] index 7 is out of bounds for axis 1 with extent 5");
  expect_error<IndexError>([&] { take_along_axis(x, i64({-6, 0}, {2, 1}), 1); }, "index -6 is out of bounds");
  expect_error<ShapeError>([&] { take_along_axis(x, i64({1, 2}, {2}), 1); }, "[take_along_axis] indices must have the rank of x");
  expect_error<ShapeError>([&] { take_along_axis(x, i64({1, 2, 3}, {3, 1}), 1); }, "do not broadcast");
  expect_error<DTypeError>([&] { take_along_axis(x, zeros({2, 1}), 1); }, "[take_along_axis] indices must be int32, int64 or uint8");
  expect_error<IndexError>([&] { take_along_axis(x, i64({0, 0}, {2, 1}), 2); }, "take_along_axis");
}

TEST(TakeAlongAxis, GradientScatterAddsRepeatedIndices) {
  Tensor x = f64({1, 2, 3, 4, 5, 6}, {2, 3});
  GradientTape tape;
  tape.watch(x);
  Tensor y = take_along_axis(x, i64({0, 0, 2, 1, 1, 1}, {2, 3}), 1);
  Tensor dx = tape.gradient(sum(y), {x})[0];
  expect_close(dx, {2, 0, 1, 0, 3, 0}, 0, 0);
}

TEST(TakeAlongAxis, GradCheck) {
  Tensor idx = i64({0, 3, 3, 1, 2, 0, 1, 1, 3, -1, 0, 2}, {3, 4});
  check_gradients([&](const auto& xs) { return take_along_axis(xs[0], idx, 1); },
                  {uniform({3, 4}, -1, 1, 5, DType::float64)});
  check_gradients([&](const auto& xs) { return take_along_axis(xs[0], idx, 1); },
                  {uniform({3, 4}, -1, 1, 5, DType::float64)}, {.strided_inputs = true});
  check_gradients([&](const auto& xs) { return take_along_axis(xs[0], idx, 1); },
                  {uniform({3, 4}, -1, 1, 5, DType::float64)}, {.gapped_inputs = true});
  // Broadcast indices (1, 5) against x (3, 4) on axis 1: every row takes the
  // same columns (one repeated), the result is (3, 5).
  Tensor idx_row = i64({3, 0, 3, -2, 1}, {1, 5});
  testing::check_gradients_all_layouts([&](const auto& xs) { return take_along_axis(xs[0], idx_row, 1); },
                                       {uniform({3, 4}, -1, 1, 4, DType::float64)});
  // Broadcast x (1, 4): the gradient sums over the broadcast rows.
  check_gradients([&](const auto& xs) { return take_along_axis(xs[0], idx, 1); },
                  {uniform({1, 4}, -1, 1, 6, DType::float64)});
  // Axis 0 of a 3-D tensor.
  Tensor idx3 = i64({1, 0, 1, 1, 0, 0}, {1, 2, 3});
  check_gradients([&](const auto& xs) { return take_along_axis(xs[0], idx3, 0); },
                  {uniform({2, 2, 3}, -1, 1, 7, DType::float64)});
}

TEST(TakeAlongAxis, SecondOrderThroughScatter) {
  // f(x) = d/dx sum(w * take(x)^3) = scatter(3 w take(x)^2): its gradient goes
  // through the recorded scatter-add (the adjoint op).
  Tensor idx = i64({0, 2, 2, 1, 0, 0}, {2, 3});
  Tensor w = uniform({2, 3}, 0.5, 1.5, 9, DType::float64);
  check_gradients(
      [&](const auto& xs) {
        GradientTape inner;
        inner.watch(xs[0]);
        Tensor t = take_along_axis(xs[0], idx, 1);
        return inner.gradient(sum(mul(w, mul(t, square(t)))), {xs[0]})[0];
      },
      {uniform({2, 3}, -1, 1, 8, DType::float64)});
}

// ---------------------------------------------------------------- one_hot

TEST(OneHot, ValuesShapesAndDtypes) {
  Tensor h = one_hot(Tensor::from<std::int32_t>({1, 0, 3}), 4);
  EXPECT_EQ(h.shape(), (Shape{3, 4}));
  EXPECT_EQ(h.dtype(), DType::float32);
  expect_close(h, {0, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1}, 0, 0);
  Tensor h2 = one_hot(i64({2, 0}, {2, 1}), 3, DType::int64);
  EXPECT_EQ(h2.shape(), (Shape{2, 1, 3}));
  EXPECT_EQ(h2.dtype(), DType::int64);
  expect_close(h2, {0, 0, 1, 1, 0, 0}, 0, 0);
  // Out of range (and negative) give all-zero rows, as tf.one_hot.
  expect_close(one_hot(i64({-1, 5, 1}, {3}), 2, DType::float64), {0, 0, 0, 0, 0, 1}, 0, 0);
  EXPECT_EQ(one_hot(Tensor::from<std::uint8_t>({7}), 10).at<float>(0, 7), 1.f);
  EXPECT_EQ(one_hot(i64({1, 2}, {2}), 0).shape(), (Shape{2, 0}));
}

TEST(OneHot, Errors) {
  expect_error<DTypeError>([] { one_hot(zeros({3}), 4); }, "[one_hot] indices must be int32, int64 or uint8");
  expect_error<ValueError>([] { one_hot(i64({1}, {1}), -1); }, "[one_hot] depth must be >= 0, got -1");
}

// ---------------------------------------------------------------- fused sparse CE

Tensor composite_sparse_ce(const Tensor& labels, const Tensor& logits) {
  return neg(squeeze(take_along_axis(log_softmax(logits, -1), labels.unsqueeze(-1), -1), -1));
}

TEST(SparseSoftmaxCE, MatchesComposite) {
  Tensor z = uniform({5, 7}, -3, 3, 11, DType::float64);
  Tensor y = i64({0, 6, 3, 3, 1}, {5});
  expect_close(sparse_softmax_cross_entropy_with_logits(y, z), composite_sparse_ce(y, z).to_vector<double>(), 1e-14,
               1e-14);
  Tensor z32 = z.to(DType::float32);
  Tensor out32 = sparse_softmax_cross_entropy_with_logits(y.to(DType::int32), z32);
  EXPECT_EQ(out32.dtype(), DType::float32);
  expect_close(out32, composite_sparse_ce(y, z).to_vector<double>(), 1e-5, 1e-6);
}

TEST(SparseSoftmaxCE, IsOneRecordedOp) {
  Tensor z = uniform({4, 3}, -1, 1, 12);
  GradientTape tape;
  tape.watch(z);
  sparse_softmax_cross_entropy_with_logits(i64({0, 1, 2, 0}, {4}), z);
  EXPECT_EQ(tape.size(), 1u);
}

TEST(SparseSoftmaxCE, ExtremeLogitsAreFinite) {
  Tensor z = Tensor::from({1e4f, -1e4f, 0.f, -1e4f, 1e4f, 0.f}, {2, 3});
  Tensor y = i64({0, 0}, {2});
  GradientTape tape;
  tape.watch(z);
  Tensor l = sparse_softmax_cross_entropy_with_logits(y, z);
  expect_close(l, {0, 2e4}, 1e-6, 0);
  Tensor g = tape.gradient(sum(l), {z})[0];
  expect_close(g, {0, 0, 0, -1, 1, 0}, 0, 1e-6);
}

TEST(SparseSoftmaxCE, GradCheckAndLabelShapes) {
  Tensor y = i64({2, 0, 1, 2}, {4});
  check_gradients([&](const auto& xs) { return sparse_softmax_cross_entropy_with_logits(y, xs[0]); },
                  {uniform({4, 3}, -2, 2, 13, DType::float64)});
  check_gradients([&](const auto& xs) { return sparse_softmax_cross_entropy_with_logits(y, xs[0]); },
                  {uniform({4, 3}, -2, 2, 13, DType::float64)}, {.strided_inputs = true});
  check_gradients([&](const auto& xs) { return sparse_softmax_cross_entropy_with_logits(y, xs[0]); },
                  {uniform({4, 3}, -2, 2, 13, DType::float64)}, {.gapped_inputs = true});
  // Class axis 1 of (2, 3, 2) logits: labels (2, 2).
  Tensor y2 = i64({0, 2, 1, 1}, {2, 2});
  testing::check_gradients_all_layouts(
      [&](const auto& xs) { return sparse_softmax_cross_entropy_with_logits(y2, xs[0], 1); },
      {uniform({2, 3, 2}, -2, 2, 14, DType::float64)});
}

TEST(SparseSoftmaxCE, IgnoreClass) {
  Tensor z = uniform({3, 4}, -2, 2, 15, DType::float64);
  Tensor y = i64({1, -1, 3}, {3});
  Tensor l = sparse_softmax_cross_entropy_with_logits(y, z, -1, -1);
  Tensor full_l = composite_sparse_ce(i64({1, 0, 3}, {3}), z);
  expect_close(l, {full_l.at<double>(0), 0.0, full_l.at<double>(2)}, 1e-14, 1e-14);
  check_gradients([&](const auto& xs) { return sparse_softmax_cross_entropy_with_logits(y, xs[0], -1, -1); },
                  {z});
  GradientTape tape;
  tape.watch(z);
  Tensor g = tape.gradient(sum(sparse_softmax_cross_entropy_with_logits(y, z, -1, -1)), {z})[0];
  for (int c = 0; c < 4; ++c) EXPECT_EQ(g.at<double>(1, c), 0.0);
}

TEST(SparseSoftmaxCE, SecondOrderUnderNestedTapes) {
  Tensor y = i64({2, 0, 1}, {3});
  Tensor w = uniform({3}, 0.5, 1.5, 16, DType::float64);
  auto grad_fn = [&](const Tensor& z, std::optional<std::int64_t> ignore) {
    GradientTape inner;
    inner.watch(z);
    Tensor l = sum(mul(w, sparse_softmax_cross_entropy_with_logits(y, z, -1, ignore)));
    return inner.gradient(l, {z})[0];
  };
  check_gradients([&](const auto& xs) { return grad_fn(xs[0], std::nullopt); },
                  {uniform({3, 4}, -2, 2, 17, DType::float64)});
  check_gradients([&](const auto& xs) { return grad_fn(xs[0], 0); }, {uniform({3, 4}, -2, 2, 18, DType::float64)});
  // The fused backward equals the composite's under an outer tape too.
  Tensor z = uniform({3, 4}, -2, 2, 19, DType::float64);
  GradientTape outer;
  outer.watch(z);
  Tensor g_fused = grad_fn(z, std::nullopt);
  Tensor g_raw;
  {
    GradientTape t;
    t.watch(z);
    g_raw = t.gradient(sum(mul(w, composite_sparse_ce(y, z))), {z})[0];
  }
  expect_close(g_fused, g_raw, 1e-13, 1e-13);
}

TEST(SparseSoftmaxCE, Errors) {
  Tensor z = zeros({4, 10});
  expect_error<IndexError>([&] { sparse_softmax_cross_entropy_with_logits(i64({0, 1, 2, 10}, {4}), z); },
                           "[sparse_softmax_cross_entropy_with_logits] label 10 is out of range [0, 10) at position 3");
  expect_error<ShapeError>([&] { sparse_softmax_cross_entropy_with_logits(i64({0, 1, 2}, {3}), z); },
                           "labels of shape (3,) do not match logits of shape (4, 10)");
  expect_error<DTypeError>([&] { sparse_softmax_cross_entropy_with_logits(zeros({4}), z); },
                           "labels must be int32, int64 or uint8");
  expect_error<DTypeError>([&] { sparse_softmax_cross_entropy_with_logits(i64({0}, {1}), zeros({1, 3}, DType::int32)); },
                           "logits must be float32 or float64");
}

}  // namespace
}  // namespace lamina
