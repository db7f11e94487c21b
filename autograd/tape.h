#pragma once
/// GradientTape: reverse-mode automatic differentiation, TensorFlow style.
///
/// While a tape is alive on a thread, differentiable ops (the `lamina::`
/// functions in autograd/ops.h) whose inputs the tape tracks are recorded on
/// it. A tape tracks every trainable Variable automatically, tensors passed to
/// watch(), and every output of a recorded op. Outside any tape nothing is
/// recorded and ops cost what the raw kernels cost.
///
/// Tapes nest: ops run while computing an inner tape's gradient are recorded
/// on the outer tapes, which gives higher-order derivatives.
///
/// Example:
///   Tensor x = Tensor::from({3.0});
///   GradientTape outer;
///   outer.watch(x);
///   Tensor dy;
///   {
///     GradientTape inner;
///     inner.watch(x);
///     Tensor y = x * x * x;
///     dy = inner.gradient(y, {x})[0];   // 3x^2 = 27, recorded on `outer`
///   }
///   Tensor d2y = outer.gradient(dy, {x})[0];  // 6x = 18

#include <cstdint>
#include <memory>
#include <vector>

#include "lamina/autograd/variable.h"
#include "lamina/core/tensor.h"

namespace lamina {

/// What gradient() returns for a source the target does not depend on.
enum class UnconnectedGradients {
  none,  ///< an undefined Tensor (defined() == false), like TensorFlow's None
  zero,  ///< zeros of the source's shape and dtype
};

class GradientTape {
 public:
  /// Starts recording on this thread. A non-persistent tape answers one
  /// gradient() call, frees what it saved as backward consumes it, and
  /// records nothing after that call; a persistent tape keeps everything
  /// and goes on recording until it is destroyed.
  explicit GradientTape(bool persistent = false);
  ~GradientTape();
  GradientTape(const GradientTape&) = delete;
  GradientTape& operator=(const GradientTape&) = delete;

  /// Tracks `t` (a floating tensor) from now on. Watching writes to `t`'s
  /// autograd state: do not watch one tensor from two threads at once
  /// (trainable Variables need no watch() and may be shared).
  void watch(const Tensor& t);
  void watch(const Variable& v) { watch(v.value()); }

  /// Gradients of `target` with respect to each source, in the sources'
  /// shapes. `target` must be a scalar unless `output_gradient` (of target's
  /// shape) is given. Sources the target does not depend on get an undefined
  /// Tensor by default (see UnconnectedGradients); so does every source when
  /// the tape did not record the target (computed outside the tape, or with
  /// the raw core:: ops or Tensor view methods), as with TensorFlow.
  /// Errors: a non-persistent tape asked twice; non-scalar target without
  /// output_gradient (or with one of another shape); sources that are
  /// undefined or not floating — each a lamina::Error naming the problem.
  std::vector<Tensor> gradient(const Tensor& target, const std::vector<Tensor>& sources,
                               const Tensor& output_gradient = Tensor(),
                               UnconnectedGradients unconnected = UnconnectedGradients::none);
  std::vector<Tensor> gradient(const Tensor& target, const std::vector<Variable>& sources,
                               const Tensor& output_gradient = Tensor(),
                               UnconnectedGradients unconnected = UnconnectedGradients::none);

  bool persistent() const;
  /// Number of ops recorded so far (for tests and diagnostics).
  std::size_t size() const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

/// While alive, no op is recorded on any tape of this thread (inference).
class NoRecord {
 public:
  NoRecord();
  ~NoRecord();
  NoRecord(const NoRecord&) = delete;
  NoRecord& operator=(const NoRecord&) = delete;
};

/// The same values as `x`, never tracked: gradients do not flow through it.
Tensor stop_gradient(const Tensor& x);

/// True when an op run now on this thread could be recorded on some tape.
bool is_recording();

}  // namespace lamina
