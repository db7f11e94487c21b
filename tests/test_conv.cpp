// Convolution, pooling and their layers (issue 8): against naive float64
// references, finite-difference gradients, Keras output shapes, errors,
// config round trips and thread invariance.
#include <cmath>
#include <limits>
#include <string>

#include "gradcheck.h"
#include "lamina/autograd/conv.h"
#include "lamina/layers/conv.h"
#include "lamina/layers/pooling.h"
#include "test_util.h"

namespace lamina {
namespace {

using i64 = std::int64_t;
using testing::check_gradients;
using testing::expect_close;

// ---- naive references (NHWC, float64) ---------------------------------------------

struct Case {
  i64 N, H, W, C, O, KH, KW;
  std::array<i64, 2> s{1, 1};
  std::string padding = "valid";
  std::array<i64, 2> d{1, 1};
  i64 groups = 1;
  bool cf = false;
  std::array<i64, 4> pads{0, 0, 0, 0};

  std::string str() const {
    return "N" + std::to_string(N) + " H" + std::to_string(H) + " W" + std::to_string(W) + " C" + std::to_string(C) +
           " O" + std::to_string(O) + " K" + std::to_string(KH) + "x" + std::to_string(KW) + " s" +
           std::to_string(s[0]) + "," + std::to_string(s[1]) + " d" + std::to_string(d[0]) + "," +
           std::to_string(d[1]) + " g" + std::to_string(groups) + " " + padding + (cf ? " NCHW" : " NHWC");
  }
  Conv2DParams params() const {
    return {.strides = s, .padding = padding, .pads = pads, .dilation = d, .groups = groups,
            .data_format = cf ? "channels_first" : "channels_last"};
  }
};

/// Pads and output size of one axis, computed independently of the library.
void ref_axis(i64 L, i64 k, i64 s, i64 d, const std::string& padding, i64 b, i64 a, i64& before, i64& out) {
  const i64 ke = d * (k - 1) + 1;
  if (padding == "same") {
    out = (L + s - 1) / s;
    const i64 total = std::max<i64>((out - 1) * s + ke - L, 0);
    before = total / 2;
  } else if (padding == "valid") {
    out = (L - ke) / s + 1;
    before = 0;
  } else {
    out = (L + b + a - ke) / s + 1;
    before = b;
  }
}

/// x NHWC as a vector accessor.
struct Img {
  std::vector<double> v;
  i64 N, H, W, C;
  double at(i64 n, i64 h, i64 w, i64 c) const { return v[((n * H + h) * W + w) * C + c]; }
};

Img nhwc(const Tensor& x, bool cf) {
  Tensor t = cf ? x.permute({0, 2, 3, 1}).contiguous() : x.contiguous();
  return {t.to_vector<double>(), t.shape()[0], t.shape()[1], t.shape()[2], t.shape()[3]};
}

/// Reference conv: returns NHWC output values and its shape.
std::vector<double> ref_conv(const Case& c, const Tensor& x, const Tensor& k, i64& OH, i64& OW) {
  Img X = nhwc(x, c.cf);
  auto K = k.to_vector<double>();
  i64 pt, pl;
  ref_axis(c.H, c.KH, c.s[0], c.d[0], c.padding, c.pads[0], c.pads[1], pt, OH);
  ref_axis(c.W, c.KW, c.s[1], c.d[1], c.padding, c.pads[2], c.pads[3], pl, OW);
  const i64 Cg = c.C / c.groups, Og = c.O / c.groups;
  std::vector<double> y(static_cast<std::size_t>(c.N * OH * OW * c.O), 0.0);
  for (i64 n = 0; n < c.N; ++n)
    for (i64 oh = 0; oh < OH; ++oh)
      for (i64 ow = 0; ow < OW; ++ow)
        for (i64 o = 0; o < c.O; ++o) {
          const i64 g = o / Og;
          double s = 0;
          for (i64 kh = 0; kh < c.KH; ++kh)
            for (i64 kw = 0; kw < c.KW; ++kw) {
              const i64 ih = oh * c.s[0] - pt + kh * c.d[0], iw = ow * c.s[1] - pl + kw * c.d[1];
              if (ih < 0 || ih >= c.H || iw < 0 || iw >= c.W) continue;
              for (i64 ci = 0; ci < Cg; ++ci)
                s += X.at(n, ih, iw, g * Cg + ci) * K[((kh * c.KW + kw) * Cg + ci) * c.O + o];
            }
          y[((n * OH + oh) * OW + ow) * c.O + o] = s;
        }
  return y;
}

std::vector<double> to_nhwc_values(const Tensor& y, bool cf) { return nhwc(y, cf).v; }

Shape x_shape(const Case& c) { return c.cf ? Shape{c.N, c.C, c.H, c.W} : Shape{c.N, c.H, c.W, c.C}; }

std::vector<Case> conv_cases() {
  std::vector<Case> v;
  for (bool cf : {false, true}) {
    v.push_back({.N = 2, .H = 7, .W = 9, .C = 3, .O = 4, .KH = 3, .KW = 3, .cf = cf});
    v.push_back({.N = 1, .H = 8, .W = 5, .C = 2, .O = 3, .KH = 3, .KW = 2, .padding = "same", .cf = cf});
    v.push_back({.N = 3, .H = 9, .W = 11, .C = 4, .O = 6, .KH = 3, .KW = 3, .s = {2, 2}, .padding = "same", .cf = cf});
    v.push_back({.N = 2, .H = 10, .W = 7, .C = 3, .O = 5, .KH = 2, .KW = 3, .s = {3, 2}, .cf = cf});
    v.push_back({.N = 2, .H = 11, .W = 12, .C = 2, .O = 4, .KH = 3, .KW = 3, .padding = "same", .d = {2, 3}, .cf = cf});
    v.push_back({.N = 1, .H = 9, .W = 9, .C = 3, .O = 2, .KH = 3, .KW = 2, .d = {2, 2}, .cf = cf});
    v.push_back({.N = 2, .H = 6, .W = 7, .C = 6, .O = 9, .KH = 3, .KW = 3, .padding = "same", .groups = 3, .cf = cf});
    v.push_back({.N = 2, .H = 5, .W = 6, .C = 4, .O = 4, .KH = 1, .KW = 1, .groups = 4, .cf = cf});  // depthwise 1x1
    v.push_back({.N = 3, .H = 5, .W = 4, .C = 5, .O = 7, .KH = 1, .KW = 1, .cf = cf});              // pointwise GEMM
    v.push_back({.N = 2, .H = 7, .W = 6, .C = 3, .O = 4, .KH = 3, .KW = 3, .s = {2, 1}, .padding = "explicit",
                 .cf = cf, .pads = {1, 2, 0, 3}});
    v.push_back({.N = 1, .H = 13, .W = 13, .C = 1, .O = 8, .KH = 5, .KW = 5, .padding = "same", .cf = cf});
  }
  // Large enough for several im2col tiles and backward-filter chunks.
  v.push_back({.N = 5, .H = 17, .W = 19, .C = 24, .O = 10, .KH = 3, .KW = 3, .padding = "same"});
  return v;
}

TEST(Conv2D, MatchesNaiveFloat64AndFloat32) {
  std::uint64_t seed = 1;
  for (const Case& c : conv_cases()) {
    SCOPED_TRACE(c.str());
    Tensor x = uniform(x_shape(c), -1, 1, seed++, DType::float64);
    Tensor k = uniform({c.KH, c.KW, c.C / c.groups, c.O}, -1, 1, seed++, DType::float64);
    i64 OH, OW;
    auto want = ref_conv(c, x, k, OH, OW);
    Tensor y = conv2d(x, k, c.params());
    EXPECT_EQ(y.shape(), c.cf ? Shape({c.N, c.O, OH, OW}) : Shape({c.N, OH, OW, c.O}));
    testing::expect_close(Tensor::from(to_nhwc_values(y, c.cf), {c.N * OH * OW * c.O}), want, 1e-12, 1e-12);
    Tensor y32 = conv2d(x.to(DType::float32), k.to(DType::float32), c.params());
    testing::expect_close(Tensor::from(to_nhwc_values(y32, c.cf), {c.N * OH * OW * c.O}), want, 1e-4, 1e-4);
  }
}

// Gradients against the naive adjoint (for every case) ...
TEST(Conv2D, GradientsMatchNaiveAdjoint) {
  std::uint64_t seed = 100;
  for (const Case& c : conv_cases()) {
    SCOPED_TRACE(c.str());
    Tensor x = uniform(x_shape(c), -1, 1, seed++, DType::float64);
    Tensor k = uniform({c.KH, c.KW, c.C / c.groups, c.O}, -1, 1, seed++, DType::float64);
    Tensor y0 = conv2d(x, k, c.params());
    Tensor gy = uniform(y0.shape(), -1, 1, seed++, DType::float64);
    GradientTape tape;
    tape.watch(x);
    tape.watch(k);
    Tensor loss = sum(mul(conv2d(x, k, c.params()), gy));
    auto grads = tape.gradient(loss, {x, k});
    // Naive adjoint: dx[n,ih,iw,ci] += g * K, dk += g * x.
    Img X = nhwc(x, c.cf);
    Img G = nhwc(gy, c.cf);
    auto K = k.to_vector<double>();
    std::vector<double> dx(X.v.size(), 0.0), dk(K.size(), 0.0);
    i64 pt, pl, OH, OW;
    ref_axis(c.H, c.KH, c.s[0], c.d[0], c.padding, c.pads[0], c.pads[1], pt, OH);
    ref_axis(c.W, c.KW, c.s[1], c.d[1], c.padding, c.pads[2], c.pads[3], pl, OW);
    const i64 Cg = c.C / c.groups, Og = c.O / c.groups;
    for (i64 n = 0; n < c.N; ++n)
      for (i64 oh = 0; oh < OH; ++oh)
        for (i64 ow = 0; ow < OW; ++ow)
          for (i64 o = 0; o < c.O; ++o) {
            const double g = G.at(n, oh, ow, o);
            const i64 gr = o / Og;
            for (i64 kh = 0; kh < c.KH; ++kh)
              for (i64 kw = 0; kw < c.KW; ++kw) {
                const i64 ih = oh * c.s[0] - pt + kh * c.d[0], iw = ow * c.s[1] - pl + kw * c.d[1];
                if (ih < 0 || ih >= c.H || iw < 0 || iw >= c.W) continue;
                for (i64 ci = 0; ci < Cg; ++ci) {
                  const i64 ki = ((kh * c.KW + kw) * Cg + ci) * c.O + o;
                  const i64 xi = ((n * c.H + ih) * c.W + iw) * c.C + gr * Cg + ci;
                  dx[xi] += g * K[ki];
                  dk[ki] += g * X.v[xi];
                }
              }
          }
    testing::expect_close(Tensor::from(to_nhwc_values(grads[0], c.cf), {static_cast<i64>(dx.size())}), dx, 1e-11,
                          1e-11);
    testing::expect_close(grads[1], dk, 1e-11, 1e-11);
  }
}

// Second order: conv2d's backward is recorded under an outer tape (a
// gradient penalty through a CNN, for instance). Gradients of gradients
// with respect to input and kernel against finite differences: strides,
// groups, dilation, channels_first, the fused bias and ReLU.
TEST(Conv2D, SecondOrderGradients) {
  std::vector<Case> small = {
      {.N = 2, .H = 5, .W = 4, .C = 2, .O = 3, .KH = 3, .KW = 2, .padding = "same"},
      {.N = 1, .H = 6, .W = 5, .C = 4, .O = 2, .KH = 2, .KW = 2, .s = {2, 2}, .groups = 2, .cf = true},
      {.N = 1, .H = 7, .W = 6, .C = 1, .O = 2, .KH = 2, .KW = 3, .padding = "same", .d = {2, 1}},
      {.N = 2, .H = 3, .W = 3, .C = 3, .O = 2, .KH = 1, .KW = 1},  // pointwise
  };
  std::uint64_t seed = 700;
  for (const Case& c : small) {
    SCOPED_TRACE(c.str());
    Tensor x = uniform(x_shape(c), -1, 1, seed++, DType::float64);
    Tensor k = uniform({c.KH, c.KW, c.C / c.groups, c.O}, -1, 1, seed++, DType::float64);
    Tensor b = uniform({c.O}, -0.5, 0.5, seed++, DType::float64);
    const Conv2DParams p = c.params();
    auto f = [p](const std::vector<Tensor>& in) { return conv2d(in[0], in[1], p); };
    testing::check_second_order(f, {x, k});
    // The derivative with respect to the kernel first, then the input.
    testing::check_second_order([p](const std::vector<Tensor>& in) { return conv2d(in[1], in[0], p); }, {k, x});
    testing::check_second_order(
        [p](const std::vector<Tensor>& in) { return conv2d_bias_act(in[0], in[1], in[2], true, p); }, {x, k, b});
    testing::check_second_order(
        [p](const std::vector<Tensor>& in) { return conv2d_bias_act(in[2], in[0], in[1], false, p); }, {k, b, x});
  }
}

TEST(Conv2D, GradientPenaltyThroughConvAndPool) {
  // d/dk of |d/dx sum(w * maxpool(relu(conv(x, k))))|², the form of a WGAN
  // gradient penalty, against finite differences in k.
  Tensor x = uniform({2, 6, 6, 2}, -1, 1, 800, DType::float64);
  Tensor w = uniform({2, 3, 3, 3}, 0.5, 1.5, 801, DType::float64);
  auto penalty = [&](const std::vector<Tensor>& in) {
    Tensor xi = x.clone();
    GradientTape inner;
    inner.watch(xi);
    Tensor y = max_pool2d(lamina::relu(conv2d(xi, in[0], {.padding = "same"})), {.pool_size = {2, 2}});
    Tensor gx = inner.gradient(sum(mul(y, w)), {xi})[0];
    return sum(square(gx));
  };
  testing::check_gradients(penalty, {uniform({3, 3, 2, 3}, -1, 1, 802, DType::float64)});
}

// ... and finite differences on small cases.
TEST(Conv2D, FiniteDifferenceGradients) {
  std::vector<Case> small = {
      {.N = 2, .H = 5, .W = 4, .C = 2, .O = 3, .KH = 3, .KW = 2, .padding = "same"},
      {.N = 1, .H = 6, .W = 5, .C = 4, .O = 2, .KH = 2, .KW = 2, .s = {2, 2}, .groups = 2, .cf = true},
      {.N = 1, .H = 7, .W = 6, .C = 1, .O = 2, .KH = 2, .KW = 3, .padding = "same", .d = {2, 1}},
  };
  std::uint64_t seed = 500;
  for (const Case& c : small) {
    SCOPED_TRACE(c.str());
    Tensor x = uniform(x_shape(c), -1, 1, seed++, DType::float64);
    Tensor k = uniform({c.KH, c.KW, c.C / c.groups, c.O}, -1, 1, seed++, DType::float64);
    const Conv2DParams p = c.params();
    check_gradients([p](const std::vector<Tensor>& in) { return conv2d(in[0], in[1], p); }, {x, k});
    check_gradients([p](const std::vector<Tensor>& in) { return conv2d(in[0], in[1], p); }, {x, k},
                    {.strided_inputs = true});
    check_gradients([p](const std::vector<Tensor>& in) { return conv2d(in[0], in[1], p); }, {x, k},
                    {.gapped_inputs = true});
  }
}

TEST(Conv2D, ThreadCountDoesNotChangeResults) {
  Tensor x = uniform({16, 13, 13, 32}, -1, 1, 7);
  Tensor k = uniform({3, 3, 32, 64}, -1, 1, 8);
  Tensor gy = uniform({16, 11, 11, 64}, -1, 1, 9);
  auto grads = [&](int which) {
    GradientTape tape;
    tape.watch(x);
    tape.watch(k);
    Tensor loss = sum(mul(conv2d(x, k), gy));
    return tape.gradient(loss, {x, k})[which];
  };
  testing::expect_thread_invariant([&] { return conv2d(x, k); });
  testing::expect_thread_invariant([&] { return grads(0); });
  testing::expect_thread_invariant([&] { return grads(1); });
  Tensor x1 = uniform({64, 28, 28, 1}, -1, 1, 10);
  Tensor k1 = uniform({3, 3, 1, 32}, -1, 1, 11);
  testing::expect_thread_invariant([&] { return conv2d(x1, k1); });
  testing::expect_thread_invariant([&] {
    GradientTape tape;
    tape.watch(k1);
    return tape.gradient(sum(square(conv2d(x1, k1))), {k1})[0];
  });
  Tensor p = uniform({32, 26, 26, 32}, -1, 1, 12);
  testing::expect_thread_invariant([&] {
    GradientTape tape;
    tape.watch(p);
    return tape.gradient(sum(square(max_pool2d(p))), {p})[0];
  });
}

// conv2d_bias_act (what Conv2D with "relu"/"linear" runs) must equal the unfused
// relu(conv2d + bias) in value and in all three gradients, for the CNN's own
// configuration (channels_last, valid, stride 1, batch > 1, C = 1 and C > 1)
// and a few others.
TEST(Conv2D, FusedBiasReluMatchesUnfusedOps) {
  std::vector<Case> cases = {
      {.N = 3, .H = 8, .W = 9, .C = 1, .O = 5, .KH = 3, .KW = 3},
      {.N = 2, .H = 7, .W = 7, .C = 4, .O = 6, .KH = 3, .KW = 3},
      {.N = 2, .H = 6, .W = 7, .C = 3, .O = 4, .KH = 3, .KW = 2, .padding = "same", .cf = true},
      {.N = 2, .H = 5, .W = 6, .C = 4, .O = 4, .KH = 1, .KW = 1},  // pointwise GEMM path
      {.N = 2, .H = 6, .W = 7, .C = 6, .O = 9, .KH = 3, .KW = 3, .s = {2, 1}, .groups = 3},
  };
  std::uint64_t seed = 900;
  for (const Case& c : cases)
    for (bool relu : {true, false}) {
      SCOPED_TRACE(c.str() + (relu ? " relu" : " linear"));
      Tensor x = uniform(x_shape(c), -1, 1, seed++, DType::float64);
      Tensor k = uniform({c.KH, c.KW, c.C / c.groups, c.O}, -1, 1, seed++, DType::float64);
      Tensor b = uniform({c.O}, -0.5, 0.5, seed++, DType::float64);
      const Conv2DParams p = c.params();
      auto unfused = [&](const Tensor& xx, const Tensor& kk, const Tensor& bb) {
        Tensor y = add(conv2d(xx, kk, p), c.cf ? reshape(bb, {c.O, 1, 1}) : bb);
        return relu ? lamina::relu(y) : y;
      };
      Tensor gy = uniform(conv2d_output_shape(x.shape(), k.shape(), p), -1, 1, seed++, DType::float64);
      std::vector<Tensor> want, got;
      Tensor y_want, y_got;
      {
        GradientTape tape;
        tape.watch(x), tape.watch(k), tape.watch(b);
        y_want = unfused(x, k, b);
        want = tape.gradient(sum(mul(y_want, gy)), {x, k, b});
      }
      {
        GradientTape tape;
        tape.watch(x), tape.watch(k), tape.watch(b);
        y_got = conv2d_bias_act(x, k, b, relu, p);
        got = tape.gradient(sum(mul(y_got, gy)), {x, k, b});
      }
      expect_close(y_got, y_want, 1e-12, 1e-12);
      for (int i = 0; i < 3; ++i) expect_close(got[i], want[i], 1e-12, 1e-12);
      testing::check_gradients_all_layouts(
          [p, relu](const std::vector<Tensor>& in) { return conv2d_bias_act(in[0], in[1], in[2], relu, p); },
          {x, k, b});
    }
  // Without a bias it is conv2d (then ReLU).
  Tensor x = uniform({2, 6, 6, 2}, -1, 1, 990, DType::float64);
  Tensor k = uniform({3, 3, 2, 3}, -1, 1, 991, DType::float64);
  expect_close(conv2d_bias_act(x, k, Tensor(), true, {}), lamina::relu(conv2d(x, k)), 0, 0);
  const Tensor x_small = uniform({1, 4, 5, 2}, -1, 1, 992, DType::float64);
  const Tensor k_small = uniform({3, 2, 2, 3}, -1, 1, 993, DType::float64);
  for (bool relu : {false, true})
    check_gradients([relu](const std::vector<Tensor>& in) { return conv2d_bias_act(in[0], in[1], Tensor(), relu, {}); },
                    {x_small, k_small}, {.gapped_inputs = true});
  EXPECT_THROW(conv2d_bias_act(x, k, zeros({4}, DType::float64), true, {}), ShapeError);
  EXPECT_THROW(conv2d_bias_act(x, k, zeros({3}), true, {}), DTypeError);
}

TEST(Conv2D, FusedBiasReluThreadCountDoesNotChangeResults) {
  Tensor x = uniform({64, 28, 28, 1}, 0, 1, 20);
  Tensor k = uniform({3, 3, 1, 32}, -0.5, 0.5, 21);
  Tensor b = uniform({32}, -0.1, 0.1, 22);
  Tensor gy = uniform({64, 26, 26, 32}, -1, 1, 23);
  auto grads = [&](int which) {
    GradientTape tape;
    tape.watch(k), tape.watch(b);
    Tensor loss = sum(mul(conv2d_bias_act(x, k, b, true), gy));
    return tape.gradient(loss, {k, b})[which];
  };
  testing::expect_thread_invariant([&] { return conv2d_bias_act(x, k, b, true); });
  testing::expect_thread_invariant([&] { return grads(0); });
  testing::expect_thread_invariant([&] { return grads(1); });
}

// ---- pooling ------------------------------------------------------------------------

struct PoolCase {
  i64 N, H, W, C;
  std::array<i64, 2> pool{2, 2}, s{0, 0};
  std::string padding = "valid";
  bool cf = false;
  std::string str() const {
    return "N" + std::to_string(N) + " " + std::to_string(H) + "x" + std::to_string(W) + "x" + std::to_string(C) +
           " pool" + std::to_string(pool[0]) + "x" + std::to_string(pool[1]) + " s" + std::to_string(s[0]) + "," +
           std::to_string(s[1]) + " " + padding + (cf ? " NCHW" : " NHWC");
  }
  Pool2DParams params() const {
    return {.pool_size = pool, .strides = s, .padding = padding, .data_format = cf ? "channels_first" : "channels_last"};
  }
};

std::vector<double> ref_pool(const PoolCase& c, const Tensor& x, bool is_max, i64& OH, i64& OW) {
  Img X = nhwc(x, c.cf);
  const i64 sh = c.s[0] ? c.s[0] : c.pool[0], sw = c.s[1] ? c.s[1] : c.pool[1];
  i64 pt, pl;
  ref_axis(c.H, c.pool[0], sh, 1, c.padding, 0, 0, pt, OH);
  ref_axis(c.W, c.pool[1], sw, 1, c.padding, 0, 0, pl, OW);
  std::vector<double> y;
  for (i64 n = 0; n < c.N; ++n)
    for (i64 oh = 0; oh < OH; ++oh)
      for (i64 ow = 0; ow < OW; ++ow)
        for (i64 ch = 0; ch < c.C; ++ch) {
          double m = -std::numeric_limits<double>::infinity(), s = 0;
          int count = 0;
          for (i64 i = 0; i < c.pool[0]; ++i)
            for (i64 j = 0; j < c.pool[1]; ++j) {
              const i64 ih = oh * sh - pt + i, iw = ow * sw - pl + j;
              if (ih < 0 || ih >= c.H || iw < 0 || iw >= c.W) continue;
              m = std::max(m, X.at(n, ih, iw, ch));
              s += X.at(n, ih, iw, ch);
              ++count;
            }
          y.push_back(is_max ? m : s / count);
        }
  return y;
}

std::vector<PoolCase> pool_cases() {
  std::vector<PoolCase> v;
  for (bool cf : {false, true}) {
    v.push_back({.N = 2, .H = 6, .W = 8, .C = 3, .cf = cf});
    v.push_back({.N = 1, .H = 7, .W = 9, .C = 2, .cf = cf});  // odd: last row/col dropped
    v.push_back({.N = 2, .H = 7, .W = 5, .C = 3, .padding = "same", .cf = cf});
    v.push_back({.N = 3, .H = 9, .W = 8, .C = 4, .pool = {3, 3}, .s = {2, 2}, .padding = "same", .cf = cf});
    v.push_back({.N = 1, .H = 10, .W = 11, .C = 5, .pool = {3, 2}, .s = {1, 3}, .cf = cf});
    // Strides above the pool size: pixels between windows get no gradient.
    v.push_back({.N = 2, .H = 8, .W = 7, .C = 3, .pool = {2, 2}, .s = {3, 3}, .cf = cf});
  }
  return v;
}

TEST(Pooling, MatchesNaive) {
  std::uint64_t seed = 900;
  for (const PoolCase& c : pool_cases()) {
    SCOPED_TRACE(c.str());
    Tensor x = uniform(c.cf ? Shape{c.N, c.C, c.H, c.W} : Shape{c.N, c.H, c.W, c.C}, -1, 1, seed++, DType::float64);
    for (bool is_max : {true, false}) {
      i64 OH, OW;
      auto want = ref_pool(c, x, is_max, OH, OW);
      Tensor y = is_max ? max_pool2d(x, c.params()) : avg_pool2d(x, c.params());
      EXPECT_EQ(y.shape(), c.cf ? Shape({c.N, c.C, OH, OW}) : Shape({c.N, OH, OW, c.C}));
      EXPECT_EQ(pool2d_output_shape(x.shape(), c.params()), y.shape());
      testing::expect_close(Tensor::from(to_nhwc_values(y, c.cf), {static_cast<i64>(want.size())}), want, 1e-14,
                            1e-14);
      Tensor y32 = is_max ? max_pool2d(x.to(DType::float32), c.params()) : avg_pool2d(x.to(DType::float32), c.params());
      testing::expect_close(Tensor::from(to_nhwc_values(y32, c.cf), {static_cast<i64>(want.size())}), want, 1e-6,
                            1e-6);
    }
  }
}

TEST(Pooling, FiniteDifferenceGradientsToSecondOrder) {
  std::uint64_t seed = 1000;
  for (const PoolCase& c : pool_cases()) {
    SCOPED_TRACE(c.str());
    // Distinct values so the max is unique and finite differences are smooth.
    const Shape s = c.cf ? Shape{c.N, c.C, c.H, c.W} : Shape{c.N, c.H, c.W, c.C};
    Tensor x = uniform(s, -1, 1, seed++, DType::float64);
    const Pool2DParams p = c.params();
    auto max_pool = [p](const std::vector<Tensor>& in) { return max_pool2d(in[0], p); };
    auto avg_pool = [p](const std::vector<Tensor>& in) { return avg_pool2d(in[0], p); };
    // Contiguous, transposed and gapped views of the same values.
    testing::check_gradients_all_layouts(max_pool, {x}, {.eps = 1e-7});
    testing::check_gradients_all_layouts(avg_pool, {x});
    // Second order: the backward passes are recorded under an outer tape.
    testing::check_second_order(max_pool, {x}, {.eps = 1e-7});
    testing::check_second_order(avg_pool, {x});
  }
}

TEST(Pooling, MaxGradientGoesToFirstMaximum) {
  Tensor x = Tensor::from({1.0, 3.0, 3.0, 2.0}, {1, 2, 2, 1});
  GradientTape tape;
  tape.watch(x);
  Tensor g = tape.gradient(sum(max_pool2d(x)), {x})[0];
  EXPECT_EQ(g.to_vector<double>(), (std::vector<double>{0, 1, 0, 0}));
}

TEST(Pooling, GlobalPadUpsample) {
  Tensor x = uniform({2, 3, 4, 5}, -1, 1, 77, DType::float64);
  Tensor ga = global_avg_pool2d(x);
  EXPECT_EQ(ga.shape(), Shape({2, 5}));
  testing::expect_close(ga, mean(x, {1, 2}), 1e-14, 1e-14);
  EXPECT_EQ(global_max_pool2d(x, "channels_first", true).shape(), Shape({2, 3, 1, 1}));
  Tensor zp = zero_pad2d(x, {1, 2, 0, 3});
  EXPECT_EQ(zp.shape(), Shape({2, 6, 7, 5}));
  EXPECT_EQ(zp.at<double>(0, 0, 0, 0), 0.0);
  EXPECT_EQ(zp.at<double>(1, 1, 0, 2), x.at<double>(1, 0, 0, 2));
  EXPECT_EQ(zp.at<double>(1, 3, 3, 4), x.at<double>(1, 2, 3, 4));
  Tensor up = upsample2d(x, {2, 3});
  EXPECT_EQ(up.shape(), Shape({2, 6, 12, 5}));
  EXPECT_EQ(up.at<double>(1, 5, 11, 4), x.at<double>(1, 2, 3, 4));
  EXPECT_EQ(up.at<double>(0, 3, 4, 1), x.at<double>(0, 1, 1, 1));
  Tensor upc = upsample2d(x, {2, 2}, "channels_first");
  EXPECT_EQ(upc.shape(), Shape({2, 3, 8, 10}));
  EXPECT_EQ(upc.at<double>(1, 2, 7, 9), x.at<double>(1, 2, 3, 4));
  // Gradients: both layouts, with and without keepdims, several shapes,
  // contiguous, transposed and gapped inputs.
  std::uint64_t seed = 78;
  for (const Shape& shape : {Shape{1, 3, 2, 2}, Shape{2, 2, 3, 4}, Shape{2, 4, 1, 3}})
    for (const char* format : {"channels_last", "channels_first"}) {
      SCOPED_TRACE(shape.str() + " " + format);
      const std::string f = format;
      Tensor small = uniform(shape, -1, 1, seed++, DType::float64);
      testing::check_gradients_all_layouts(
          [f](const std::vector<Tensor>& in) { return zero_pad2d(in[0], {1, 0, 2, 1}, f); }, {small});
      testing::check_gradients_all_layouts(
          [f](const std::vector<Tensor>& in) { return upsample2d(in[0], {2, 3}, f); }, {small});
      for (bool keepdims : {false, true}) {
        testing::check_gradients_all_layouts(
            [f, keepdims](const std::vector<Tensor>& in) { return global_avg_pool2d(in[0], f, keepdims); }, {small});
        testing::check_gradients_all_layouts(
            [f, keepdims](const std::vector<Tensor>& in) { return global_max_pool2d(in[0], f, keepdims); }, {small});
      }
    }
}

// ---- layers ---------------------------------------------------------------------------

using namespace lamina::layers;

Shape out_of(Layer& l, const Shape& in) { return l(zeros(in)).shape(); }

LayerOptions named(const std::string& name) {
  LayerOptions o;
  o.name = name;
  return o;
}

std::shared_ptr<Dense> dense2() {
  DenseOptions o;
  o.units = 2;
  return std::make_shared<Dense>(o);
}

TEST(ConvLayers, KerasOutputShapes) {
  {
    Conv2D c({.filters = 32, .kernel_size = {3}});
    EXPECT_EQ(out_of(c, {2, 28, 28, 1}), Shape({2, 26, 26, 32}));
    EXPECT_EQ(c.kernel().shape(), Shape({3, 3, 1, 32}));
  }
  {
    Conv2D c({.filters = 8, .kernel_size = {3}, .strides = {2}, .padding = "same"});
    EXPECT_EQ(out_of(c, {1, 5, 28, 3}), Shape({1, 3, 14, 8}));
  }
  {
    Conv2D c({.filters = 4, .kernel_size = {3, 5}, .strides = {2, 3}, .padding = "valid"});
    EXPECT_EQ(out_of(c, {1, 10, 11, 2}), Shape({1, 4, 3, 4}));
  }
  {
    Conv2D c({.filters = 4, .kernel_size = {3}, .dilation_rate = {2}});
    EXPECT_EQ(out_of(c, {1, 10, 9, 2}), Shape({1, 6, 5, 4}));
  }
  {
    Conv2D c({.filters = 6, .kernel_size = {3}, .data_format = "channels_first", .groups = 2});
    EXPECT_EQ(out_of(c, {2, 4, 8, 7}), Shape({2, 6, 6, 5}));
    EXPECT_EQ(c.kernel().shape(), Shape({3, 3, 2, 6}));
  }
  {
    Conv1D c({.filters = 5, .kernel_size = {3}, .padding = "causal", .dilation_rate = {2}});
    EXPECT_EQ(out_of(c, {2, 10, 3}), Shape({2, 10, 5}));
    EXPECT_EQ(c.kernel().shape(), Shape({3, 3, 5}));
  }
  {
    Conv1D c({.filters = 5, .kernel_size = {4}, .strides = {2}, .padding = "same", .data_format = "channels_first"});
    EXPECT_EQ(out_of(c, {2, 3, 9}), Shape({2, 5, 5}));
  }
  {
    MaxPooling2D p;
    EXPECT_EQ(out_of(p, {2, 13, 13, 64}), Shape({2, 6, 6, 64}));
    AveragePooling2D q({.pool_size = {2}, .padding = "same"});
    EXPECT_EQ(out_of(q, {2, 13, 13, 64}), Shape({2, 7, 7, 64}));
    MaxPooling2D r({.pool_size = {3}, .strides = {1}, .data_format = "channels_first"});
    EXPECT_EQ(out_of(r, {1, 2, 5, 6}), Shape({1, 2, 3, 4}));
  }
  {
    GlobalAveragePooling2D g;
    EXPECT_EQ(out_of(g, {2, 3, 4, 5}), Shape({2, 5}));
    GlobalMaxPooling2D h({.data_format = "channels_first", .keepdims = true});
    EXPECT_EQ(out_of(h, {2, 3, 4, 5}), Shape({2, 3, 1, 1}));
    ZeroPadding2D z({.padding = {1, 2}});
    EXPECT_EQ(out_of(z, {2, 3, 4, 5}), Shape({2, 5, 8, 5}));
    UpSampling2D u({.size = {2, 3}, .data_format = "channels_first"});
    EXPECT_EQ(out_of(u, {2, 3, 4, 5}), Shape({2, 3, 8, 15}));
  }
}

TEST(ConvLayers, Conv1DMatchesNaive) {
  Conv1D c({.filters = 3, .kernel_size = {3}, .padding = "causal", .dilation_rate = {2}, .use_bias = true,
            .bias_initializer = "ones"});
  Tensor x = uniform({2, 7, 2}, -1, 1, 3);
  Tensor y = c(x);
  auto X = x.to_vector<double>(), K = c.kernel().value().to_vector<double>();
  for (i64 n = 0; n < 2; ++n)
    for (i64 t = 0; t < 7; ++t)
      for (i64 f = 0; f < 3; ++f) {
        double s = 1.0;
        for (i64 k = 0; k < 3; ++k) {
          const i64 ti = t - 4 + 2 * k;
          if (ti < 0) continue;
          for (i64 ci = 0; ci < 2; ++ci) s += X[(n * 7 + ti) * 2 + ci] * K[(k * 2 + ci) * 3 + f];
        }
        EXPECT_NEAR(y.at<float>(n, t, f), s, 1e-5);
      }
}

TEST(ConvLayers, ErrorsNameLayerAndShapes) {
  Conv2D big({.filters = 4, .kernel_size = {5}}, named("big_conv"));
  try {
    big(zeros({1, 4, 4, 1}));
    FAIL() << "expected ShapeError";
  } catch (const ShapeError& e) {
    const std::string m = e.what();
    EXPECT_THAT(m, ::testing::HasSubstr("big_conv"));
    EXPECT_THAT(m, ::testing::HasSubstr("(1, 4, 4, 1)"));
  }
  Conv2D c({.filters = 4, .kernel_size = {3}}, named("chan_conv"));
  c(zeros({1, 5, 5, 3}));
  try {
    c(zeros({1, 5, 5, 2}));
    FAIL() << "expected ShapeError";
  } catch (const ShapeError& e) {
    const std::string m = e.what();
    EXPECT_THAT(m, ::testing::HasSubstr("chan_conv"));
    EXPECT_THAT(m, ::testing::HasSubstr("(1, 5, 5, 2)"));
    EXPECT_THAT(m, ::testing::HasSubstr("3 channels"));
  }
  Conv2D grouped({.filters = 4, .kernel_size = {3}, .groups = 2}, named("grouped"));
  EXPECT_THROW(grouped(zeros({1, 5, 5, 3})), ShapeError);
  EXPECT_THROW(Conv2D({.filters = 4, .kernel_size = {3}})(zeros({5, 5, 3})), ShapeError);
  MaxPooling2D pool({.pool_size = {3}}, named("tiny_pool"));
  try {
    pool(zeros({1, 2, 2, 1}));
    FAIL() << "expected ShapeError";
  } catch (const ShapeError& e) {
    EXPECT_THAT(std::string(e.what()), ::testing::HasSubstr("tiny_pool"));
  }
  // Raw op messages name the shapes.
  try {
    conv2d(zeros({1, 5, 5, 3}), zeros({3, 3, 2, 4}));
    FAIL();
  } catch (const ShapeError& e) {
    EXPECT_THAT(std::string(e.what()), ::testing::HasSubstr("(3, 3, 2, 4)"));
  }
  // Bad constructor arguments.
  EXPECT_THROW(Conv2D({.filters = 0, .kernel_size = {3}}), ValueError);
  EXPECT_THROW(Conv2D({.filters = 4}), ValueError);
  EXPECT_THROW(Conv2D({.filters = 4, .kernel_size = {3, 3, 3}}), ValueError);
  EXPECT_THROW(Conv2D({.filters = 4, .kernel_size = {0}}), ValueError);
  EXPECT_THROW(Conv2D({.filters = 4, .kernel_size = {3}, .padding = "full"}), ValueError);
  EXPECT_THROW(Conv2D({.filters = 4, .kernel_size = {3}, .padding = "causal"}), ValueError);
  EXPECT_THROW(Conv2D({.filters = 4, .kernel_size = {3}, .data_format = "nhwc"}), ValueError);
  EXPECT_THROW(Conv2D({.filters = 5, .kernel_size = {3}, .groups = 2}), ValueError);
  EXPECT_THROW(Conv2D({.filters = 4, .kernel_size = {3}, .strides = {2}, .dilation_rate = {2}}), ValueError);
  EXPECT_THROW(Conv2D({.filters = 4, .kernel_size = {3}, .activation = "nope"}), ValueError);
  EXPECT_THROW(MaxPooling2D({.pool_size = {0}}), ValueError);
  EXPECT_THROW(AveragePooling2D({.padding = "causal"}), ValueError);
  EXPECT_THROW(ZeroPadding2D({.padding = {1, 2, 3}}), ValueError);
  EXPECT_THROW(UpSampling2D({.interpolation = "bilinear"}), ValueError);
}

TEST(ConvLayers, ConfigRoundTrip) {
  std::vector<std::shared_ptr<Layer>> ls = {
      std::make_shared<Conv2D>(ConvOptions{.filters = 8, .kernel_size = {3, 2}, .strides = {2}, .padding = "same",
                                           .data_format = "channels_first", .groups = 2, .activation = "relu",
                                           .use_bias = false, .kernel_regularizer = "l2"}),
      std::make_shared<Conv1D>(ConvOptions{.filters = 3, .kernel_size = {5}, .padding = "causal"}),
      std::make_shared<MaxPooling2D>(Pool2DOptions{.pool_size = {3}, .strides = {2}, .padding = "same"}),
      std::make_shared<AveragePooling2D>(),
      std::make_shared<GlobalAveragePooling2D>(GlobalPool2DOptions{.keepdims = true}),
      std::make_shared<GlobalMaxPooling2D>(),
      std::make_shared<ZeroPadding2D>(ZeroPadding2DOptions{.padding = {1, 2, 3, 4}}),
      std::make_shared<UpSampling2D>(UpSampling2DOptions{.size = {3}}),
  };
  for (const auto& l : ls) {
    SCOPED_TRACE(l->class_name());
    const Config c = l->get_config();
    auto rebuilt = layer_from_config(l->class_name(), c);
    EXPECT_EQ(rebuilt->class_name(), l->class_name());
    EXPECT_EQ(rebuilt->get_config(), c);
  }
  const Config c = ls[0]->get_config();
  EXPECT_EQ(c.get<std::vector<std::int64_t>>("kernel_size"), (std::vector<std::int64_t>{3, 2}));
  EXPECT_EQ(c.get<std::vector<std::int64_t>>("strides"), (std::vector<std::int64_t>{2, 2}));
  EXPECT_EQ(c.get<std::string>("padding"), "same");
}

TEST(ConvLayers, SmallCnnTrains) {
  set_random_seed(3);
  auto model = std::make_shared<Sequential>(std::vector<std::shared_ptr<Layer>>{
      std::make_shared<Conv2D>(ConvOptions{.filters = 4, .kernel_size = {3}, .padding = "same", .activation = "relu"}),
      std::make_shared<MaxPooling2D>(),
      std::make_shared<Conv2D>(ConvOptions{.filters = 4, .kernel_size = {3}, .activation = "relu"}),
      std::make_shared<GlobalAveragePooling2D>(),
      dense2(),
  });
  // Class = whether the bright square is in the top or the bottom half.
  const i64 n = 64;
  std::vector<float> xs(static_cast<std::size_t>(n * 8 * 8), 0.f), ys(static_cast<std::size_t>(n));
  for (i64 i = 0; i < n; ++i) {
    const i64 top = i % 2, r = top ? 1 : 5, c = (i / 2) % 6;
    for (i64 a = 0; a < 2; ++a)
      for (i64 b = 0; b < 2; ++b) xs[static_cast<std::size_t>(i * 64 + (r + a) * 8 + std::min<i64>(c + b, 7))] = 1.f;
    ys[static_cast<std::size_t>(i)] = static_cast<float>(top);
  }
  Tensor x = Tensor::from(xs, {n, 8, 8, 1}), y = Tensor::from(ys, {n});
  optim::Adam opt({.learning_rate = 0.02});
  losses::SparseCategoricalCrossentropy loss({.from_logits = true});
  double first = 0, last = 0;
  for (int step = 0; step < 60; ++step) {
    GradientTape tape;
    Tensor l = loss(y, (*model)(x, true));
    auto vars = model->trainable_weights();
    auto grads = tape.gradient(l, vars);
    opt.apply_gradients(grads, vars);
    (step == 0 ? first : last) = l.item<double>();
  }
  EXPECT_LT(last, 0.5 * first);
}

}  // namespace
}  // namespace lamina
