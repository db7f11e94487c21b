#pragma once
/// Logs: the ordered name -> value pairs passed to callbacks and kept by
/// History ("loss" first, then metrics, then "val_" variants).

#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace lamina {

class Logs {
 public:
  void set(const std::string& key, double value) {
    for (auto& [k, v] : items_)
      if (k == key) {
        v = value;
        return;
      }
    items_.emplace_back(key, value);
  }
  std::optional<double> get(const std::string& key) const {
    for (const auto& [k, v] : items_)
      if (k == key) return v;
    return std::nullopt;
  }
  bool has(const std::string& key) const { return get(key).has_value(); }
  const std::vector<std::pair<std::string, double>>& items() const { return items_; }
  bool empty() const { return items_.empty(); }

 private:
  std::vector<std::pair<std::string, double>> items_;
};

}  // namespace lamina
