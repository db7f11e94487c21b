#include "lamina/layers/constraints.h"

#include "lamina/core/ops/binary.h"
#include "lamina/core/ops/reduce.h"
#include "lamina/core/ops/unary.h"

namespace lamina {
namespace constraints {

namespace {
// Keras uses backend epsilon 1e-7 in the norm denominators.
constexpr double kEpsilon = 1e-7;
Tensor norms(const Tensor& w, int axis) { return core::sqrt(core::sum(core::square(w), {axis}, true)); }
}  // namespace

Tensor MaxNorm::operator()(const Tensor& w) const {
  Tensor n = norms(w, axis);
  Tensor desired = core::clip(n, 0, max_value);
  return core::mul(w, core::div(desired, core::add(n, kEpsilon)));
}
Config MaxNorm::get_config() const { return Config().set("max_value", max_value).set("axis", axis); }

Tensor NonNeg::operator()(const Tensor& w) const { return core::relu(w); }

Tensor UnitNorm::operator()(const Tensor& w) const { return core::div(w, core::add(norms(w, axis), kEpsilon)); }
Config UnitNorm::get_config() const { return Config().set("axis", axis); }

Tensor MinMaxNorm::operator()(const Tensor& w) const {
  Tensor n = norms(w, axis);
  Tensor desired = core::add(core::mul(core::clip(n, min_value, max_value), rate), core::mul(n, 1.0 - rate));
  return core::mul(w, core::div(desired, core::add(n, kEpsilon)));
}
Config MinMaxNorm::get_config() const {
  return Config().set("min_value", min_value).set("max_value", max_value).set("rate", rate).set("axis", axis);
}

}  // namespace constraints

detail::ObjectRegistry<Constraint>& Constraint::registry() {
  static auto* r = [] {
    auto* reg = new detail::ObjectRegistry<Constraint>("constraint");
    using namespace constraints;
    for (const char* n : {"max_norm", "MaxNorm"})
      reg->add(n, [](const Config& c) { return std::make_shared<MaxNorm>(c.get_or("max_value", 2.0), c.get_or("axis", 0)); });
    for (const char* n : {"non_neg", "NonNeg"}) reg->add(n, [](const Config&) { return std::make_shared<NonNeg>(); });
    for (const char* n : {"unit_norm", "UnitNorm"})
      reg->add(n, [](const Config& c) { return std::make_shared<UnitNorm>(c.get_or("axis", 0)); });
    for (const char* n : {"min_max_norm", "MinMaxNorm"})
      reg->add(n, [](const Config& c) {
        return std::make_shared<MinMaxNorm>(c.get_or("min_value", 0.0), c.get_or("max_value", 1.0),
                                            c.get_or("rate", 1.0), c.get_or("axis", 0));
      });
    return reg;
  }();
  return *r;
}

}  // namespace lamina
