#pragma once
/// The layer registry: Keras class name -> factory(config). Each layer's .cpp
/// registers itself with one line, LAMINA_REGISTER_LAYER(Dense), which needs
/// `static std::shared_ptr<Dense> from_config(const Config&)`. User layers do
/// the same. The built-in layers are linked whole (see layers/CMakeLists.txt)
/// so registrations survive static linking.

#include <memory>
#include <string>
#include <vector>

#include "lamina/layers/config.h"
#include "lamina/layers/detail/object_registry.h"
#include "lamina/layers/layer.h"

namespace lamina {

detail::ObjectRegistry<Layer>& layer_registry();

/// Builds a layer from its class name and config; an unknown name raises
/// ValueError listing the closest registered names. Sublayers get the names
/// recorded in the config (restore_sublayer_names).
std::shared_ptr<Layer> layer_from_config(const std::string& class_name, const Config& config);

/// Registered class names, sorted.
std::vector<std::string> registered_layers();

namespace detail {
template <class L>
bool register_layer(const char* class_name) {
  layer_registry().add(class_name, [](const Config& c) -> std::shared_ptr<Layer> { return L::from_config(c); });
  return true;
}
}  // namespace detail

}  // namespace lamina

#define LAMINA_REGISTER_LAYER(Class) \
  [[maybe_unused]] static const bool lamina_layer_registered_##Class = ::lamina::detail::register_layer<Class>(#Class)
