#pragma once
/// Callbacks for Model::fit with Keras 3 semantics: History, ProgbarLogger,
/// EarlyStopping, LearningRateScheduler, ReduceLROnPlateau, TerminateOnNaN,
/// CSVLogger. Hooks receive 0-based epoch / batch indices and the logs.

#include <cstdio>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "lamina/core/tensor.h"
#include "lamina/layers/logs.h"

namespace lamina {

class Model;

/// What Model::fit tells its callbacks before on_train_begin (Keras's
/// `callback.params`, {'verbose', 'epochs', 'steps'}).
struct CallbackParams {
  int epochs = 0;          ///< FitOptions::epochs (the index after the last epoch)
  std::int64_t steps = 0;  ///< batches per epoch
  int verbose = 0;
  /// The training data's shuffle seed (the one fit drew when FitOptions::seed
  /// was not set), or none when it is not shuffled: what resuming exactly needs.
  std::optional<std::uint64_t> shuffle_seed = std::nullopt;
  friend bool operator==(const CallbackParams&, const CallbackParams&) = default;
};

class Callback {
 public:
  virtual ~Callback() = default;
  void set_model(Model* model) { model_ = model; }
  Model* model() const { return model_; }
  /// Set by fit before on_train_begin; zeros outside fit.
  void set_params(const CallbackParams& params) { params_ = params; }
  const CallbackParams& params() const { return params_; }

  virtual void on_train_begin(const Logs&) {}
  virtual void on_train_end(const Logs&) {}
  virtual void on_epoch_begin(int, const Logs&) {}
  virtual void on_epoch_end(int, Logs&) {}
  virtual void on_train_batch_begin(int, const Logs&) {}
  virtual void on_train_batch_end(int, const Logs&) {}
  virtual void on_test_begin(const Logs&) {}
  virtual void on_test_end(const Logs&) {}

 protected:
  Model* model_ = nullptr;
  CallbackParams params_;
};

/// Per-epoch logs of a fit: history()["loss"][epoch].
class History : public Callback {
 public:
  void on_train_begin(const Logs&) override {}
  void on_epoch_end(int epoch, Logs& logs) override;
  const std::map<std::string, std::vector<double>>& history() const { return history_; }
  const std::vector<int>& epochs() const { return epochs_; }
  /// Keys in first-seen order (loss, metrics, val_*).
  const std::vector<std::string>& keys() const { return keys_; }

 private:
  std::map<std::string, std::vector<double>> history_;
  std::vector<std::string> keys_;
  std::vector<int> epochs_;
};

/// Keras progress bar. On a terminal one line is redrawn per batch
/// (`598/938 [===================>..........] - ETA: 1s - loss: 0.3012`);
/// otherwise one line per epoch (`938/938 [==============================] - 2s 2ms/step - loss: 0.3012 - accuracy: 0.8921`).
class ProgbarLogger : public Callback {
 public:
  /// `steps`: batches per epoch; `epochs`: total epochs; out: stream (stdout).
  ProgbarLogger(std::int64_t steps, int epochs, std::FILE* out = stdout, std::optional<bool> interactive = std::nullopt);
  void on_epoch_begin(int epoch, const Logs&) override;
  void on_train_batch_end(int batch, const Logs& logs) override;
  void on_epoch_end(int epoch, Logs& logs) override;
  /// Keras number format: "%.4f" if |v| > 1e-3 else "%.4e".
  static std::string format_value(double v);

 private:
  std::string bar(std::int64_t done) const;
  std::int64_t steps_;
  int epochs_;
  std::FILE* out_;
  bool interactive_;
  double epoch_start_ = 0;
};

/// Stops when `monitor` stops improving (keras-semantics E9).
struct EarlyStoppingOptions {
  std::string monitor = "val_loss";
  double min_delta = 0.0;
  int patience = 0;
  std::string mode = "auto";  ///< "min", "max" or "auto"
  std::optional<double> baseline;
  bool restore_best_weights = false;
  int start_from_epoch = 0;
  int verbose = 0;
};
class EarlyStopping : public Callback {
 public:
  explicit EarlyStopping(EarlyStoppingOptions options = {});
  void on_train_begin(const Logs&) override;
  void on_epoch_end(int epoch, Logs& logs) override;
  void on_train_end(const Logs&) override;
  /// 0-based epoch at which training stopped (-1 when it did not).
  int stopped_epoch() const { return stopped_epoch_; }
  int best_epoch() const { return best_epoch_; }

 private:
  bool improved(double current, double reference) const;
  EarlyStoppingOptions options_;
  bool minimize_ = true;
  int wait_ = 0, stopped_epoch_ = -1, best_epoch_ = 0;
  double best_ = 0;
  std::vector<Tensor> best_weights_;
};

/// lr = schedule(epoch, current_lr) at each epoch begin; logs "learning_rate".
class LearningRateScheduler : public Callback {
 public:
  explicit LearningRateScheduler(std::function<double(int, double)> schedule, int verbose = 0);
  void on_epoch_begin(int epoch, const Logs&) override;
  void on_epoch_end(int epoch, Logs& logs) override;

 private:
  std::function<double(int, double)> schedule_;
  int verbose_;
};

struct ReduceLROnPlateauOptions {
  std::string monitor = "val_loss";
  double factor = 0.1;
  int patience = 10;
  std::string mode = "auto";
  double min_delta = 1e-4;
  int cooldown = 0;
  double min_lr = 0.0;
  int verbose = 0;
};
class ReduceLROnPlateau : public Callback {
 public:
  /// Throws ValueError when factor >= 1.
  explicit ReduceLROnPlateau(ReduceLROnPlateauOptions options = {});
  void on_train_begin(const Logs&) override;
  void on_epoch_end(int epoch, Logs& logs) override;

 private:
  ReduceLROnPlateauOptions options_;
  bool minimize_ = true;
  double best_ = 0;
  int wait_ = 0, cooldown_counter_ = 0;
};

/// Stops at the first batch whose loss is NaN or infinite.
class TerminateOnNaN : public Callback {
 public:
  explicit TerminateOnNaN(bool raise_error = false) : raise_error_(raise_error) {}
  void on_train_batch_end(int batch, const Logs& logs) override;

 private:
  bool raise_error_;
};

/// Writes one CSV row per epoch: "epoch" then the sorted log keys.
class CSVLogger : public Callback {
 public:
  explicit CSVLogger(std::string filename, char separator = ',', bool append = false);
  ~CSVLogger() override;
  void on_train_begin(const Logs&) override;
  void on_epoch_end(int epoch, Logs& logs) override;
  void on_train_end(const Logs&) override;

 private:
  std::string filename_;
  char separator_;
  bool append_;
  std::FILE* file_ = nullptr;
  std::vector<std::string> keys_;
};

}  // namespace lamina
