#include "lamina/core/dtype.h"

#include <array>
#include <ostream>

#include "lamina/core/error.h"

namespace lamina {

namespace {
constexpr std::array<std::string_view, kDTypeCount> kNames = {"float32", "float64", "int32",
                                                              "int64",   "uint8",   "bool"};
}  // namespace

std::string_view dtype_name(DType t) { return kNames[static_cast<int>(t)]; }

DType dtype_from_name(std::string_view name) {
  for (int i = 0; i < kDTypeCount; ++i)
    if (kNames[i] == name) return static_cast<DType>(i);
  throw ValueError(detail::concat("[dtype] unknown dtype '", name,
                                  "'; expected one of float32, float64, int32, int64, uint8, bool"));
}

std::ostream& operator<<(std::ostream& os, DType t) { return os << dtype_name(t); }

}  // namespace lamina
