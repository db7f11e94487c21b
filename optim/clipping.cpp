#include "lamina/optim/clipping.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "lamina/core/detail/grain.h"
#include "lamina/core/detail/parallel.h"
#include "lamina/core/error.h"
#include "lamina/core/ops/binary.h"
#include "lamina/core/ops/unary.h"
#include "lamina/optim/kernels/update_kernels.h"

namespace lamina::optim {

namespace {

// Partial sums over fixed blocks (never depending on the thread count),
// combined in block order in double.
template <class T>
double sum_squares_typed(const T* x, std::int64_t n) {
  const auto& k = detail::update_kernels_for<T>();
  constexpr std::int64_t block = lamina::detail::kReduceBlock;
  const std::int64_t blocks = (n + block - 1) / block;
  if (blocks <= 1) return static_cast<double>(k.sum_squares(x, n));
  std::vector<double> partial(static_cast<std::size_t>(blocks));
  lamina::detail::parallel_chunks(blocks, [&](std::int64_t b) {
    const std::int64_t begin = b * block;
    partial[static_cast<std::size_t>(b)] = static_cast<double>(k.sum_squares(x + begin, std::min(block, n - begin)));
  });
  double s = 0;
  for (double p : partial) s += p;
  return s;
}

}  // namespace

double sum_of_squares(const Tensor& t) {
  if (!t.defined()) return 0.0;
  LAMINA_CHECK(is_floating(t.dtype()), DTypeError, "[sum_of_squares] expected a floating tensor, got ", t.dtype());
  const Tensor c = t.contiguous();
  if (c.dtype() == DType::float32) return sum_squares_typed(c.data<float>(), c.numel());
  return sum_squares_typed(c.data<double>(), c.numel());
}

double l2_norm(const Tensor& t) { return std::sqrt(sum_of_squares(t)); }

double global_norm(const std::vector<Tensor>& ts) {
  double s = 0;
  for (const Tensor& t : ts) s += sum_of_squares(t);
  return std::sqrt(s);
}

double clipnorm_scale(double norm, double clipnorm) {
  // std::max(norm, c) keeps a NaN norm (NaN < c is false), so NaN propagates.
  const double denom = norm < clipnorm ? clipnorm : norm;
  return clipnorm / denom;
}

double global_clipnorm_scale(double global_norm, double clipnorm) {
  // Keras: c * min(1/G, 1/c), plus (G - G) so a non-finite G gives NaN.
  return clipnorm * std::min(1.0 / global_norm, 1.0 / clipnorm) + (global_norm - global_norm);
}

Tensor clip_by_norm(const Tensor& g, double clipnorm) {
  if (!g.defined()) return g;
  return core::mul(g, clipnorm_scale(l2_norm(g), clipnorm));
}

std::vector<Tensor> clip_by_global_norm(const std::vector<Tensor>& grads, double clipnorm) {
  const double scale = global_clipnorm_scale(global_norm(grads), clipnorm);
  std::vector<Tensor> out;
  out.reserve(grads.size());
  for (const Tensor& g : grads) out.push_back(g.defined() ? core::mul(g, scale) : g);
  return out;
}

Tensor clip_by_value(const Tensor& g, double clipvalue) {
  if (!g.defined()) return g;
  return core::clip(g, -clipvalue, clipvalue);
}

}  // namespace lamina::optim
