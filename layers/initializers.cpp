#include "lamina/layers/initializers.h"

#include <cmath>
#include <vector>

#include "lamina/core/ops/binary.h"
#include "lamina/core/ops/reduce.h"
#include "lamina/core/random.h"

namespace lamina {

namespace {

std::uint64_t seed_of(const std::optional<std::int64_t>& seed) {
  return seed ? static_cast<std::uint64_t>(*seed) : next_random_seed();
}

void check_float(DType dt, const std::string& who) {
  LAMINA_CHECK(is_floating(dt), DTypeError, "[", who, "] expected a float dtype, got ", dt);
}

Config with_seed(Config c, const std::optional<std::int64_t>& seed) {
  c.set("seed", seed ? ConfigValue(*seed) : ConfigValue());
  return c;
}

std::optional<std::int64_t> seed_from(const Config& c) {
  if (!c.has("seed") || c.at("seed").is_null()) return std::nullopt;
  return c.get<std::int64_t>("seed");
}

// Normal samples redrawn (from the same counter-based stream, further on)
// until all lie within two standard deviations.
Tensor truncated_normal(const Shape& shape, double mean, double stddev, std::uint64_t seed, DType dt) {
  Generator gen(seed);
  Tensor out = normal(shape, 0.0, 1.0, gen, DType::float64);
  double* p = out.data<double>();
  const std::int64_t n = out.numel();
  for (int round = 0; round < 64; ++round) {
    std::vector<std::int64_t> bad;
    for (std::int64_t i = 0; i < n; ++i)
      if (std::fabs(p[i]) > 2.0) bad.push_back(i);
    if (bad.empty()) break;
    Tensor fresh = normal({static_cast<std::int64_t>(bad.size())}, 0.0, 1.0, gen, DType::float64);
    const double* f = fresh.data<double>();
    for (std::size_t k = 0; k < bad.size(); ++k) p[bad[k]] = f[k];
  }
  for (std::int64_t i = 0; i < n; ++i) p[i] = mean + stddev * p[i];
  return out.to(dt);
}

}  // namespace

std::pair<double, double> compute_fans(const Shape& s) {
  if (s.ndim() == 0) return {1, 1};
  if (s.ndim() == 1) return {double(s[0]), double(s[0])};
  if (s.ndim() == 2) return {double(s[0]), double(s[1])};
  double receptive = 1;
  for (int d = 0; d < s.ndim() - 2; ++d) receptive *= double(s[d]);
  return {double(s[s.ndim() - 2]) * receptive, double(s[s.ndim() - 1]) * receptive};
}

namespace initializers {

Tensor Zeros::operator()(const Shape& s, DType dt) const { return zeros(s, dt); }
Tensor Ones::operator()(const Shape& s, DType dt) const { return ones(s, dt); }
Tensor Constant::operator()(const Shape& s, DType dt) const { return full(s, value, dt); }
Config Constant::get_config() const { return Config().set("value", value); }

Tensor RandomNormal::operator()(const Shape& s, DType dt) const {
  check_float(dt, "RandomNormal");
  return normal(s, mean, stddev, seed_of(seed), dt);
}
Config RandomNormal::get_config() const { return with_seed(Config().set("mean", mean).set("stddev", stddev), seed); }

Tensor RandomUniform::operator()(const Shape& s, DType dt) const {
  check_float(dt, "RandomUniform");
  return uniform(s, minval, maxval, seed_of(seed), dt);
}
Config RandomUniform::get_config() const {
  return with_seed(Config().set("minval", minval).set("maxval", maxval), seed);
}

Tensor TruncatedNormal::operator()(const Shape& s, DType dt) const {
  check_float(dt, "TruncatedNormal");
  return truncated_normal(s, mean, stddev, seed_of(seed), dt);
}
Config TruncatedNormal::get_config() const {
  return with_seed(Config().set("mean", mean).set("stddev", stddev), seed);
}

VarianceScaling::VarianceScaling(double scale, std::string mode, std::string distribution,
                                 std::optional<std::int64_t> seed, std::string name)
    : scale(scale), mode(std::move(mode)), distribution(std::move(distribution)), seed(seed), name(std::move(name)) {
  LAMINA_CHECK(scale > 0, ValueError, "[VarianceScaling] expected scale > 0, got ", scale);
  LAMINA_CHECK(this->mode == "fan_in" || this->mode == "fan_out" || this->mode == "fan_avg", ValueError,
               "[VarianceScaling] mode must be fan_in, fan_out or fan_avg, got '", this->mode, "'");
  LAMINA_CHECK(this->distribution == "truncated_normal" || this->distribution == "untruncated_normal" ||
                   this->distribution == "uniform",
               ValueError, "[VarianceScaling] distribution must be truncated_normal, untruncated_normal or uniform, got '",
               this->distribution, "'");
}

Tensor VarianceScaling::operator()(const Shape& s, DType dt) const {
  check_float(dt, name);
  auto [fan_in, fan_out] = compute_fans(s);
  const double fan = mode == "fan_in" ? fan_in : mode == "fan_out" ? fan_out : (fan_in + fan_out) / 2;
  const double variance = scale / std::max(1.0, fan);
  if (distribution == "truncated_normal")
    return truncated_normal(s, 0.0, std::sqrt(variance) / 0.87962566103423978, seed_of(seed), dt);
  if (distribution == "untruncated_normal") return normal(s, 0.0, std::sqrt(variance), seed_of(seed), dt);
  const double limit = std::sqrt(3.0 * variance);
  return uniform(s, -limit, limit, seed_of(seed), dt);
}

Config VarianceScaling::get_config() const {
  return with_seed(Config().set("scale", scale).set("mode", mode).set("distribution", distribution), seed);
}
Config GlorotUniform::get_config() const { return with_seed({}, seed); }
Config GlorotNormal::get_config() const { return with_seed({}, seed); }
Config HeUniform::get_config() const { return with_seed({}, seed); }
Config HeNormal::get_config() const { return with_seed({}, seed); }
Config LecunUniform::get_config() const { return with_seed({}, seed); }
Config LecunNormal::get_config() const { return with_seed({}, seed); }

Tensor Orthogonal::operator()(const Shape& s, DType dt) const {
  check_float(dt, "Orthogonal");
  LAMINA_CHECK(s.ndim() >= 2, ValueError, "[Orthogonal] needs a shape of at least 2 dimensions, got ", s);
  const std::int64_t cols = s.back(), rows = s.numel() / cols;
  // QR of a normal (max x min) matrix by modified Gram-Schmidt, in float64.
  const std::int64_t big = std::max(rows, cols), small = std::min(rows, cols);
  Tensor a = normal({big, small}, 0.0, 1.0, seed_of(seed), DType::float64);
  double* q = a.data<double>();
  for (std::int64_t j = 0; j < small; ++j) {
    for (std::int64_t k = 0; k < j; ++k) {
      double dot = 0;
      for (std::int64_t i = 0; i < big; ++i) dot += q[i * small + j] * q[i * small + k];
      for (std::int64_t i = 0; i < big; ++i) q[i * small + j] -= dot * q[i * small + k];
    }
    double norm = 0;
    for (std::int64_t i = 0; i < big; ++i) norm += q[i * small + j] * q[i * small + j];
    norm = std::sqrt(norm);
    for (std::int64_t i = 0; i < big; ++i) q[i * small + j] /= norm;
  }
  Tensor m = rows < cols ? a.t().contiguous() : a;
  return core::mul(m, gain).reshape(s).to(dt);
}
Config Orthogonal::get_config() const { return with_seed(Config().set("gain", gain), seed); }

}  // namespace initializers

detail::ObjectRegistry<Initializer>& Initializer::registry() {
  static auto* r = [] {
    auto* reg = new detail::ObjectRegistry<Initializer>("initializer");
    using namespace initializers;
    auto add = [reg](std::initializer_list<const char*> names, auto factory) {
      for (const char* n : names) reg->add(n, factory);
    };
    add({"zeros", "Zeros"}, [](const Config&) { return std::make_shared<Zeros>(); });
    add({"ones", "Ones"}, [](const Config&) { return std::make_shared<Ones>(); });
    add({"constant", "Constant"}, [](const Config& c) { return std::make_shared<Constant>(c.get_or("value", 0.0)); });
    add({"random_normal", "RandomNormal"}, [](const Config& c) {
      return std::make_shared<RandomNormal>(c.get_or("mean", 0.0), c.get_or("stddev", 0.05), seed_from(c));
    });
    add({"random_uniform", "RandomUniform"}, [](const Config& c) {
      return std::make_shared<RandomUniform>(c.get_or("minval", -0.05), c.get_or("maxval", 0.05), seed_from(c));
    });
    add({"truncated_normal", "TruncatedNormal"}, [](const Config& c) {
      return std::make_shared<TruncatedNormal>(c.get_or("mean", 0.0), c.get_or("stddev", 0.05), seed_from(c));
    });
    add({"variance_scaling", "VarianceScaling"}, [](const Config& c) {
      return std::make_shared<VarianceScaling>(c.get_or("scale", 1.0), c.get_or<std::string>("mode", "fan_in"),
                                               c.get_or<std::string>("distribution", "truncated_normal"), seed_from(c));
    });
    add({"glorot_uniform", "GlorotUniform"}, [](const Config& c) { return std::make_shared<GlorotUniform>(seed_from(c)); });
    add({"glorot_normal", "GlorotNormal"}, [](const Config& c) { return std::make_shared<GlorotNormal>(seed_from(c)); });
    add({"he_uniform", "HeUniform"}, [](const Config& c) { return std::make_shared<HeUniform>(seed_from(c)); });
    add({"he_normal", "HeNormal"}, [](const Config& c) { return std::make_shared<HeNormal>(seed_from(c)); });
    add({"lecun_uniform", "LecunUniform"}, [](const Config& c) { return std::make_shared<LecunUniform>(seed_from(c)); });
    add({"lecun_normal", "LecunNormal"}, [](const Config& c) { return std::make_shared<LecunNormal>(seed_from(c)); });
    add({"orthogonal", "Orthogonal"}, [](const Config& c) {
      return std::make_shared<Orthogonal>(c.get_or("gain", 1.0), seed_from(c));
    });
    return reg;
  }();
  return *r;
}

}  // namespace lamina
