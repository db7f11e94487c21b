#pragma once
/// Gradient clipping as Keras 3's optimizers do it (keras-semantics F1).
/// Optimizers apply these factors inside their fused update; the functions
/// below also return clipped copies for custom training loops.
///
///   clipnorm c:        g * c / max(||g||_2, c)            (per tensor)
///   global_clipnorm c: g * c * min(1/G, 1/c),  G = sqrt(sum ||g_i||^2)
///                      (NaN everywhere when G is not finite)
///   clipvalue c:       clip(g, -c, c)
///
/// Norms are summed in fixed blocks, so they do not depend on the thread count.

#include <vector>

#include "lamina/core/tensor.h"

namespace lamina::optim {

/// Sum of squares of a floating tensor's elements (0 for an undefined tensor).
double sum_of_squares(const Tensor& t);
/// ||t||_2.
double l2_norm(const Tensor& t);
/// sqrt(sum of ||t_i||^2) over the defined tensors.
double global_norm(const std::vector<Tensor>& ts);

/// The factor clip-by-norm multiplies a gradient of norm `norm` by: c / max(norm, c).
double clipnorm_scale(double norm, double clipnorm);
/// The factor clip-by-global-norm multiplies every gradient by.
double global_clipnorm_scale(double global_norm, double clipnorm);

/// Clipped copies (undefined tensors pass through).
Tensor clip_by_norm(const Tensor& g, double clipnorm);
std::vector<Tensor> clip_by_global_norm(const std::vector<Tensor>& grads, double clipnorm);
Tensor clip_by_value(const Tensor& g, double clipvalue);

}  // namespace lamina::optim
