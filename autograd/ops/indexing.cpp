// take_along_axis (gather along one axis) and its adjoint, a scatter-add;
// one_hot. Plain strided loops: these ops move O(output) elements.
#include <array>

#include "lamina/autograd/detail/record.h"
#include "lamina/autograd/indexing.h"
#include "lamina/autograd/ops.h"

namespace lamina {

namespace {

using detail::Grads;
using detail::Needs;

constexpr const char* kTake = "take_along_axis";

bool is_index_dtype(DType t) { return t == DType::int32 || t == DType::int64 || t == DType::uint8; }

void check_index_dtype(const Tensor& indices, const char* op) {
  LAMINA_CHECK(is_index_dtype(indices.dtype()), DTypeError, "[", op,
               "] indices must be int32, int64 or uint8, got ", indices.dtype());
}

// Calls f(const I*) with the typed data pointer of an index tensor.
template <class F>
void with_indices(const Tensor& indices, F&& f) {
  switch (indices.dtype()) {
    case DType::int32: f(indices.data<std::int32_t>()); break;
    case DType::int64: f(indices.data<std::int64_t>()); break;
    default: f(indices.data<std::uint8_t>()); break;
  }
}

// How the output of take_along_axis(x, indices, axis) maps onto x and indices.
struct Gather {
  Shape out_shape;
  Shape x_strides;    // per output axis; 0 where x broadcasts and on `axis`
  Shape idx_strides;  // per output axis; 0 where indices broadcast
  std::int64_t axis_stride = 0;  // x's stride along `axis`
  std::int64_t extent = 0;       // x's extent along `axis`
  int axis = 0;
};

Gather plan(const Shape& x_shape, const Shape& x_strides, const Tensor& indices, int axis) {
  const int nd = x_shape.ndim();
  LAMINA_CHECK(nd >= 1, ShapeError, "[", kTake, "] x must have at least one dimension, got shape ", x_shape);
  LAMINA_CHECK(indices.ndim() == nd, ShapeError, "[", kTake, "] indices must have the rank of x: x has shape ",
               x_shape, ", indices have shape ", indices.shape());
  Gather g;
  g.axis = normalize_axis(axis, nd, kTake);
  g.extent = x_shape[g.axis];
  g.axis_stride = x_strides[g.axis];
  g.out_shape = x_shape;
  g.x_strides = Shape(std::vector<std::int64_t>(nd, 0));
  g.idx_strides = Shape(std::vector<std::int64_t>(nd, 0));
  const Shape& is = indices.shape();
  for (int d = 0; d < nd; ++d) {
    if (d == g.axis) {
      g.out_shape[d] = is[d];
      g.idx_strides[d] = is[d] == 1 ? 0 : indices.strides()[d];
      continue;
    }
    LAMINA_CHECK(x_shape[d] == is[d] || x_shape[d] == 1 || is[d] == 1, ShapeError, "[", kTake,
                 "] x of shape ", x_shape, " and indices of shape ", indices.shape(),
                 " do not broadcast outside axis ", g.axis);
    g.out_shape[d] = x_shape[d] == 1 ? is[d] : x_shape[d];
    g.x_strides[d] = x_shape[d] == 1 ? 0 : x_strides[d];
    g.idx_strides[d] = is[d] == 1 ? 0 : indices.strides()[d];
  }
  return g;
}

// Calls f(out_linear_index, x_element_offset) for every output element in
// row-major order, validating each index.
template <class I, class F>
void walk(const Gather& g, const I* idx, F&& f) {
  const int nd = g.out_shape.ndim();
  const std::int64_t total = g.out_shape.numel();
  std::array<std::int64_t, kMaxDims> pos{};
  std::int64_t xo = 0, io = 0;
  for (std::int64_t lin = 0; lin < total; ++lin) {
    const std::int64_t raw = static_cast<std::int64_t>(idx[io]);
    const std::int64_t j = raw < 0 ? raw + g.extent : raw;
    LAMINA_CHECK(j >= 0 && j < g.extent, IndexError, "[", kTake, "] index ", raw, " is out of bounds for axis ",
                 g.axis, " with extent ", g.extent);
    f(lin, xo + j * g.axis_stride);
    for (int d = nd - 1; d >= 0; --d) {
      if (++pos[d] < g.out_shape[d]) {
        xo += g.x_strides[d];
        io += g.idx_strides[d];
        break;
      }
      xo -= g.x_strides[d] * (g.out_shape[d] - 1);
      io -= g.idx_strides[d] * (g.out_shape[d] - 1);
      pos[d] = 0;
    }
  }
}

// The adjoint of take_along_axis: zeros of `x_shape` with each element of g
// added at the position it was gathered from. Differentiable w.r.t. g (its
// backward is take_along_axis again).
Tensor scatter_add_along_axis(const Tensor& g, const Tensor& indices, int axis, const Shape& x_shape) {
  Tensor out = zeros(x_shape, g.dtype());
  const Gather p = plan(x_shape, contiguous_strides(x_shape), indices, axis);
  LAMINA_CHECK(p.out_shape == g.shape(), ShapeError, "[", kTake, "] gradient of shape ", g.shape(),
               " does not match the gathered shape ", p.out_shape);
  const Tensor gc = g.contiguous();
  visit_dtype(g.dtype(), [&](auto tag) {
    using T = decltype(tag);
    if constexpr (std::is_floating_point_v<T>) {
      const T* src = gc.data<T>();
      T* dst = out.data<T>();
      with_indices(indices, [&](const auto* idx) { walk(p, idx, [&](std::int64_t lin, std::int64_t xo) { dst[xo] += src[lin]; }); });
    } else {
      LAMINA_CHECK(false, DTypeError, "[", kTake, "] gradients need a float dtype, got ", g.dtype());
    }
  });
  detail::record_unary(g, out, [indices, axis](const Tensor& gg, Grads& gi, const Needs&) {
    gi[0] = take_along_axis(gg, indices, axis);
  });
  return out;
}

}  // namespace

Tensor take_along_axis(const Tensor& x, const Tensor& indices, int axis) {
  check_index_dtype(indices, kTake);
  const Gather p = plan(x.shape(), x.strides(), indices, axis);
  Tensor out = empty(p.out_shape, x.dtype());
  if (p.out_shape.numel() > 0) {
    auto gather = [&](auto tag) {
      using T = decltype(tag);
      const T* src = reinterpret_cast<const T*>(x.raw_data());
      T* dst = reinterpret_cast<T*>(out.raw_data());
      with_indices(indices, [&](const auto* idx) { walk(p, idx, [&](std::int64_t lin, std::int64_t xo) { dst[lin] = src[xo]; }); });
    };
    visit_dtype(x.dtype(), gather);
  }
  if (is_floating(x.dtype()))
    detail::record_unary(x, out, [indices, axis, shape = x.shape()](const Tensor& g, Grads& gi, const Needs&) {
      gi[0] = scatter_add_along_axis(g, indices, axis, shape);
    });
  return out;
}

Tensor one_hot(const Tensor& indices, std::int64_t depth, DType dtype) {
  check_index_dtype(indices, "one_hot");
  LAMINA_CHECK(depth >= 0, ValueError, "[one_hot] depth must be >= 0, got ", depth);
  Shape shape = indices.shape();
  shape.push_back(depth);
  Tensor out = zeros(shape, dtype);
  if (out.numel() == 0) return out;
  const Tensor idx = indices.contiguous();
  const std::int64_t n = idx.numel();
  visit_dtype(dtype, [&](auto tag) {
    using T = decltype(tag);
    T* dst = reinterpret_cast<T*>(out.raw_data());
    with_indices(idx, [&](const auto* in) {
      for (std::int64_t i = 0; i < n; ++i) {
        const std::int64_t j = static_cast<std::int64_t>(in[i]);
        if (j >= 0 && j < depth) dst[i * depth + j] = T(1);
      }
    });
  });
  return out;
}

}  // namespace lamina
