#pragma once
// Internal: name -> factory registries for polymorphic, serializable objects
// (layers, initializers, regularizers, constraints, activations). Thread-safe;
// unknown names raise ValueError listing the closest known names.

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "lamina/layers/config.h"

namespace lamina::detail {

/// Known names sorted by edit distance to `name` (at most `count`).
std::vector<std::string> closest_names(std::string_view name, const std::vector<std::string>& known,
                                       std::size_t count = 3);
/// "Unknown <kind> 'name'. Did you mean: a, b? Known: ..." message.
std::string unknown_name_message(std::string_view kind, std::string_view name, const std::vector<std::string>& known);

template <class Base>
class ObjectRegistry {
 public:
  using Factory = std::function<std::shared_ptr<Base>(const Config&)>;

  explicit ObjectRegistry(std::string kind) : kind_(std::move(kind)) {}

  void add(const std::string& name, Factory f) {
    std::lock_guard lock(mutex_);
    factories_[name] = std::move(f);
  }
  bool contains(std::string_view name) const {
    std::lock_guard lock(mutex_);
    return factories_.count(std::string(name)) > 0;
  }
  std::vector<std::string> names() const {
    std::lock_guard lock(mutex_);
    std::vector<std::string> out;
    for (const auto& kv : factories_) out.push_back(kv.first);
    return out;
  }
  std::shared_ptr<Base> create(std::string_view name, const Config& config) const {
    Factory f;
    {
      std::lock_guard lock(mutex_);
      auto it = factories_.find(std::string(name));
      if (it != factories_.end()) f = it->second;
    }
    if (!f) {
      throw ValueError(unknown_name_message(kind_, name, names()));
    }
    return f(config);
  }

 private:
  std::string kind_;
  mutable std::mutex mutex_;
  std::map<std::string, Factory> factories_;
};

}  // namespace lamina::detail
