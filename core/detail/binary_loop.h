#pragma once
// Internal: the broadcasting driver shared by arithmetic and comparison ops.
// Visits the output range in parallel, split into innermost runs; each run
// hands (out, a, b) pointers and their inner strides to `run`.

#include <cstdint>

#include "lamina/core/detail/parallel.h"
#include "lamina/core/detail/strided.h"
#include "lamina/core/tensor.h"

namespace lamina::detail {

/// `a` and `b` must already be broadcast to out.shape() (views).
/// run(TO* out, const TA* a, const TB* b, std::int64_t n, s_out, s_a, s_b).
template <class TO, class TA, class TB, class Run>
void for_each_binary_run(Tensor& out, const Tensor& a, const Tensor& b, std::int64_t grain, Run&& run) {
  auto plan = make_plan<3>(out.shape(), {&out.strides(), &a.strides(), &b.strides()});
  TO* po = static_cast<TO*>(out.raw_data());
  const TA* pa = static_cast<const TA*>(a.raw_data());
  const TB* pb = static_cast<const TB*>(b.raw_data());
  const std::int64_t so = plan.inner_stride(0), sa = plan.inner_stride(1), sb = plan.inner_stride(2);
  parallel_for(plan.numel(), grain, [&](std::int64_t begin, std::int64_t end) {
    for_each_run<3>(plan, begin, end, [&](const auto& off, std::int64_t n) {
      run(po + off[0], pa + off[1], pb + off[2], n, so, sa, sb);
    });
  });
}

}  // namespace lamina::detail
