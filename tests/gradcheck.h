#pragma once
// check_gradients: compares the tape's gradients with central finite
// differences in float64. The scalar checked is sum(f(inputs) * weights) with
// fixed random weights, so every output element's gradient matters. It also
// hands f's backward its output gradient in other layouts (a stride-0
// broadcast, as sum's backward makes, and a transposed view) and expects the
// same gradients.

#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include "test_util.h"

namespace lamina::testing {

using Fn = std::function<Tensor(const std::vector<Tensor>&)>;

struct GradCheckOptions {
  double eps = 1e-6;
  double atol = 1e-6;
  double rtol = 1e-5;
  /// Present each input to f as a non-contiguous view with the same values:
  /// a transposed buffer (strided_copy) or one with gaps (gapped_copy).
  bool strided_inputs = false;
  bool gapped_inputs = false;
  /// Also compare the gradients reached through a stride-0 and a transposed
  /// (2-D and up) output gradient with those of a contiguous one.
  bool output_gradient_layouts = true;
};

namespace detail_gc {

inline std::vector<Tensor> present(const std::vector<Tensor>& xs, const GradCheckOptions& opt) {
  std::vector<Tensor> out;
  for (const auto& x : xs) {
    if (opt.strided_inputs && x.ndim() > 0)
      out.push_back(strided_copy(x));
    else if (opt.gapped_inputs)
      out.push_back(gapped_copy(x));
    else
      out.push_back(x);
  }
  return out;
}

inline double weighted_sum(const Tensor& y, const Tensor& w) {
  auto a = y.to_vector<double>(), b = w.to_vector<double>();
  double s = 0;
  for (std::size_t i = 0; i < a.size(); ++i) s += a[i] * b[i];
  return s;
}

/// The tape's gradients of loss(f(shown)) with respect to `shown`.
inline std::vector<Tensor> tape_gradients(const Fn& f, const std::vector<Tensor>& shown,
                                          const std::function<Tensor(const Tensor&)>& loss) {
  GradientTape tape;
  for (const auto& x : shown) tape.watch(x);
  return tape.gradient(loss(f(shown)), shown, Tensor(), UnconnectedGradients::zero);
}

/// Gradients that must agree whatever the layout of the output gradient
/// (only the summation order of a kernel may differ).
inline void expect_same_gradients(const std::vector<Tensor>& want, const std::vector<Tensor>& got,
                                  const std::string& how) {
  for (std::size_t k = 0; k < want.size(); ++k) {
    ASSERT_TRUE(got[k].defined()) << how << ", input " << k;
    ASSERT_EQ(got[k].shape(), want[k].shape()) << how << ", input " << k;
    auto a = want[k].to_vector<double>(), b = got[k].to_vector<double>();
    for (std::size_t i = 0; i < a.size(); ++i)
      ASSERT_NEAR(b[i], a[i], 1e-11 * (1.0 + std::fabs(a[i]))) << how << ", input " << k << " element " << i;
  }
}

}  // namespace detail_gc

/// Expects tape gradients of f at `inputs` (float64) to match finite differences.
inline void check_gradients(const Fn& f, const std::vector<Tensor>& inputs, GradCheckOptions opt = {}) {
  for (const auto& x : inputs) ASSERT_EQ(x.dtype(), DType::float64) << "check_gradients wants float64 inputs";
  std::vector<Tensor> base;
  for (const auto& x : inputs) base.push_back(x.clone());
  Tensor probe = f(base);
  const Tensor weights = uniform(probe.shape(), 0.5, 1.5, 1234, DType::float64);

  std::vector<Tensor> analytic;
  {
    std::vector<Tensor> shown = detail_gc::present(base, opt);
    GradientTape tape;
    for (const auto& x : shown) tape.watch(x);
    Tensor y = f(shown);
    Tensor loss = sum(mul(y, weights));
    analytic = tape.gradient(loss, shown, Tensor(), UnconnectedGradients::zero);
  }
  if (opt.output_gradient_layouts) {
    const std::vector<Tensor> shown = detail_gc::present(base, opt);
    const Tensor ones_dense = ones(probe.shape(), DType::float64);
    detail_gc::expect_same_gradients(
        detail_gc::tape_gradients(f, shown, [&](const Tensor& y) { return sum(mul(y, ones_dense)); }),
        detail_gc::tape_gradients(f, shown, [](const Tensor& y) { return sum(y); }),
        "stride-0 output gradient (backward of sum)");
    if (probe.ndim() >= 2) {
      const Tensor weights_t = weights.transpose(-1, -2).contiguous();
      detail_gc::expect_same_gradients(
          analytic,
          detail_gc::tape_gradients(f, shown,
                                    [&](const Tensor& y) { return sum(mul(transpose(y, -1, -2), weights_t)); }),
          "transposed output gradient");
    }
  }
  for (std::size_t k = 0; k < base.size(); ++k) {
    SCOPED_TRACE("input " + std::to_string(k) + " of shape " + base[k].shape().str());
    ASSERT_TRUE(analytic[k].defined());
    ASSERT_EQ(analytic[k].shape(), base[k].shape());
    auto got = analytic[k].to_vector<double>();
    double* p = base[k].data<double>();
    int failures = 0;
    for (std::int64_t i = 0; i < base[k].numel() && failures < 5; ++i) {
      const double saved = p[i];
      p[i] = saved + opt.eps;
      const double up = detail_gc::weighted_sum(f(detail_gc::present(base, opt)), weights);
      p[i] = saved - opt.eps;
      const double down = detail_gc::weighted_sum(f(detail_gc::present(base, opt)), weights);
      p[i] = saved;
      const double numeric = (up - down) / (2 * opt.eps);
      if (!(std::fabs(got[i] - numeric) <= opt.atol + opt.rtol * std::fabs(numeric))) {
        ADD_FAILURE() << "d/dx[" << i << "]: tape " << got[i] << ", finite difference " << numeric;
        ++failures;
      }
    }
  }
}

/// check_gradients with the inputs contiguous, transposed (2-D and up) and
/// with gaps: every layout a differentiable op may be handed.
inline void check_gradients_all_layouts(const Fn& f, const std::vector<Tensor>& inputs, GradCheckOptions opt = {}) {
  opt.strided_inputs = opt.gapped_inputs = false;
  {
    SCOPED_TRACE("contiguous inputs");
    check_gradients(f, inputs, opt);
  }
  bool any_2d = false;
  for (const auto& x : inputs) any_2d = any_2d || x.ndim() >= 2;
  if (any_2d) {
    SCOPED_TRACE("transposed inputs");
    GradCheckOptions o = opt;
    o.strided_inputs = true;
    check_gradients(f, inputs, o);
  }
  SCOPED_TRACE("inputs with gaps");
  GradCheckOptions o = opt;
  o.gapped_inputs = true;
  check_gradients(f, inputs, o);
}

/// Second order: checks, against finite differences, the gradient (with
/// respect to every input) of g(inputs) = d/d inputs[0] of sum(w * f(inputs)^2),
/// g computed by an inner GradientTape while check_gradients' tape records.
/// The square makes g depend on the inputs even for linear ops, so this
/// exercises both the op's second derivative and the recordability of its
/// backward pass.
inline void check_second_order(const Fn& f, const std::vector<Tensor>& inputs, GradCheckOptions opt = {}) {
  const Tensor probe = f(inputs);
  const Tensor w = uniform(probe.shape(), 0.5, 1.5, 4321, DType::float64);
  Fn first_gradient = [&](const std::vector<Tensor>& xs) {
    GradientTape inner;
    for (const auto& x : xs) inner.watch(x);
    Tensor y = f(xs);
    Tensor s = sum(mul(square(y), w));
    return inner.gradient(s, {xs[0]}, Tensor(), UnconnectedGradients::zero)[0];
  };
  check_gradients(first_gradient, inputs, opt);
}

}  // namespace lamina::testing
