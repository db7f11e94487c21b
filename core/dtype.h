#pragma once
/// Element types of tensors.

#include <cstddef>
#include <cstdint>
#include <iosfwd>
#include <string_view>
#include <type_traits>

namespace lamina {

/// The element type of a tensor. `bool_` is stored as one byte (0 or 1).
enum class DType : std::uint8_t { float32, float64, int32, int64, uint8, bool_ };

inline constexpr int kDTypeCount = 6;

/// Bytes per element.
constexpr std::size_t itemsize(DType t) {
  switch (t) {
    case DType::float32: return 4;
    case DType::float64: return 8;
    case DType::int32: return 4;
    case DType::int64: return 8;
    case DType::uint8: return 1;
    case DType::bool_: return 1;
  }
  return 0;
}

/// NumPy-style name: "float32", "float64", "int32", "int64", "uint8", "bool".
std::string_view dtype_name(DType t);
/// Parses a name produced by dtype_name; throws ValueError otherwise.
DType dtype_from_name(std::string_view name);
std::ostream& operator<<(std::ostream& os, DType t);

constexpr bool is_floating(DType t) { return t == DType::float32 || t == DType::float64; }

/// The dtype of a C++ element type: dtype_of<float>() == DType::float32.
template <class T>
constexpr DType dtype_of() {
  if constexpr (std::is_same_v<T, float>) return DType::float32;
  else if constexpr (std::is_same_v<T, double>) return DType::float64;
  else if constexpr (std::is_same_v<T, std::int32_t>) return DType::int32;
  else if constexpr (std::is_same_v<T, std::int64_t>) return DType::int64;
  else if constexpr (std::is_same_v<T, std::uint8_t>) return DType::uint8;
  else if constexpr (std::is_same_v<T, bool>) return DType::bool_;
  else static_assert(!sizeof(T), "lamina: unsupported element type");
}

/// Calls `f(T{})` with the C++ type of `t` (bool_ maps to std::uint8_t storage).
template <class F>
decltype(auto) visit_dtype(DType t, F&& f) {
  switch (t) {
    case DType::float32: return f(float{});
    case DType::float64: return f(double{});
    case DType::int32: return f(std::int32_t{});
    case DType::int64: return f(std::int64_t{});
    case DType::uint8:
    case DType::bool_: break;
  }
  return f(std::uint8_t{});
}

}  // namespace lamina
