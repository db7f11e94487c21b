#pragma once
/// Config: the structured, JSON-like description of a layer (or initializer,
/// regularizer, ...) returned by get_config() and taken by from_config(). An
/// ordered map from names to values: null, bool, integer, float, string, list
/// or nested Config. Two configs compare equal when their entries do.
///
/// Example:
///   Config c;
///   c.set("units", 64).set("use_bias", true);
///   std::int64_t units = c.get<std::int64_t>("units");

#include <cstdint>
#include <iosfwd>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "lamina/core/error.h"

namespace lamina {

class Config;
struct ConfigValue;
using ConfigList = std::vector<ConfigValue>;

class Config {
 public:
  Config() = default;

  bool has(std::string_view key) const;
  /// The value of `key` as T (bool, int, std::int64_t, double, std::string,
  /// Config, ConfigList, std::vector<std::int64_t>); ints convert to double.
  /// Throws ValueError naming the key when it is missing or of another type.
  template <class T>
  T get(std::string_view key) const;
  /// get(key) when present, else `fallback`.
  template <class T>
  T get_or(std::string_view key, T fallback) const {
    return has(key) ? get<T>(key) : fallback;
  }
  const ConfigValue& at(std::string_view key) const;

  /// Sets (or replaces, keeping its position) an entry; chainable.
  Config& set(std::string key, ConfigValue value);
  void erase(std::string_view key);

  const std::vector<std::pair<std::string, ConfigValue>>& items() const { return items_; }
  std::size_t size() const;
  bool empty() const;
  /// Compact JSON text (for messages and tests; serialization/ writes files).
  std::string str() const;

  friend bool operator==(const Config& a, const Config& b);

 private:
  std::vector<std::pair<std::string, ConfigValue>> items_;
};

struct ConfigValue {
  std::variant<std::monostate, bool, std::int64_t, double, std::string, ConfigList, Config> value;

  ConfigValue() = default;
  ConfigValue(std::nullptr_t) {}
  ConfigValue(bool v) : value(v) {}
  ConfigValue(int v) : value(static_cast<std::int64_t>(v)) {}
  ConfigValue(std::int64_t v) : value(v) {}
  ConfigValue(double v) : value(v) {}
  ConfigValue(const char* v) : value(std::string(v)) {}
  ConfigValue(std::string v) : value(std::move(v)) {}
  ConfigValue(ConfigList v) : value(std::move(v)) {}
  ConfigValue(Config v) : value(std::move(v)) {}
  ConfigValue(const std::vector<std::int64_t>& v);

  bool is_null() const { return std::holds_alternative<std::monostate>(value); }
  friend bool operator==(const ConfigValue& a, const ConfigValue& b) { return a.value == b.value; }
  std::string str() const;
};

std::ostream& operator<<(std::ostream& os, const Config& c);

// Defined here, where ConfigValue is complete (clang needs it for pair<>).
inline std::size_t Config::size() const { return items_.size(); }
inline bool Config::empty() const { return items_.empty(); }

/// `base` with every entry of `extra` set on it (extra wins).
Config merged(Config base, const Config& extra);

/// Adapts a C++20 aggregate with `visit_fields(v)` to and from Config:
/// each field `v("name", field)` becomes an entry.
template <class T>
Config fields_to_config(const T& obj);
template <class T>
void fields_from_config(T& obj, const Config& c);

}  // namespace lamina

#include "lamina/layers/detail/config_fields.h"
