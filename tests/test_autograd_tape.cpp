// GradientTape semantics: watching, variables, persistence, unconnected
// sources, misuse errors, no-record, stop_gradient, second order, threads.
#include <thread>

#include "gradcheck.h"
#include "lamina/autograd/detail/record.h"

namespace lamina {
namespace {

using ::testing::HasSubstr;
using ::testing::ThrowsMessage;

Tensor d(std::initializer_list<double> v) { return Tensor::from(v); }

TEST(Tape, VariablesAreWatchedAutomatically) {
  Variable w(d({1.0, 2.0}), "w");
  Variable frozen(d({3.0, 4.0}), "frozen", /*trainable=*/false);
  GradientTape tape;
  Tensor loss = sum(square(w) * frozen);
  auto g = tape.gradient(loss, std::vector<Variable>{w, frozen});
  EXPECT_EQ(g[0].to_vector<double>(), (std::vector<double>{6, 16}));
  EXPECT_FALSE(g[1].defined());  // not trainable, not watched
}

TEST(Tape, WatchedTensorsAndUnconnectedSources) {
  Tensor x = d({1.0, 2.0}), z = d({5.0});
  GradientTape tape(/*persistent=*/true);
  tape.watch(x);
  tape.watch(z);
  Tensor y = sum(x * x);
  auto g = tape.gradient(y, {x, z});
  EXPECT_EQ(g[0].to_vector<double>(), (std::vector<double>{2, 4}));
  EXPECT_FALSE(g[1].defined());
  auto g0 = tape.gradient(y, {z}, Tensor(), UnconnectedGradients::zero);
  EXPECT_EQ(g0[0].to_vector<double>(), (std::vector<double>{0}));
  // The target itself as a source has gradient 1.
  EXPECT_EQ(tape.gradient(y, {y})[0].item<double>(), 1.0);
}

TEST(Tape, NothingRecordedOutsideATapeOrUnwatched) {
  Tensor x = d({1.0});
  Tensor y = exp(x);
  EXPECT_EQ(detail::meta_of(y), nullptr);
  GradientTape tape;
  Tensor z = exp(x);  // x not watched
  EXPECT_EQ(tape.size(), 0u);
  tape.watch(x);
  {
    NoRecord guard;
    EXPECT_FALSE(is_recording());
    Tensor q = exp(x);
    EXPECT_EQ(tape.size(), 0u);
  }
  Tensor q = exp(x);
  EXPECT_EQ(tape.size(), 1u);
}

TEST(Tape, StopGradientBlocksFlow) {
  Tensor x = d({2.0});
  GradientTape tape;
  tape.watch(x);
  Tensor y = x * stop_gradient(x);
  EXPECT_EQ(tape.gradient(y, {x})[0].item<double>(), 2.0);
}

TEST(Tape, NonScalarTargetNeedsOutputGradient) {
  Tensor x = d({1.0, 2.0});
  GradientTape tape(true);
  tape.watch(x);
  Tensor y = x * 3.0;
  EXPECT_THAT([&] { tape.gradient(y, {x}); },
              ThrowsMessage<ShapeError>(HasSubstr("target of shape (2,) is not a scalar; pass output_gradient")));
  auto g = tape.gradient(y, {x}, d({1.0, 10.0}));
  EXPECT_EQ(g[0].to_vector<double>(), (std::vector<double>{3, 30}));
  EXPECT_THROW(tape.gradient(y, {x}, d({1.0})), ShapeError);
}

TEST(Tape, MisuseErrors) {
  Tensor x = d({1.0});
  GradientTape tape;
  tape.watch(x);
  Tensor y = x * x;
  tape.gradient(y, {x});
  EXPECT_THAT([&] { tape.gradient(y, {x}); },
              ThrowsMessage<ValueError>(HasSubstr("a non-persistent tape can compute gradients only once")));
  GradientTape t2;
  EXPECT_THAT([&] { t2.watch(Tensor::from({1, 2})); },
              ThrowsMessage<DTypeError>(HasSubstr("only float tensors can be watched, got int32")));
  EXPECT_THAT([&] { t2.gradient(x, {Tensor()}); }, ThrowsMessage<ValueError>(HasSubstr("source 0 is undefined")));
  EXPECT_THAT([&] { t2.gradient(x, {Tensor::from({1})}); },
              ThrowsMessage<DTypeError>(HasSubstr("source 0 has dtype int32")));
}

TEST(Tape, UndefinedWatchAndUndefinedVariableSourcesAreErrors) {
  GradientTape tape;
  EXPECT_THAT([&] { tape.watch(Tensor()); },
              ThrowsMessage<ValueError>(HasSubstr("[GradientTape.watch] cannot watch an undefined tensor")));
  Tensor x = d({1.0});
  tape.watch(x);
  Tensor y = sum(x * x);
  EXPECT_THAT([&] { tape.gradient(y, std::vector<Variable>{Variable()}); },
              ThrowsMessage<ValueError>(HasSubstr("undefined variable")));
}

TEST(Tape, NonPersistentTapeReleasesSavedTensors) {
  const auto before = allocator_stats().bytes_in_use;
  Tensor x = uniform({1000}, -1, 1, 1, DType::float64);
  {
    GradientTape tape;
    tape.watch(x);
    Tensor y = sum(exp(tanh(x)));
    auto g = tape.gradient(y, {x});
    EXPECT_EQ(tape.size(), 0u);  // nodes and their saved tensors are gone
  }
  x = Tensor();
  EXPECT_EQ(allocator_stats().bytes_in_use, before);
}

TEST(Tape, SavedTensorsAreReleasedAsTheSweepPassesTheirNode) {
  // `saved` is captured by three nodes recorded after `first`: one whose
  // backward runs, one that does not lead to the source, one that does not
  // lead to the target. When the sweep reaches `first` (recorded first, so
  // run last), all three must have let go of it.
  Tensor x = d({1.0, 2.0}), other = d({3.0, 4.0});
  Tensor saved = d({5.0, 6.0});
  long refs_at_first = -1;
  GradientTape tape;
  tape.watch(x);
  tape.watch(other);
  Tensor a = core::mul(x, 2.0);
  detail::record({&x}, a, [&](const Tensor& g, detail::Grads& gi, const detail::Needs&) {
    refs_at_first = saved.impl()->refs.load();
    gi[0] = core::mul(g, 2.0);
  });
  Tensor b = core::mul(a, 3.0);
  detail::record({&a}, b, [saved](const Tensor& g, detail::Grads& gi, const detail::Needs&) {
    gi[0] = core::mul(g, 3.0);
  });
  Tensor unrelated = core::neg(other);  // not reached from x
  detail::record({&other}, unrelated, [saved](const Tensor& g, detail::Grads& gi, const detail::Needs&) { gi[0] = g; });
  Tensor dead_end = core::neg(a);  // reached from x, not used by the target
  detail::record({&a}, dead_end, [saved](const Tensor& g, detail::Grads& gi, const detail::Needs&) { gi[0] = g; });
  EXPECT_EQ(saved.impl()->refs.load(), 4);
  Tensor y = sum(b);
  auto g = tape.gradient(y, {x});
  EXPECT_EQ(g[0].to_vector<double>(), (std::vector<double>{6, 6}));
  EXPECT_EQ(refs_at_first, 1);
}

TEST(Tape, NonPersistentTapeStopsRecordingAtItsGradientCall) {
  Tensor x = d({1.0, 2.0});
  GradientTape tape;
  tape.watch(x);
  auto g = tape.gradient(sum(square(x)), {x});
  EXPECT_EQ(g[0].to_vector<double>(), (std::vector<double>{2, 4}));
  Tensor later = exp(x);  // nothing is recorded or saved any more
  EXPECT_EQ(tape.size(), 0u);
  EXPECT_FALSE(is_recording());
  // A persistent tape goes on recording.
  GradientTape persistent(/*persistent=*/true);
  persistent.watch(x);
  persistent.gradient(sum(square(x)), {x});
  const std::size_t n = persistent.size();
  Tensor again = exp(x);
  EXPECT_EQ(persistent.size(), n + 1);
  EXPECT_EQ(persistent.gradient(sum(again), {x})[0].to_vector<double>(), exp(x).to_vector<double>());
}

TEST(Tape, TargetTheTapeDidNotRecordHasNoConnectedSource) {
  Tensor x = d({1.0, 2.0});
  GradientTape tape(/*persistent=*/true);
  tape.watch(x);
  Tensor raw = core::sum(core::square(x));  // raw kernels: not recorded
  EXPECT_FALSE(tape.gradient(raw, {x})[0].defined());
  EXPECT_EQ(tape.gradient(raw, {x}, Tensor(), UnconnectedGradients::zero)[0].to_vector<double>(),
            (std::vector<double>{0, 0}));
  // Through a raw view method the chain is cut the same way.
  Tensor cut = sum(square(x).reshape({2, 1}));
  EXPECT_FALSE(tape.gradient(cut, {x})[0].defined());
}

TEST(Tape, EveryTapeOfADeepNestTracksAWatchedTensor) {
  // More tapes than a tensor's inline tracking slots.
  Tensor x = d({1.5});
  std::vector<std::unique_ptr<GradientTape>> tapes;
  for (int i = 0; i < 7; ++i) {
    tapes.push_back(std::make_unique<GradientTape>(/*persistent=*/true));
    tapes.back()->watch(x);
  }
  Tensor y = sum(square(x));
  for (std::size_t i = 0; i < tapes.size(); ++i) {
    SCOPED_TRACE(i);
    Tensor g = tapes[i]->gradient(y, {x})[0];
    ASSERT_TRUE(g.defined());
    EXPECT_EQ(g.item<double>(), 3.0);
  }
}

TEST(Tape, ComparisonsAndArgReductionsRecordNothing) {
  Tensor x = d({1.0, 3.0, 2.0}), y = d({2.0, 2.0, 2.0});
  GradientTape tape;
  tape.watch(x);
  tape.watch(y);
  Tensor r[] = {greater(x, y), less(x, y), equal(x, y), not_equal(x, y), greater_equal(x, y), less_equal(x, y),
                argmax(x, 0), argmin(x, 0)};
  EXPECT_EQ(tape.size(), 0u);
  EXPECT_EQ(r[6].item<std::int64_t>(), 1);
}

TEST(Tape, GradientsAccumulateOverReuse) {
  Tensor x = d({3.0});
  GradientTape tape;
  tape.watch(x);
  Tensor y = x * x + x * 2.0 + x;
  EXPECT_EQ(tape.gradient(y, {x})[0].item<double>(), 2 * 3 + 2 + 1);
}

TEST(Tape, GradientsAccumulateInPlace) {
  // x used `uses` times through sum (whose backward is a broadcast view, no
  // allocation): its gradient is summed into one buffer, so what gradient()
  // allocates does not grow with the number of uses.
  auto allocations_for = [](int uses) {
    Tensor x = uniform({1000}, -1, 1, 3, DType::float64);
    GradientTape tape;
    tape.watch(x);
    Tensor y = sum(x);
    for (int i = 1; i < uses; ++i) y = y + sum(x);
    const auto before = allocator_stats().allocations;
    Tensor g = tape.gradient(y, {x})[0];
    const auto n = allocator_stats().allocations - before;
    EXPECT_EQ(g.to_vector<double>(), std::vector<double>(1000, static_cast<double>(uses)));
    return n;
  };
  const auto few = allocations_for(3), many = allocations_for(20);
  EXPECT_EQ(many, few) << "gradient() allocated " << few << " times for 3 uses, " << many << " for 20";
}

TEST(Tape, RealOpsReleaseSavedTensorsDuringTheSweep) {
  // exp, tanh and sigmoid each keep their 800 KB output for backward. The
  // node recorded first runs last: by then those outputs must be gone.
  constexpr std::int64_t n = 100000;
  const std::int64_t bytes = n * static_cast<std::int64_t>(sizeof(double));
  Tensor x = uniform({n}, -1, 1, 4, DType::float64);
  std::int64_t in_use_at_first = -1, in_use_before = -1;
  GradientTape tape;
  tape.watch(x);
  Tensor a = core::mul(x, 1.0);
  detail::record({&x}, a, [&](const Tensor& g, detail::Grads& gi, const detail::Needs&) {
    in_use_at_first = allocator_stats().bytes_in_use;
    gi[0] = g;
  });
  Tensor y = sum(sigmoid(tanh(exp(a))));
  a = Tensor();
  in_use_before = allocator_stats().bytes_in_use;
  Tensor g = tape.gradient(y, {x})[0];
  ASSERT_GE(in_use_at_first, 0);
  // Before the sweep: x, a (held by exp's node) and the three saved outputs.
  // At the first node: x, the gradient flowing into it, little else.
  EXPECT_LE(in_use_at_first, in_use_before - 2 * bytes)
      << "before the sweep " << in_use_before << " bytes, at the first node " << in_use_at_first;
}

TEST(SecondOrder, CubicThroughElementwiseOps) {
  Tensor x = d({3.0, -2.0});
  GradientTape outer;
  outer.watch(x);
  Tensor dy;
  {
    GradientTape inner;
    inner.watch(x);
    Tensor y = sum(x * x * x);
    dy = inner.gradient(y, {x})[0];
  }
  EXPECT_EQ(dy.to_vector<double>(), (std::vector<double>{27, 12}));
  Tensor d2 = outer.gradient(sum(dy), {x})[0];
  EXPECT_EQ(d2.to_vector<double>(), (std::vector<double>{18, -12}));
}

TEST(SecondOrder, ExpTanhSigmoidAgainstClosedForms) {
  const double v = 0.3;
  Tensor x = d({v});
  auto second = [&](const std::function<Tensor(const Tensor&)>& f) {
    GradientTape outer;
    outer.watch(x);
    Tensor g;
    {
      GradientTape inner;
      inner.watch(x);
      g = inner.gradient(sum(f(x)), {x})[0];
    }
    return outer.gradient(sum(g), {x})[0].item<double>();
  };
  const double t = std::tanh(v), s = 1 / (1 + std::exp(-v));
  EXPECT_NEAR(second([](const Tensor& a) { return exp(a * 2.0); }), 4 * std::exp(2 * v), 1e-12);
  EXPECT_NEAR(second([](const Tensor& a) { return tanh(a); }), -2 * t * (1 - t * t), 1e-12);
  EXPECT_NEAR(second([](const Tensor& a) { return sigmoid(a); }), s * (1 - s) * (1 - 2 * s), 1e-12);
  EXPECT_NEAR(second([](const Tensor& a) { return log(a); }), -1 / (v * v), 1e-9);
  EXPECT_NEAR(second([](const Tensor& a) { return mean(softplus(a)); }), s * (1 - s), 1e-12);
  // A composition: f = tanh(e^x), f' = sech²(e^x) e^x,
  // f'' = sech²(e^x) e^x (1 - 2 tanh(e^x) e^x).
  const double ex = std::exp(v), te = std::tanh(ex), se = 1 - te * te;
  EXPECT_NEAR(second([](const Tensor& a) { return tanh(exp(a)); }), se * ex * (1 - 2 * te * ex), 1e-12);
  // GELU, exact: (x Phi)'' = 2 phi - x^2 phi; tanh form: d/dx of
  // 0.5 (1 + tanh u) + 0.5 x (1 - tanh^2 u) u' with u = k (x + c x^3).
  const double phi = std::exp(-v * v / 2) / std::sqrt(2 * M_PI);
  EXPECT_NEAR(second([](const Tensor& a) { return gelu(a, false); }), 2 * phi - v * v * phi, 1e-12);
  const double k = std::sqrt(2 / M_PI), c = 0.044715, u = k * (v + c * v * v * v), du = k * (1 + 3 * c * v * v),
               d2u = 6 * k * c * v, th = std::tanh(u), sech2 = 1 - th * th;
  const double gelu_tanh_2nd = sech2 * du + v * sech2 * (-th * du * du + 0.5 * d2u);
  EXPECT_NEAR(second([](const Tensor& a) { return gelu(a, true); }), gelu_tanh_2nd, 1e-12);
  // Away from 0 and at 0 (where the exact form's Phi comes from a special case).
  for (double at : {-2.5, 0.0, 1.7}) {
    Tensor z = d({at});
    GradientTape outer;
    outer.watch(z);
    Tensor g;
    {
      GradientTape inner;
      inner.watch(z);
      g = inner.gradient(sum(gelu(z, false)), {z})[0];
    }
    const double p = std::exp(-at * at / 2) / std::sqrt(2 * M_PI);
    EXPECT_NEAR(outer.gradient(sum(g), {z})[0].item<double>(), 2 * p - at * at * p, 1e-12) << at;
  }
}

TEST(SecondOrder, QuadraticFormThroughMatmul) {
  // f(x) = xᵀ A x  =>  Hessian = A + Aᵀ; d/dx (sum of gradient) = (A + Aᵀ) · 1.
  Tensor a = Tensor::from({1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 10.0}, {3, 3});
  Tensor x = d({0.5, -1.0, 2.0});
  GradientTape outer;
  outer.watch(x);
  Tensor grad;
  {
    GradientTape inner;
    inner.watch(x);
    Tensor f = matmul(x, matmul(a, x));
    grad = inner.gradient(f, {x})[0];
  }
  auto h1 = outer.gradient(sum(grad), {x})[0].to_vector<double>();
  // column sums of A + Aᵀ
  EXPECT_EQ(h1, (std::vector<double>{1 + 2 + 3 + 1 + 4 + 7, 4 + 5 + 6 + 2 + 5 + 8, 7 + 8 + 10 + 3 + 6 + 10}));
}

TEST(SecondOrder, FullHessianOfAQuadraticFormThroughMatmul) {
  // Row i of the Hessian of xᵀ A x is the gradient of (∂f/∂x)_i: A + Aᵀ,
  // row by row, from one persistent outer tape.
  Tensor a = Tensor::from({1.0, 2.0, -3.0, 4.0, 5.0, 6.0, 7.0, -8.0, 10.0}, {3, 3});
  Tensor x = d({0.5, -1.0, 2.0});
  GradientTape outer(/*persistent=*/true);
  outer.watch(x);
  Tensor grad;
  {
    GradientTape inner;
    inner.watch(x);
    grad = inner.gradient(matmul(x, matmul(a, x)), {x})[0];
  }
  const auto av = a.to_vector<double>();
  for (std::size_t i = 0; i < 3; ++i) {
    const auto row = outer.gradient(select(grad, 0, static_cast<std::int64_t>(i)), {x})[0].to_vector<double>();
    for (std::size_t j = 0; j < 3; ++j)
      EXPECT_EQ(row[j], av[i * 3 + j] + av[j * 3 + i]) << "H(" << i << ", " << j << ")";
  }
}

// One SGD training run of a small MLP on fixed data; returns final weights.
std::vector<double> train_small_mlp(std::uint64_t seed) {
  Variable w1(normal({8, 16}, 0, 0.3, seed, DType::float64), "w1");
  Variable b1(zeros({16}, DType::float64), "b1");
  Variable w2(normal({16, 1}, 0, 0.3, seed + 1, DType::float64), "w2");
  Tensor x = uniform({64, 8}, -1, 1, seed + 2, DType::float64);
  Tensor y = core::sum(core::mul(x, x), {1}, true);
  for (int step = 0; step < 50; ++step) {
    GradientTape tape;
    Tensor pred = matmul(tanh(matmul(x, w1) + b1), w2);
    Tensor loss = mean(square(pred - y));
    auto g = tape.gradient(loss, std::vector<Variable>{w1, b1, w2});
    w1.assign_sub(core::mul(g[0], 0.1));
    b1.assign_sub(core::mul(g[1], 0.1));
    w2.assign_sub(core::mul(g[2], 0.1));
  }
  std::vector<double> out;
  for (const Variable* v : {&w1, &b1, &w2}) {
    auto values = v->value().to_vector<double>();
    out.insert(out.end(), values.begin(), values.end());
  }
  return out;
}

TEST(Threads, TwoThreadsTrainingConcurrentlyMatchSerialRuns) {
  const auto serial_a = train_small_mlp(1), serial_b = train_small_mlp(100);
  std::vector<double> conc_a, conc_b;
  std::thread ta([&] { conc_a = train_small_mlp(1); });
  std::thread tb([&] { conc_b = train_small_mlp(100); });
  ta.join();
  tb.join();
  EXPECT_EQ(conc_a, serial_a);
  EXPECT_EQ(conc_b, serial_b);
  EXPECT_NE(serial_a, serial_b);
}
// Models with optimizers training in two threads at once (fit, its tapes
// and Adam): Concurrency.* in test_reliability.cpp.

}  // namespace
}  // namespace lamina
