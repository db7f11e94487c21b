#pragma once
/// Layer: the base of every layer and model, with Keras 3 semantics.
///
/// - A layer is constructed with its config only. The first call builds it
///   from the input's full shape (`build(input_shape)`), then every call runs
///   the virtual `call(inputs, ctx)`. Creating weights or sublayers after
///   build is an error.
/// - `training` travels with each call (CallContext): an explicit value wins,
///   else the enclosing layer call's value, else false. It is never stored on
///   the layer, so one thread can run inference while another trains.
/// - An error raised inside a call names the layer: an op's message (e.g.
///   "[matmul] dtypes differ") comes out of the layer as "[<layer path>]
///   Exception encountered when calling layer ...: [matmul] ...", with the
///   same exception type (Keras does the same).
/// - `add_loss(scalar)` inside call(); `losses()` = this layer's and all nested
///   layers' add_loss values, then the regularization penalties of the
///   trainable weights (recomputed from current values). The outermost call
///   clears the add_loss lists of the whole tree; inner calls accumulate.
/// - Weights are Variables named "<layer path>/<name>"; `weights()` lists own
///   weights (trainable, then non-trainable, in creation order) and then each
///   sublayer's, recursively; `set_trainable(false)` freezes a whole subtree.
///
/// A custom layer:
///   class Linear : public lamina::Layer {
///    public:
///     explicit Linear(std::int64_t units = 32, LayerOptions base = {})
///         : Layer("Linear", base), units_(units) {}
///     void build(const Shape& input_shape) override {
///       w_ = add_weight("w", {input_shape.back(), units_}, "random_normal");
///       b_ = add_weight("b", {units_}, "random_normal");
///     }
///     Tensor call(const Tensor& x, const CallContext&) override { return matmul(x, w_) + b_; }
///     Config get_config() const override { return Layer::get_config().set("units", units_); }
///     static std::shared_ptr<Linear> from_config(const Config& c) {
///       return std::make_shared<Linear>(c.get<std::int64_t>("units"), LayerOptions::from_config(c));
///     }
///    private:
///     std::int64_t units_;
///     Variable w_, b_;
///   };
///   LAMINA_REGISTER_LAYER(Linear);   // in the .cpp: enables from_config by class name

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "lamina/autograd/ops.h"
#include "lamina/autograd/variable.h"
#include "lamina/core/tensor.h"
#include "lamina/layers/config.h"
#include "lamina/layers/constraints.h"
#include "lamina/layers/initializers.h"
#include "lamina/layers/regularizers.h"

namespace lamina {

/// Options every layer takes (Keras's base Layer keyword arguments).
struct LayerOptions {
  std::string name;          ///< empty: automatic snake_case name with a counter
  bool trainable = true;
  DType dtype = DType::float32;
  RegularizerRef activity_regularizer;

  /// Reads the base keys (name, trainable, dtype, activity_regularizer) of a config.
  static LayerOptions from_config(const Config& c);
};

/// What travels with one call of a layer.
struct CallContext {
  bool training = false;
};

class Layer : public std::enable_shared_from_this<Layer> {
 public:
  /// `class_name` is the registered name (e.g. "Dense"); it also gives the
  /// automatic name prefix (snake_case). Throws ValueError for a name with '/'.
  Layer(std::string class_name, LayerOptions options = {});
  virtual ~Layer();
  Layer(const Layer&) = delete;
  Layer& operator=(const Layer&) = delete;

  /// Builds on first use, then calls call(). `training`: explicit value, else
  /// the enclosing call's, else false. Shape errors name the layer path.
  Tensor operator()(const Tensor& inputs, std::optional<bool> training = std::nullopt);

  const std::string& name() const { return name_; }
  /// "outer/inner/name": this layer's name prefixed by the layers tracking it.
  std::string path() const;
  const std::string& class_name() const { return class_name_; }
  DType dtype() const { return dtype_; }
  bool built() const { return built_; }
  /// The shape the layer was built with (empty before build).
  const Shape& build_shape() const { return build_shape_; }
  /// The output shape of the first call (empty before it).
  Shape output_shape() const;
  /// Builds the layer for `input_shape` without calling it (no-op if built).
  void build_for(const Shape& input_shape);

  bool trainable() const { return trainable_; }
  /// Sets the flag on this layer, its weights (those created trainable) and
  /// every sublayer.
  void set_trainable(bool trainable);

  std::vector<Variable> weights() const;
  std::vector<Variable> trainable_weights() const;
  std::vector<Variable> non_trainable_weights() const;
  /// Weight values in weights() order (copies).
  std::vector<Tensor> get_weights() const;
  /// Assigns values in weights() order; ValueError on a wrong count, ShapeError
  /// naming the weight on a wrong shape. Nothing is assigned if any check fails.
  void set_weights(const std::vector<Tensor>& values);
  /// Number of scalars in weights() (trainable only when `trainable_only`).
  std::int64_t count_params(bool trainable_only = false) const;

  /// add_loss values of this layer and every sublayer, then regularization
  /// penalties of trainable weights.
  std::vector<Tensor> losses() const;

  /// Direct sublayers in tracking order.
  const std::vector<std::shared_ptr<Layer>>& layers() const { return sublayers_; }

