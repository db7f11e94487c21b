#pragma once
/// Errors thrown by lamina. Every user-facing check throws a subclass of
/// lamina::Error whose message starts with the op or layer in brackets, e.g.
/// `[add] cannot broadcast (3, 4) with (5,)`. The library never aborts.

#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>

namespace lamina {

/// Base of every exception lamina throws.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};
/// Incompatible shapes (broadcasting, reshape, matmul inner dimensions, ...).
class ShapeError : public Error {
 public:
  using Error::Error;
};
/// An op does not support the dtype it was given, or dtypes disagree.
class DTypeError : public Error {
 public:
  using Error::Error;
};
/// An argument is outside its valid range (axis, index, rate, size, ...).
class ValueError : public Error {
 public:
  using Error::Error;
};
/// Index out of range.
class IndexError : public Error {
 public:
  using Error::Error;
};
/// File or stream problems (missing, truncated, corrupt).
class IOError : public Error {
 public:
  using Error::Error;
};
/// The system could not provide the memory a tensor needs (the message says
/// how much and for which shape and dtype).
class MemoryError : public Error {
 public:
  using Error::Error;
};

namespace detail {
template <class... Args>
std::string concat(Args&&... args) {
  std::ostringstream os;
  (os << ... << std::forward<Args>(args));
  return os.str();
}
}  // namespace detail

}  // namespace lamina

/// Throws `ErrorType` with the streamed message when `cond` is false.
/// Usage: LAMINA_CHECK(a.ndim() == 2, ShapeError, "[matmul] expected 2-D, got ", a.shape());
#define LAMINA_CHECK(cond, ErrorType, ...)                              \
  do {                                                                  \
    if (!(cond)) [[unlikely]]                                           \
      throw ::lamina::ErrorType(::lamina::detail::concat(__VA_ARGS__)); \
  } while (0)
