#include "lamina/core/tensor.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <new>
#include <numeric>

#include "lamina/core/allocator.h"
#include "lamina/core/detail/alias.h"
#include "lamina/core/detail/convert.h"
#include "lamina/core/detail/parallel.h"
#include "lamina/core/detail/strided.h"

namespace lamina {

namespace detail {

namespace {

// Per-thread recycling of TensorImpl blocks. The storage is trivially
// destructible (valid for the whole thread); `ImplPoolCleaner` empties it at
// thread exit and disables it, so later deletes go straight to the heap.
struct ImplPool {
  static constexpr int kCapacity = 64;
  void* blocks[kCapacity];
  int count;  // -1 once the thread is shutting down
};
thread_local ImplPool t_impl_pool{{}, 0};
struct ImplPoolCleaner {
  ~ImplPoolCleaner() {
    for (int i = 0; i < t_impl_pool.count; ++i) ::operator delete(t_impl_pool.blocks[i]);
    t_impl_pool.count = -1;
  }
};
thread_local ImplPoolCleaner t_impl_pool_cleaner;

}  // namespace

void* TensorImpl::operator new(std::size_t bytes) {
  ImplPool& pool = t_impl_pool;
  if (bytes == sizeof(TensorImpl) && pool.count > 0) return pool.blocks[--pool.count];
  static_cast<void>(&t_impl_pool_cleaner);  // constructs this thread's cleaner
  return ::operator new(bytes);
}

void TensorImpl::operator delete(void* p) noexcept {
  ImplPool& pool = t_impl_pool;
  if (p && pool.count >= 0 && pool.count < ImplPool::kCapacity) {
    static_cast<void>(&t_impl_pool_cleaner);
    pool.blocks[pool.count++] = p;
    return;
  }
  ::operator delete(p);
}

Storage* Storage::create(std::size_t nbytes) {
  void* block = cached_allocate(nbytes + kHeader);
  auto* s = new (block) Storage;
  s->nbytes = nbytes;
  return s;
}

void Storage::release() {
  // As in TensorImpl::release: the last owner needs no read-modify-write.
  if (refs.load(std::memory_order_acquire) == 1 || refs.fetch_sub(1, std::memory_order_acq_rel) == 1) {
    std::size_t n = nbytes;
    this->~Storage();
    cached_deallocate(this, n + kHeader);
  }
}

}  // namespace detail

namespace {

// Throws the error that describes why `shape` cannot be allocated (cold
// path of contiguous_layout).
[[noreturn]] void throw_bad_extents(const Shape& shape, const char* op) {
  for (auto d : shape)
    LAMINA_CHECK(d >= 0, ValueError, "[", op, "] negative extent in shape ", shape);
  throw ValueError(detail::concat("[", op, "] shape ", shape, " is too large to address (more than 2^56 elements)"));
}

// Checks `shape` and writes its row-major strides into `strides`; returns
// the element count. Strides treat zero extents as 1, so the product of
// max(d, 1) must fit too, even when the tensor itself holds no elements.
// The strides are written in place: building them in a temporary and
// copying it made the copy wait on the temporary's 8-byte stores (a
// store-forwarding stall, where perf put most of Tensor::empty's time).
std::int64_t contiguous_layout(const Shape& shape, Shape& strides, const char* op) {
  const int n = shape.ndim();
  strides.resize(n);
  std::int64_t span = 1, numel = 1;
  for (int i = n - 1; i >= 0; --i) {
    const std::int64_t d = shape[i];
    strides[i] = span;
    if (d < 0 || __builtin_mul_overflow(span, std::max<std::int64_t>(d, 1), &span) ||
        span > (std::int64_t{1} << 56)) [[unlikely]]
      throw_bad_extents(shape, op);
    numel *= d;
  }
  return numel;
}

}  // namespace

void Tensor::throw_undefined() { throw ValueError("[tensor] operation on an undefined tensor"); }

Tensor Tensor::empty(const Shape& shape, DType dtype) {
  auto* impl = new detail::TensorImpl;
  Tensor t = adopt(impl);
  impl->shape = shape;
  impl->dtype = dtype;
  const std::int64_t numel = contiguous_layout(shape, impl->strides, "empty");
  const std::size_t bytes = static_cast<std::size_t>(numel) * lamina::itemsize(dtype);
  try {
    impl->storage = detail::Storage::create(bytes);
  } catch (const std::bad_alloc&) {
    throw MemoryError(detail::concat("[empty] cannot allocate ", bytes, " bytes for a ", dtype,
                                     " tensor of shape ", shape));
  }
  return t;
}

template <class T>
Tensor Tensor::from(std::span<const T> values, const Shape& shape) {
  LAMINA_CHECK(static_cast<std::int64_t>(values.size()) == shape.numel(), ShapeError,
               "[tensor] ", values.size(), " values cannot fill shape ", shape, " (", shape.numel(),
               " elements)");
  Tensor t = empty(shape, dtype_of<T>());
  if (!values.empty()) std::memcpy(t.raw_data(), values.data(), values.size() * sizeof(T));
  return t;
}

template <>
Tensor Tensor::from<bool>(std::span<const bool> values, const Shape& shape) {
  LAMINA_CHECK(static_cast<std::int64_t>(values.size()) == shape.numel(), ShapeError,
               "[tensor] ", values.size(), " values cannot fill shape ", shape);
  Tensor t = empty(shape, DType::bool_);
  auto* p = static_cast<std::uint8_t*>(t.raw_data());
  for (std::size_t i = 0; i < values.size(); ++i) p[i] = values[i] ? 1 : 0;
  return t;
}

template Tensor Tensor::from<float>(std::span<const float>, const Shape&);
template Tensor Tensor::from<double>(std::span<const double>, const Shape&);
template Tensor Tensor::from<std::int32_t>(std::span<const std::int32_t>, const Shape&);
template Tensor Tensor::from<std::int64_t>(std::span<const std::int64_t>, const Shape&);
template Tensor Tensor::from<std::uint8_t>(std::span<const std::uint8_t>, const Shape&);

Tensor Tensor::scalar(double value, DType dtype) { return full(Shape{}, value, dtype); }

std::int64_t Tensor::size(int axis) const {
  return shape()[normalize_axis(axis, ndim(), "size")];
}

bool Tensor::is_contiguous() const {
  const auto& im = checked();
  std::int64_t expected = 1;
  for (int d = im.shape.ndim() - 1; d >= 0; --d) {
    if (im.shape[d] == 1) continue;
    if (im.strides[d] != expected) return false;
    expected *= im.shape[d];
  }
  return true;
}

Tensor Tensor::make_view(const Shape& shape, const Shape& strides, std::int64_t offset) const {
  const auto& src = checked();
  auto* impl = new detail::TensorImpl;
  Tensor t = adopt(impl);
  src.storage->retain();
  impl->storage = src.storage;
  impl->shape = shape;
  impl->strides = strides;
  impl->offset = offset;
  impl->dtype = src.dtype;
  return t;
}

namespace {

// Resolves one -1 extent and checks the element count.
Shape infer_shape(const Shape& want, std::int64_t numel, const Shape& from, const char* op) {
  Shape out = want;
  int infer = -1;
  std::int64_t known = 1;
  for (int i = 0; i < out.ndim(); ++i) {
    if (out[i] == -1) {
      LAMINA_CHECK(infer < 0, ShapeError, "[", op, "] only one extent may be -1, got ", want);
      infer = i;
    } else {
      LAMINA_CHECK(out[i] >= 0, ShapeError, "[", op, "] invalid extent in ", want);
      known *= out[i];
    }
  }
  if (infer >= 0) {
    LAMINA_CHECK(known != 0 && numel % known == 0, ShapeError, "[", op, "] cannot reshape ", from,
                 " into ", want);
    out[infer] = numel / known;
  }
  LAMINA_CHECK(out.numel() == numel, ShapeError, "[", op, "] cannot reshape ", from, " (", numel,
               " elements) into ", want);
  return out;
}

// Strides for viewing (shape, strides) as `target` without copying, or false.
// Works group by group: each run of target axes must map onto a run of
// source axes that is contiguous with respect to itself.
bool view_strides(const Shape& shape, const Shape& strides, const Shape& target, Shape& out) {
  out.resize(target.ndim());
  if (shape.numel() == 0) {
    out = contiguous_strides(target);
    return true;
  }
  int si = 0, ti = 0;
  const int sn = shape.ndim(), tn = target.ndim();
  while (ti < tn || si < sn) {
    // Skip extent-1 axes in the target: any stride works.
    if (ti < tn && target[ti] == 1) {
      out[ti++] = 1;
      continue;
    }
    if (si < sn && shape[si] == 1) {
      ++si;
      continue;
    }
    if (si >= sn || ti >= tn) return false;
    // Collect a source chunk and a target chunk with equal products.
    std::int64_t sp = shape[si], tp = target[ti];
    int s_end = si + 1, t_end = ti + 1;
    while (sp != tp) {
      if (sp < tp) {
        if (s_end >= sn) return false;
        if (shape[s_end] != 1) {
          if (strides[s_end - 1] != strides[s_end] * shape[s_end]) return false;
        }
        sp *= shape[s_end++];
      } else {
        if (t_end >= tn) return false;
        tp *= target[t_end++];
      }
    }
    // The source chunk [si, s_end) must be internally contiguous.
    for (int k = si; k + 1 < s_end; ++k)
      if (shape[k + 1] != 1 && strides[k] != strides[k + 1] * shape[k + 1]) return false;
    std::int64_t stride = strides[s_end - 1];
    for (int k = s_end - 1; k >= si && shape[k] == 1; --k) stride = strides[k];
    for (int k = t_end - 1; k >= ti; --k) {
      out[k] = stride;
      stride *= target[k];
    }
    si = s_end;
    ti = t_end;
  }
  return true;
}

}  // namespace

Tensor Tensor::view(const Shape& shape) const {
  Shape target = infer_shape(shape, numel(), this->shape(), "view");
  Shape st;
  LAMINA_CHECK(view_strides(this->shape(), strides(), target, st), ShapeError,
               "[view] cannot view a tensor of shape ", this->shape(), " with strides ", strides(),
               " as ", target, " without copying; use reshape()");
  return make_view(target, st, offset());
}

Tensor Tensor::reshape(const Shape& shape) const {
  Shape target = infer_shape(shape, numel(), this->shape(), "reshape");
  Shape st;
  if (view_strides(this->shape(), strides(), target, st)) return make_view(target, st, offset());
  return contiguous().view(target);
}

Tensor Tensor::transpose(int axis0, int axis1) const {
  int a = normalize_axis(axis0, ndim(), "transpose");
  int b = normalize_axis(axis1, ndim(), "transpose");
  Shape sh = shape(), st = strides();
  std::swap(sh[a], sh[b]);
  std::swap(st[a], st[b]);
  return make_view(sh, st, offset());
}

Tensor Tensor::t() const {
  LAMINA_CHECK(ndim() == 2, ShapeError, "[t] expected a 2-D tensor, got shape ", shape());
  return transpose(0, 1);
}

Tensor Tensor::permute(std::initializer_list<int> dims) const {
  return permute(std::span<const int>(dims.begin(), dims.size()));
}

Tensor Tensor::permute(std::span<const int> dims) const {
  const int n = ndim();
  LAMINA_CHECK(static_cast<int>(dims.size()) == n, ShapeError, "[permute] expected ", n,
               " axes for shape ", shape(), ", got ", dims.size());
  Shape sh, st;
  bool seen[kMaxDims] = {};
  for (int d : dims) {
    int a = normalize_axis(d, n, "permute");
    LAMINA_CHECK(!seen[a], ValueError, "[permute] axis ", d, " repeated");
    seen[a] = true;
    sh.push_back(shape()[a]);
    st.push_back(strides()[a]);
  }
  return make_view(sh, st, offset());
}

Tensor Tensor::slice(int axis, std::int64_t start, std::int64_t stop, std::int64_t step) const {
  int a = normalize_axis(axis, ndim(), "slice");
  LAMINA_CHECK(step > 0, ValueError, "[slice] step must be positive, got ", step);
  const std::int64_t n = shape()[a];
  auto clamp = [n](std::int64_t i) {
    if (i < 0) i += n;
    return std::clamp<std::int64_t>(i, 0, n);
  };
  std::int64_t b = clamp(start), e = clamp(stop);
  // (e - b - 1) / step + 1, not (e - b + step - 1) / step: no overflow for a huge step.
  std::int64_t len = e > b ? (e - b - 1) / step + 1 : 0;
  Shape sh = shape(), st = strides();
  sh[a] = len;
  st[a] = len > 1 ? strides()[a] * step : strides()[a];  // a huge step only ever takes one element
  return make_view(sh, st, offset() + b * strides()[a]);
}

Tensor Tensor::select(int axis, std::int64_t i) const {
  int a = normalize_axis(axis, ndim(), "select");
  const std::int64_t n = shape()[a];
  std::int64_t j = i < 0 ? i + n : i;
  LAMINA_CHECK(j >= 0 && j < n, IndexError, "[select] index ", i, " is out of range for axis ", axis,
               " of extent ", n);
  Shape sh = shape(), st = strides();
  std::int64_t off = offset() + j * st[a];
  sh.erase(a);
  st.erase(a);
  return make_view(sh, st, off);
}

Tensor Tensor::broadcast_to(const Shape& target) const {
  const Shape& sh = shape();
  LAMINA_CHECK(target.ndim() >= sh.ndim(), ShapeError, "[broadcast_to] cannot broadcast ", sh, " to ",
               target);
  Shape st;
  st.resize(target.ndim());
  const int lead = target.ndim() - sh.ndim();
  for (int d = 0; d < target.ndim(); ++d) {
    LAMINA_CHECK(target[d] >= 0, ShapeError, "[broadcast_to] cannot broadcast ", sh, " to ", target,
                 ": negative extent");
    if (d < lead) {
      st[d] = 0;
      continue;
    }
    std::int64_t have = sh[d - lead];
    LAMINA_CHECK(have == target[d] || have == 1, ShapeError, "[broadcast_to] cannot broadcast ", sh,
                 " to ", target);
    st[d] = have == target[d] ? strides()[d - lead] : 0;
  }
  return make_view(target, st, offset());
}

Tensor Tensor::unsqueeze(int axis) const {
  int a = normalize_axis(axis, ndim() + 1, "unsqueeze");
  Shape sh = shape(), st = strides();
  std::int64_t s = a < ndim() ? st[a] * sh[a] : 1;
  sh.insert(a, 1);
  st.insert(a, s);
  return make_view(sh, st, offset());
}

Tensor Tensor::squeeze(int axis) const {
  int a = normalize_axis(axis, ndim(), "squeeze");
  LAMINA_CHECK(shape()[a] == 1, ShapeError, "[squeeze] axis ", axis, " has extent ", shape()[a],
               ", expected 1 (shape ", shape(), ")");
  Shape sh = shape(), st = strides();
  sh.erase(a);
  st.erase(a);
  return make_view(sh, st, offset());
}

Tensor Tensor::flatten(int start_axis, int end_axis) const {
  if (ndim() == 0) return reshape(Shape{1});
  int s = normalize_axis(start_axis, ndim(), "flatten");
  int e = normalize_axis(end_axis, ndim(), "flatten");
  LAMINA_CHECK(s <= e, ValueError, "[flatten] start axis ", start_axis, " is after end axis ", end_axis);
  Shape out;
  for (int d = 0; d < s; ++d) out.push_back(shape()[d]);
  std::int64_t m = 1;
  for (int d = s; d <= e; ++d) m *= shape()[d];
  out.push_back(m);
  for (int d = e + 1; d < ndim(); ++d) out.push_back(shape()[d]);
  return reshape(out);
}

Tensor Tensor::contiguous() const {
  if (is_contiguous()) return *this;
  return clone();
}

Tensor Tensor::clone() const {
  Tensor out = empty(shape(), dtype());
  out.copy_(*this);
  return out;
}

Tensor Tensor::to(DType dtype) const {
  if (dtype == this->dtype()) return *this;
  Tensor out = empty(shape(), dtype);
  out.copy_(*this);
  return out;
}

namespace {

template <class Dst, class Src>
void convert_run(Dst* dst, std::int64_t ds, const Src* src, std::int64_t ss, std::int64_t n, bool to_bool) {
  if (to_bool) {
    for (std::int64_t i = 0; i < n; ++i) dst[i * ds] = static_cast<Dst>(src[i * ss] != Src(0));
  } else if (ds == 1 && ss == 1) {
    if constexpr (std::is_same_v<Dst, Src>) {
      std::memcpy(dst, src, static_cast<std::size_t>(n) * sizeof(Dst));
    } else {
      for (std::int64_t i = 0; i < n; ++i) dst[i] = detail::saturate_cast<Dst>(src[i]);
    }
  } else {
    for (std::int64_t i = 0; i < n; ++i) dst[i * ds] = detail::saturate_cast<Dst>(src[i * ss]);
  }
}

}  // namespace

void Tensor::copy_(const Tensor& src_in) {
  LAMINA_CHECK(src_in.defined(), ValueError, "[copy_] source is undefined");
  const Shape& want = shape();
  bool fits = src_in.ndim() <= want.ndim();
  for (int d = 1; fits && d <= src_in.ndim(); ++d) {
    const std::int64_t s = src_in.shape()[src_in.ndim() - d];
    fits = s == want[want.ndim() - d] || s == 1;
  }
  LAMINA_CHECK(fits, ShapeError, "[copy_] cannot copy a tensor of shape ", src_in.shape(), " into one of shape ",
               want);
  detail::check_writable(*this, "copy_");
  Tensor src = detail::unaliased(src_in, *this).broadcast_to(want);
  const Shape& dst_st = strides();
  auto plan = detail::make_plan<2>(shape(), {&dst_st, &src.strides()});
  const bool to_bool = dtype() == DType::bool_;
  std::byte* dbase = impl_->data();
  const std::byte* sbase = src.impl()->data();
  const DType ddt = dtype(), sdt = src.dtype();
  detail::parallel_for(plan.numel(), 1 << 16, [&](std::int64_t b, std::int64_t e) {
    visit_dtype(ddt, [&](auto d0) {
      using D = decltype(d0);
      visit_dtype(sdt, [&](auto s0) {
        using S = decltype(s0);
        detail::for_each_run<2>(plan, b, e, [&](const auto& off, std::int64_t n) {
          convert_run(reinterpret_cast<D*>(dbase) + off[0], plan.inner_stride(0),
                      reinterpret_cast<const S*>(sbase) + off[1], plan.inner_stride(1), n, to_bool);
        });
      });
    });
  });
}

void Tensor::fill_(double value) { copy_(Tensor::scalar(value, DType::float64)); }

std::int64_t Tensor::element_offset(std::span<const std::int64_t> index) const {
  LAMINA_CHECK(static_cast<int>(index.size()) == ndim(), IndexError, "[at] expected ", ndim(),
               " indices for shape ", shape(), ", got ", index.size());
  std::int64_t off = offset();
  for (int d = 0; d < ndim(); ++d) {
    std::int64_t i = index[d] < 0 ? index[d] + shape()[d] : index[d];
    LAMINA_CHECK(i >= 0 && i < shape()[d], IndexError, "[at] index ", index[d],
                 " is out of range for axis ", d, " of shape ", shape());
    off += i * strides()[d];
  }
  return off;
}

template <class T>
T Tensor::element_as(std::int64_t storage_offset) const {
  const std::byte* base = impl_->storage->data();
  return visit_dtype(dtype(), [&](auto z) -> T {
    using S = decltype(z);
    return detail::saturate_cast<T>(reinterpret_cast<const S*>(base)[storage_offset]);
  });
}

template <class T>
T Tensor::item() const {
  LAMINA_CHECK(numel() == 1, ValueError, "[item] expected a tensor with one element, got shape ", shape());
  std::int64_t off = offset();
  return element_as<T>(off);
}

template <class T>
std::vector<T> Tensor::to_vector() const {
  Tensor c = contiguous();
  std::vector<T> out(static_cast<std::size_t>(numel()));
  const auto* p = static_cast<const std::byte*>(c.raw_data());
  visit_dtype(c.dtype(), [&](auto z) {
    using S = decltype(z);
    for (std::size_t i = 0; i < out.size(); ++i) out[i] = detail::saturate_cast<T>(reinterpret_cast<const S*>(p)[i]);
  });
  return out;
}

#define LAMINA_INSTANTIATE_ACCESS(T)                              \
  template T Tensor::item<T>() const;                             \
  template T Tensor::element_as<T>(std::int64_t) const;           \
  template std::vector<T> Tensor::to_vector<T>() const;
LAMINA_INSTANTIATE_ACCESS(float)
LAMINA_INSTANTIATE_ACCESS(double)
LAMINA_INSTANTIATE_ACCESS(std::int32_t)
LAMINA_INSTANTIATE_ACCESS(std::int64_t)
LAMINA_INSTANTIATE_ACCESS(std::uint8_t)
LAMINA_INSTANTIATE_ACCESS(bool)
#undef LAMINA_INSTANTIATE_ACCESS

bool Tensor::shares_storage(const Tensor& other) const {
  return defined() && other.defined() && impl_->storage == other.impl_->storage;
}

// ---- factories ----

Tensor empty(const Shape& shape, DType dtype) { return Tensor::empty(shape, dtype); }

Tensor full(const Shape& shape, double value, DType dtype) {
  Tensor t = Tensor::empty(shape, dtype);
  const std::int64_t n = t.numel();
  visit_dtype(dtype, [&](auto z) {
    using T = decltype(z);
    T v = dtype == DType::bool_ ? T(value != 0.0) : detail::saturate_cast<T>(value);
    T* p = static_cast<T*>(t.raw_data());
    detail::parallel_for(n, 1 << 16, [&](std::int64_t b, std::int64_t e) { std::fill(p + b, p + e, v); });
  });
  return t;
}

Tensor zeros(const Shape& shape, DType dtype) { return full(shape, 0.0, dtype); }
Tensor ones(const Shape& shape, DType dtype) { return full(shape, 1.0, dtype); }
Tensor zeros_like(const Tensor& t) { return zeros(t.shape(), t.dtype()); }
Tensor ones_like(const Tensor& t) { return ones(t.shape(), t.dtype()); }
Tensor empty_like(const Tensor& t) { return empty(t.shape(), t.dtype()); }

Tensor arange(double start, double stop, double step, DType dtype) {
  LAMINA_CHECK(step != 0.0, ValueError, "[arange] step must not be zero");
  LAMINA_CHECK(std::isfinite(start) && std::isfinite(stop) && std::isfinite(step), ValueError,
               "[arange] start, stop and step must be finite, got ", start, ", ", stop, ", ", step);
  double span = (stop - start) / step;
  LAMINA_CHECK(span < 4.5e15, ValueError, "[arange] (", start, ", ", stop, ", ", step, ") would have ", span,
               " elements");
  std::int64_t n = span > 0 ? static_cast<std::int64_t>(std::ceil(span)) : 0;
  Tensor t = Tensor::empty(Shape{n}, dtype);
  visit_dtype(dtype, [&](auto z) {
    using T = decltype(z);
    T* p = static_cast<T*>(t.raw_data());
    for (std::int64_t i = 0; i < n; ++i) {
      const double v = start + static_cast<double>(i) * step;
      // Integer dtypes wrap like NumPy's arange (arange(300, uint8) ends 254, 255, 0, 1, ...).
      if (dtype == DType::bool_) p[i] = static_cast<T>(v != 0.0);  // stored as 0 or 1, like every bool
      else if constexpr (std::is_integral_v<T>) p[i] = static_cast<T>(detail::saturate_cast<std::int64_t>(v));
      else p[i] = static_cast<T>(v);
    }
  });
  return t;
}

}  // namespace lamina
