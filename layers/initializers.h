#pragma once
/// Weight initializers with Keras 3 names, formulas and defaults.
/// Unseeded initializers draw a fresh seed from the global seed sequence
/// (lamina::set_random_seed), so a program is reproducible as a whole.
///
/// Example: Dense({.units = 64, .kernel_initializer = "he_normal"});
///          Dense({.units = 64, .kernel_initializer = initializers::RandomNormal{0.0, 0.01}});

#include <cstdint>
#include <optional>
#include <string>

#include "lamina/core/tensor.h"
#include "lamina/layers/config.h"
#include "lamina/layers/detail/object_ref.h"
#include "lamina/layers/detail/object_registry.h"

namespace lamina {

class Initializer {
 public:
  virtual ~Initializer() = default;
  /// A new tensor of `shape` and `dtype` (ValueError/DTypeError on bad input).
  virtual Tensor operator()(const Shape& shape, DType dtype = DType::float32) const = 0;
  /// Keras class name, e.g. "GlorotUniform".
  virtual std::string class_name() const = 0;
  virtual Config get_config() const { return {}; }
  static detail::ObjectRegistry<Initializer>& registry();
};

/// An initializer given by Keras string id ("glorot_uniform") or object.
using InitializerRef = detail::ObjectRef<Initializer>;

/// Keras compute_fans: (fan_in, fan_out) of a weight shape.
std::pair<double, double> compute_fans(const Shape& shape);

namespace initializers {

struct Zeros final : Initializer {
  Tensor operator()(const Shape& s, DType dt) const override;
  std::string class_name() const override { return "Zeros"; }
};
struct Ones final : Initializer {
  Tensor operator()(const Shape& s, DType dt) const override;
  std::string class_name() const override { return "Ones"; }
};
struct Constant final : Initializer {
  double value = 0.0;
  Constant(double v = 0.0) : value(v) {}
  Tensor operator()(const Shape& s, DType dt) const override;
  std::string class_name() const override { return "Constant"; }
  Config get_config() const override;
};
struct RandomNormal final : Initializer {
  double mean = 0.0, stddev = 0.05;
  std::optional<std::int64_t> seed;
  RandomNormal(double mean = 0.0, double stddev = 0.05, std::optional<std::int64_t> seed = {})
      : mean(mean), stddev(stddev), seed(seed) {}
  Tensor operator()(const Shape& s, DType dt) const override;
  std::string class_name() const override { return "RandomNormal"; }
  Config get_config() const override;
};
struct RandomUniform final : Initializer {
  double minval = -0.05, maxval = 0.05;
  std::optional<std::int64_t> seed;
  RandomUniform(double minval = -0.05, double maxval = 0.05, std::optional<std::int64_t> seed = {})
      : minval(minval), maxval(maxval), seed(seed) {}
  Tensor operator()(const Shape& s, DType dt) const override;
  std::string class_name() const override { return "RandomUniform"; }
  Config get_config() const override;
};
/// Normal values redrawn until within two standard deviations of the mean.
struct TruncatedNormal final : Initializer {
  double mean = 0.0, stddev = 0.05;
  std::optional<std::int64_t> seed;
  TruncatedNormal(double mean = 0.0, double stddev = 0.05, std::optional<std::int64_t> seed = {})
      : mean(mean), stddev(stddev), seed(seed) {}
  Tensor operator()(const Shape& s, DType dt) const override;
  std::string class_name() const override { return "TruncatedNormal"; }
  Config get_config() const override;
};
/// Keras VarianceScaling: scale / fan (fan_in, fan_out or fan_avg), drawn from a
/// truncated normal (stddev corrected by 0.87962566103423978), an untruncated
/// normal, or a uniform distribution with limit sqrt(3 * scale / fan).
struct VarianceScaling : Initializer {
  double scale = 1.0;
  std::string mode = "fan_in";                  // fan_in | fan_out | fan_avg
  std::string distribution = "truncated_normal";  // truncated_normal | untruncated_normal | uniform
  std::optional<std::int64_t> seed;
  std::string name = "VarianceScaling";
  VarianceScaling(double scale = 1.0, std::string mode = "fan_in", std::string distribution = "truncated_normal",
                  std::optional<std::int64_t> seed = {}, std::string name = "VarianceScaling");
  Tensor operator()(const Shape& s, DType dt) const override;
  std::string class_name() const override { return name; }
  Config get_config() const override;
};
struct GlorotUniform final : VarianceScaling {
  GlorotUniform(std::optional<std::int64_t> seed = {}) : VarianceScaling(1.0, "fan_avg", "uniform", seed, "GlorotUniform") {}
  Config get_config() const override;
};
struct GlorotNormal final : VarianceScaling {
  GlorotNormal(std::optional<std::int64_t> seed = {})
      : VarianceScaling(1.0, "fan_avg", "truncated_normal", seed, "GlorotNormal") {}
  Config get_config() const override;
};
struct HeUniform final : VarianceScaling {
  HeUniform(std::optional<std::int64_t> seed = {}) : VarianceScaling(2.0, "fan_in", "uniform", seed, "HeUniform") {}
  Config get_config() const override;
};
struct HeNormal final : VarianceScaling {
  HeNormal(std::optional<std::int64_t> seed = {}) : VarianceScaling(2.0, "fan_in", "truncated_normal", seed, "HeNormal") {}
  Config get_config() const override;
};
struct LecunUniform final : VarianceScaling {
  LecunUniform(std::optional<std::int64_t> seed = {}) : VarianceScaling(1.0, "fan_in", "uniform", seed, "LecunUniform") {}
  Config get_config() const override;
};
struct LecunNormal final : VarianceScaling {
  LecunNormal(std::optional<std::int64_t> seed = {})
      : VarianceScaling(1.0, "fan_in", "truncated_normal", seed, "LecunNormal") {}
  Config get_config() const override;
};
/// A (semi-)orthogonal matrix times `gain` (rows x cols with cols = last axis).
struct Orthogonal final : Initializer {
  double gain = 1.0;
  std::optional<std::int64_t> seed;
  Orthogonal(double gain = 1.0, std::optional<std::int64_t> seed = {}) : gain(gain), seed(seed) {}
  Tensor operator()(const Shape& s, DType dt) const override;
  std::string class_name() const override { return "Orthogonal"; }
  Config get_config() const override;
};

}  // namespace initializers
}  // namespace lamina
