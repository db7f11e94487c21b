#pragma once
/// ModelCheckpoint (keras-semantics E10): saves the model (save_model) or its
/// weights (save_weights) during Model::fit.
///
/// `filepath` is formatted at each save with `{epoch}` (1-based; format specs
/// as in Python, e.g. `{epoch:02d}`) and the epoch's log keys, e.g.
/// "ckpt/{epoch:02d}-{val_loss:.2f}.lamina". Supported specs: [flags][width]
/// [.precision] followed by d, i, f, F, e, E, g, G, x (or none); "{{" and "}}"
/// are literal braces. A missing key raises ValueError naming it.
///
/// With save_best_only, the file is written only when `monitor` improves
/// (mode "min", "max" or "auto": max when the name contains "acc" or starts
/// with "fmeasure", else min; a NaN never improves, as in Keras where the
/// best starts at +inf / -inf); without it, every epoch (or every `save_freq`
/// batches). verbose = 1 prints Keras 3's messages:
///   "Epoch 1: val_loss improved from None to 0.23939, saving model to m.lamina"
///   "Epoch 2: val_loss did not improve from 0.23939"
///   "Epoch 3: saving model to m.lamina"
/// Unlike Keras, nothing is saved when the logged `loss` is NaN or infinite (a
/// diverged run, e.g. one stopped by TerminateOnNaN): the last good checkpoint
/// is kept.
///
/// Full-model files store the TrainingPosition to resume from: {epoch + 1, 0}
/// after an epoch (including a batch-level save at its last batch; the
/// batches per epoch come from Callback::params()), else {epoch, batches done
/// in it}; pass them to FitOptions::initial_epoch / initial_step.
///
/// Example:
///   auto ck = std::make_shared<ModelCheckpoint>(ModelCheckpointOptions{
///       .filepath = "best.lamina", .monitor = "val_loss", .save_best_only = true, .verbose = 1});
///   model->fit(x, y, {.epochs = 10, .validation_split = 0.1, .callbacks = {ck}});

#include <cstdio>
#include <optional>
#include <string>

#include "lamina/layers/callbacks.h"
#include "lamina/serialization/saving.h"

namespace lamina {

struct ModelCheckpointOptions {
  std::string filepath;
  std::string monitor = "val_loss";
  int verbose = 0;
  bool save_best_only = false;
  bool save_weights_only = false;
  std::string mode = "auto";  ///< "auto", "min" or "max"
  /// 0: save at each epoch end ("epoch"); N > 0: every N batches.
  std::int64_t save_freq = 0;
  /// Best value to beat initially (save_best_only).
  std::optional<double> initial_value_threshold = std::nullopt;
  /// Stored in the TrainingPosition of full-model checkpoints, so training
  /// can resume exactly; by default the shuffle seed fit used (the one given
  /// in FitOptions::seed, or the one it drew).
  std::optional<std::uint64_t> shuffle_seed = std::nullopt;
  /// fsync each checkpoint (durability).
  bool fsync = true;
};

class ModelCheckpoint : public Callback {
 public:
  /// ValueError for an empty filepath, an unknown mode or save_freq < 0.
  explicit ModelCheckpoint(ModelCheckpointOptions options);
  void on_train_begin(const Logs&) override;
  void on_epoch_begin(int epoch, const Logs&) override;
  void on_train_batch_end(int batch, const Logs& logs) override;
  void on_epoch_end(int epoch, Logs& logs) override;

  /// The best monitored value so far (save_best_only).
  std::optional<double> best() const { return best_; }
  /// The path of the last file written (empty before the first save).
  const std::string& last_saved() const { return last_saved_; }
  /// Where messages go (stdout by default).
  void set_output(std::FILE* out) { out_ = out; }

  /// `pattern` formatted with epoch (1-based) and logs; ValueError naming a
  /// missing key or a bad spec.
  static std::string format_filepath(const std::string& pattern, int epoch_1based, const Logs& logs);

 private:
  void save(int epoch, std::int64_t step, const Logs& logs);
  bool improved(double current) const;

  ModelCheckpointOptions options_;
  bool maximize_ = false;
  std::optional<double> best_;
  int current_epoch_ = 0;
  std::int64_t batches_since_save_ = 0;
  std::string last_saved_;
  std::FILE* out_ = stdout;
};

}  // namespace lamina
