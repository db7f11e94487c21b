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
/// To save and reload it (model_to_json, save_model / load_model), give it a
/// `get_config()` that starts from `Model::get_config()` (base keys and the
/// sublayer names) and adds its own fields, a static `from_config(const
/// Config&)` and `LAMINA_REGISTER_LAYER(Mlp);`.

#include <iosfwd>
#include <optional>
#include <memory>
#include <string>
#include <vector>

#include "lamina/layers/callbacks.h"
#include "lamina/layers/layer.h"

namespace lamina {

namespace optim {
class Optimizer;
}
namespace losses {
class Loss;
}
namespace metrics {
class Metric;
}
namespace data {
class Dataset;
}

/// Options of Model::fit (Keras defaults).
struct FitOptions {
  std::int64_t batch_size = 32;
  int epochs = 1;
  /// Fraction of the samples, taken from the END before shuffling, held out for validation.
  double validation_split = 0.0;
  /// (x, y) evaluated at the end of each epoch (wins over validation_split).
  std::optional<std::pair<Tensor, Tensor>> validation_data;
  bool shuffle = true;
  /// Seed of the per-epoch shuffle (default: from the global seed sequence).
  std::optional<std::uint64_t> seed;
  std::vector<std::shared_ptr<Callback>> callbacks;
  /// 0 = silent, 1 = progress bar, 2 = one line per epoch.
  int verbose = 1;
  /// Epoch at which to start (the number of completed epochs when resuming).
  int initial_epoch = 0;
  /// Batches of `initial_epoch` to skip, for resuming inside an epoch
  /// (TrainingPosition::step). They are not gathered and no step is taken;
  /// the order of the epoch is kept, so resuming exactly requires the same
  /// shuffle seed (`seed`) as the interrupted run. The metrics of that epoch
  /// restart from its remaining batches, as with Keras's BackupAndRestore.
  /// Must be in [0, batches per epoch) (ValueError).
  std::int64_t initial_step = 0;
  /// fit(x, y) scans floating x and y (and validation_data) once and refuses
  /// NaN or infinity with a ValueError naming the first bad sample: one such
  /// value makes every weight NaN within a step. Keras trains on regardless;
  /// false does the same (e.g. to let TerminateOnNaN stop the run).
  bool check_finite = true;
};

class Model : public Layer {
 public:
  explicit Model(std::string class_name = "Model", LayerOptions options = {});
  ~Model() override;

  /// Keras-style table: layer name (type), output shape, parameter count,
  /// then total / trainable / non-trainable parameters.
  std::string summary() const;

  /// Saves the whole model to one file, as Keras's `model.save(path)`: the
  /// same as `lamina::save_model(*this, path)` (serialization/saving.h; read
  /// back with `lamina::load_model(path)`). Defined in lamina_serialization,
  /// which `lamina::lamina` links, so that layers/ does not depend on it.
  void save(const std::string& path) const;

  // ---- training (layers/training.cpp) ----
  /// Configures training. `loss` may be null when the model adds its own
  /// losses with add_loss. Metric ids ("accuracy", ...) are resolved against
  /// the first batch's shapes, as Keras does.
  void compile(std::shared_ptr<optim::Optimizer> optimizer, std::shared_ptr<losses::Loss> loss = nullptr,
               std::vector<std::string> metrics = {});
  void compile(const std::string& optimizer, const std::string& loss = "", std::vector<std::string> metrics = {});
  bool compiled() const;
  optim::Optimizer* optimizer() const;
  const losses::Loss* loss() const;
  /// "loss" then the metric names.
  std::vector<std::string> metrics_names() const;

  /// Trains on (x, y) (Keras fit); returns the History.
  std::shared_ptr<History> fit(const Tensor& x, const Tensor& y, FitOptions options = {});
  /// Trains on a batched dataset; `validation` (optional) is evaluated after each epoch.
  std::shared_ptr<History> fit(const data::Dataset& train, FitOptions options = {},
                               const data::Dataset* validation = nullptr);
  /// Loss and metrics (training=false), in metrics_names() order.
  /// NaN or infinity in floating x or y is a ValueError naming the first bad
  /// sample unless `check_finite` is false (as FitOptions::check_finite).
  Logs evaluate(const Tensor& x, const Tensor& y, std::int64_t batch_size = 32, int verbose = 0,
                bool check_finite = true);
  Logs evaluate(const data::Dataset& data, int verbose = 0);
  /// Outputs for x in batches (training=false, nothing recorded).
  Tensor predict(const Tensor& x, std::int64_t batch_size = 32);
  /// One optimizer step on one batch; returns its logs (loss, metrics of this batch).
  Logs train_on_batch(const Tensor& x, const Tensor& y);
  Logs test_on_batch(const Tensor& x, const Tensor& y);

  /// Set by callbacks (EarlyStopping, TerminateOnNaN) to end fit after the current batch/epoch.
  bool stop_training = false;

 private:
  struct TrainingState;
  std::unique_ptr<TrainingState> training_;
  Tensor compute_total_loss(const Tensor& y, const Tensor& y_pred);
  void train_step(const Tensor& x, const Tensor& y, Logs& logs);
  void test_step(const Tensor& x, const Tensor& y);
  void ensure_metrics(const Tensor& y, const Tensor& y_pred);
  void reset_metrics();
  void write_metric_logs(Logs& logs, const std::string& prefix) const;
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
