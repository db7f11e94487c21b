// Comparisons (to bool) and where/select, for every dtype. Plain loops: on
// contiguous runs the compiler vectorizes them at the baseline ISA.
#include <cstdint>

#include "lamina/core/detail/binary_loop.h"
#include "lamina/core/detail/grain.h"
#include "lamina/core/ops/binary.h"

namespace lamina::core {

namespace {

enum class Cmp { eq, ne, lt, le, gt, ge };

template <class T>
inline std::uint8_t compare(Cmp c, T a, T b) {
  switch (c) {
    case Cmp::eq: return a == b;
    case Cmp::ne: return a != b;
    case Cmp::lt: return a < b;
    case Cmp::le: return a <= b;
    case Cmp::gt: return a > b;
    case Cmp::ge: return a >= b;
  }
  return 0;
}

template <class T, Cmp C>
void compare_run(std::uint8_t* o, const T* a, const T* b, std::int64_t n, std::int64_t so, std::int64_t sa,
                 std::int64_t sb) {
  if (so == 1 && sa == 1 && sb == 1) {
    for (std::int64_t i = 0; i < n; ++i) o[i] = compare<T>(C, a[i], b[i]);
  } else if (so == 1 && sa == 1 && sb == 0) {
    const T s = *b;
    for (std::int64_t i = 0; i < n; ++i) o[i] = compare<T>(C, a[i], s);
  } else {
    for (std::int64_t i = 0; i < n; ++i) o[i * so] = compare<T>(C, a[i * sa], b[i * sb]);
  }
}

template <Cmp C>
Tensor compare_op(const Tensor& a, const Tensor& b, const char* name) {
  LAMINA_CHECK(a.dtype() == b.dtype(), DTypeError, "[", name, "] dtypes differ: ", a.dtype(), " and ", b.dtype(),
               "; convert one with .to()");
  const Shape shape = broadcast_shapes(a.shape(), b.shape(), name);
  Tensor out = Tensor::empty(shape, DType::bool_);
  Tensor ab = a.broadcast_to(shape), bb = b.broadcast_to(shape);
  visit_dtype(a.dtype(), [&](auto zero) {
    using T = decltype(zero);
    detail::for_each_binary_run<std::uint8_t, T, T>(out, ab, bb, detail::kGrainCheap, compare_run<T, C>);
  });
  return out;
}

}  // namespace

Tensor equal(const Tensor& a, const Tensor& b) { return compare_op<Cmp::eq>(a, b, "equal"); }
Tensor not_equal(const Tensor& a, const Tensor& b) { return compare_op<Cmp::ne>(a, b, "not_equal"); }
Tensor less(const Tensor& a, const Tensor& b) { return compare_op<Cmp::lt>(a, b, "less"); }
Tensor less_equal(const Tensor& a, const Tensor& b) { return compare_op<Cmp::le>(a, b, "less_equal"); }
Tensor greater(const Tensor& a, const Tensor& b) { return compare_op<Cmp::gt>(a, b, "greater"); }
Tensor greater_equal(const Tensor& a, const Tensor& b) { return compare_op<Cmp::ge>(a, b, "greater_equal"); }
Tensor greater(const Tensor& a, double b) { return greater(a, Tensor::scalar(b, a.dtype())); }
Tensor less(const Tensor& a, double b) { return less(a, Tensor::scalar(b, a.dtype())); }

Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b) {
  LAMINA_CHECK(cond.dtype() == DType::bool_, DTypeError, "[where] condition must be bool, got ", cond.dtype());
  LAMINA_CHECK(a.dtype() == b.dtype(), DTypeError, "[where] dtypes differ: ", a.dtype(), " and ", b.dtype());
  const Shape shape = broadcast_shapes(cond.shape(), broadcast_shapes(a.shape(), b.shape(), "where"), "where");
  Tensor out = Tensor::empty(shape, a.dtype());
  Tensor cb = cond.broadcast_to(shape), ab = a.broadcast_to(shape), bb = b.broadcast_to(shape);
  auto plan = detail::make_plan<4>(shape, {&out.strides(), &cb.strides(), &ab.strides(), &bb.strides()});
  visit_dtype(a.dtype(), [&](auto zero) {
    using T = decltype(zero);
    T* po = static_cast<T*>(out.raw_data());
    const auto* pc = static_cast<const std::uint8_t*>(cb.raw_data());
    const T* pa = static_cast<const T*>(ab.raw_data());
    const T* pb = static_cast<const T*>(bb.raw_data());
    const std::int64_t so = plan.inner_stride(0), sc = plan.inner_stride(1), sa = plan.inner_stride(2),
                       sb = plan.inner_stride(3);
    detail::parallel_for(plan.numel(), detail::kGrainCheap, [&](std::int64_t s, std::int64_t e) {
      detail::for_each_run<4>(plan, s, e, [&](const auto& off, std::int64_t n) {
        for (std::int64_t i = 0; i < n; ++i)
          po[off[0] + i * so] = pc[off[1] + i * sc] ? pa[off[2] + i * sa] : pb[off[3] + i * sb];
      });
    });
  });
  return out;
}

}  // namespace lamina::core
