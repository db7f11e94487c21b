#pragma once
/// Fused neural-network primitives with hand-written backward passes.

#include <cstdint>
#include <optional>

#include "lamina/core/tensor.h"

namespace lamina {

/// Per-example softmax cross-entropy with integer class labels (TensorFlow's
/// `sparse_softmax_cross_entropy_with_logits`): out = -log_softmax(logits, axis)[label],
/// with labels.shape() == logits.shape() without `axis`. Stable for any finite
/// logits (±1e4 gives finite losses). Positions whose label equals
/// `ignore_class` get loss 0 and no gradient.
///
/// One fused op: the forward computes the log-softmax rows and picks the
/// label's entry; the backward is g * (softmax(logits) - one_hot(label)),
/// computed with raw kernels, or with differentiable ops when an outer tape is
/// recording (so second-order gradients are exact).
///
/// Errors: DTypeError (logits not floating, labels not int32/int64/uint8);
/// ShapeError naming both shapes; IndexError
/// `[sparse_softmax_cross_entropy_with_logits] label 10 is out of range [0, 10) at position 3`.
Tensor sparse_softmax_cross_entropy_with_logits(const Tensor& labels, const Tensor& logits, int axis = -1,
                                                std::optional<std::int64_t> ignore_class = std::nullopt);

}  // namespace lamina
