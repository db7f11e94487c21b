#pragma once
// Internal: the fused optimizer update kernels, written once over
// xsimd::batch<T, Arch>. Included only by update_<isa>.cpp, each compiled with
// its ISA's flags. Everything here has internal linkage (anonymous namespace)
// so code built for one ISA is never merged into another unit by the linker;
// no STL beyond <cstdint> for that reason.
//
// Each kernel reads the gradient, the parameter and its slots once and writes
// the parameter and slots once: gradient preparation (clip-by-norm factor,
// clip-by-value), decoupled weight decay, slot updates and the step are one
// pass. The arithmetic follows Keras 3's update_step expressions operation by
// operation (no FMA contraction), so every ISA gives bitwise-identical results.
//
// Tails: the last partial vector is loaded through a small padded buffer and
// computed as a full vector; only the valid lanes are stored back.

#include <cstdint>

// GCC 12 reports a false "may be used uninitialized" inside its own
// _mm512_sqrt_p[sd] (the _mm512_undefined_p[sd] pass-through operand).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

#include <xsimd/xsimd.hpp>

#include "lamina/optim/kernels/update_kernels.h"

namespace lamina::optim::detail {
namespace {

template <class B, class T>
inline B load_partial(const T* p, std::int64_t n, T fill) {
  alignas(64) T buf[B::size];
  for (std::int64_t i = 0; i < static_cast<std::int64_t>(B::size); ++i) buf[i] = i < n ? p[i] : fill;
  return B::load_aligned(buf);
}

template <class B, class T>
inline void store_partial(T* p, const B& v, std::int64_t n) {
  alignas(64) T buf[B::size];
  v.store_aligned(buf);
  for (std::int64_t i = 0; i < n; ++i) p[i] = buf[i];
}

// The parameters broadcast once per call.
template <class B>
struct Consts {
  using T = typename B::value_type;
  B lr, momentum, omb1, omb2, rho, omr, eps, scale, lo, hi, decay;
  explicit Consts(const UpdateParams<T>& p)
      : lr(p.lr), momentum(p.momentum), omb1(p.one_minus_b1), omb2(p.one_minus_b2), rho(p.rho),
        omr(p.one_minus_rho), eps(p.epsilon), scale(p.grad_scale), lo(-p.clip), hi(p.clip), decay(p.decay) {}
};

// ---- update rules: apply(w, g, s0, s1, s2, c), slots in/out by reference ----

// Keras SGD, momentum 0: w -= g*lr.
struct Sgd {
  static constexpr int slots = 0;
  template <class B>
  static void apply(B& w, const B& g, B&, B&, B&, const Consts<B>& c) {
    w = w - g * c.lr;
  }
};
// m = m*momentum - g*lr; w += m.
struct SgdMomentum {
  static constexpr int slots = 1;
  template <class B>
  static void apply(B& w, const B& g, B& m, B&, B&, const Consts<B>& c) {
    m = m * c.momentum - g * c.lr;
    w = w + m;
  }
};
// m = m*momentum - g*lr; w += m*momentum - g*lr.
struct SgdNesterov {
  static constexpr int slots = 1;
  template <class B>
  static void apply(B& w, const B& g, B& m, B&, B&, const Consts<B>& c) {
    m = m * c.momentum - g * c.lr;
    w = w + (m * c.momentum - g * c.lr);
  }
};
// m += (g-m)*(1-b1); v += (g²-v)*(1-b2); w -= m*alpha / (sqrt(v)+eps).
struct Adam {
  static constexpr int slots = 2;
  template <class B>
  static void apply(B& w, const B& g, B& m, B& v, B&, const Consts<B>& c) {
    m = m + (g - m) * c.omb1;
    v = v + (g * g - v) * c.omb2;
    w = w - (m * c.lr) / (xsimd::sqrt(v) + c.eps);
  }
};
// As Adam with v_hat = max(v_hat, v) in the denominator.
struct AdamAmsgrad {
  static constexpr int slots = 3;
  template <class B>
  static void apply(B& w, const B& g, B& m, B& v, B& vhat, const Consts<B>& c) {
    m = m + (g - m) * c.omb1;
    v = v + (g * g - v) * c.omb2;
    vhat = xsimd::max(vhat, v);
    w = w - (m * c.lr) / (xsimd::sqrt(vhat) + c.eps);
  }
};
// v = rho*v + (1-rho)*g²; w -= lr*g / sqrt(v + eps)  (epsilon inside the sqrt).
struct Rmsprop {
  static constexpr int slots = 1;
  template <class B>
  static void apply(B& w, const B& g, B& v, B&, B&, const Consts<B>& c) {
    v = c.rho * v + c.omr * (g * g);
    w = w - (c.lr * g) / xsimd::sqrt(v + c.eps);
  }
};
// mom = momentum*mom + inc; w -= mom.
struct RmspropMomentum {
  static constexpr int slots = 2;
  template <class B>
  static void apply(B& w, const B& g, B& v, B& mom, B&, const Consts<B>& c) {
    v = c.rho * v + c.omr * (g * g);
    const B inc = (c.lr * g) / xsimd::sqrt(v + c.eps);
    mom = c.momentum * mom + inc;
    w = w - mom;
  }
};
// mg = rho*mg + (1-rho)*g; denominator v - mg² + eps.
struct RmspropCentered {
  static constexpr int slots = 2;
  template <class B>
  static void apply(B& w, const B& g, B& v, B& mg, B&, const Consts<B>& c) {
    v = c.rho * v + c.omr * (g * g);
    mg = c.rho * mg + c.omr * g;
    w = w - (c.lr * g) / xsimd::sqrt(v - mg * mg + c.eps);
  }
};
struct RmspropCenteredMomentum {
  static constexpr int slots = 3;
  template <class B>
  static void apply(B& w, const B& g, B& v, B& mg, B& mom, const Consts<B>& c) {
    v = c.rho * v + c.omr * (g * g);
    mg = c.rho * mg + c.omr * g;
    const B inc = (c.lr * g) / xsimd::sqrt(v - mg * mg + c.eps);
    mom = c.momentum * mom + inc;
    w = w - mom;
  }
};
// acc += g²; w -= lr*g / sqrt(acc + eps).
struct Adagrad {
  static constexpr int slots = 1;
  template <class B>
  static void apply(B& w, const B& g, B& acc, B&, B&, const Consts<B>& c) {
    acc = acc + g * g;
    w = w - (c.lr * g) / xsimd::sqrt(acc + c.eps);
  }
};

// Gradient preparation: g*scale, then clip(-c, c) keeping NaN (comparisons
// with NaN are false, so a NaN gradient stays NaN as with Keras's ops.clip).
template <bool Clip, class B>
inline B prepare(const B& g, const Consts<B>& c) {
  B r = g * c.scale;
  if constexpr (Clip) r = xsimd::select(r < c.lo, c.lo, xsimd::select(r > c.hi, c.hi, r));
  return r;
}

template <class Rule, bool Clip, bool Decay, class B>
inline void step(B& w, const B& graw, B& s0, B& s1, B& s2, const Consts<B>& c) {
  const B g = prepare<Clip>(graw, c);
  if constexpr (Decay) w = w - w * c.decay;  // Keras: w - w*wd*lr
  Rule::apply(w, g, s0, s1, s2, c);
}

template <class Arch, class T, class Rule, bool Clip, bool Decay>
void update_loop(T* w, const T* g, T* s0, T* s1, T* s2, std::int64_t n, const UpdateParams<T>& p) {
  using B = xsimd::batch<T, Arch>;
  constexpr std::int64_t W = B::size;
  constexpr int S = Rule::slots;
  const Consts<B> c(p);
  std::int64_t i = 0;
  for (; i + W <= n; i += W) {
    B wv = B::load_unaligned(w + i);
    B a(T(0)), b(T(0)), d(T(0));
    if constexpr (S > 0) a = B::load_unaligned(s0 + i);
    if constexpr (S > 1) b = B::load_unaligned(s1 + i);
    if constexpr (S > 2) d = B::load_unaligned(s2 + i);
    step<Rule, Clip, Decay>(wv, B::load_unaligned(g + i), a, b, d, c);
    wv.store_unaligned(w + i);
    if constexpr (S > 0) a.store_unaligned(s0 + i);
    if constexpr (S > 1) b.store_unaligned(s1 + i);
    if constexpr (S > 2) d.store_unaligned(s2 + i);
  }
  if (i < n) {
    const std::int64_t r = n - i;
    B wv = load_partial<B>(w + i, r, T(0));
    B a(T(0)), b(T(0)), d(T(0));
    if constexpr (S > 0) a = load_partial<B>(s0 + i, r, T(0));
    if constexpr (S > 1) b = load_partial<B>(s1 + i, r, T(0));
    if constexpr (S > 2) d = load_partial<B>(s2 + i, r, T(0));
    step<Rule, Clip, Decay>(wv, load_partial<B>(g + i, r, T(0)), a, b, d, c);
    store_partial(w + i, wv, r);
    if constexpr (S > 0) store_partial(s0 + i, a, r);
    if constexpr (S > 1) store_partial(s1 + i, b, r);
    if constexpr (S > 2) store_partial(s2 + i, d, r);
  }
}

// Picks the instantiation for the run-time options once per call.
template <class Arch, class T, class Rule>
void update_entry(T* w, const T* g, T* s0, T* s1, T* s2, std::int64_t n, const UpdateParams<T>* p) {
  const bool decay = p->decay != T(0);
  if (p->clip_value) {
    if (decay) update_loop<Arch, T, Rule, true, true>(w, g, s0, s1, s2, n, *p);
    else update_loop<Arch, T, Rule, true, false>(w, g, s0, s1, s2, n, *p);
  } else {
    if (decay) update_loop<Arch, T, Rule, false, true>(w, g, s0, s1, s2, n, *p);
    else update_loop<Arch, T, Rule, false, false>(w, g, s0, s1, s2, n, *p);
  }
}

// Sum of squares over 128-byte "virtual vectors": lane j of the accumulator
// sums x[j], x[j + L], x[j + 2L], ... (L = 128 / sizeof(T)) whatever the
// hardware width, and the L lanes are combined pairwise in a fixed order, so
// every ISA returns the same bits (clip-by-norm stays ISA-independent).
template <class Arch, class T>
T sum_squares(const T* x, std::int64_t n) {
  using B = xsimd::batch<T, Arch>;
  constexpr std::int64_t W = B::size;
  constexpr std::int64_t L = 128 / static_cast<std::int64_t>(sizeof(T));
  constexpr std::int64_t K = L / W;
  static_assert(K >= 1 && K * W == L, "128 bytes must be a whole number of vectors");
  B acc[K];
  for (std::int64_t k = 0; k < K; ++k) acc[k] = B(T(0));
  std::int64_t i = 0;
  for (; i + L <= n; i += L) {
    for (std::int64_t k = 0; k < K; ++k) {
      const B a = B::load_unaligned(x + i + k * W);
      acc[k] = acc[k] + a * a;
    }
  }
  if (i < n) {
    alignas(64) T pad[L];
    for (std::int64_t j = 0; j < L; ++j) pad[j] = i + j < n ? x[i + j] : T(0);
    for (std::int64_t k = 0; k < K; ++k) {
      const B a = B::load_aligned(pad + k * W);
      acc[k] = acc[k] + a * a;
    }
  }
  alignas(64) T lanes[L];
  for (std::int64_t k = 0; k < K; ++k) acc[k].store_aligned(lanes + k * W);
  for (std::int64_t w = L / 2; w >= 1; w /= 2)
    for (std::int64_t j = 0; j < w; ++j) lanes[j] = lanes[j] + lanes[j + w];
  return lanes[0];
}

template <class Arch, class T>
constexpr UpdateKernels<T> make_update_kernels() {
  UpdateKernels<T> k{};
  auto set = [&k](UpdateRule rule, UpdateFn<T> fn) { k.update[static_cast<int>(rule)] = fn; };
  set(UpdateRule::sgd, &update_entry<Arch, T, Sgd>);
  set(UpdateRule::sgd_momentum, &update_entry<Arch, T, SgdMomentum>);
  set(UpdateRule::sgd_nesterov, &update_entry<Arch, T, SgdNesterov>);
  set(UpdateRule::adam, &update_entry<Arch, T, Adam>);
  set(UpdateRule::adam_amsgrad, &update_entry<Arch, T, AdamAmsgrad>);
  set(UpdateRule::rmsprop, &update_entry<Arch, T, Rmsprop>);
  set(UpdateRule::rmsprop_momentum, &update_entry<Arch, T, RmspropMomentum>);
  set(UpdateRule::rmsprop_centered, &update_entry<Arch, T, RmspropCentered>);
  set(UpdateRule::rmsprop_centered_momentum, &update_entry<Arch, T, RmspropCenteredMomentum>);
  set(UpdateRule::adagrad, &update_entry<Arch, T, Adagrad>);
  static_assert(kUpdateRuleCount == 10, "register every UpdateRule above");
  k.sum_squares = &sum_squares<Arch, T>;
  return k;
}

}  // namespace
}  // namespace lamina::optim::detail

// Defines the two table accessors of one ISA.
#define LAMINA_DEFINE_UPDATE_TABLES(SUFFIX, ARCH)                                              \
  namespace lamina::optim::detail {                                                           \
  namespace {                                                                                 \
  constexpr UpdateKernels<float> kUpdateF32Table_##SUFFIX = make_update_kernels<ARCH, float>();   \
  constexpr UpdateKernels<double> kUpdateF64Table_##SUFFIX = make_update_kernels<ARCH, double>(); \
  }                                                                                           \
  const UpdateKernels<float>* update_f32_##SUFFIX() { return &kUpdateF32Table_##SUFFIX; }     \
  const UpdateKernels<double>* update_f64_##SUFFIX() { return &kUpdateF64Table_##SUFFIX; }    \
  }
