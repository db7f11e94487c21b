#pragma once
/// Numerically stable softmax and log-softmax along one axis (fused passes:
/// max, then exp-and-sum, then scale).

#include "lamina/core/tensor.h"

namespace lamina::core {

Tensor softmax(const Tensor& x, int axis = -1);
Tensor log_softmax(const Tensor& x, int axis = -1);

}  // namespace lamina::core
