// Differentiable conv2d and 2-D pooling (see autograd/conv.h for the API and
// the algorithms). Everything runs in NHWC; channels_first inputs are
// permuted to NHWC and results permuted back.
//
// Determinism: every output element of forward and backward-data is computed
// by one GEMM call whose K (reduction) extent depends only on the shapes;
// col2im and the pooling scatters run serially inside one image (images in
// parallel); backward-filter sums per-chunk partials whose chunking is fixed
// by the shapes, in chunk order.
#include "lamina/autograd/conv.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <vector>

#include "lamina/autograd/detail/record.h"
#include "lamina/autograd/ops.h"
#include "lamina/core/detail/grain.h"
#include "lamina/core/detail/parallel.h"
#include "lamina/core/gemm.h"

namespace lamina {

namespace {

using detail::Grads;
using detail::Needs;
using i64 = std::int64_t;

// ---- parameters and geometry ---------------------------------------------------

bool channels_first(const std::string& data_format, const char* op) {
  LAMINA_CHECK(data_format == "channels_last" || data_format == "channels_first", ValueError, "[", op,
               "] data_format must be 'channels_last' or 'channels_first', got '", data_format, "'");
  return data_format == "channels_first";
}

void check_padding(const std::string& padding, const char* op) {
  LAMINA_CHECK(padding == "valid" || padding == "same" || padding == "explicit", ValueError, "[", op,
               "] padding must be 'valid', 'same' or 'explicit', got '", padding, "'");
}

/// Padding before one axis for "same" (TensorFlow: the smaller half first).
void same_pads(i64 L, i64 ke, i64 s, i64& before, i64& after) {
  const i64 out = (L + s - 1) / s;
  const i64 total = std::max<i64>((out - 1) * s + ke - L, 0);
  before = total / 2;
  after = total - before;
}

/// One spatial axis: pads and output length.
struct Axis {
  i64 in, k, s, d, pb, pa, out;
};

Axis make_axis(i64 L, i64 k, i64 s, i64 d, const std::string& padding, i64 before, i64 after) {
  Axis a{L, k, s, d, 0, 0, 0};
  const i64 ke = d * (k - 1) + 1;
  if (padding == "same") same_pads(L, ke, s, a.pb, a.pa);
  else if (padding == "explicit") a.pb = before, a.pa = after;
  if (padding == "same") {
    a.out = (L + s - 1) / s;
  } else {
    const i64 span = L + a.pb + a.pa - ke;
    a.out = span >= 0 ? span / s + 1 : 0;  // 0: the window does not fit
  }
  return a;
}

/// Geometry of one conv2d / pool2d in NHWC terms.
struct Geo {
  i64 N, H, W, C;   // input
  i64 KH, KW;       // window
  i64 O;            // output channels (conv) or C (pool)
  i64 OH, OW;
  i64 sh, sw, dh, dw, pt, pl;
  i64 G = 1, Cg = 0, Og = 0;
  bool pointwise() const { return KH == 1 && KW == 1 && sh == 1 && sw == 1 && pt == 0 && pl == 0 && OH == H && OW == W; }
};

std::string fmt_shape(const Shape& s) { return s.str(); }

Geo conv_geometry(const Shape& xs, const Shape& ks, const Conv2DParams& p) {
  const bool cf = channels_first(p.data_format, "conv2d");
  check_padding(p.padding, "conv2d");
  LAMINA_CHECK(p.strides[0] > 0 && p.strides[1] > 0, ValueError, "[conv2d] strides must be positive, got (",
               p.strides[0], ", ", p.strides[1], ")");
  LAMINA_CHECK(p.dilation[0] > 0 && p.dilation[1] > 0, ValueError, "[conv2d] dilation must be positive, got (",
               p.dilation[0], ", ", p.dilation[1], ")");
  LAMINA_CHECK(p.groups > 0, ValueError, "[conv2d] groups must be positive, got ", p.groups);
  for (i64 v : p.pads) LAMINA_CHECK(v >= 0, ValueError, "[conv2d] pads must be >= 0");
  LAMINA_CHECK(xs.ndim() == 4, ShapeError, "[conv2d] expected a rank-4 input (", cf ? "N, C, H, W" : "N, H, W, C",
               "), got shape ", fmt_shape(xs));
  LAMINA_CHECK(ks.ndim() == 4, ShapeError, "[conv2d] expected a rank-4 kernel (kh, kw, in/groups, out), got shape ",
               fmt_shape(ks));
  Geo g{};
  g.N = xs[0];
  g.C = cf ? xs[1] : xs[3];
  g.H = cf ? xs[2] : xs[1];
  g.W = cf ? xs[3] : xs[2];
  g.KH = ks[0];
  g.KW = ks[1];
  g.O = ks[3];
  g.G = p.groups;
  LAMINA_CHECK(g.C % g.G == 0 && ks[2] * g.G == g.C, ShapeError, "[conv2d] input channels ", g.C, " (input shape ",
               fmt_shape(xs), ") do not match kernel shape ", fmt_shape(ks), " with groups=", g.G,
               " (expected kernel in-channels ", g.C / std::max<i64>(g.G, 1), ")");
  LAMINA_CHECK(g.O % g.G == 0, ShapeError, "[conv2d] output channels ", g.O, " of kernel shape ", fmt_shape(ks),
               " are not divisible by groups=", g.G);
  LAMINA_CHECK(g.KH > 0 && g.KW > 0, ShapeError, "[conv2d] empty kernel shape ", fmt_shape(ks));
  g.Cg = g.C / g.G;
  g.Og = g.O / g.G;
  Axis ah = make_axis(g.H, g.KH, p.strides[0], p.dilation[0], p.padding, p.pads[0], p.pads[1]);
  Axis aw = make_axis(g.W, g.KW, p.strides[1], p.dilation[1], p.padding, p.pads[2], p.pads[3]);
  LAMINA_CHECK(ah.out > 0 && aw.out > 0, ShapeError, "[conv2d] kernel ", fmt_shape(ks), " (dilation ", p.dilation[0],
               "x", p.dilation[1], ") is larger than the input ", fmt_shape(xs), " with padding '", p.padding, "'");
  g.OH = ah.out;
  g.OW = aw.out;
  g.sh = p.strides[0];
  g.sw = p.strides[1];
  g.dh = p.dilation[0];
  g.dw = p.dilation[1];
  g.pt = ah.pb;
  g.pl = aw.pb;
  return g;
}

Geo pool_geometry(const Shape& xs, const Pool2DParams& p, const char* op) {
  const bool cf = channels_first(p.data_format, op);
  check_padding(p.padding, op);
  LAMINA_CHECK(p.pool_size[0] > 0 && p.pool_size[1] > 0, ValueError, "[", op, "] pool_size must be positive, got (",
               p.pool_size[0], ", ", p.pool_size[1], ")");
  LAMINA_CHECK(p.strides[0] >= 0 && p.strides[1] >= 0, ValueError, "[", op, "] strides must be positive");
  for (i64 v : p.pads) LAMINA_CHECK(v >= 0, ValueError, "[", op, "] pads must be >= 0");
  LAMINA_CHECK(xs.ndim() == 4, ShapeError, "[", op, "] expected a rank-4 input (", cf ? "N, C, H, W" : "N, H, W, C",
               "), got shape ", fmt_shape(xs));
  Geo g{};
  g.N = xs[0];
  g.C = cf ? xs[1] : xs[3];
  g.H = cf ? xs[2] : xs[1];
  g.W = cf ? xs[3] : xs[2];
  g.KH = p.pool_size[0];
  g.KW = p.pool_size[1];
  g.O = g.C;
  g.sh = p.strides[0] ? p.strides[0] : g.KH;
  g.sw = p.strides[1] ? p.strides[1] : g.KW;
  g.dh = g.dw = 1;
  Axis ah = make_axis(g.H, g.KH, g.sh, 1, p.padding, p.pads[0], p.pads[1]);
  Axis aw = make_axis(g.W, g.KW, g.sw, 1, p.padding, p.pads[2], p.pads[3]);
  LAMINA_CHECK(ah.out > 0 && aw.out > 0, ShapeError, "[", op, "] pool size (", g.KH, ", ", g.KW,
               ") is larger than the input ", fmt_shape(xs), " with padding '", p.padding, "'");
  g.OH = ah.out;
  g.OW = aw.out;
  g.pt = ah.pb;
  g.pl = aw.pb;
  return g;
}

Shape out_shape(const Geo& g, bool cf) { return cf ? Shape{g.N, g.O, g.OH, g.OW} : Shape{g.N, g.OH, g.OW, g.O}; }

Tensor to_nhwc(const Tensor& x, bool cf) { return cf ? x.permute({0, 2, 3, 1}).contiguous() : x.contiguous(); }
Tensor from_nhwc(const Tensor& y, bool cf) { return cf ? y.permute({0, 3, 1, 2}).contiguous() : y; }

void check_float(const Tensor& t, const char* op) {
  LAMINA_CHECK(t.dtype() == DType::float32 || t.dtype() == DType::float64, DTypeError, "[", op,
               "] expected float32 or float64, got ", t.dtype());
}

// ---- conv kernels (NHWC, contiguous) --------------------------------------------

/// Bytes of one im2col tile (kept well inside L2 next to the packed kernel).
constexpr i64 kColTileBytes = 160 * 1024;
/// Rows of one backward-filter chunk (fixed: the chunking must not depend on threads).
constexpr i64 kFilterChunkRows = 2048;

template <class T>
i64 tile_rows(const Geo& g) {
  const i64 kk = g.KH * g.KW * g.Cg;
  i64 r = kColTileBytes / (kk * static_cast<i64>(sizeof(T)));
  r = std::max<i64>(r / 16 * 16, 16);
  return r;
}

/// Patches of output rows [r0, r1) (flattened n, oh, ow) for group `grp`:
/// col[(r - r0) * KKg + (kh * KW + kw) * Cg + c].
template <class T>
void im2col(const Geo& g, const T* x, i64 r0, i64 r1, i64 grp, T* col) {
  const i64 ohw = g.OH * g.OW, Cg = g.Cg;
  const i64 kk = g.KH * g.KW * Cg;
  i64 n = r0 / ohw, oh = (r0 % ohw) / g.OW, ow = r0 % g.OW;
  for (i64 r = r0; r < r1; ++r) {
    T* dst = col + (r - r0) * kk;
    const T* xn = x + n * g.H * g.W * g.C + grp * Cg;
    const i64 ih0 = oh * g.sh - g.pt, iw0 = ow * g.sw - g.pl;
    for (i64 kh = 0; kh < g.KH; ++kh) {
      const i64 ih = ih0 + kh * g.dh;
      if (ih < 0 || ih >= g.H) {
        std::memset(dst, 0, sizeof(T) * static_cast<std::size_t>(g.KW * Cg));
        dst += g.KW * Cg;
        continue;
      }
      const T* xrow = xn + ih * g.W * g.C;
      if (Cg == g.C && g.dw == 1 && iw0 >= 0 && iw0 + g.KW <= g.W) {
        // The KW pixels of this kernel row are one contiguous run of the input.
        // Short runs (one input channel: 3 floats) are copied inline; a
        // memcpy call per 12 bytes cost more than the copy itself.
        const i64 run = g.KW * Cg;
        const T* src = xrow + iw0 * g.C;
        if (run <= 8) {
          for (i64 j = 0; j < run; ++j) dst[j] = src[j];
        } else {
          std::memcpy(dst, src, sizeof(T) * static_cast<std::size_t>(run));
        }
        dst += run;
        continue;
      }
      for (i64 kw = 0; kw < g.KW; ++kw, dst += Cg) {
        const i64 iw = iw0 + kw * g.dw;
        if (iw < 0 || iw >= g.W) {
          for (i64 c = 0; c < Cg; ++c) dst[c] = T(0);
        } else {
          const T* src = xrow + iw * g.C;
          if (Cg == 1) dst[0] = src[0];
          else std::memcpy(dst, src, sizeof(T) * static_cast<std::size_t>(Cg));
        }
      }
    }
    if (++ow == g.OW) {
      ow = 0;
      if (++oh == g.OH) oh = 0, ++n;
    }
  }
}

/// dx += col2im(dcol) for rows [r0, r1) (all within one image), group `grp`.
template <class T>
void col2im_add(const Geo& g, const T* col, i64 r0, i64 r1, i64 grp, T* dx) {
  const i64 ohw = g.OH * g.OW, Cg = g.Cg;
  const i64 kk = g.KH * g.KW * Cg;
  const i64 n = r0 / ohw;
  i64 oh = (r0 % ohw) / g.OW, ow = r0 % g.OW;
  T* dn = dx + n * g.H * g.W * g.C + grp * Cg;
  for (i64 r = r0; r < r1; ++r) {
    const T* src = col + (r - r0) * kk;
    const i64 ih0 = oh * g.sh - g.pt, iw0 = ow * g.sw - g.pl;
    for (i64 kh = 0; kh < g.KH; ++kh) {
      const i64 ih = ih0 + kh * g.dh;
      if (ih < 0 || ih >= g.H) {
        src += g.KW * Cg;
        continue;
      }
      T* drow = dn + ih * g.W * g.C;
      for (i64 kw = 0; kw < g.KW; ++kw, src += Cg) {
        const i64 iw = iw0 + kw * g.dw;
        if (iw < 0 || iw >= g.W) continue;
        T* d = drow + iw * g.C;
        for (i64 c = 0; c < Cg; ++c) d[c] += src[c];
      }
    }
    if (++ow == g.OW) ow = 0, ++oh;
  }
}

/// A strided view of the patch matrix of rows [r0, r1), group grp: A(i, k) = p[i * ld + k].
template <class T>
struct Cols {
  const T* p;
  i64 ld;
};

template <class T>
Cols<T> cols_for(const Geo& g, const T* x, i64 r0, i64 r1, i64 grp, T* scratch) {
  if (g.pointwise()) return {x + r0 * g.C + grp * g.Cg, g.C};
  im2col(g, x, r0, r1, grp, scratch);
  return {scratch, g.KH * g.KW * g.Cg};
}

/// Output epilogue of rows [r0, r1): y += bias (per channel), then ReLU.
template <class T>
void bias_act_rows(const Geo& g, const T* bias, bool relu, i64 r0, i64 r1, T* y) {
  if (!bias && !relu) return;
  const i64 O = g.O;
  for (i64 r = r0; r < r1; ++r) {
    T* yr = y + r * O;
    if (bias && relu)
      for (i64 o = 0; o < O; ++o) yr[o] = std::max(yr[o] + bias[o], T(0));
    else if (bias)
      for (i64 o = 0; o < O; ++o) yr[o] += bias[o];
    else
      for (i64 o = 0; o < O; ++o) yr[o] = std::max(yr[o], T(0));
  }
}

/// y = conv(x, k) (+ bias) (then ReLU); the epilogue runs on each tile while it is in cache.
template <class T>
void conv_forward(const Geo& g, const T* x, const T* k, T* y, const T* bias = nullptr, bool relu = false) {
  const i64 M = g.N * g.OH * g.OW, kk = g.KH * g.KW * g.Cg;
  if (g.pointwise() && g.G == 1) {
    gemm<T>(M, g.O, g.C, T(1), x, g.C, 1, k, g.O, 1, T(0), y, g.O, 1);
    if (bias || relu)
      detail::parallel_for(M, std::max<i64>(1, detail::kGrainCheap / std::max<i64>(g.O, 1)),
                           [&](i64 b, i64 e) { bias_act_rows(g, bias, relu, b, e, y); });
    return;
  }
  const i64 rows = tile_rows<T>(g);
  const i64 tiles = (M + rows - 1) / rows;
  detail::parallel_for(tiles, 1, [&](i64 tb, i64 te) {
    Tensor scratch = g.pointwise() ? Tensor() : Tensor::empty({rows * kk}, dtype_of<T>());
    T* col = g.pointwise() ? nullptr : scratch.data<T>();
    for (i64 t = tb; t < te; ++t) {
      const i64 r0 = t * rows, r1 = std::min(M, r0 + rows);
      for (i64 grp = 0; grp < g.G; ++grp) {
        Cols<T> a = cols_for(g, x, r0, r1, grp, col);
        gemm<T>(r1 - r0, g.Og, kk, T(1), a.p, a.ld, 1, k + grp * g.Og, g.O, 1, T(0), y + r0 * g.O + grp * g.Og,
                g.O, 1);
      }
      bias_act_rows(g, bias, relu, r0, r1, y);
    }
  });
}

/// dx = conv2d's input gradient for output gradient dy.
template <class T>
void conv_backward_data(const Geo& g, const T* dy, const T* k, T* dx) {
  const i64 M = g.N * g.OH * g.OW, kk = g.KH * g.KW * g.Cg, ohw = g.OH * g.OW;
  if (g.pointwise()) {
    // dx[:, grp] = dy[:, grp] · K_grpᵀ straight into dx (no overlap between rows).
    for (i64 grp = 0; grp < g.G; ++grp)
      gemm<T>(M, g.Cg, g.Og, T(1), dy + grp * g.Og, g.O, 1, k + grp * g.Og, 1, g.O, T(0), dx + grp * g.Cg, g.C, 1);
    return;
  }
  const i64 rows = std::min(tile_rows<T>(g), ohw);
  const i64 img = g.H * g.W * g.C;
  detail::parallel_for(g.N, 1, [&](i64 nb, i64 ne) {
    Tensor scratch = Tensor::empty({rows * kk}, dtype_of<T>());
    T* col = scratch.data<T>();
    std::memset(dx + nb * img, 0, sizeof(T) * static_cast<std::size_t>((ne - nb) * img));
    for (i64 n = nb; n < ne; ++n)
      for (i64 r0 = n * ohw; r0 < (n + 1) * ohw; r0 += rows) {
        const i64 r1 = std::min((n + 1) * ohw, r0 + rows);
        for (i64 grp = 0; grp < g.G; ++grp) {
          // dcol[r, kk] = sum_o dy[r, grp*Og + o] * K[kk, grp*Og + o]
          gemm<T>(r1 - r0, kk, g.Og, T(1), dy + r0 * g.O + grp * g.Og, g.O, 1, k + grp * g.Og, 1, g.O, T(0), col,
                  kk, 1);
          col2im_add(g, col, r0, r1, grp, dx);
        }
      }
  });
}

/// dk (kh, kw, Cg, O) = sum over rows of patchesᵀ · dy.
template <class T>
void conv_backward_filter(const Geo& g, const T* x, const T* dy, T* dk) {
  const i64 M = g.N * g.OH * g.OW, kk = g.KH * g.KW * g.Cg;
  const i64 rows = tile_rows<T>(g);
  // Chunks of whole tiles, fixed by the shapes.
  const i64 chunk_rows = std::max<i64>(kFilterChunkRows / rows, 1) * rows;
  const i64 chunks = (M + chunk_rows - 1) / chunk_rows;
  const i64 dk_size = kk * g.O;
  Tensor partial_t = chunks > 1 ? Tensor::empty({chunks * dk_size}, dtype_of<T>()) : Tensor();
  T* partial = chunks > 1 ? partial_t.data<T>() : dk;
  detail::parallel_for(chunks, 1, [&](i64 cb, i64 ce) {
    Tensor scratch = g.pointwise() ? Tensor() : Tensor::empty({rows * kk}, dtype_of<T>());
    T* col = g.pointwise() ? nullptr : scratch.data<T>();
    for (i64 c = cb; c < ce; ++c) {
      T* out = chunks > 1 ? partial + c * dk_size : dk;
      const i64 c0 = c * chunk_rows, c1 = std::min(M, c0 + chunk_rows);
      for (i64 r0 = c0; r0 < c1; r0 += rows) {
        const i64 r1 = std::min(c1, r0 + rows);
        const T beta = r0 == c0 ? T(0) : T(1);
        for (i64 grp = 0; grp < g.G; ++grp) {
          Cols<T> a = cols_for(g, x, r0, r1, grp, col);
          // out[kk, grp*Og + o] (+)= sum_r A(r, kk) * dy[r, grp*Og + o]
          gemm<T>(kk, g.Og, r1 - r0, T(1), a.p, 1, a.ld, dy + r0 * g.O + grp * g.Og, g.O, 1, beta,
                  out + grp * g.Og, g.O, 1);
        }
      }
    }
  });
  if (chunks > 1)
    detail::parallel_for(dk_size, detail::kGrainCheap, [&](i64 b, i64 e) {
      for (i64 i = b; i < e; ++i) {
        T s = partial[i];
        for (i64 c = 1; c < chunks; ++c) s += partial[c * dk_size + i];
        dk[i] = s;
      }
    });
}

// ---- pooling kernels (NHWC, contiguous) -----------------------------------------

/// Images per parallel task so a task has some work.
i64 pool_grain(const Geo& g) {
  const i64 per_image = std::max<i64>(g.OH * g.OW * g.C * g.KH * g.KW, 1);
  return std::max<i64>(1, detail::kGrainCheap / per_image);
}

/// y and argmax (flattened ih*W+iw, -1 for an empty window).
template <class T>
void max_pool_forward(const Geo& g, const T* x, T* y, std::int32_t* idx) {
  const i64 C = g.C;
  detail::parallel_for(g.N, pool_grain(g), [&](i64 nb, i64 ne) {
    for (i64 n = nb; n < ne; ++n) {
      const T* xn = x + n * g.H * g.W * C;
      for (i64 oh = 0; oh < g.OH; ++oh)
        for (i64 ow = 0; ow < g.OW; ++ow) {
          const i64 o = ((n * g.OH + oh) * g.OW + ow) * C;
          T* yr = y + o;
          std::int32_t* ir = idx + o;
          const i64 h0 = oh * g.sh - g.pt, w0 = ow * g.sw - g.pl;
          const i64 ha = std::max<i64>(h0, 0), he = std::min(h0 + g.KH, g.H);
          const i64 wa = std::max<i64>(w0, 0), we = std::min(w0 + g.KW, g.W);
          if (ha >= he || wa >= we) {  // window entirely in the padding
            for (i64 c = 0; c < C; ++c) yr[c] = T(0), ir[c] = -1;
            continue;
          }
          bool first = true;
          for (i64 ih = ha; ih < he; ++ih)
            for (i64 iw = wa; iw < we; ++iw) {
              const T* xr = xn + (ih * g.W + iw) * C;
              const auto pos = static_cast<std::int32_t>(ih * g.W + iw);
              if (first) {
                for (i64 c = 0; c < C; ++c) yr[c] = xr[c], ir[c] = pos;
                first = false;
                continue;
              }
              // Branch-free (vectorizes): the first maximum wins; a NaN is taken
              // and then kept (NaN propagates and receives the gradient).
              for (i64 c = 0; c < C; ++c) {
                const T v = xr[c], m = yr[c];
                const bool take = (v > m) | (v != v);
                yr[c] = take ? v : m;
                ir[c] = take ? pos : ir[c];
              }
            }
        }
    }
  });
}

/// max_pool_backward for windows that do not overlap and start inside the
/// image (strides >= pool size, no padding before; e.g. Keras's default 2x2
/// MaxPooling2D): each input pixel belongs to at most one window, so dx is
/// written once, as a select, instead of zeroed and then scattered into.
template <class T>
void max_pool_backward_disjoint(const Geo& g, const T* dy, const std::int32_t* idx, T* dx) {
  const i64 C = g.C, img = g.H * g.W * C, oimg = g.OH * g.OW * C;
  detail::parallel_for(g.N, pool_grain(g), [&](i64 nb, i64 ne) {
    for (i64 n = nb; n < ne; ++n) {
      T* dn = dx + n * img;
      const T* gy = dy + n * oimg;
      const std::int32_t* ix = idx + n * oimg;
      // Pixels no window covers (right/bottom remainders, gaps between
      // windows when strides exceed the pool size) get zero.
      if (g.OH * g.sh != g.H || g.OW * g.sw != g.W || g.sh != g.KH || g.sw != g.KW)
        std::memset(dn, 0, sizeof(T) * static_cast<std::size_t>(img));
      for (i64 oh = 0; oh < g.OH; ++oh)
        for (i64 ow = 0; ow < g.OW; ++ow) {
          const T* gr = gy + (oh * g.OW + ow) * C;
          const std::int32_t* ir = ix + (oh * g.OW + ow) * C;
          const i64 he = std::min(oh * g.sh + g.KH, g.H), we = std::min(ow * g.sw + g.KW, g.W);
          for (i64 ih = oh * g.sh; ih < he; ++ih)
            for (i64 iw = ow * g.sw; iw < we; ++iw) {
              const auto pos = static_cast<std::int32_t>(ih * g.W + iw);
              T* d = dn + (ih * g.W + iw) * C;
              // Unconditional load, then a select: this vectorizes (a
              // conditional load compiles to a branch per element).
              for (i64 c = 0; c < C; ++c) {
                const T v = gr[c];
                d[c] = ir[c] == pos ? v : T(0);
              }
            }
        }
    }
  });
}

template <class T>
void max_pool_backward(const Geo& g, const T* dy, const std::int32_t* idx, T* dx) {
  const i64 C = g.C, img = g.H * g.W * C, oimg = g.OH * g.OW * C;
  if (g.sh >= g.KH && g.sw >= g.KW && g.pt == 0 && g.pl == 0) {
    max_pool_backward_disjoint(g, dy, idx, dx);
    return;
  }
  detail::parallel_for(g.N, pool_grain(g), [&](i64 nb, i64 ne) {
    std::memset(dx + nb * img, 0, sizeof(T) * static_cast<std::size_t>((ne - nb) * img));
    for (i64 n = nb; n < ne; ++n) {
      T* dn = dx + n * img;
      const T* gy = dy + n * oimg;
      const std::int32_t* ix = idx + n * oimg;
      for (i64 o = 0; o < g.OH * g.OW; ++o)
        for (i64 c = 0; c < C; ++c) {
          const std::int32_t p = ix[o * C + c];
          if (p >= 0) dn[p * C + c] += gy[o * C + c];
        }
    }
  });
}

template <class T>
void avg_pool_forward(const Geo& g, const T* x, T* y) {
  const i64 C = g.C;
  detail::parallel_for(g.N, pool_grain(g), [&](i64 nb, i64 ne) {
    for (i64 n = nb; n < ne; ++n) {
      const T* xn = x + n * g.H * g.W * C;
      for (i64 oh = 0; oh < g.OH; ++oh)
        for (i64 ow = 0; ow < g.OW; ++ow) {
          T* yr = y + ((n * g.OH + oh) * g.OW + ow) * C;
          for (i64 c = 0; c < C; ++c) yr[c] = T(0);
          const i64 h0 = oh * g.sh - g.pt, w0 = ow * g.sw - g.pl;
          const i64 ha = std::max<i64>(h0, 0), he = std::min(h0 + g.KH, g.H);
          const i64 wa = std::max<i64>(w0, 0), we = std::min(w0 + g.KW, g.W);
          for (i64 ih = ha; ih < he; ++ih)
            for (i64 iw = wa; iw < we; ++iw) {
              const T* xr = xn + (ih * g.W + iw) * C;
              for (i64 c = 0; c < C; ++c) yr[c] += xr[c];
            }
          const i64 count = std::max<i64>(he - ha, 0) * std::max<i64>(we - wa, 0);
          const T inv = count > 0 ? T(1) / T(count) : T(0);
          for (i64 c = 0; c < C; ++c) yr[c] *= inv;
        }
    }
  });
}

template <class T>
void avg_pool_backward(const Geo& g, const T* dy, T* dx) {
  const i64 C = g.C, img = g.H * g.W * C;
  detail::parallel_for(g.N, pool_grain(g), [&](i64 nb, i64 ne) {
    std::memset(dx + nb * img, 0, sizeof(T) * static_cast<std::size_t>((ne - nb) * img));
    for (i64 n = nb; n < ne; ++n) {
      T* dn = dx + n * img;
      for (i64 oh = 0; oh < g.OH; ++oh)
        for (i64 ow = 0; ow < g.OW; ++ow) {
          const T* gr = dy + ((n * g.OH + oh) * g.OW + ow) * C;
          const i64 h0 = oh * g.sh - g.pt, w0 = ow * g.sw - g.pl;
          const i64 ha = std::max<i64>(h0, 0), he = std::min(h0 + g.KH, g.H);
          const i64 wa = std::max<i64>(w0, 0), we = std::min(w0 + g.KW, g.W);
          const i64 count = std::max<i64>(he - ha, 0) * std::max<i64>(we - wa, 0);
          if (count == 0) continue;
          const T inv = T(1) / T(count);
          for (i64 ih = ha; ih < he; ++ih)
            for (i64 iw = wa; iw < we; ++iw) {
              T* d = dn + (ih * g.W + iw) * C;
              for (i64 c = 0; c < C; ++c) d[c] += gr[c] * inv;
            }
        }
    }
  });
}

template <class F>
void dispatch_float(DType dt, F&& f) {
  if (dt == DType::float32) f(float{});
  else f(double{});
}

/// out (n, oh, ow, c) = x at the window maximum max_pool_forward chose (0
/// where the window held none): the adjoint of max_pool_backward.
template <class T>
void max_pool_gather(const Geo& g, const T* x, const std::int32_t* idx, T* out) {
  const i64 C = g.C, img = g.H * g.W * C, oimg = g.OH * g.OW * C;
  detail::parallel_for(g.N, pool_grain(g), [&](i64 nb, i64 ne) {
    for (i64 n = nb; n < ne; ++n)
      for (i64 o = 0; o < g.OH * g.OW; ++o)
        for (i64 c = 0; c < C; ++c) {
          const std::int32_t p = idx[n * oimg + o * C + c];
          out[n * oimg + o * C + c] = p >= 0 ? x[n * img + p * C + c] : T(0);
        }
  });
}

// ---- higher-order gradients ------------------------------------------------------
// Under an outer recording tape (a gradient of a gradient), the backward
// passes of conv2d and the pools run through these NHWC ops, each recorded
// with a backward made of the others, so they differentiate to any order:
// - conv, its input gradient and its filter gradient are the three adjoint
//   forms of one trilinear map <dy, conv(x, k)>: the adjoint of
//   conv_data_grad(dy, k) is conv(·, k) in dy and conv_filter_grad(·, dy) in
//   k, and so on round the three;
// - a pool's backward is linear in dy: the adjoint of average pooling's is
//   average pooling, that of max pooling's scatter to the argmax positions
//   is the gather from them (the positions are constants: the max is
//   piecewise linear).
// Inputs may have any layout (made contiguous here); outputs are NHWC.

/// out (out_shape, a's dtype) = run(a, b) on contiguous copies, recorded
/// with `backward` when a tape tracks a or b (b may be undefined: unary).
template <class Run>
Tensor recorded_map(const Tensor& a, const Tensor& b, const Shape& out_shape, Run run, detail::BackwardFn backward) {
  const Tensor ac = a.contiguous(), bc = b.defined() ? b.contiguous() : Tensor();
  Tensor out = Tensor::empty(out_shape, a.dtype());
  dispatch_float(a.dtype(), [&](auto t) {
    using T = decltype(t);
    run(ac.data<T>(), bc.defined() ? bc.data<T>() : nullptr, out.data<T>());
  });
  if (b.defined() ? detail::should_record({&a, &b}) : detail::should_record({&a}))
    b.defined() ? detail::record({&a, &b}, out, std::move(backward)) : detail::record({&a}, out, std::move(backward));
  return out;
}

Tensor conv_data_grad(const Geo& g, const Tensor& dy, const Tensor& k);
Tensor conv_filter_grad(const Geo& g, const Tensor& x, const Tensor& dy);

Tensor conv_nhwc(const Geo& g, const Tensor& x, const Tensor& k) {
  return recorded_map(
      x, k, {g.N, g.OH, g.OW, g.O}, [&g](const auto* xp, const auto* kp, auto* y) { conv_forward(g, xp, kp, y); },
      [g, x, k](const Tensor& gy, Grads& gi, const Needs& need) {
        if (need[0]) gi[0] = conv_data_grad(g, gy, k);
        if (need[1]) gi[1] = conv_filter_grad(g, x, gy);
      });
}

Tensor conv_data_grad(const Geo& g, const Tensor& dy, const Tensor& k) {
  return recorded_map(
      dy, k, {g.N, g.H, g.W, g.C},
      [&g](const auto* dyp, const auto* kp, auto* dx) { conv_backward_data(g, dyp, kp, dx); },
      [g, dy, k](const Tensor& gx, Grads& gi, const Needs& need) {
        if (need[0]) gi[0] = conv_nhwc(g, gx, k);
        if (need[1]) gi[1] = conv_filter_grad(g, gx, dy);
      });
}

Tensor conv_filter_grad(const Geo& g, const Tensor& x, const Tensor& dy) {
  return recorded_map(
      x, dy, {g.KH, g.KW, g.Cg, g.O},
      [&g](const auto* xp, const auto* dyp, auto* dk) { conv_backward_filter(g, xp, dyp, dk); },
      [g, x, dy](const Tensor& gk, Grads& gi, const Needs& need) {
        if (need[0]) gi[0] = conv_data_grad(g, dy, gk);
        if (need[1]) gi[1] = conv_nhwc(g, x, gk);
      });
}

Tensor avg_pool_grad(const Geo& g, const Tensor& dy);

Tensor avg_pool_nhwc(const Geo& g, const Tensor& x) {
  return recorded_map(
      x, Tensor(), {g.N, g.OH, g.OW, g.C}, [&g](const auto* xp, const auto*, auto* y) { avg_pool_forward(g, xp, y); },
      [g](const Tensor& gy, Grads& gi, const Needs&) { gi[0] = avg_pool_grad(g, gy); });
}

Tensor avg_pool_grad(const Geo& g, const Tensor& dy) {
  return recorded_map(
      dy, Tensor(), {g.N, g.H, g.W, g.C},
      [&g](const auto* dyp, const auto*, auto* dx) { avg_pool_backward(g, dyp, dx); },
      [g](const Tensor& gx, Grads& gi, const Needs&) { gi[0] = avg_pool_nhwc(g, gx); });
}

Tensor max_pool_gather_op(const Geo& g, const Tensor& x, const Tensor& idx);

Tensor max_pool_scatter_op(const Geo& g, const Tensor& dy, const Tensor& idx) {
  const std::int32_t* ip = idx.data<std::int32_t>();
  return recorded_map(
      dy, Tensor(), {g.N, g.H, g.W, g.C},
      [&g, ip](const auto* dyp, const auto*, auto* dx) { max_pool_backward(g, dyp, ip, dx); },
      [g, idx](const Tensor& gx, Grads& gi, const Needs&) { gi[0] = max_pool_gather_op(g, gx, idx); });
}

Tensor max_pool_gather_op(const Geo& g, const Tensor& x, const Tensor& idx) {
  const std::int32_t* ip = idx.data<std::int32_t>();
  return recorded_map(
      x, Tensor(), {g.N, g.OH, g.OW, g.C},
      [&g, ip](const auto* xp, const auto*, auto* out) { max_pool_gather(g, xp, ip, out); },
      [g, idx](const Tensor& gy, Grads& gi, const Needs&) { gi[0] = max_pool_scatter_op(g, gy, idx); });
}

/// NHWC view of x / NCHW view of an NHWC y, recorded (the higher-order path).
Tensor nhwc_view(const Tensor& x, bool cf) { return cf ? permute(x, {0, 2, 3, 1}) : x; }
Tensor from_nhwc_view(const Tensor& y, bool cf) { return cf ? permute(y, {0, 3, 1, 2}) : y; }

}  // namespace

// ---- public API -------------------------------------------------------------------

std::int64_t conv_output_length(std::int64_t length, std::int64_t kernel, std::int64_t stride,
                                std::int64_t dilation, const std::string& padding, std::int64_t before,
                                std::int64_t after) {
  check_padding(padding, "conv_output_length");
  return make_axis(length, kernel, stride, dilation, padding, before, after).out;
}

Shape conv2d_output_shape(const Shape& x, const Shape& kernel, const Conv2DParams& p) {
  return out_shape(conv_geometry(x, kernel, p), p.data_format == "channels_first");
}

Shape pool2d_output_shape(const Shape& x, const Pool2DParams& p) {
  return out_shape(pool_geometry(x, p, "pool2d"), p.data_format == "channels_first");
}

namespace {

/// conv2d (+ bias) (+ ReLU) as one op on the tape. `bias` may be undefined.
Tensor conv2d_impl(const Tensor& x, const Tensor& kernel, const Tensor& bias, bool relu, const Conv2DParams& p,
                   const char* op) {
  check_float(x, op);
  LAMINA_CHECK(kernel.dtype() == x.dtype(), DTypeError, "[", op, "] input dtype ", x.dtype(), " and kernel dtype ",
               kernel.dtype(), " differ");
  const Geo g = conv_geometry(x.shape(), kernel.shape(), p);
  const bool has_bias = bias.defined();
  if (has_bias) {
    LAMINA_CHECK(bias.dtype() == x.dtype(), DTypeError, "[", op, "] input dtype ", x.dtype(), " and bias dtype ",
                 bias.dtype(), " differ");
    LAMINA_CHECK(bias.ndim() == 1 && bias.shape()[0] == g.O, ShapeError, "[", op, "] bias must have shape (", g.O,
                 ",) for kernel shape ", fmt_shape(kernel.shape()), ", got ", fmt_shape(bias.shape()));
  }
  const bool cf = p.data_format == "channels_first";
  const Tensor xc = to_nhwc(x, cf);
  const Tensor kc = kernel.contiguous();
  const Tensor bc = has_bias ? bias.contiguous() : Tensor();
  Tensor y = Tensor::empty({g.N, g.OH, g.OW, g.O}, x.dtype());
  dispatch_float(x.dtype(), [&](auto t) {
    using T = decltype(t);
    conv_forward<T>(g, xc.data<T>(), kc.data<T>(), y.data<T>(), has_bias ? bc.data<T>() : nullptr, relu);
  });
  const Tensor y_nhwc = y;
  y = from_nhwc(y, cf);
  const Tensor none;
  if (detail::should_record({&x, &kernel, has_bias ? &bias : &none})) {
    // Under nested tapes the backward may itself be recorded, with x and the
    // kernel as the outer tape knows them; xc and kc are those tensors unless
    // a layout change copied them, so the originals are kept only then.
    const bool nested = detail::recording_depth() >= 2;
    Tensor x_orig = nested && xc.impl() != x.impl() ? x : Tensor();
    Tensor k_orig = nested && kc.impl() != kernel.impl() ? kernel : Tensor();
    auto backward = [g, cf, xc, kc, x_orig, k_orig, relu, has_bias, y_saved = relu ? y_nhwc : Tensor()](
                        const Tensor& gy, Grads& gi, const Needs& need) {
      if (is_recording()) {
        // A gradient of a gradient: recorded ops (see conv_nhwc).
        const Tensor xn = x_orig.defined() ? nhwc_view(x_orig, cf) : xc;
        const Tensor kn = k_orig.defined() ? k_orig : kc;
        Tensor dy = nhwc_view(cast(gy, xc.dtype()), cf);
        if (relu) dy = mul(dy, core::greater(y_saved, 0.0).to(xc.dtype()));
        if (has_bias && need[2]) gi[2] = sum(reshape(dy, {g.N * g.OH * g.OW, g.O}), {0});
        if (need[0]) gi[0] = from_nhwc_view(conv_data_grad(g, dy, kn), cf);
        if (need[1]) gi[1] = conv_filter_grad(g, xn, dy);
        return;
      }
      Tensor dy = to_nhwc(gy.to(xc.dtype()), cf);
      // The epilogue's gradients with the SIMD-dispatched core kernels (this
      // file is compiled for baseline x86-64): dpre = dy * (y > 0), and the
      // bias gradient is dpre summed over all rows (a deterministic reduction).
      if (relu) dy = core::relu_backward(dy, y_saved);
      if (has_bias && need[2]) gi[2] = core::sum(dy.reshape({g.N * g.OH * g.OW, g.O}), {0});
      if (need[0]) {
        Tensor dx = Tensor::empty({g.N, g.H, g.W, g.C}, xc.dtype());
        dispatch_float(xc.dtype(), [&](auto t) {
          using T = decltype(t);
          conv_backward_data<T>(g, dy.data<T>(), kc.data<T>(), dx.data<T>());
        });
        gi[0] = from_nhwc(dx, cf);
      }
      if (need[1]) {
        Tensor dk = Tensor::empty(kc.shape(), xc.dtype());
        dispatch_float(xc.dtype(), [&](auto t) {
          using T = decltype(t);
          conv_backward_filter<T>(g, xc.data<T>(), dy.data<T>(), dk.data<T>());
        });
        gi[1] = dk;
      }
    };
    if (has_bias) detail::record({&x, &kernel, &bias}, y, backward);
    else detail::record({&x, &kernel}, y, backward);
  }
  return y;
}

}  // namespace

Tensor conv2d(const Tensor& x, const Tensor& kernel, const Conv2DParams& p) {
  return conv2d_impl(x, kernel, Tensor(), false, p, "conv2d");
}

Tensor conv2d_bias_act(const Tensor& x, const Tensor& kernel, const Tensor& bias, bool relu, const Conv2DParams& p) {
  return conv2d_impl(x, kernel, bias, relu, p, "conv2d_bias_act");
}

Tensor max_pool2d(const Tensor& x, const Pool2DParams& p) {
  check_float(x, "max_pool2d");
  const Geo g = pool_geometry(x.shape(), p, "max_pool2d");
  LAMINA_CHECK(g.H * g.W < (i64{1} << 31), ValueError, "[max_pool2d] images too large");
  const bool cf = p.data_format == "channels_first";
  const Tensor xc = to_nhwc(x, cf);
  Tensor y = Tensor::empty({g.N, g.OH, g.OW, g.C}, x.dtype());
  Tensor idx = Tensor::empty({g.N, g.OH, g.OW, g.C}, DType::int32);
  dispatch_float(x.dtype(), [&](auto t) {
    using T = decltype(t);
    max_pool_forward<T>(g, xc.data<T>(), y.data<T>(), idx.data<std::int32_t>());
  });
  y = from_nhwc(y, cf);
  detail::record_unary(x, y, [g, cf, idx, dt = x.dtype()](const Tensor& gy, Grads& gi, const Needs&) {
    if (is_recording()) {  // a gradient of a gradient: recorded (see conv_nhwc)
      gi[0] = from_nhwc_view(max_pool_scatter_op(g, nhwc_view(cast(gy, dt), cf), idx), cf);
      return;
    }
    const Tensor dy = to_nhwc(gy.to(dt), cf);
    Tensor dx = Tensor::empty({g.N, g.H, g.W, g.C}, dt);
    dispatch_float(dt, [&](auto t) {
      using T = decltype(t);
      max_pool_backward<T>(g, dy.data<T>(), idx.data<std::int32_t>(), dx.data<T>());
    });
    gi[0] = from_nhwc(dx, cf);
  });
  return y;
}

Tensor avg_pool2d(const Tensor& x, const Pool2DParams& p) {
  check_float(x, "avg_pool2d");
  const Geo g = pool_geometry(x.shape(), p, "avg_pool2d");
  const bool cf = p.data_format == "channels_first";
  const Tensor xc = to_nhwc(x, cf);
  Tensor y = Tensor::empty({g.N, g.OH, g.OW, g.C}, x.dtype());
  dispatch_float(x.dtype(), [&](auto t) {
    using T = decltype(t);
    avg_pool_forward<T>(g, xc.data<T>(), y.data<T>());
  });
  y = from_nhwc(y, cf);
  detail::record_unary(x, y, [g, cf, dt = x.dtype()](const Tensor& gy, Grads& gi, const Needs&) {
    if (is_recording()) {  // a gradient of a gradient: recorded (see conv_nhwc)
      gi[0] = from_nhwc_view(avg_pool_grad(g, nhwc_view(cast(gy, dt), cf)), cf);
      return;
    }
    const Tensor dy = to_nhwc(gy.to(dt), cf);
    Tensor dx = Tensor::empty({g.N, g.H, g.W, g.C}, dt);
    dispatch_float(dt, [&](auto t) {
      using T = decltype(t);
      avg_pool_backward<T>(g, dy.data<T>(), dx.data<T>());
    });
    gi[0] = from_nhwc(dx, cf);
  });
  return y;
}

Tensor global_avg_pool2d(const Tensor& x, const std::string& data_format, bool keepdims) {
  const bool cf = channels_first(data_format, "global_avg_pool2d");
  LAMINA_CHECK(x.ndim() == 4, ShapeError, "[global_avg_pool2d] expected a rank-4 input, got shape ", x.shape());
  return cf ? mean(x, {2, 3}, keepdims) : mean(x, {1, 2}, keepdims);
}

Tensor global_max_pool2d(const Tensor& x, const std::string& data_format, bool keepdims) {
  const bool cf = channels_first(data_format, "global_max_pool2d");
  LAMINA_CHECK(x.ndim() == 4, ShapeError, "[global_max_pool2d] expected a rank-4 input, got shape ", x.shape());
  return cf ? max(x, {2, 3}, keepdims) : max(x, {1, 2}, keepdims);
}

Tensor zero_pad2d(const Tensor& x, const std::array<std::int64_t, 4>& pads, const std::string& data_format) {
  const bool cf = channels_first(data_format, "zero_pad2d");
  LAMINA_CHECK(x.ndim() == 4, ShapeError, "[zero_pad2d] expected a rank-4 input, got shape ", x.shape());
  for (i64 v : pads) LAMINA_CHECK(v >= 0, ValueError, "[zero_pad2d] padding must be >= 0");
  const int ah = cf ? 2 : 1, aw = ah + 1;
  Shape s = x.shape();
  s[ah] += pads[0] + pads[1];
  s[aw] += pads[2] + pads[3];
  Tensor out = zeros(s, x.dtype());
  out.slice(ah, pads[0], pads[0] + x.shape()[ah]).slice(aw, pads[2], pads[2] + x.shape()[aw]).copy_(x);
  detail::record_unary(x, out, [ah, aw, pads, h = x.shape()[ah], w = x.shape()[aw]](const Tensor& g, Grads& gi,
                                                                                    const Needs&) {
    gi[0] = slice(slice(g, ah, pads[0], pads[0] + h), aw, pads[2], pads[2] + w);
  });
  return out;
}

Tensor upsample2d(const Tensor& x, const std::array<std::int64_t, 2>& size, const std::string& data_format) {
  const bool cf = channels_first(data_format, "upsample2d");
  LAMINA_CHECK(x.ndim() == 4, ShapeError, "[upsample2d] expected a rank-4 input, got shape ", x.shape());
  LAMINA_CHECK(size[0] > 0 && size[1] > 0, ValueError, "[upsample2d] size must be positive, got (", size[0], ", ",
               size[1], ")");
  const Shape& s = x.shape();
  if (cf) {
    Tensor e = reshape(x, {s[0], s[1], s[2], 1, s[3], 1});
    e = broadcast_to(e, {s[0], s[1], s[2], size[0], s[3], size[1]});
    return reshape(e, {s[0], s[1], s[2] * size[0], s[3] * size[1]});
  }
  Tensor e = reshape(x, {s[0], s[1], 1, s[2], 1, s[3]});
  e = broadcast_to(e, {s[0], s[1], size[0], s[2], size[1], s[3]});
  return reshape(e, {s[0], s[1] * size[0], s[2] * size[1], s[3]});
}

}  // namespace lamina
