#pragma once
// Internal: how differentiable ops record themselves on the active tapes.
//
// An op computes its forward result with the raw core kernel, then calls
//   if (detail::should_record({&a, &b})) detail::record({&a, &b}, out, backward);
// `backward(grad_out, grads, needs)` writes grads[i] (in input i's shape) for
// each i with needs[i]; it captures only what it uses (prefer the output).
// Backward functions use the differentiable lamina:: ops when an outer tape
// is recording (is_recording()), which gives higher-order gradients, and the
// fused raw kernels otherwise.

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <vector>

#include "lamina/autograd/tape.h"
#include "lamina/core/detail/tensor_impl.h"
#include "lamina/core/tensor.h"

namespace lamina::detail {

inline constexpr int kMaxOpInputs = 3;

using Grads = std::array<Tensor, kMaxOpInputs>;
using Needs = std::array<bool, kMaxOpInputs>;
using BackwardFn = std::function<void(const Tensor& grad_out, Grads& grads, const Needs& needs)>;

/// Autograd state attached to a tensor (TensorImpl::autograd).
struct AutogradMeta final : AutogradMetaBase {
  std::uint64_t id = 0;
  bool is_variable = false;
  std::atomic<bool> trainable{false};
  // Serial numbers of the tapes tracking this tensor (stale ones are pruned):
  // inline slots, then an overflow list used only under deep nesting.
  // Written by watch() and record() on the thread that owns the tapes: one
  // tensor must not be watched from two threads at once (Variables are
  // tracked without writes and may be shared).
  std::array<std::uint64_t, 4> tapes{};
  int tape_count = 0;
  std::vector<std::uint64_t> more_tapes;
};

/// The tensor's meta, or null.
inline AutogradMeta* meta_of(const Tensor& t) {
  return t.defined() ? static_cast<AutogradMeta*>(t.impl()->autograd.get()) : nullptr;
}
/// The tensor's meta, created (with a fresh id) if absent.
AutogradMeta& ensure_meta(const Tensor& t);

/// Number of tapes currently recording on this thread (0 under NoRecord).
int recording_depth();

/// True if some active tape tracks one of the inputs. Cheap when no tape is active.
bool should_record(std::initializer_list<const Tensor*> inputs);

/// Records the op (inputs -> output) on every active tape tracking an input.
void record(std::initializer_list<const Tensor*> inputs, const Tensor& output, BackwardFn backward);

/// Shorthand for ops with one input.
template <class F>
inline void record_unary(const Tensor& x, const Tensor& y, F&& backward) {
  if (should_record({&x})) record({&x}, y, std::forward<F>(backward));
}

}  // namespace lamina::detail
