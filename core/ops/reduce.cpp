// Reductions. Every reduction is brought to the form [outer, R, inner]
// (reduce the middle axis of a contiguous tensor) and split across threads
// by output elements or by fixed-size blocks of R, never by thread count, so
// results are bitwise identical for any number of threads.
#include "lamina/core/ops/reduce.h"

#include <algorithm>
#include <limits>
#include <vector>

#include "lamina/core/detail/convert.h"
#include "lamina/core/detail/grain.h"
#include "lamina/core/detail/parallel.h"
#include "lamina/core/kernels/kernel_table.h"
#include "lamina/core/ops/binary.h"
#include "lamina/core/ops/unary.h"

namespace lamina::core {

namespace {

using detail::ReduceOp;

struct Geometry {
  std::int64_t outer = 1, r = 1, inner = 1;
};

// Normalized, sorted, de-duplicated axes; all axes when `axes` is empty.
std::vector<int> resolve_axes(const Axes& axes, int ndim, const char* op) {
  std::vector<int> out;
  if (axes.empty()) {
    for (int d = 0; d < ndim; ++d) out.push_back(d);
    return out;
  }
  for (int a : axes) out.push_back(normalize_axis(a, ndim, op));
  std::sort(out.begin(), out.end());
  LAMINA_CHECK(std::adjacent_find(out.begin(), out.end()) == out.end(), ValueError, "[", op,
               "] repeated axis in the axes list");
  return out;
}

Shape reduced_shape(const Shape& in, const std::vector<int>& axes, bool keepdims) {
  Shape out;
  for (int d = 0; d < in.ndim(); ++d) {
    bool reduced = std::find(axes.begin(), axes.end(), d) != axes.end();
    if (!reduced) out.push_back(in[d]);
    else if (keepdims) out.push_back(1);
  }
  return out;
}

template <class T>
T identity(ReduceOp op) {
  if (op == ReduceOp::sum) return T(0);
  if (op == ReduceOp::max) return std::numeric_limits<T>::has_infinity ? -std::numeric_limits<T>::infinity()
                                                                         : std::numeric_limits<T>::lowest();
  return std::numeric_limits<T>::has_infinity ? std::numeric_limits<T>::infinity() : std::numeric_limits<T>::max();
}

template <class T>
T combine(ReduceOp op, T a, T b) {
  if (op == ReduceOp::sum) return detail::wrapping_add(a, b);
  // NaN wins, as with NumPy (a != a only for NaN; integers never).
  if (op == ReduceOp::max) return (a > b || a != a) ? a : b;
  return (a < b || a != a) ? a : b;
}

// Reduction of one contiguous run, SIMD for floats.
template <class T>
T reduce_run(ReduceOp op, const T* x, std::int64_t n) {
  if constexpr (std::is_floating_point_v<T>) {
    return detail::kernels_for<T>().reduce[static_cast<int>(op)](x, n);
  } else {
    T acc = identity<T>(op);
    for (std::int64_t i = 0; i < n; ++i) acc = combine(op, acc, x[i]);
    return acc;
  }
}

// out[b] = reduction of x's block b (blocks of `len` elements).
template <class T>
void reduce_block_runs(ReduceOp op, const T* x, std::int64_t blocks, std::int64_t len, T* out) {
  if constexpr (std::is_floating_point_v<T>) {
    detail::kernels_for<T>().reduce_blocks[static_cast<int>(op)](x, blocks, len, out);
  } else {
    for (std::int64_t b = 0; b < blocks; ++b) out[b] = reduce_run<T>(op, x + b * len, len);
  }
}

template <class T>
void accumulate_run(ReduceOp op, T* acc, const T* x, std::int64_t n) {
  if constexpr (std::is_floating_point_v<T>) {
    detail::kernels_for<T>().accumulate[static_cast<int>(op)](acc, x, n);
  } else {
    for (std::int64_t i = 0; i < n; ++i) acc[i] = combine(op, acc[i], x[i]);
  }
}

// Reduces the middle axis of contiguous x viewed as [outer, r, inner].
template <class T>
void reduce_middle(ReduceOp op, const T* x, T* out, Geometry g) {
  if (g.r == 0) {
    std::fill(out, out + g.outer * g.inner, identity<T>(op));
    return;
  }
  if (g.inner == 1 && g.outer == 1) {
    // One long run: fixed blocks reduced in parallel, partials combined in order.
    const std::int64_t blocks = (g.r + detail::kReduceBlock - 1) / detail::kReduceBlock;
    if (blocks == 1) {
      *out = reduce_run<T>(op, x, g.r);
      return;
    }
    // A block's partial does not depend on the blocks reduced with it, so
    // the split between threads cannot change the result.
    std::vector<T> partial(static_cast<std::size_t>(blocks));
    const std::int64_t full = g.r / detail::kReduceBlock;
    detail::parallel_for(blocks, 4, [&](std::int64_t b, std::int64_t e) {
      const std::int64_t full_end = std::min(e, full);
      if (full_end > b)
        reduce_block_runs<T>(op, x + b * detail::kReduceBlock, full_end - b, detail::kReduceBlock, partial.data() + b);
      if (e > full)  // the last, shorter block
        reduce_block_runs<T>(op, x + full * detail::kReduceBlock, 1, g.r - full * detail::kReduceBlock,
                             partial.data() + full);
    });
    *out = reduce_run<T>(op, partial.data(), blocks);
    return;
  }
  if (g.inner == 1) {
    const std::int64_t grain = std::max<std::int64_t>(1, detail::kGrainCheap / g.r);
    detail::parallel_for(g.outer, grain, [&](std::int64_t b, std::int64_t e) {
      for (std::int64_t o = b; o < e; ++o) out[o] = reduce_run<T>(op, x + o * g.r, g.r);
    });
    return;
  }
  // Column-wise: each task owns a block of output columns and walks all r rows.
  constexpr std::int64_t kCols = 1024;
  const std::int64_t col_blocks = (g.inner + kCols - 1) / kCols;
  const std::int64_t grain = std::max<std::int64_t>(1, detail::kGrainCheap / (g.r * std::min(kCols, g.inner)));
  detail::parallel_for(g.outer * col_blocks, grain, [&](std::int64_t b, std::int64_t e) {
    for (std::int64_t t = b; t < e; ++t) {
      const std::int64_t o = t / col_blocks, c0 = (t % col_blocks) * kCols;
      const std::int64_t w = std::min(kCols, g.inner - c0);
      const T* src = x + o * g.r * g.inner + c0;
      T* dst = out + o * g.inner + c0;
      std::copy(src, src + w, dst);
      for (std::int64_t r = 1; r < g.r; ++r) accumulate_run<T>(op, dst, src + r * g.inner, w);
    }
  });
}

// Reduces one contiguous group of axes [a0, a1] of contiguous x (keepdims).
Tensor reduce_group(const Tensor& x, int a0, int a1, ReduceOp op) {
  Geometry g;
  const Shape& s = x.shape();
  for (int d = 0; d < a0; ++d) g.outer *= s[d];
  for (int d = a0; d <= a1; ++d) g.r *= s[d];
  for (int d = a1 + 1; d < s.ndim(); ++d) g.inner *= s[d];
  Shape out_shape = s;
  for (int d = a0; d <= a1; ++d) out_shape[d] = 1;
  Tensor out = Tensor::empty(out_shape, x.dtype());
  visit_dtype(x.dtype(), [&](auto zero) {
    using T = decltype(zero);
    reduce_middle<T>(op, static_cast<const T*>(x.raw_data()), static_cast<T*>(out.raw_data()), g);
  });
  return out;
}

Tensor reduce(const Tensor& x_in, const Axes& axes_in, bool keepdims, ReduceOp op, const char* name) {
  LAMINA_CHECK(x_in.dtype() != DType::bool_ || op == ReduceOp::sum, DTypeError, "[", name,
               "] unsupported dtype bool");
  // Sums of bool, uint8 and int32 are int64, as in NumPy and PyTorch: a sum of
  // uint8 pixels must not wrap at 256.
  if (op == ReduceOp::sum && !is_floating(x_in.dtype()) && x_in.dtype() != DType::int64)
    return reduce(x_in.to(DType::int64), axes_in, keepdims, op, name);
  // Fast path: everything of a contiguous tensor into one value.
  if (axes_in.empty() && x_in.is_contiguous() && x_in.numel() > 0) {  // bool only sums, converted above
    Shape out_shape;
    if (keepdims) out_shape.resize(x_in.ndim(), 1);
    Tensor out = Tensor::empty(out_shape, x_in.dtype());
    visit_dtype(x_in.dtype(), [&](auto zero) {
      using T = decltype(zero);
      reduce_middle<T>(op, static_cast<const T*>(x_in.raw_data()), static_cast<T*>(out.raw_data()),
                       Geometry{1, x_in.numel(), 1});
    });
    return out;
  }
  Tensor x = x_in.contiguous();
  const std::vector<int> axes = resolve_axes(axes_in, x.ndim(), name);
  if (op != ReduceOp::sum) {
    for (int a : axes)
      LAMINA_CHECK(x.shape()[a] > 0, ValueError, "[", name, "] zero-size axis ", a, " of shape ", x.shape(),
                   " has no identity");
  }
  // Reduce runs of adjacent axes at once, last run first.
  Tensor cur = x;
  for (std::size_t i = axes.size(); i-- > 0;) {
    std::size_t j = i;
    while (j > 0 && axes[j - 1] == axes[j] - 1) --j;
    cur = reduce_group(cur, axes[j], axes[i], op);
    i = j;
  }
  if (axes.empty()) cur = cur.clone();
  return cur.reshape(reduced_shape(x.shape(), axes, keepdims));
}

std::int64_t reduced_count(const Shape& s, const Axes& axes_in, const char* op) {
  std::int64_t n = 1;
  for (int a : resolve_axes(axes_in, s.ndim(), op)) n *= s[a];
  return n;
}

void check_float(const Tensor& x, const char* op) {
  LAMINA_CHECK(is_floating(x.dtype()), DTypeError, "[", op, "] expected float32 or float64, got ", x.dtype());
}

template <bool IsMax>
Tensor arg_reduce(const Tensor& x_in, int axis, bool keepdims, const char* name) {
  LAMINA_CHECK(x_in.ndim() > 0, ValueError, "[", name, "] expected at least 1 dimension, got a scalar");
  const int a = normalize_axis(axis, x_in.ndim(), name);
  LAMINA_CHECK(x_in.shape()[a] > 0, ValueError, "[", name, "] axis ", axis, " of shape ", x_in.shape(),
               " is empty");
  Tensor x = x_in.dtype() == DType::bool_ ? x_in.to(DType::uint8) : x_in.contiguous();
  Geometry g;
  for (int d = 0; d < a; ++d) g.outer *= x.shape()[d];
  g.r = x.shape()[a];
  for (int d = a + 1; d < x.ndim(); ++d) g.inner *= x.shape()[d];
  Shape out_shape = x.shape();
  out_shape[a] = 1;
  Tensor out = Tensor::empty(out_shape, DType::int64);
  auto* po = static_cast<std::int64_t*>(out.raw_data());
  visit_dtype(x.dtype(), [&](auto zero) {
    using T = decltype(zero);
    const T* px = static_cast<const T*>(x.raw_data());
    detail::parallel_for(g.outer * g.inner, std::max<std::int64_t>(1, detail::kGrainCheap / g.r),
                         [&](std::int64_t b, std::int64_t e) {
      for (std::int64_t t = b; t < e; ++t) {
        const std::int64_t o = t / g.inner, i = t % g.inner;
        const T* p = px + o * g.r * g.inner + i;
        std::int64_t best = 0;
        T bv = p[0];
        for (std::int64_t r = 1; r < g.r; ++r) {
          const T v = p[r * g.inner];
          // The first NaN wins and stays, as NumPy's argmax (v != v: NaN).
          if (bv == bv && (v != v || (IsMax ? v > bv : v < bv))) bv = v, best = r;
        }
        po[t] = best;
      }
    });
  });
  if (!keepdims) out_shape.erase(a);
  return out.reshape(out_shape);
}

}  // namespace

Tensor sum(const Tensor& x, const Axes& axes, bool keepdims) { return reduce(x, axes, keepdims, ReduceOp::sum, "sum"); }
Tensor max(const Tensor& x, const Axes& axes, bool keepdims) { return reduce(x, axes, keepdims, ReduceOp::max, "max"); }
Tensor min(const Tensor& x, const Axes& axes, bool keepdims) { return reduce(x, axes, keepdims, ReduceOp::min, "min"); }

Tensor mean(const Tensor& x, const Axes& axes, bool keepdims) {
  check_float(x, "mean");
  const std::int64_t n = reduced_count(x.shape(), axes, "mean");
  Tensor s = sum(x, axes, keepdims);
  mul_(s, n > 0 ? 1.0 / static_cast<double>(n) : std::numeric_limits<double>::quiet_NaN());
  return s;
}

Tensor var(const Tensor& x, const Axes& axes, bool keepdims, int ddof) {
  check_float(x, "var");
  const std::int64_t n = reduced_count(x.shape(), axes, "var");
  Tensor m = mean(x, axes, /*keepdims=*/true);
  Tensor d = sub(x, m);
  Tensor s = sum(mul(d, d), axes, keepdims);
  const double denom = static_cast<double>(n - ddof);
  mul_(s, denom > 0 ? 1.0 / denom : std::numeric_limits<double>::quiet_NaN());
  return s;
}

Tensor argmax(const Tensor& x, int axis, bool keepdims) { return arg_reduce<true>(x, axis, keepdims, "argmax"); }
Tensor argmin(const Tensor& x, int axis, bool keepdims) { return arg_reduce<false>(x, axis, keepdims, "argmin"); }

Tensor sum_to(const Tensor& x, const Shape& shape) {
  if (x.shape() == shape) return x;
  LAMINA_CHECK(shape.ndim() <= x.ndim(), ShapeError, "[sum_to] cannot reduce ", x.shape(), " to ", shape);
  const int lead = x.ndim() - shape.ndim();
  Axes axes;
  for (int d = 0; d < x.ndim(); ++d) {
    if (d < lead) {
      axes.push_back(d);
      continue;
    }
    const std::int64_t want = shape[d - lead];
    LAMINA_CHECK(want == x.shape()[d] || want == 1, ShapeError, "[sum_to] cannot reduce ", x.shape(), " to ", shape);
    if (want == 1 && x.shape()[d] != 1) axes.push_back(d);
  }
  if (axes.empty()) return x.reshape(shape);
  return sum(x, axes, /*keepdims=*/true).reshape(shape);
}

}  // namespace lamina::core
