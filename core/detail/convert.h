#pragma once
// saturate_cast<To>(from): a value conversion that is defined for every input.
// A floating value converted to an integer type is clamped to the type's range
// and NaN becomes 0 (static_cast would be undefined behaviour there, which
// UBSan reports). Integer narrowing wraps (C++20); float-to-float is IEEE.

#include <limits>
#include <type_traits>

namespace lamina::detail {

template <class To, class From>
constexpr To saturate_cast(From v) {
  if constexpr (std::is_same_v<To, bool>) {
    return v != From(0);
  } else if constexpr (std::is_floating_point_v<From> && std::is_integral_v<To>) {
    if (v != v) return To(0);
    // (double)max may round up (int64: 2^63), so >= catches the boundary.
    if (v <= static_cast<From>(std::numeric_limits<To>::lowest())) return std::numeric_limits<To>::lowest();
    if (v >= static_cast<From>(std::numeric_limits<To>::max())) return std::numeric_limits<To>::max();
    return static_cast<To>(v);
  } else {
    return static_cast<To>(v);
  }
}

// Integer arithmetic that wraps modulo 2^bits, as NumPy's does, instead of
// the undefined behaviour of signed overflow (which UBSan reports): computed
// in the unsigned type, converted back (modular in C++20). Types narrower
// than int are promoted first and cannot overflow there.
template <class T>
constexpr T wrapping_add(T a, T b) {
  if constexpr (std::is_integral_v<T> && std::is_signed_v<T> && sizeof(T) >= sizeof(int)) {
    using U = std::make_unsigned_t<T>;
    return static_cast<T>(static_cast<U>(a) + static_cast<U>(b));
  } else {
    return static_cast<T>(a + b);
  }
}
template <class T>
constexpr T wrapping_sub(T a, T b) {
  if constexpr (std::is_integral_v<T> && std::is_signed_v<T> && sizeof(T) >= sizeof(int)) {
    using U = std::make_unsigned_t<T>;
    return static_cast<T>(static_cast<U>(a) - static_cast<U>(b));
  } else {
    return static_cast<T>(a - b);
  }
}
template <class T>
constexpr T wrapping_mul(T a, T b) {
  if constexpr (std::is_integral_v<T> && std::is_signed_v<T> && sizeof(T) >= sizeof(int)) {
    using U = std::make_unsigned_t<T>;
    return static_cast<T>(static_cast<U>(a) * static_cast<U>(b));
  } else {
    return static_cast<T>(a * b);
  }
}
template <class T>
constexpr T wrapping_neg(T a) {
  return wrapping_sub(T(0), a);
}

}  // namespace lamina::detail
