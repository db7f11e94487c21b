#include "lamina/layers/config.h"

#include <cstdio>
#include <ostream>
#include <sstream>

namespace lamina {

namespace {

const char* type_name(const ConfigValue& v) {
  static constexpr const char* kNames[] = {"null", "bool", "integer", "float", "string", "list", "config"};
  return kNames[v.value.index()];
}

void write_json_string(std::ostream& os, const std::string& s) {
  os << '"';
  for (char ch : s) {
    if (ch == '"' || ch == '\\') os << '\\' << ch;
    else if (ch == '\n') os << "\\n";
    else os << ch;
  }
  os << '"';
}

void write(std::ostream& os, const ConfigValue& v);

void write(std::ostream& os, const Config& c) {
  os << '{';
  bool first = true;
  for (const auto& [k, v] : c.items()) {
    if (!first) os << ", ";
    first = false;
    write_json_string(os, k);
    os << ": ";
    write(os, v);
  }
  os << '}';
}

void write(std::ostream& os, const ConfigValue& v) {
  std::visit(
      [&os](const auto& x) {
        using X = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<X, std::monostate>) os << "null";
        else if constexpr (std::is_same_v<X, bool>) os << (x ? "true" : "false");
        else if constexpr (std::is_same_v<X, std::int64_t>) os << x;
        else if constexpr (std::is_same_v<X, double>) {
          char buf[32];
          std::snprintf(buf, sizeof buf, "%.17g", x);
          os << buf;
        } else if constexpr (std::is_same_v<X, std::string>) write_json_string(os, x);
        else if constexpr (std::is_same_v<X, ConfigList>) {
          os << '[';
          for (std::size_t i = 0; i < x.size(); ++i) {
            if (i) os << ", ";
            write(os, x[i]);
          }
          os << ']';
        } else write(os, x);
      },
      v.value);
}

}  // namespace

ConfigValue::ConfigValue(const std::vector<std::int64_t>& v) {
  ConfigList list;
  for (auto x : v) list.emplace_back(x);
  value = std::move(list);
}

std::string ConfigValue::str() const {
  std::ostringstream os;
  write(os, *this);
  return os.str();
}

bool Config::has(std::string_view key) const {
  for (const auto& [k, v] : items_)
    if (k == key) return true;
  return false;
}

const ConfigValue& Config::at(std::string_view key) const {
  for (const auto& [k, v] : items_)
    if (k == key) return v;
  throw ValueError(detail::concat("[config] missing key '", key, "' in ", str()));
}

Config& Config::set(std::string key, ConfigValue value) {
  for (auto& [k, v] : items_)
    if (k == key) {
      v = std::move(value);
      return *this;
    }
  items_.emplace_back(std::move(key), std::move(value));
  return *this;
}

void Config::erase(std::string_view key) {
  std::erase_if(items_, [&](const auto& kv) { return kv.first == key; });
}

template <class T>
T Config::get(std::string_view key) const {
  const ConfigValue& v = at(key);
  auto fail = [&](const char* want) {
    return ValueError(detail::concat("[config] key '", key, "' holds a ", type_name(v), " (", v.str(),
                                     "), expected ", want));
  };
  if constexpr (std::is_same_v<T, double>) {
    if (auto* d = std::get_if<double>(&v.value)) return *d;
    if (auto* i = std::get_if<std::int64_t>(&v.value)) return static_cast<double>(*i);
    throw fail("a number");
  } else if constexpr (std::is_same_v<T, int>) {
    if (auto* i = std::get_if<std::int64_t>(&v.value)) return static_cast<int>(*i);
    throw fail("an integer");
  } else if constexpr (std::is_same_v<T, std::vector<std::int64_t>>) {
    auto* list = std::get_if<ConfigList>(&v.value);
    if (!list) throw fail("a list of integers");
    std::vector<std::int64_t> out;
    for (const auto& e : *list) {
      auto* i = std::get_if<std::int64_t>(&e.value);
      if (!i) throw fail("a list of integers");
      out.push_back(*i);
    }
    return out;
  } else {
    if (auto* x = std::get_if<T>(&v.value)) return *x;
    if constexpr (std::is_same_v<T, bool>) throw fail("a bool");
    else if constexpr (std::is_same_v<T, std::int64_t>) throw fail("an integer");
    else if constexpr (std::is_same_v<T, std::string>) throw fail("a string");
    else if constexpr (std::is_same_v<T, Config>) throw fail("a config");
    else throw fail("a list");
  }
}

template bool Config::get<bool>(std::string_view) const;
template int Config::get<int>(std::string_view) const;
template std::int64_t Config::get<std::int64_t>(std::string_view) const;
template double Config::get<double>(std::string_view) const;
template std::string Config::get<std::string>(std::string_view) const;
template Config Config::get<Config>(std::string_view) const;
template ConfigList Config::get<ConfigList>(std::string_view) const;
template std::vector<std::int64_t> Config::get<std::vector<std::int64_t>>(std::string_view) const;

std::string Config::str() const {
  std::ostringstream os;
  write(os, *this);
  return os.str();
}

bool operator==(const Config& a, const Config& b) { return a.items_ == b.items_; }

std::ostream& operator<<(std::ostream& os, const Config& c) { return os << c.str(); }

Config merged(Config base, const Config& extra) {
  for (const auto& [k, v] : extra.items()) base.set(k, v);
  return base;
}

}  // namespace lamina
