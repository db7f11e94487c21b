#include "lamina/layers/data/gather.h"

#include <algorithm>
#include <cstring>

#include "lamina/core/detail/parallel.h"
#include "lamina/core/error.h"

namespace lamina::data {

namespace {

// Below this many bytes a gather runs on the calling thread.
constexpr std::int64_t kParallelBytes = std::int64_t{1} << 20;

template <class U>
void gather_typed(const std::byte* src, std::byte* dst, const std::int64_t* rows, std::int64_t n) {
  const U* s = reinterpret_cast<const U*>(src);
  U* d = reinterpret_cast<U*>(dst);
  for (std::int64_t i = 0; i < n; ++i) std::memcpy(d + i, s + rows[i], sizeof(U));
}

void gather_range(const std::byte* src, std::byte* dst, const std::int64_t* rows, std::int64_t n,
                  std::size_t row_bytes) {
  switch (row_bytes) {
    case 1: gather_typed<std::uint8_t>(src, dst, rows, n); return;
    case 2: gather_typed<std::uint16_t>(src, dst, rows, n); return;
    case 4: gather_typed<std::uint32_t>(src, dst, rows, n); return;
    case 8: gather_typed<std::uint64_t>(src, dst, rows, n); return;
    default: break;
  }
  for (std::int64_t i = 0; i < n; ++i)
    std::memcpy(dst + static_cast<std::size_t>(i) * row_bytes, src + static_cast<std::size_t>(rows[i]) * row_bytes,
                row_bytes);
}

}  // namespace

Tensor gather_rows(const Tensor& src_in, std::span<const std::int64_t> rows) {
  LAMINA_CHECK(src_in.ndim() >= 1, ShapeError, "[gather_rows] expected a tensor with at least 1 dimension, got shape ",
               src_in.shape());
  const Tensor src = src_in.contiguous();
  const std::int64_t n_src = src.size(0);
  for (std::int64_t r : rows)
    LAMINA_CHECK(r >= 0 && r < n_src, IndexError, "[gather_rows] row ", r, " out of range for ", n_src, " rows");
  Shape shape = src.shape();
  const auto n = static_cast<std::int64_t>(rows.size());
  shape[0] = n;
  Tensor out = Tensor::empty(shape, src.dtype());
  if (out.numel() == 0) return out;
  const std::size_t row_bytes = static_cast<std::size_t>(src.numel() / n_src) * src.itemsize();
  const auto* s = static_cast<const std::byte*>(src.raw_data());
  auto* d = static_cast<std::byte*>(out.raw_data());
  const std::int64_t total = n * static_cast<std::int64_t>(row_bytes);
  if (total < kParallelBytes) {
    gather_range(s, d, rows.data(), n, row_bytes);
  } else {
    const std::int64_t grain = std::max<std::int64_t>(1, kParallelBytes / 4 / static_cast<std::int64_t>(row_bytes));
    detail::parallel_for(n, grain, [&](std::int64_t b, std::int64_t e) {
      gather_range(s, d + static_cast<std::size_t>(b) * row_bytes, rows.data() + b, e - b, row_bytes);
    });
  }
  return out;
}

Tensor copy_rows(const Tensor& src_in, std::int64_t begin, std::int64_t end) {
  LAMINA_CHECK(src_in.ndim() >= 1, ShapeError, "[copy_rows] expected a tensor with at least 1 dimension, got shape ",
               src_in.shape());
  const std::int64_t n_src = src_in.size(0);
  LAMINA_CHECK(0 <= begin && begin <= end && end <= n_src, IndexError, "[copy_rows] rows [", begin, ", ", end,
               ") out of range for ", n_src, " rows");
  if (!src_in.is_contiguous()) return src_in.slice(0, begin, end).clone();
  Shape shape = src_in.shape();
  shape[0] = end - begin;
  Tensor out = Tensor::empty(shape, src_in.dtype());
  if (out.numel() == 0) return out;
  const std::size_t row_bytes = static_cast<std::size_t>(src_in.numel() / n_src) * src_in.itemsize();
  std::memcpy(out.raw_data(), static_cast<const std::byte*>(src_in.raw_data()) + static_cast<std::size_t>(begin) * row_bytes,
              static_cast<std::size_t>(end - begin) * row_bytes);
  return out;
}

}  // namespace lamina::data
