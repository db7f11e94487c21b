#pragma once
/// Config <-> JSON text (RapidJSON, as bundled with cereal's JSON archives).
///
/// Integers stay integers and floating values stay floating ("1" vs "1.0"),
/// so config_from_json(to_json(c)) == c for every Config; NaN and infinities
/// are written as NaN / Infinity / -Infinity (RapidJSON's extension).
///
/// Example:
///   Config c;
///   c.set("units", 64).set("rate", 0.5);
///   std::string text = to_json(c);        // {"units":64,"rate":0.5}
///   Config back = config_from_json(text);  // back == c

#include <string>

#include "lamina/layers/config.h"

namespace lamina {

/// Compact JSON text of `config` (an object, keys in order).
std::string to_json(const Config& config);
/// Indented JSON text (for people: lamina-inspect, FORMAT.md examples).
std::string to_json_pretty(const Config& config);
/// Parses a JSON object. ValueError "[config_from_json] <reason> at offset N
/// (line L, column C)" for malformed text, a top level that is not an object,
/// or nesting deeper than 512 levels.
Config config_from_json(const std::string& text);
/// Parses any JSON value (object, list, number, ...).
ConfigValue config_value_from_json(const std::string& text);
/// JSON text of any value.
std::string to_json(const ConfigValue& value);

}  // namespace lamina
