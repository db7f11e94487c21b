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
  // The base keys every layer takes (LayerOptions::from_config), written
  // back only when set (activity_regularizer) or once built (sublayer_names
  // of a layer that creates its sublayers in build()).
  auto base_key = [](const std::string& k) {
    return k == "name" || k == "trainable" || k == "dtype" || k == "activity_regularizer" || k == "sublayer_names";
  };
  std::string unknown, takes;
  for (const auto& [key, value] : config.items())
    if (!known.has(key) && !base_key(key)) unknown += (unknown.empty() ? "'" : ", '") + key + "'";
  if (!unknown.empty()) {
    for (const auto& [key, value] : known.items()) takes += (takes.empty() ? "" : ", ") + key;
    throw ValueError(detail::concat("[", class_name, "] Unrecognized keyword arguments passed to ", class_name, ": ",
                                    unknown, " (", class_name, "::get_config() returns: ", takes, ")"));
  }
  return layer;
}

std::vector<std::string> registered_layers() { return layer_registry().names(); }

}  // namespace lamina
