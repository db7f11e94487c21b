#pragma once
/// Tensor: an n-dimensional, strided view of reference-counted storage.
///
/// Copying a Tensor copies the handle (both refer to the same data). Views
/// (reshape of contiguous data, transpose/permute, slice, select, expand)
/// share storage; `clone()` and `contiguous()` copy. Storage is 64-byte
/// aligned and comes from the caching allocator (core/allocator.h).
///
/// Example:
///   auto x = lamina::Tensor::from({1.f, 2.f, 3.f, 4.f, 5.f, 6.f}, {2, 3});
///   auto xt = x.transpose(0, 1);           // (3, 2) view
///   float v = xt.at<float>(2, 1);          // 6
///   std::cout << x;                        // NumPy-style printing

#include <cstdint>
#include <initializer_list>
#include <iosfwd>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

#include "lamina/core/detail/tensor_impl.h"
#include "lamina/core/dtype.h"
#include "lamina/core/error.h"
#include "lamina/core/shape.h"

namespace lamina {

class Tensor {
 public:
  /// An undefined tensor (defined() == false).
  Tensor() = default;
  Tensor(const Tensor& o) : impl_(o.impl_) {
    if (impl_) impl_->retain();
  }
  Tensor(Tensor&& o) noexcept : impl_(o.impl_) { o.impl_ = nullptr; }
  Tensor& operator=(const Tensor& o) {
    if (o.impl_) o.impl_->retain();
    reset(o.impl_);
    return *this;
  }
  Tensor& operator=(Tensor&& o) noexcept {
    if (this != &o) {
      reset(o.impl_);
      o.impl_ = nullptr;
    }
    return *this;
  }
  ~Tensor() { reset(nullptr); }

  /// A new contiguous tensor with uninitialized contents. Throws ValueError
  /// for negative or unaddressable extents, MemoryError when the system has
  /// no memory for it.
  static Tensor empty(const Shape& shape, DType dtype = DType::float32);
  /// Copies `values` into a new contiguous tensor of `shape` (numel must match).
  template <class T>
  static Tensor from(std::span<const T> values, const Shape& shape);
  template <class T>
  static Tensor from(const std::vector<T>& values, const Shape& shape) {
    return from(std::span<const T>(values), shape);
  }
  template <class T>
  static Tensor from(std::initializer_list<T> values, const Shape& shape) {
    return from(std::span<const T>(values.begin(), values.size()), shape);
  }
  /// 1-D tensor from values.
  template <class T>
  static Tensor from(std::initializer_list<T> values) {
    return from(std::span<const T>(values.begin(), values.size()),
                Shape{static_cast<std::int64_t>(values.size())});
  }
  /// A 0-d tensor holding `value`.
  static Tensor scalar(double value, DType dtype = DType::float32);

  bool defined() const { return impl_ != nullptr; }
  DType dtype() const { return checked().dtype; }
  const Shape& shape() const { return checked().shape; }
  /// Strides in elements (not bytes).
  const Shape& strides() const { return checked().strides; }
  std::int64_t offset() const { return checked().offset; }
  int ndim() const { return checked().shape.ndim(); }
  std::int64_t numel() const { return checked().shape.numel(); }
  /// Extent of `axis` (negative counts from the end).
  std::int64_t size(int axis) const;
  std::size_t itemsize() const { return lamina::itemsize(dtype()); }
  /// True when elements are laid out in row-major order without gaps.
  bool is_contiguous() const;

  /// Pointer to the first element; throws DTypeError if T does not match.
  template <class T>
  T* data() {
    check_dtype<T>("data");
    return reinterpret_cast<T*>(impl_->data());
  }
  template <class T>
  const T* data() const {
    check_dtype<T>("data");
    return reinterpret_cast<const T*>(impl_->data());
  }
  void* raw_data() { return checked().data(); }
  const void* raw_data() const { return checked().data(); }

