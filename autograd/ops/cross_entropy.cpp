// Fused sparse softmax cross-entropy: one recorded op instead of
// log_softmax + gather + neg, with a raw backward (softmax - one_hot) * g.
#include <vector>

#include "lamina/autograd/detail/record.h"
#include "lamina/autograd/indexing.h"
#include "lamina/autograd/nn.h"
#include "lamina/autograd/ops.h"

namespace lamina {

namespace {

using detail::Grads;
using detail::Needs;

constexpr const char* kOp = "sparse_softmax_cross_entropy_with_logits";

// Labels as int64 in row-major order, validated against [0, classes) (entries
// equal to `ignore` are kept as -1).
std::vector<std::int64_t> read_labels(const Tensor& labels, std::int64_t classes, std::optional<std::int64_t> ignore) {
  const Tensor l = labels.to(DType::int64).contiguous();
  const std::int64_t* p = l.data<std::int64_t>();
  std::vector<std::int64_t> out(static_cast<std::size_t>(l.numel()));
  for (std::size_t i = 0; i < out.size(); ++i) {
    const std::int64_t v = p[i];
    if (ignore && v == *ignore) {
      out[i] = -1;
      continue;
    }
    LAMINA_CHECK(v >= 0 && v < classes, IndexError, "[", kOp, "] label ", v, " is out of range [0, ", classes,
                 ") at position ", i);
    out[i] = v;
  }
  return out;
}

// -log_softmax picked at the labels, for logits whose class axis is last.
Tensor fused_last_axis(const Tensor& labels, const Tensor& z, std::optional<std::int64_t> ignore) {
  const std::int64_t classes = z.shape().back();
  auto lab = std::make_shared<const std::vector<std::int64_t>>(read_labels(labels, classes, ignore));
  const Tensor ls = core::log_softmax(z, -1).contiguous();
  Tensor out = empty(labels.shape(), z.dtype());
  const auto rows = static_cast<std::int64_t>(lab->size());
  visit_dtype(z.dtype(), [&](auto tag) {
    using T = decltype(tag);
    if constexpr (std::is_floating_point_v<T>) {
      const T* l = ls.data<T>();
      T* o = out.data<T>();
      for (std::int64_t r = 0; r < rows; ++r) {
        const std::int64_t k = (*lab)[r];
        o[r] = k < 0 ? T(0) : -l[r * classes + k];
      }
    }
  });
  detail::record_unary(z, out, [z, ls, lab, classes, ignore, lshape = labels.shape()](const Tensor& g, Grads& gi,
                                                                                     const Needs&) {
    if (is_recording()) {
      // Composite with differentiable ops, so an outer tape sees d/dz and d/dg.
      Tensor idx = Tensor::from(*lab, lshape);
      Tensor target = one_hot(idx, classes, z.dtype());  // ignored rows (-1) are all zero
      Tensor p = softmax(z, -1);
      if (ignore) {
        Tensor valid = core::greater_equal(idx, Tensor::scalar(0, DType::int64)).to(z.dtype());
        p = mul(p, valid.unsqueeze(-1));
      }
      gi[0] = mul(unsqueeze(g, -1), sub(p, target));
      return;
    }
    Tensor dz = core::exp(ls);
    if (!dz.is_contiguous()) dz = dz.contiguous();
    const Tensor gc = g.to(dz.dtype()).contiguous();
    const auto n = static_cast<std::int64_t>(lab->size());
    visit_dtype(dz.dtype(), [&](auto tag) {
      using T = decltype(tag);
      if constexpr (std::is_floating_point_v<T>) {
        T* d = dz.data<T>();
        const T* gp = gc.data<T>();
        for (std::int64_t r = 0; r < n; ++r) {
          T* row = d + r * classes;
          const std::int64_t k = (*lab)[r];
          const T s = k < 0 ? T(0) : gp[r];
          for (std::int64_t c = 0; c < classes; ++c) row[c] *= s;
          if (k >= 0) row[k] -= s;
        }
      }
    });
    gi[0] = dz;
  });
  return out;
}

}  // namespace

Tensor sparse_softmax_cross_entropy_with_logits(const Tensor& labels, const Tensor& logits, int axis,
                                                std::optional<std::int64_t> ignore_class) {
  LAMINA_CHECK(labels.defined() && logits.defined(), ValueError, "[", kOp, "] labels and logits must be defined");
  LAMINA_CHECK(is_floating(logits.dtype()), DTypeError, "[", kOp, "] logits must be float32 or float64, got ",
               logits.dtype());
  LAMINA_CHECK(labels.dtype() == DType::int32 || labels.dtype() == DType::int64 || labels.dtype() == DType::uint8,
               DTypeError, "[", kOp, "] labels must be int32, int64 or uint8, got ", labels.dtype());
  LAMINA_CHECK(logits.ndim() >= 1, ShapeError, "[", kOp, "] logits must have a class axis, got shape ",
               logits.shape());
  const int nd = logits.ndim();
  const int a = normalize_axis(axis, nd, kOp);
  Shape expect = logits.shape();
  expect.erase(a);
  LAMINA_CHECK(labels.shape() == expect, ShapeError, "[", kOp, "] labels of shape ", labels.shape(),
               " do not match logits of shape ", logits.shape(), " without axis ", a, " (expected ", expect, ")");
  if (a == nd - 1) return fused_last_axis(labels, logits, ignore_class);
  // Move the class axis last (a differentiable view), then the fused kernel.
  std::vector<int> perm;
  for (int d = 0; d < nd; ++d)
    if (d != a) perm.push_back(d);
  perm.push_back(a);
  return fused_last_axis(labels, permute(logits, perm), ignore_class);
}

}  // namespace lamina
