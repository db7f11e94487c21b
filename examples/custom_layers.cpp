// The seed guide "Making new layers and models via subclassing" in C++:
// losses collected recursively, weight regularization losses, get_config /
// from_config, and the training argument. Mirrors ../shared/spec/seed-custom-modeling-2.md.
#include <lamina/lamina.h>

#include <cassert>
#include <iostream>

using namespace lamina;

// 1. Layers collect losses recursively during the forward pass.
class ActivityRegularizationLayer : public Layer {
 public:
  explicit ActivityRegularizationLayer(double rate = 1e-2) : Layer("ActivityRegularizationLayer"), rate_(rate) {}

 protected:
  Tensor call(const Tensor& inputs, const CallContext&) override {
    add_loss(mul(sum(inputs), rate_));
    return inputs;
  }

 private:
  double rate_;
};

class OuterLayer : public Layer {
 public:
  OuterLayer() : Layer("OuterLayer") {}

 protected:
  Tensor call(const Tensor& inputs, const CallContext&) override { return (*activity_reg_)(inputs); }

 private:
  std::shared_ptr<ActivityRegularizationLayer> activity_reg_ = add_layer<ActivityRegularizationLayer>(1e-2);
};

class OuterLayerWithKernelRegularizer : public Layer {
 public:
  OuterLayerWithKernelRegularizer() : Layer("OuterLayerWithKernelRegularizer") {}

 protected:
  Tensor call(const Tensor& inputs, const CallContext&) override { return (*dense_)(inputs); }

 private:
  std::shared_ptr<layers::Dense> dense_ =
      add_layer<layers::Dense>(layers::DenseOptions{.units = 32, .kernel_regularizer = regularizers::L2(1e-3)});
};

// 2. Serializing layers.
class Linear : public Layer {
 public:
  explicit Linear(std::int64_t units = 32, LayerOptions base = {}) : Layer("Linear", std::move(base)), units_(units) {}
  Config get_config() const override { return Layer::get_config().set("units", units_); }
  static std::shared_ptr<Linear> from_config(const Config& c) {
    return std::make_shared<Linear>(c.get<std::int64_t>("units"), LayerOptions::from_config(c));
  }

 protected:
  void build(const Shape& input_shape) override {
    w_ = add_weight("w", {input_shape.back(), units_}, "random_normal");
    b_ = add_weight("b", {units_}, "random_normal");
  }
  Tensor call(const Tensor& x, const CallContext&) override { return matmul(x, w_) + b_; }

 private:
  std::int64_t units_;
  Variable w_, b_;
};
LAMINA_REGISTER_LAYER(Linear);

// 3. The privileged training argument.
class CustomDropout : public Layer {
 public:
  explicit CustomDropout(double rate, LayerOptions base = {}) : Layer("CustomDropout", std::move(base)), rate_(rate) {}

 protected:
  Tensor call(const Tensor& inputs, const CallContext& ctx) override {
    if (ctx.training) return (*dropout_)(inputs);
    return inputs;
  }

 private:
  double rate_;
  std::shared_ptr<layers::Dropout> dropout_ = add_layer<layers::Dropout>(rate_);
};

int main() {
  {
    OuterLayer layer;
    assert(layer.losses().empty());  // no losses yet, since the layer has never been called
    layer(zeros({1, 1}));
    std::cout << "losses after one call: " << layer.losses().size() << "\n";   // 1
    layer(zeros({1, 1}));
    std::cout << "losses after two calls: " << layer.losses().size() << "\n";  // still 1
  }
  {
    OuterLayerWithKernelRegularizer layer;
    layer(zeros({1, 1}));
    // This is 1e-3 * sum(kernel ** 2), created by the kernel_regularizer above.
    std::cout << "kernel regularization loss: " << layer.losses()[0] << "\n";
  }
  {
    Linear layer(64);
    Config config = layer.get_config();
    std::cout << "config: " << config << "\n";  // {"name": "linear_N", "trainable": true, "dtype": "float32", "units": 64}
    auto new_layer = Linear::from_config(config);
    std::cout << "rebuilt: " << new_layer->get_config() << "\n";
  }
  {
    CustomDropout dropout(0.5);
    Tensor x = ones({2, 4});
    std::cout << "training=false: " << dropout(x, false) << "\n";
    std::cout << "training=true:  " << dropout(x, true) << "\n";
  }
  return 0;
}
