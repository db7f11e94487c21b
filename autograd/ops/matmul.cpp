// Differentiable matmul. For op(X) = X or Xᵀ:
//   y = op(a)·op(b);  da = g·op(b)ᵀ (transposed back if a was);  db = op(a)ᵀ·g (likewise).
// Expressed with transpose flags so no transposed copy is made; batch
// broadcasting is undone with sum_to; 1-D operands go through unsqueeze.
#include "lamina/autograd/detail/record.h"
#include "lamina/autograd/ops.h"

namespace lamina {

namespace {

using detail::Grads;
using detail::Needs;

Tensor matmul_2d_plus(const Tensor& a, const Tensor& b, bool ta, bool tb) {
  Tensor y = core::matmul(a, b, ta, tb);
  if (detail::should_record({&a, &b}))
    detail::record({&a, &b}, y, [a, b, ta, tb](const Tensor& g, Grads& gi, const Needs& n) {
      if (n[0]) gi[0] = sum_to(ta ? matmul(b, g, tb, true) : matmul(g, b, false, !tb), a.shape());
      if (n[1]) gi[1] = sum_to(tb ? matmul(g, a, true, ta) : matmul(a, g, !ta, false), b.shape());
    });
  return y;
}

}  // namespace

Tensor matmul(const Tensor& a, const Tensor& b, bool transpose_a, bool transpose_b) {
  if (a.ndim() >= 2 && b.ndim() >= 2) return matmul_2d_plus(a, b, transpose_a, transpose_b);
  core::matmul_shape(a.shape(), b.shape(), transpose_a, transpose_b);  // validates with matmul's messages
  const bool a_vec = a.ndim() == 1, b_vec = b.ndim() == 1;
  Tensor a2 = a_vec ? unsqueeze(a, 0) : a;
  Tensor b2 = b_vec ? unsqueeze(b, 1) : b;
  Tensor y = matmul_2d_plus(a2, b2, a_vec ? false : transpose_a, b_vec ? false : transpose_b);
  if (a_vec) y = squeeze(y, -2);
  if (b_vec) y = squeeze(y, -1);
  return y;
}

}  // namespace lamina
