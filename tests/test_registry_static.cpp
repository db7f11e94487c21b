// The built-in layers register themselves from static initializers inside a
// static library. This binary never names a layer class, so only the whole-
// archive link keeps those registrations: every built-in must be creatable by name.
#include <gtest/gtest.h>

#include <algorithm>

#include "lamina/layers/registry.h"

namespace lamina {
namespace {

TEST(RegistryStatic, BuiltinsSurviveStaticLinking) {
  const auto names = registered_layers();
  for (const char* expected : {"Dense", "Activation", "Flatten", "Reshape", "Dropout", "BatchNormalization",
                               "LayerNormalization", "Embedding", "ActivityRegularization", "Rescaling", "Sequential"}) {
    EXPECT_NE(std::find(names.begin(), names.end(), expected), names.end()) << expected;
  }
  Config c;
  c.set("units", 3);
  auto layer = layer_from_config("Dense", c);
  EXPECT_EQ(layer->class_name(), "Dense");
}

}  // namespace
}  // namespace lamina
