// matmul / matmul_out: NumPy matmul semantics over lamina::gemm.

#include "lamina/core/ops/matmul.h"

#include <cstdint>
#include <cstdlib>
#include <sstream>
#include <utility>

#include "lamina/core/detail/parallel.h"
#include "lamina/core/error.h"
#include "lamina/core/gemm.h"
#include "lamina/core/threading.h"

namespace lamina::core {
namespace {

using i64 = std::int64_t;

std::string flags_note(bool ta, bool tb) {
  if (!ta && !tb) return "";
  std::ostringstream os;
  os << " (with";
  if (ta) os << " transpose_a";
  if (ta && tb) os << " and";
  if (tb) os << " transpose_b";
  os << ")";
  return os.str();
}

/// Shapes of a product: batch dims, matrix sizes and which operands were 1-D.
struct Geometry {
  Shape batch;
  i64 M = 0, N = 0, K = 0;
  bool a_vec = false, b_vec = false;
  Shape result;
};

Geometry geometry(const Shape& sa, const Shape& sb, bool ta, bool tb) {
  LAMINA_CHECK(sa.ndim() >= 1 && sb.ndim() >= 1, ShapeError,
               "[matmul] operands must have at least one dimension, got ", sa, " @ ", sb);
  Geometry g;
  g.a_vec = sa.ndim() == 1;
  g.b_vec = sb.ndim() == 1;
  i64 ka, kb;
  if (g.a_vec) {
    g.M = 1;
    ka = sa[0];
  } else {
    g.M = ta ? sa[sa.ndim() - 1] : sa[sa.ndim() - 2];
    ka = ta ? sa[sa.ndim() - 2] : sa[sa.ndim() - 1];
  }
  if (g.b_vec) {
    g.N = 1;
    kb = sb[0];
  } else {
    kb = tb ? sb[sb.ndim() - 1] : sb[sb.ndim() - 2];
    g.N = tb ? sb[sb.ndim() - 2] : sb[sb.ndim() - 1];
  }
  LAMINA_CHECK(ka == kb, ShapeError, "[matmul] inner dimensions differ: ", sa, " @ ", sb, flags_note(ta, tb));
  g.K = ka;

  const int ba = g.a_vec ? 0 : sa.ndim() - 2, bb = g.b_vec ? 0 : sb.ndim() - 2;
  const int nb = ba > bb ? ba : bb;
  g.batch.resize(nb, 1);
  for (int d = 0; d < nb; ++d) {
    const int da = d - (nb - ba), db = d - (nb - bb);
    const i64 xa = da >= 0 ? sa[da] : 1, xb = db >= 0 ? sb[db] : 1;
    LAMINA_CHECK(xa == xb || xa == 1 || xb == 1, ShapeError,
                 "[matmul] cannot broadcast batch dimensions: ", sa, " @ ", sb);
    g.batch[d] = xa == 1 ? xb : xa;
  }
  g.result = g.batch;
  if (!g.a_vec) g.result.push_back(g.M);
  if (!g.b_vec) g.result.push_back(g.N);
  return g;
}

/// Strides of an operand's matrix (row, column) and of its batch dims,
/// broadcast against `batch` (stride 0 on broadcast dims).
struct Layout {
  i64 rs = 1, cs = 1;
  Shape batch_strides;
};

Layout layout(const Tensor& t, bool vec_is_row, bool transpose, const Shape& batch) {
  Layout l;
  const Shape& sh = t.shape();
  const Shape& st = t.strides();
  const int nd = sh.ndim();
  int mat_dims;
  if (nd == 1) {
    // (K,) as a row (1, K) for a, or as a column (K, 1) for b.
    if (vec_is_row) {
      l.rs = 1;
      l.cs = st[0];
    } else {
      l.rs = st[0];
      l.cs = 1;
    }
    mat_dims = 1;
  } else {
    l.rs = st[nd - 2];
    l.cs = st[nd - 1];
    if (transpose) std::swap(l.rs, l.cs);
    mat_dims = 2;
  }
  const int own = nd - mat_dims, nb = batch.ndim();
  l.batch_strides.resize(nb, 0);
  for (int d = 0; d < nb; ++d) {
    const int dd = d - (nb - own);
    if (dd >= 0 && sh[dd] != 1) l.batch_strides[d] = st[dd];
  }
  return l;
}

/// Whether the batch dims followed by the row dim form one regular sequence of
/// rows (so a batch of matrices is one tall matrix).
bool rows_fold(const Shape& batch, const Shape& bstrides, i64 M, i64 rs) {
  if (M > 1 && rs <= 0) return false;
  i64 expect = M == 1 ? 0 : rs * M;
  for (int d = batch.ndim() - 1; d >= 0; --d) {
    if (batch[d] == 1) continue;
    if (expect == 0) expect = bstrides[d] == 0 ? -1 : bstrides[d];  // M == 1: any regular stride
    if (bstrides[d] != expect || expect <= 0) return false;
    expect = bstrides[d] * batch[d];
  }
  return true;
}

template <class T>
void run(const Geometry& g, const Tensor& a, const Tensor& b, Tensor& out, T alpha, T beta, bool ta, bool tb) {
  Layout la = layout(a, true, ta, g.batch);
  Layout lb = layout(b, false, tb, g.batch);
  // The output's matrix strides (a 1-D operand's missing dim gets a dummy stride).
  Layout lc;
  {
    const Shape& st = out.strides();
    const int nd = out.ndim();
    const int nb = g.batch.ndim();
    lc.rs = g.a_vec ? 1 : st[nb];
    lc.cs = g.b_vec ? 1 : st[nd - 1];
    lc.batch_strides.resize(nb, 0);
    for (int d = 0; d < nb; ++d) lc.batch_strides[d] = g.batch[d] == 1 ? 0 : st[d];
  }
  const T* pa = a.data<T>();
  const T* pb = b.data<T>();
  T* pc = out.data<T>();
  i64 M = g.M, nbatch = g.batch.numel();
  Shape batch = g.batch;

  // Dense-layer shape: a batch of row blocks times one shared matrix is one GEMM.
  bool b_shared = true;
  for (int d = 0; d < batch.ndim(); ++d) b_shared = b_shared && lb.batch_strides[d] == 0;
  if (nbatch > 1 && b_shared && !g.a_vec && rows_fold(batch, la.batch_strides, M, la.rs) &&
      rows_fold(batch, lc.batch_strides, M, lc.rs)) {
    if (M == 1) {
      // Rows are the batch dims: take their innermost non-trivial stride.
      for (int d = batch.ndim() - 1; d >= 0; --d)
        if (batch[d] != 1) {
          la.rs = la.batch_strides[d];
          lc.rs = lc.batch_strides[d];
          break;
        }
    }
    M *= nbatch;
    nbatch = 1;
    batch = Shape{};
  }

  auto one = [&](i64 bi) {
    i64 oa = 0, ob = 0, oc = 0;
    for (int d = batch.ndim() - 1; d >= 0; --d) {
      const i64 idx = bi % batch[d];
      bi /= batch[d];
      oa += idx * la.batch_strides[d];
      ob += idx * lb.batch_strides[d];
      oc += idx * lc.batch_strides[d];
    }
    gemm<T>(M, g.N, g.K, alpha, pa + oa, la.rs, la.cs, pb + ob, lb.rs, lb.cs, beta, pc + oc, lc.rs, lc.cs);
  };
  const double flops = 2.0 * static_cast<double>(M) * static_cast<double>(g.N) * static_cast<double>(g.K);
  constexpr double kTaskFlops = 1.5e6;  // below this a single matrix product stays serial
  if (nbatch > 1 && flops < kTaskFlops && get_num_threads() > 1) {
    const i64 grain = static_cast<i64>(kTaskFlops / (flops + 1.0)) + 1;
    detail::parallel_for(nbatch, grain, [&](i64 lo, i64 hi) {
      for (i64 i = lo; i < hi; ++i) one(i);
    });
  } else {
    for (i64 i = 0; i < nbatch; ++i) one(i);
  }
}

void check_dtypes(const Tensor& a, const Tensor& b) {
  LAMINA_CHECK(a.dtype() == b.dtype(), DTypeError, "[matmul] dtypes differ: ", a.dtype(), " @ ", b.dtype());
  LAMINA_CHECK(is_floating(a.dtype()), DTypeError, "[matmul] expected float32 or float64, got ", a.dtype());
}

/// Whether `out` can be written in place: its matrices have a unit stride and
/// no two result elements share memory, and it does not alias an input.
bool writable_in_place(const Geometry& g, const Tensor& out, const Tensor& a, const Tensor& b) {
  if (out.shares_storage(a) || out.shares_storage(b)) return false;
  const Shape& st = out.strides();
  const int nd = out.ndim(), nb = g.batch.ndim();
  for (int d = 0; d < nb; ++d)
    if (g.batch[d] > 1 && st[d] == 0) return false;
  const i64 rs = g.a_vec ? 0 : st[nb], cs = g.b_vec ? 0 : st[nd - 1];
  const i64 M = g.M, N = g.N;
  if (M <= 1 && N <= 1) return true;
  if (M <= 1) return cs != 0;
  if (N <= 1) return rs != 0;
  return (cs == 1 && std::llabs(rs) >= N) || (rs == 1 && std::llabs(cs) >= M);
}

}  // namespace

Shape matmul_shape(const Shape& a, const Shape& b, bool transpose_a, bool transpose_b) {
  return geometry(a, b, transpose_a, transpose_b).result;
}

Tensor matmul(const Tensor& a, const Tensor& b, bool transpose_a, bool transpose_b) {
  check_dtypes(a, b);
  const Geometry g = geometry(a.shape(), b.shape(), transpose_a, transpose_b);
  Tensor out = Tensor::empty(g.result, a.dtype());
  if (out.numel() == 0) return out;
  if (a.dtype() == DType::float32)
    run<float>(g, a, b, out, 1.f, 0.f, transpose_a, transpose_b);
  else
    run<double>(g, a, b, out, 1.0, 0.0, transpose_a, transpose_b);
  return out;
}

void matmul_out(const Tensor& a, const Tensor& b, Tensor& out, double alpha, double beta, bool transpose_a,
                bool transpose_b) {
  check_dtypes(a, b);
  const Geometry g = geometry(a.shape(), b.shape(), transpose_a, transpose_b);
  LAMINA_CHECK(out.shape() == g.result, ShapeError, "[matmul] output has shape ", out.shape(),
               ", expected ", g.result, " for ", a.shape(), " @ ", b.shape(), flags_note(transpose_a, transpose_b));
  LAMINA_CHECK(out.dtype() == a.dtype(), DTypeError, "[matmul] output dtype ", out.dtype(),
               " differs from the operands' ", a.dtype());
  if (out.numel() == 0) return;
  Tensor target = out;
  const bool direct = writable_in_place(g, out, a, b);
  if (!direct) {
    target = Tensor::empty(g.result, out.dtype());
    if (beta != 0) target.copy_(out);
  }
  if (a.dtype() == DType::float32)
    run<float>(g, a, b, target, static_cast<float>(alpha), static_cast<float>(beta), transpose_a, transpose_b);
  else
    run<double>(g, a, b, target, alpha, beta, transpose_a, transpose_b);
  if (!direct) out.copy_(target);
}

}  // namespace lamina::core
