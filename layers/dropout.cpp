#include "lamina/layers/dropout.h"

#include "lamina/layers/registry.h"

namespace lamina::layers {

LAMINA_REGISTER_LAYER(Dropout);

Dropout::Dropout(DropoutOptions options, LayerOptions base)
    : Layer("Dropout", std::move(base)),
      options_(std::move(options)),
      gen_(options_.seed ? static_cast<std::uint64_t>(*options_.seed) : next_random_seed()) {
  LAMINA_CHECK(options_.rate >= 0 && options_.rate < 1, ValueError, "[", name(),
               "] Dropout rate must be in [0, 1), received: rate=", options_.rate);
}

Tensor Dropout::call(const Tensor& x, const CallContext& ctx) {
  if (!ctx.training || options_.rate == 0) return x;
  Shape mask_shape = x.shape();
  if (!options_.noise_shape.empty()) {
    if (static_cast<int>(options_.noise_shape.size()) != x.ndim())
      shape_error("noise_shape has " + std::to_string(options_.noise_shape.size()) + " axes, input has shape " +
                  x.shape().str());
    for (int d = 0; d < x.ndim(); ++d) {
      const auto n = options_.noise_shape[d];
      if (n != -1 && n != 1 && n != x.shape()[d])
        shape_error("noise_shape " + Shape(options_.noise_shape).str() + " does not broadcast to input shape " +
                    x.shape().str());
      mask_shape[d] = n == -1 ? x.shape()[d] : n;
    }
  }
  Tensor keep;
  {
    std::lock_guard lock(gen_mutex_);
    keep = bernoulli(mask_shape, 1.0 - options_.rate, gen_);
  }
  // Inverted dropout: survivors scaled by exactly 1 / (1 - rate).
  Tensor scale = core::mul(keep.to(x.dtype()), 1.0 / (1.0 - options_.rate));
  return mul(x, scale);
}

Config Dropout::get_config() const { return merged(Layer::get_config(), fields_to_config(options_)); }

std::shared_ptr<Dropout> Dropout::from_config(const Config& c) {
  DropoutOptions o;
  fields_from_config(o, c);
  return std::make_shared<Dropout>(o, LayerOptions::from_config(c));
}

std::pair<std::uint64_t, std::uint64_t> Dropout::generator_state() const {
  std::lock_guard lock(gen_mutex_);
  return {gen_.seed(), gen_.offset()};
}

void Dropout::set_generator_state(std::uint64_t seed, std::uint64_t offset) {
  std::lock_guard lock(gen_mutex_);
  gen_.set_state(seed, offset);
}

}  // namespace lamina::layers
