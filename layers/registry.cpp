#include "lamina/layers/registry.h"

namespace lamina {

detail::ObjectRegistry<Layer>& layer_registry() {
  static auto* r = new detail::ObjectRegistry<Layer>("layer registry");
  return *r;
}

std::shared_ptr<Layer> layer_from_config(const std::string& class_name, const Config& config) {
  auto layer = layer_registry().create(class_name, config);
  if (layer) restore_sublayer_names(*layer, config);
  return layer;
}

std::vector<std::string> registered_layers() { return layer_registry().names(); }

}  // namespace lamina
