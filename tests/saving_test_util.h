#pragma once
// Helpers shared by the serialization and checkpoint tests.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <functional>
#include <string>

#include "lamina/lamina.h"
#include "lamina/serialization/saving.h"

namespace lamina::testing {

/// A per-process scratch directory named `prefix` + pid, removed at exit.
inline std::filesystem::path scratch_dir(const std::string& prefix) {
  struct Dir {
    std::filesystem::path path;
    explicit Dir(const std::string& p)
        : path(std::filesystem::temp_directory_path() / (p + std::to_string(::getpid()))) {
      std::filesystem::create_directories(path);
    }
    ~Dir() {
      std::error_code ec;
      std::filesystem::remove_all(path, ec);
    }
  };
  static Dir dir(prefix);  // one per test program: each uses one prefix
  return dir.path;
}

/// Same dtype, shape and bytes.
inline bool bit_equal(const Tensor& a, const Tensor& b) {
  if (a.dtype() != b.dtype() || !(a.shape() == b.shape())) return false;
  const Tensor x = a.contiguous(), y = b.contiguous();
  return std::memcmp(x.raw_data(), y.raw_data(), static_cast<std::size_t>(x.numel()) * x.itemsize()) == 0;
}

/// Whether expect_same_weights also compares the weights' keys (two models
/// built separately have other automatic layer names).
enum class Keys { same, any };

/// The same weights in the same order, bit for bit.
inline void expect_same_weights(const Layer& a, const Layer& b, Keys keys) {
  auto wa = weight_paths(a), wb = weight_paths(b);
  ASSERT_EQ(wa.size(), wb.size());
  for (std::size_t i = 0; i < wa.size(); ++i) {
    if (keys == Keys::same) EXPECT_EQ(wa[i].first, wb[i].first);
    EXPECT_TRUE(bit_equal(wa[i].second.value(), wb[i].second.value())) << wa[i].first;
  }
}

/// The message of the E that f throws, "WRONG TYPE: ..." for another
/// exception, "NO ERROR" when it returns.
template <class E>
std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const E& e) {
    return e.what();
  } catch (const std::exception& e) {
    return std::string("WRONG TYPE: ") + e.what();
  }
  return "NO ERROR";
}

}  // namespace lamina::testing
