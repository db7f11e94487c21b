#include "lamina/layers/registry.h"

namespace lamina {

detail::ObjectRegistry<Layer>& layer_registry() {
  static auto* r = new detail::ObjectRegistry<Layer>("layer registry");
  return *r;
}

std::shared_ptr<Layer> layer_from_config(const std::string& class_name, const Config& config) {
  std::shared_ptr<Layer> layer = layer_registry().create(class_name, config);
  if (!layer) return layer;
  restore_sublayer_names(*layer, config);
  // Keras's from_config(**config) raises on keyword arguments the class does
  // not take; a from_config here simply never reads them. A key that the new
  // layer's get_config() does not write back is one it ignored: refuse it
  // rather than silently build something else than the config says.
  const Config known = layer->get_config();
  std::string unknown, takes;
  for (const auto& [key, value] : config.items())
    if (!known.has(key)) unknown += (unknown.empty() ? "'" : ", '") + key + "'";
  if (!unknown.empty()) {
    for (const auto& [key, value] : known.items()) takes += (takes.empty() ? "" : ", ") + key;
    throw ValueError(detail::concat("[", class_name, "] Unrecognized keyword arguments passed to ", class_name, ": ",
                                    unknown, " (its config keys: ", takes, ")"));
  }
  return layer;
}

std::vector<std::string> registered_layers() { return layer_registry().names(); }

}  // namespace lamina
