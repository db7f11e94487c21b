#pragma once
// check_gradients: compares the tape's gradients with central finite
// differences in float64. The scalar checked is sum(f(inputs) * weights) with
// fixed random weights, so every output element's gradient matters.

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
  /// Present each input to f as a non-contiguous view with the same values.
  bool strided_inputs = false;
};

namespace detail_gc {

inline std::vector<Tensor> present(const std::vector<Tensor>& xs, bool strided) {
  std::vector<Tensor> out;
  for (const auto& x : xs) out.push_back(strided && x.ndim() > 0 ? strided_copy(x) : x);
  return out;
}

inline double weighted_sum(const Tensor& y, const Tensor& w) {
  auto a = y.to_vector<double>(), b = w.to_vector<double>();
  double s = 0;
  for (std::size_t i = 0; i < a.size(); ++i) s += a[i] * b[i];
  return s;
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
    std::vector<Tensor> shown = detail_gc::present(base, opt.strided_inputs);
    GradientTape tape;
    for (const auto& x : shown) tape.watch(x);
    Tensor y = f(shown);
    Tensor loss = sum(mul(y, weights));
    analytic = tape.gradient(loss, shown, Tensor(), UnconnectedGradients::zero);
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
      const double up = detail_gc::weighted_sum(f(detail_gc::present(base, opt.strided_inputs)), weights);
      p[i] = saved - opt.eps;
      const double down = detail_gc::weighted_sum(f(detail_gc::present(base, opt.strided_inputs)), weights);
      p[i] = saved;
      const double numeric = (up - down) / (2 * opt.eps);
      if (!(std::fabs(got[i] - numeric) <= opt.atol + opt.rtol * std::fabs(numeric))) {
        ADD_FAILURE() << "d/dx[" << i << "]: tape " << got[i] << ", finite difference " << numeric;
        ++failures;
      }
    }
  }
}

}  // namespace lamina::testing