  // ---- views (share storage) ----
  /// Same data with a new shape; one extent may be -1. A view when the
  /// layout allows it, otherwise a contiguous copy. Throws ShapeError.
  Tensor reshape(const Shape& shape) const;
  /// Like reshape but never copies; throws ShapeError when a view is impossible.
  Tensor view(const Shape& shape) const;
  /// Swaps two axes (a view).
  Tensor transpose(int axis0, int axis1) const;
  /// 2-D transpose (a view); throws ShapeError for other ranks.
  Tensor t() const;
  /// Reorders axes: result axis i is input axis dims[i] (a view).
  Tensor permute(std::initializer_list<int> dims) const;
  Tensor permute(std::span<const int> dims) const;
  /// Elements [start, stop) with `step` along `axis` (negative start/stop count
  /// from the end, clamped like Python). A view.
  Tensor slice(int axis, std::int64_t start, std::int64_t stop, std::int64_t step = 1) const;
  /// Index `i` along `axis`, dropping that axis (a view).
  Tensor select(int axis, std::int64_t i) const;
  /// select(0, i).
  Tensor operator[](std::int64_t i) const { return select(0, i); }
  /// Broadcasts to `shape` with NumPy rules (stride 0 on expanded axes; a view).
  Tensor broadcast_to(const Shape& shape) const;
  Tensor expand(const Shape& shape) const { return broadcast_to(shape); }
  /// Inserts an axis of extent 1 at `axis`.
  Tensor unsqueeze(int axis) const;
  /// Removes `axis`, which must have extent 1.
  Tensor squeeze(int axis) const;
  /// Collapses axes [start, end] into one.
  Tensor flatten(int start_axis = 0, int end_axis = -1) const;

  // ---- copies ----
  /// This tensor if already contiguous, else a contiguous copy.
  Tensor contiguous() const;
  /// A contiguous copy with its own storage.
  Tensor clone() const;
  /// Converts to `dtype` (a copy; returns *this when the dtype already matches).
  Tensor to(DType dtype) const;
  /// Copies `src` (broadcast to this shape, converting dtype) into this tensor.
  void copy_(const Tensor& src);
  /// Sets every element to `value`.
  void fill_(double value);

  // ---- element access ----
  /// The value of a one-element tensor, converted to T.
  template <class T>
  T item() const;
  /// The element at the given index (one per axis; negative counts from the end).
  template <class T, class... Index>
  T at(Index... index) const {
    const std::int64_t idx[] = {static_cast<std::int64_t>(index)...};
    return element_as<T>(element_offset(std::span<const std::int64_t>(idx, sizeof...(Index))));
  }
  /// All elements in row-major order, converted to T.
  template <class T>
  std::vector<T> to_vector() const;

  /// NumPy-like text: `tensor([[1., 2.], [3., 4.]], dtype=float32)`.
  std::string str() const;
  /// True when both tensors view the same storage block.
  bool shares_storage(const Tensor& other) const;

  detail::TensorImpl* impl() const { return impl_; }
  /// Wraps an impl, taking over one reference.
  static Tensor adopt(detail::TensorImpl* impl) {
    Tensor t;
    t.impl_ = impl;
    return t;
  }

 private:
  void reset(detail::TensorImpl* p) {
    if (impl_) impl_->release();
    impl_ = p;
  }
  // Inlined at every accessor: the throw lives out of line (an inline
  // LAMINA_CHECK made GCC emit checked() as a called function, a call per
  // shape()/dtype()/raw_data() in every op's fixed cost).
  const detail::TensorImpl& checked() const {
    if (impl_ == nullptr) [[unlikely]] throw_undefined();
    return *impl_;
  }
  [[noreturn]] static void throw_undefined();
  template <class T>
  void check_dtype(const char* what) const {
    LAMINA_CHECK(checked().dtype == dtype_of<T>() ||
                     (dtype_of<T>() == DType::uint8 && impl_->dtype == DType::bool_),
                 DTypeError, "[", what, "] tensor has dtype ", impl_->dtype,
                 ", requested ", dtype_of<T>());
  }
  std::int64_t element_offset(std::span<const std::int64_t> index) const;
  template <class T>
  T element_as(std::int64_t storage_offset) const;
  Tensor make_view(const Shape& shape, const Shape& strides, std::int64_t offset) const;

  detail::TensorImpl* impl_ = nullptr;
};

std::ostream& operator<<(std::ostream& os, const Tensor& t);

// ---- factories ----
/// Uninitialized contiguous tensor.
Tensor empty(const Shape& shape, DType dtype = DType::float32);
Tensor zeros(const Shape& shape, DType dtype = DType::float32);
Tensor ones(const Shape& shape, DType dtype = DType::float32);
Tensor full(const Shape& shape, double value, DType dtype = DType::float32);
Tensor zeros_like(const Tensor& t);
Tensor ones_like(const Tensor& t);
Tensor empty_like(const Tensor& t);
/// Values start, start+step, ... below stop (like numpy.arange). Throws ValueError for step 0.
Tensor arange(double start, double stop, double step = 1.0, DType dtype = DType::float32);
inline Tensor arange(double stop, DType dtype = DType::float32) { return arange(0.0, stop, 1.0, dtype); }

}  // namespace lamina
