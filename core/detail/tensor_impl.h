#pragma once
// Internal representation of tensors: a reference-counted TensorImpl (shape,
// strides, offset, dtype) pointing at a reference-counted Storage. The
// Storage header lives at the start of its own cached block, so creating a
// tensor costs one small malloc (TensorImpl) plus one cached block.

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>

#include "lamina/core/dtype.h"
#include "lamina/core/shape.h"

namespace lamina::detail {

/// Extension slot for the autograd module; core never looks inside.
struct AutogradMetaBase {
  virtual ~AutogradMetaBase() = default;
};

struct Storage {
  std::atomic<std::int64_t> refs{1};
  std::size_t nbytes = 0;  // usable bytes after the header
  std::byte* data() { return reinterpret_cast<std::byte*>(this) + kHeader; }

  static constexpr std::size_t kHeader = 64;  // keeps data 64-byte aligned
  /// A new storage of `nbytes` usable bytes with refs == 1 (contents undefined).
  static Storage* create(std::size_t nbytes);
  void retain() { refs.fetch_add(1, std::memory_order_relaxed); }
  /// Drops one reference. The last owner skips the atomic read-modify-write
  /// (see TensorImpl::release).
  void release();
};

struct TensorImpl {
  std::atomic<std::int64_t> refs{1};
  Storage* storage = nullptr;  // owned reference
  Shape shape;
  Shape strides;               // in elements
  std::int64_t offset = 0;     // in elements
  DType dtype = DType::float32;
  std::unique_ptr<AutogradMetaBase> autograd;

  TensorImpl() = default;
  // Recycled through a small per-thread free list: creating tensors is the
  // per-op overhead of every kernel.
  static void* operator new(std::size_t bytes);
  static void operator delete(void* p) noexcept;
  TensorImpl(const TensorImpl&) = delete;
  TensorImpl& operator=(const TensorImpl&) = delete;
  ~TensorImpl() {
    if (storage) storage->release();
  }
  void retain() { refs.fetch_add(1, std::memory_order_relaxed); }
  void release() {
    // A count of 1 seen by its holder cannot change under it (nobody else has
    // a reference to copy), so the last owner frees without a locked
    // read-modify-write; the acquire load orders the free after every other
    // owner's earlier release. Most tensors die with one owner, which saves
    // two locked instructions (tensor and storage) per op.
    if (refs.load(std::memory_order_acquire) == 1 || refs.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
  }
  std::byte* data() const {
    return storage->data() + offset * static_cast<std::int64_t>(itemsize(dtype));
  }
};

}  // namespace lamina::detail
