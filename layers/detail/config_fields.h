#pragma once
// Internal: conversion between visit_fields aggregates and Config.

#include <memory>
#include <optional>
#include <type_traits>

namespace lamina {

namespace detail {

template <class T>
struct is_optional : std::false_type {};
template <class T>
struct is_optional<std::optional<T>> : std::true_type {};

// Objects (initializers, regularizers, ...) that convert themselves expose
// to_config_value() and a static from_config_value().
template <class T>
concept SelfConverting = requires(const T& t, const ConfigValue& v) {
  { t.to_config_value() } -> std::convertible_to<ConfigValue>;
  { T::from_config_value(v) } -> std::convertible_to<T>;
};

template <class F>
ConfigValue to_value(const F& f) {
  if constexpr (SelfConverting<F>) return f.to_config_value();
  else if constexpr (is_optional<F>::value) return f ? to_value(*f) : ConfigValue();
  else if constexpr (std::is_same_v<F, bool>) return ConfigValue(f);
  else if constexpr (std::is_integral_v<F>) return ConfigValue(static_cast<std::int64_t>(f));
  else if constexpr (std::is_floating_point_v<F>) return ConfigValue(static_cast<double>(f));
  else if constexpr (std::is_enum_v<F>) return ConfigValue(std::string(to_string(f)));
  else return ConfigValue(f);
}

template <class F>
void from_value(F& f, const Config& c, const std::string& key) {
  if constexpr (SelfConverting<F>) f = F::from_config_value(c.at(key));
  else if constexpr (is_optional<F>::value) {
    if (c.at(key).is_null()) f.reset();
    else {
      typename F::value_type inner{};
      from_value(inner, c, key);
      f = inner;
    }
  } else if constexpr (std::is_same_v<F, bool>) f = c.get<bool>(key);
  else if constexpr (std::is_integral_v<F>) f = static_cast<F>(c.get<std::int64_t>(key));
  else if constexpr (std::is_floating_point_v<F>) f = static_cast<F>(c.get<double>(key));
  else if constexpr (std::is_enum_v<F>) from_string(c.get<std::string>(key), f);
  else f = c.get<F>(key);
}

}  // namespace detail

template <class T>
Config fields_to_config(const T& obj) {
  Config c;
  const_cast<T&>(obj).visit_fields([&c](const char* name, auto& field) { c.set(name, detail::to_value(field)); });
  return c;
}

template <class T>
void fields_from_config(T& obj, const Config& c) {
  obj.visit_fields([&c](const char* name, auto& field) {
    if (c.has(name)) detail::from_value(field, c, name);
  });
}

}  // namespace lamina
