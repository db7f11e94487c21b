#include "lamina/serialization/json.h"

#include <cmath>
#include <cstdint>
#include <limits>

// cereal's JSON archive header configures RapidJSON (assertions throw, NaN and
// infinities allowed, full-precision parsing) and includes it.
#include <cereal/archives/json.hpp>
#include <rapidjson/error/en.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

namespace lamina {
namespace {

constexpr int kMaxDepth = 512;

template <class Writer>
void write_value(Writer& w, const ConfigValue& v);

template <class Writer>
void write_config(Writer& w, const Config& c) {
  w.StartObject();
  for (const auto& [k, v] : c.items()) {
    w.Key(k.data(), static_cast<rapidjson::SizeType>(k.size()));
    write_value(w, v);
  }
  w.EndObject();
}

template <class Writer>
void write_value(Writer& w, const ConfigValue& v) {
  std::visit(
      [&w](const auto& x) {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, std::monostate>) w.Null();
        else if constexpr (std::is_same_v<T, bool>) w.Bool(x);
        else if constexpr (std::is_same_v<T, std::int64_t>) w.Int64(x);
        else if constexpr (std::is_same_v<T, double>) w.Double(x);
        else if constexpr (std::is_same_v<T, std::string>) w.String(x.data(), static_cast<rapidjson::SizeType>(x.size()));
        else if constexpr (std::is_same_v<T, ConfigList>) {
          w.StartArray();
          for (const auto& e : x) write_value(w, e);
          w.EndArray();
        } else write_config(w, x);
      },
      v.value);
}

template <class Writer, class Fn>
std::string write_with(Fn&& fn) {
  rapidjson::StringBuffer buf;
  Writer w(buf);
  fn(w);
  return std::string(buf.GetString(), buf.GetSize());
}

ConfigValue from_json_value(const rapidjson::Value& v, int depth);

Config object_from_json(const rapidjson::Value& v, int depth) {
  Config c;
  for (auto it = v.MemberBegin(); it != v.MemberEnd(); ++it)
    c.set(std::string(it->name.GetString(), it->name.GetStringLength()), from_json_value(it->value, depth + 1));
  return c;
}

ConfigValue from_json_value(const rapidjson::Value& v, int depth) {
  LAMINA_CHECK(depth <= kMaxDepth, ValueError, "[config_from_json] JSON nested deeper than ", kMaxDepth, " levels");
  switch (v.GetType()) {
    case rapidjson::kNullType: return ConfigValue();
    case rapidjson::kFalseType: return ConfigValue(false);
    case rapidjson::kTrueType: return ConfigValue(true);
    case rapidjson::kStringType: return ConfigValue(std::string(v.GetString(), v.GetStringLength()));
    case rapidjson::kNumberType:
      if (v.IsInt64()) return ConfigValue(static_cast<std::int64_t>(v.GetInt64()));
      if (v.IsUint64()) return ConfigValue(static_cast<double>(v.GetUint64()));  // beyond int64: as a float
      return ConfigValue(v.GetDouble());
    case rapidjson::kArrayType: {
      ConfigList list;
      list.reserve(v.Size());
      for (const auto& e : v.GetArray()) list.push_back(from_json_value(e, depth + 1));
      return ConfigValue(std::move(list));
    }
    case rapidjson::kObjectType: return ConfigValue(object_from_json(v, depth));
  }
  return ConfigValue();
}

void line_column(const std::string& text, std::size_t offset, std::size_t& line, std::size_t& col) {
  line = 1;
  col = 1;
  for (std::size_t i = 0; i < offset && i < text.size(); ++i) {
    if (text[i] == '\n') ++line, col = 1;
    else ++col;
  }
}

rapidjson::Document parse(const std::string& text) {
  rapidjson::Document doc;
  // Iterative parsing: deep nesting cannot overflow the stack.
  doc.Parse<rapidjson::kParseIterativeFlag | rapidjson::kParseFullPrecisionFlag | rapidjson::kParseNanAndInfFlag>(
      text.data(), text.size());
  if (doc.HasParseError()) {
    std::size_t line, col;
    const std::size_t off = doc.GetErrorOffset();
    line_column(text, off, line, col);
    throw ValueError(detail::concat("[config_from_json] malformed JSON: ", rapidjson::GetParseError_En(doc.GetParseError()),
                                    " at offset ", off, " (line ", line, ", column ", col, ")"));
  }
  return doc;
}

}  // namespace

std::string to_json(const Config& config) {
  return write_with<rapidjson::Writer<rapidjson::StringBuffer, rapidjson::UTF8<>, rapidjson::UTF8<>,
                                      rapidjson::CrtAllocator, rapidjson::kWriteNanAndInfFlag>>(
      [&](auto& w) { write_config(w, config); });
}

std::string to_json(const ConfigValue& value) {
  return write_with<rapidjson::Writer<rapidjson::StringBuffer, rapidjson::UTF8<>, rapidjson::UTF8<>,
                                      rapidjson::CrtAllocator, rapidjson::kWriteNanAndInfFlag>>(
      [&](auto& w) { write_value(w, value); });
}

std::string to_json_pretty(const Config& config) {
  return write_with<rapidjson::PrettyWriter<rapidjson::StringBuffer, rapidjson::UTF8<>, rapidjson::UTF8<>,
                                            rapidjson::CrtAllocator, rapidjson::kWriteNanAndInfFlag>>([&](auto& w) {
    w.SetIndent(' ', 2);
    write_config(w, config);
  });
}

Config config_from_json(const std::string& text) {
  rapidjson::Document doc = parse(text);
  LAMINA_CHECK(doc.IsObject(), ValueError, "[config_from_json] expected a JSON object at the top level");
  return object_from_json(doc, 0);
}

ConfigValue config_value_from_json(const std::string& text) {
  rapidjson::Document doc = parse(text);
  return from_json_value(doc, 0);
}

}  // namespace lamina
