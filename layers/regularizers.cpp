#include "lamina/layers/regularizers.h"

#include <cmath>

#include "lamina/autograd/ops.h"

namespace lamina {
namespace regularizers {

L1L2::L1L2(double l1, double l2) : l1(l1), l2(l2) {
  LAMINA_CHECK(std::isfinite(l1) && l1 >= 0, ValueError, "[L1L2] expected l1 >= 0, got ", l1);
  LAMINA_CHECK(std::isfinite(l2) && l2 >= 0, ValueError, "[L1L2] expected l2 >= 0, got ", l2);
}

Tensor L1L2::operator()(const Tensor& x) const {
  Tensor penalty = zeros({}, x.dtype());
  if (l1 != 0) penalty = add(penalty, mul(sum(abs(x)), l1));
  if (l2 != 0) penalty = add(penalty, mul(sum(square(x)), l2));
  return penalty;
}

Config L1L2::get_config() const { return Config().set("l1", l1).set("l2", l2); }
Config L1::get_config() const { return Config().set("l1", l1); }
Config L2::get_config() const { return Config().set("l2", l2); }

}  // namespace regularizers

detail::ObjectRegistry<Regularizer>& Regularizer::registry() {
  static auto* r = [] {
    auto* reg = new detail::ObjectRegistry<Regularizer>("regularizer");
    using namespace regularizers;
    for (const char* n : {"l1", "L1"})
      reg->add(n, [](const Config& c) { return std::make_shared<L1>(c.get_or("l1", 0.01)); });
    for (const char* n : {"l2", "L2"})
      reg->add(n, [](const Config& c) { return std::make_shared<L2>(c.get_or("l2", 0.01)); });
    for (const char* n : {"l1l2", "L1L2"})
      reg->add(n, [](const Config& c) { return std::make_shared<L1L2>(c.get_or("l1", 0.0), c.get_or("l2", 0.0)); });
    return reg;
  }();
  return *r;
}

}  // namespace lamina
