#include "lamina/serialization/json.h"

#include <charconv>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string_view>
#include <vector>

// cereal's JSON archive header configures RapidJSON (assertions throw) and
// includes it. Reading goes through rapidjson's SAX Reader with numbers
// handed over as text (see ConfigBuilder); writing uses its Writer.
#include <cereal/archives/json.hpp>
#include <rapidjson/error/en.h>
#include <rapidjson/memorystream.h>
#include <rapidjson/encodedstream.h>
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

/// Builds a ConfigValue from rapidjson's SAX events. Numbers arrive as their
/// text (kParseNumbersAsStringsFlag) and are converted here with
/// std::from_chars, which rounds correctly: rapidjson 1.1's own full-precision
/// conversion has undefined behaviour on inputs like "0e66" (clz of 0 in
/// DiyFp::Normalize, found by the loader fuzzer) and may return garbage there.
class ConfigBuilder : public rapidjson::BaseReaderHandler<rapidjson::UTF8<>, ConfigBuilder> {
 public:
  bool Null() { return put(ConfigValue()); }
  bool Bool(bool b) { return put(ConfigValue(b)); }
  bool RawNumber(const char* str, rapidjson::SizeType length, bool) {
    const std::string_view text(str, length);
    const char* end = str + length;
    if (text.find_first_of(".eENI") == std::string_view::npos) {
      std::int64_t i = 0;
      const auto r = std::from_chars(str, end, i);
      if (r.ec == std::errc() && r.ptr == end) return put(ConfigValue(i));
      // Beyond int64: as a float, like the integers rapidjson cannot hold.
    }
    double d = 0;
    auto r = std::from_chars(str, end, d);
    const std::size_t e = text.find_first_of("eE");
    if (r.ec == std::errc::result_out_of_range && e != std::string_view::npos && e + 1 < text.size() &&
        text[e + 1] == '-') {
      d = text.front() == '-' ? -0.0 : 0.0;  // underflow: zero, as strtod gives
      r.ec = std::errc();
    }
    if (r.ec != std::errc() || r.ptr != end) {
      error_ = detail::concat("number '", text, "' is out of range for a double");
      return false;
    }
    return put(ConfigValue(d));
  }
  bool String(const char* str, rapidjson::SizeType length, bool) { return put(ConfigValue(std::string(str, length))); }
  bool StartObject() { return open(ConfigValue(Config())); }
  bool Key(const char* str, rapidjson::SizeType length, bool) {
    stack_.back().key.assign(str, length);
    return true;
  }
  bool EndObject(rapidjson::SizeType) { return close(); }
  bool StartArray() { return open(ConfigValue(ConfigList())); }
  bool EndArray(rapidjson::SizeType) { return close(); }

  const std::string& error() const { return error_; }
  ConfigValue take() { return std::move(root_); }

 private:
  struct Frame {
    ConfigValue container;
    std::string key;
  };

  bool put(ConfigValue v) {
    if (stack_.empty()) {
      root_ = std::move(v);
      return true;
    }
    Frame& f = stack_.back();
    if (auto* list = std::get_if<ConfigList>(&f.container.value)) list->push_back(std::move(v));
    else std::get<Config>(f.container.value).set(f.key, std::move(v));
    return true;
  }
  bool open(ConfigValue container) {
    if (static_cast<int>(stack_.size()) >= kMaxDepth) {
      error_ = detail::concat("JSON nested deeper than ", kMaxDepth, " levels");
      return false;
    }
    stack_.push_back(Frame{std::move(container), {}});
    return true;
  }
  bool close() {
    ConfigValue v = std::move(stack_.back().container);
    stack_.pop_back();
    return put(std::move(v));
  }

  std::vector<Frame> stack_;
  ConfigValue root_;
  std::string error_;
};

void line_column(const std::string& text, std::size_t offset, std::size_t& line, std::size_t& col) {
  line = 1;
  col = 1;
  for (std::size_t i = 0; i < offset && i < text.size(); ++i) {
    if (text[i] == '\n') ++line, col = 1;
    else ++col;
  }
}

ConfigValue parse(const std::string& text) {
  ConfigBuilder builder;
  rapidjson::Reader reader;
  rapidjson::MemoryStream ms(text.data(), text.size());
  rapidjson::EncodedInputStream<rapidjson::UTF8<>, rapidjson::MemoryStream> in(ms);
  // Iterative parsing: deep nesting cannot overflow the stack.
  const rapidjson::ParseResult ok =
      reader.Parse<rapidjson::kParseIterativeFlag | rapidjson::kParseNumbersAsStringsFlag | rapidjson::kParseNanAndInfFlag>(
          in, builder);
  if (!ok) {
    if (!builder.error().empty()) throw ValueError("[config_from_json] " + builder.error());
    std::size_t line, col;
    const std::size_t off = ok.Offset();
    line_column(text, off, line, col);
    throw ValueError(detail::concat("[config_from_json] malformed JSON: ", rapidjson::GetParseError_En(ok.Code()),
                                    " at offset ", off, " (line ", line, ", column ", col, ")"));
  }
  return builder.take();
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
  ConfigValue v = parse(text);
  auto* object = std::get_if<Config>(&v.value);
  LAMINA_CHECK(object, ValueError, "[config_from_json] expected a JSON object at the top level");
  return std::move(*object);
}

ConfigValue config_value_from_json(const std::string& text) { return parse(text); }

}  // namespace lamina
