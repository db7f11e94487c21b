#include "lamina/optim/schedules.h"

#include <algorithm>
#include <cmath>
#include <numbers>
#include <sstream>

#include "lamina/core/error.h"

namespace lamina::optim {

// ---- ExponentialDecay -----------------------------------------------------------

ExponentialDecay::ExponentialDecay(Config config) : config_(std::move(config)) {
  LAMINA_CHECK(config_.decay_steps > 0, ValueError,
               "[ExponentialDecay] Argument `decay_steps` must be > 0. Received: decay_steps=", config_.decay_steps);
}

double ExponentialDecay::operator()(std::int64_t step) const {
  double p = static_cast<double>(step) / static_cast<double>(config_.decay_steps);
  if (config_.staircase) p = std::floor(p);
  return config_.initial_learning_rate * std::pow(config_.decay_rate, p);
}

// ---- PiecewiseConstantDecay -----------------------------------------------------

namespace {
std::string list_str(const std::vector<double>& v) {
  std::ostringstream os;
  os << '[';
  for (std::size_t i = 0; i < v.size(); ++i) os << (i ? ", " : "") << v[i];
  os << ']';
  return os.str();
}
}  // namespace

PiecewiseConstantDecay::PiecewiseConstantDecay(Config config) : config_(std::move(config)) {
  LAMINA_CHECK(!config_.values.empty() && config_.boundaries.size() + 1 == config_.values.size(), ValueError,
               "[PiecewiseConstantDecay] The length of boundaries should be 1 less than the length of values. "
               "Received: boundaries=", list_str(config_.boundaries), " of length ", config_.boundaries.size(),
               ", and values=", list_str(config_.values), " of length ", config_.values.size(), ".");
}

double PiecewiseConstantDecay::operator()(std::int64_t step) const {
  const double x = static_cast<double>(step);
  for (std::size_t i = 0; i < config_.boundaries.size(); ++i)
    if (x <= config_.boundaries[i]) return config_.values[i];
  return config_.values.back();
}

// ---- CosineDecay -----------------------------------------------------------------

CosineDecay::CosineDecay(Config config) : config_(std::move(config)) {
  LAMINA_CHECK(config_.decay_steps > 0, ValueError,
               "[CosineDecay] Argument `decay_steps` must be > 0. Received: decay_steps=", config_.decay_steps);
  LAMINA_CHECK(config_.warmup_steps >= 0, ValueError,
               "[CosineDecay] Argument `warmup_steps` must be >= 0. Received: warmup_steps=", config_.warmup_steps);
}

double CosineDecay::operator()(std::int64_t step) const {
  const double decay_steps = static_cast<double>(config_.decay_steps);
  const double lr0 = config_.initial_learning_rate;
  const double alpha = config_.alpha;
  auto decay = [&](double s, double from) {
    const double cosine = 0.5 * (1.0 + std::cos(std::numbers::pi * (s / decay_steps)));
    return from * ((1.0 - alpha) * cosine + alpha);
  };
  double s = static_cast<double>(step);
  if (!config_.warmup_target) return decay(std::min(s, decay_steps), lr0);
  const double target = *config_.warmup_target;
  const double warmup_steps = static_cast<double>(config_.warmup_steps);
  s = std::min(s, decay_steps + warmup_steps);
  if (s < warmup_steps) return (target - lr0) * (s / warmup_steps) + lr0;
  return decay(s - warmup_steps, target);
}

}  // namespace lamina::optim
