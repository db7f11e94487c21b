#pragma once
/// Row gather: the batch-assembly kernel of Dataset.

#include <cstdint>
#include <span>

#include "lamina/core/tensor.h"

namespace lamina::data {

/// A new contiguous tensor whose row i (index along axis 0) is src[rows[i]]:
/// shape (rows.size(), src.shape[1:]...), src's dtype. `src` may be any
/// layout (non-contiguous sources are made contiguous first). Copies whole
/// rows with memcpy (typed loads for 1/2/4/8-byte rows); large gathers run in
/// parallel. Throws IndexError for a row index outside [0, src.size(0)) and
/// ShapeError for a 0-d source.
Tensor gather_rows(const Tensor& src, std::span<const std::int64_t> rows);

/// Rows [begin, end) of `src` copied into a new contiguous tensor.
Tensor copy_rows(const Tensor& src, std::int64_t begin, std::int64_t end);

}  // namespace lamina::data
