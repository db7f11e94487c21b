#pragma once
/// Dropout(rate, noise_shape, seed): while training, each element (or each
/// cell of noise_shape, broadcast) is kept with probability 1 - rate and
/// scaled by 1 / (1 - rate); otherwise the identity. rate must be in [0, 1).

#include <mutex>
#include <optional>

#include "lamina/core/random.h"
#include "lamina/layers/layer.h"

namespace lamina::layers {

struct DropoutOptions {
  double rate = 0.0;
  /// Per-axis extents of the mask; -1 means "the input's extent" (Keras None).
  std::vector<std::int64_t> noise_shape;
  std::optional<std::int64_t> seed;

  template <class V>
  void visit_fields(V&& v) {
    v("rate", rate);
    v("noise_shape", noise_shape);
    v("seed", seed);
  }
};

class Dropout : public Layer {
 public:
  /// Throws ValueError when rate is outside [0, 1).
  explicit Dropout(DropoutOptions options, LayerOptions base = {});
  explicit Dropout(double rate, LayerOptions base = {}) : Dropout(DropoutOptions{.rate = rate}, std::move(base)) {}
  Config get_config() const override;
  static std::shared_ptr<Dropout> from_config(const Config& c);
  /// The mask generator's state (seed, offset), for exact checkpoints.
  std::pair<std::uint64_t, std::uint64_t> generator_state() const;
  void set_generator_state(std::uint64_t seed, std::uint64_t offset);

 protected:
  Tensor call(const Tensor& x, const CallContext& ctx) override;

 private:
  DropoutOptions options_;
  mutable std::mutex gen_mutex_;
  Generator gen_;
};

}  // namespace lamina::layers
