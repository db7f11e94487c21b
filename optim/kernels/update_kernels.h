#pragma once
// Internal: the function tables of the fused optimizer update kernels. Each
// ISA's translation unit (update_<isa>.cpp) fills one table per float type;
// update_kernels_for<T>() returns the table of the current ISA.
// Plain C arrays and structs only: this header is included by ISA-specific units.

#include <cstdint>

namespace lamina::optim::detail {

// One fused pass per rule: gradient preparation (clip-by-norm scale, optional
// clip-by-value), optional decoupled weight decay, slot updates and the
// parameter update, each element read and written once.
enum class UpdateRule : int {
  sgd,                        // w -= lr*g
  sgd_momentum,               // s0 = mom*s0 - lr*g; w += s0
  sgd_nesterov,               // s0 = mom*s0 - lr*g; w += mom*s0 - lr*g
  adam,                       // s0 = m, s1 = v
  adam_amsgrad,               // s0 = m, s1 = v, s2 = v_hat
  rmsprop,                    // s0 = velocity
  rmsprop_momentum,           // s0 = velocity, s1 = momentum
  rmsprop_centered,           // s0 = velocity, s1 = average gradient
  rmsprop_centered_momentum,  // s0 = velocity, s1 = average gradient, s2 = momentum
  adagrad,                    // s0 = accumulator
  count
};
inline constexpr int kUpdateRuleCount = static_cast<int>(UpdateRule::count);

// Scalars of one update, already cast to the variable's type. A rule reads
// only the fields it needs.
template <class T>
struct UpdateParams {
  T lr;            // SGD/RMSprop/Adagrad: learning rate; Adam: alpha = lr*sqrt(1-b2^t)/(1-b1^t)
  T momentum;      // SGD, RMSprop
  T one_minus_b1;  // Adam: 1 - beta_1
  T one_minus_b2;  // Adam: 1 - beta_2
  T rho;           // RMSprop
  T one_minus_rho; // RMSprop
  T epsilon;       // Adam, RMSprop, Adagrad
  T grad_scale;    // clipnorm / global_clipnorm factor (1 when not clipping by norm)
  T clip;          // clipvalue bound (used when clip_value != 0)
  T decay;         // weight_decay * lr (used when != 0): w -= w*decay before the step
  int clip_value;  // nonzero: g = clip(g*grad_scale, -clip, clip)
};

template <class T>
using UpdateFn = void (*)(T* w, const T* g, T* s0, T* s1, T* s2, std::int64_t n, const UpdateParams<T>* p);

template <class T>
struct UpdateKernels {
  // Updates elements [0, n) of w and its slots from g.
  UpdateFn<T> update[kUpdateRuleCount];
  // Sum of x[i]^2 over a contiguous run (0 for n == 0), in a fixed order.
  T (*sum_squares)(const T* x, std::int64_t n);
};

// One table per ISA and float type (defined in update_<isa>.cpp).
const UpdateKernels<float>* update_f32_sse42();
const UpdateKernels<double>* update_f64_sse42();
const UpdateKernels<float>* update_f32_avx2();
const UpdateKernels<double>* update_f64_avx2();
const UpdateKernels<float>* update_f32_avx512();
const UpdateKernels<double>* update_f64_avx512();

/// The table of the current ISA (lamina::current_isa()).
template <class T>
const UpdateKernels<T>& update_kernels_for();

}  // namespace lamina::optim::detail