  /// Base config {name, trainable, dtype} (+ activity_regularizer when set);
  /// subclasses add their fields. A layer that tracks sublayers also gets
  /// "sublayer_names": their paths relative to it ("dense_3", "block",
  /// "block/dense_4", ...), depth-first in tracking order, so that a layer
  /// rebuilt from the config (layer_from_config, model_from_json,
  /// load_model) gives them the same names and its weight paths match a
  /// saved file even when the automatic names of a new object differ.
  virtual Config get_config() const;
  /// Output shape for an input shape (default: runs the layer on zeros).
  virtual Shape compute_output_shape(const Shape& input_shape);

  /// Applies each weight's constraint (after an optimizer step).
  void apply_constraints();

 protected:
  /// Creates the layer's state for `input_shape` (batch dimension included).
  virtual void build(const Shape& input_shape) {}
  /// The forward pass.
  virtual Tensor call(const Tensor& inputs, const CallContext& ctx) = 0;

  /// Creates a weight "<name>" of `shape`; only in the constructor or build().
  Variable add_weight(const std::string& name, const Shape& shape, InitializerRef initializer = "glorot_uniform",
                      bool trainable = true, RegularizerRef regularizer = nullptr,
                      ConstraintRef constraint = nullptr, std::optional<DType> dtype = std::nullopt);
  /// Records a scalar loss from inside call().
  void add_loss(const Tensor& loss);
  /// Tracks a sublayer (one line per sublayer); returns it.
  template <class L>
  std::shared_ptr<L> track(std::shared_ptr<L> layer) {
    track_layer(layer);
    return layer;
  }
  /// Constructs and tracks a sublayer: auto dense = add_layer<Dense>(DenseOptions{.units = 32});
  template <class L, class... Args>
  std::shared_ptr<L> add_layer(Args&&... args) {
    return track(std::make_shared<L>(std::forward<Args>(args)...));
  }
  /// Throws ShapeError "[<layer path>] <message>".
  [[noreturn]] void shape_error(const std::string& message) const;

 private:
  struct WeightSlot {
    Variable variable;
    RegularizerRef regularizer;
    ConstraintRef constraint;
    bool created_trainable = true;
  };
  friend void restore_sublayer_names(Layer& layer, const Config& config, bool even_if_built);
  void track_layer(const std::shared_ptr<Layer>& layer);
  Tensor call_with_context(const Tensor& inputs, std::optional<bool> training);
  void collect_weights(std::vector<Variable>& out) const;
  void collect_added_losses(std::vector<Tensor>& out) const;
  void collect_regularized(std::vector<std::pair<Variable, const Regularizer*>>& out) const;
  void clear_losses();
  void ensure_built(const Shape& input_shape);

  std::string class_name_;
  std::string name_;
  const Layer* parent_ = nullptr;
  DType dtype_;
  bool trainable_;
  RegularizerRef activity_regularizer_;
  bool built_ = false;
  bool building_ = false;
  Shape build_shape_;
  std::mutex build_mutex_;
  mutable std::mutex output_shape_mutex_;
  Shape output_shape_;
  std::vector<WeightSlot> weights_;
  std::vector<std::shared_ptr<Layer>> sublayers_;
  mutable std::mutex losses_mutex_;
  std::vector<Tensor> added_losses_;
};

namespace detail {
/// While alive on this thread, add_weight fills new weights with zeros instead
/// of running their initializers: a model being loaded gets its values from
/// the file right after it is built, so random initialization is wasted work.
class SkipWeightInitialization {
 public:
  SkipWeightInitialization();
  ~SkipWeightInitialization();
  SkipWeightInitialization(const SkipWeightInitialization&) = delete;
  SkipWeightInitialization& operator=(const SkipWeightInitialization&) = delete;
};
bool skipping_weight_initialization();

/// While alive on this thread, add_weight refuses (ValueError naming the
/// layer, the weight, its shape and both byte counts) to create weights
/// beyond `bytes` in all: a model built from a file's architecture may not
/// need more weight memory than the file holds, whatever its config says.
class WeightBytesBudget {
 public:
  explicit WeightBytesBudget(std::int64_t bytes);
  ~WeightBytesBudget();
  WeightBytesBudget(const WeightBytesBudget&) = delete;
  WeightBytesBudget& operator=(const WeightBytesBudget&) = delete;

 private:
  std::int64_t previous_;
};
}  // namespace detail

/// Renames the nested sublayers of `layer`, just created from `config` (its
/// from_config), to config["sublayer_names"] (see Layer::get_config).
/// Nothing happens when the config has no such entry, when the layer is
/// already built (unless `even_if_built`: a loader renames layers that create
/// their sublayers in build() after building them; weight keys follow layer
/// names), or when its sublayer tree does not have the recorded shape (same
/// count and depths): a best effort, load_weights still checks every weight.
/// ValueError for an entry that is not a list of paths.
/// layer_from_config calls it.
void restore_sublayer_names(Layer& layer, const Config& config, bool even_if_built = false);

/// Keras-style snake_case of a class name: "MLPBlock" -> "mlp_block".
std::string to_snake_case(const std::string& class_name);
/// A process-wide unique name for `prefix`: "dense", then "dense_1", ... Thread-safe.
std::string unique_layer_name(const std::string& prefix);

}  // namespace lamina
