#pragma once
/// Model: a Layer that can be trained (compile/fit/evaluate/predict, see
/// layers/training.h), summarized and saved. Subclass it and track sublayers
/// in the constructor; or use Sequential.
///
/// Example (subclassed):
///   class Mlp : public lamina::Model {
///    public:
///     Mlp() : Model("Mlp") {}
///    protected:
///     Tensor call(const Tensor& x, const CallContext& ctx) override { return out_(hidden_(x)); }
///    private:
///     std::shared_ptr<layers::Dense> hidden_ = add_layer<layers::Dense>(layers::DenseOptions{.units = 64, .activation = "relu"});
///     std::shared_ptr<layers::Dense> out_ = add_layer<layers::Dense>(layers::DenseOptions{.units = 10});
///   };

#include <iosfwd>
#include <memory>
#include <string>
#include <vector>

#include "lamina/layers/layer.h"

namespace lamina {

class Model : public Layer {
 public:
  explicit Model(std::string class_name = "Model", LayerOptions options = {});
  ~Model() override;

  /// Keras-style table: layer name (type), output shape, parameter count,
  /// then total / trainable / non-trainable parameters.
  std::string summary() const;
};

/// A linear stack of layers; each layer's output feeds the next.
class Sequential : public Model {
 public:
  explicit Sequential(std::vector<std::shared_ptr<Layer>> layers = {}, LayerOptions options = {});
  /// Appends a layer (before the model is built).
  Sequential& add(std::shared_ptr<Layer> layer);
  /// {"name", "trainable", "dtype", "layers": [{"class_name", "config"}...]}.
  Config get_config() const override;
  static std::shared_ptr<Sequential> from_config(const Config& c);

 protected:
  Tensor call(const Tensor& x, const CallContext& ctx) override;
};

}  // namespace lamina
