#include "lamina/serialization/model_checkpoint.h"

#include <cmath>
#include <cstdint>
#include <filesystem>

#include "lamina/layers/model.h"

namespace lamina {

ModelCheckpoint::ModelCheckpoint(ModelCheckpointOptions options) : options_(std::move(options)) {
  LAMINA_CHECK(!options_.filepath.empty(), ValueError, "[ModelCheckpoint] filepath must not be empty");
  LAMINA_CHECK(options_.mode == "auto" || options_.mode == "min" || options_.mode == "max", ValueError,
               "[ModelCheckpoint] mode must be 'auto', 'min' or 'max', got '", options_.mode, "'");
  LAMINA_CHECK(options_.save_freq >= 0, ValueError, "[ModelCheckpoint] save_freq must be >= 0 (0 = every epoch), got ",
               options_.save_freq);
  if (options_.mode == "max") maximize_ = true;
  else if (options_.mode == "min") maximize_ = false;
  else maximize_ = options_.monitor.find("acc") != std::string::npos || options_.monitor.rfind("fmeasure", 0) == 0;
  best_ = options_.initial_value_threshold;
}

void ModelCheckpoint::on_train_begin(const Logs&) { batches_since_save_ = 0; }

void ModelCheckpoint::on_epoch_begin(int epoch, const Logs&) { current_epoch_ = epoch; }

// Keras starts from best = +inf (min) or -inf (max) and compares with
// np.less / np.greater, so a NaN is never an improvement, even the first value.
bool ModelCheckpoint::improved(double current) const {
  if (std::isnan(current)) return false;
  if (!best_) return true;
  return maximize_ ? current > *best_ : current < *best_;
}

namespace {

std::string format_one(const std::string& key, const std::string& spec, double value, bool integral) {
  // spec: [flags][width][.precision][type]
  std::size_t i = 0;
  while (i < spec.size() && std::string("-+ #0").find(spec[i]) != std::string::npos) ++i;
  while (i < spec.size() && std::isdigit(static_cast<unsigned char>(spec[i]))) ++i;
  if (i < spec.size() && spec[i] == '.') {
    ++i;
    while (i < spec.size() && std::isdigit(static_cast<unsigned char>(spec[i]))) ++i;
  }
  char type = 0;
  if (i < spec.size()) type = spec[i++];
  LAMINA_CHECK(i == spec.size() && (type == 0 || std::string("diFfEeGgx").find(type) != std::string::npos), ValueError,
               "[ModelCheckpoint] unsupported format spec '", spec, "' for key '", key, "'");
  std::string flags = spec.substr(0, type ? spec.size() - 1 : spec.size());
  if (type == 0) type = integral ? 'd' : 'g';
  char buf[128];
  const std::string fmt = "%" + flags + (type == 'd' || type == 'i' || type == 'x' ? std::string("ll") + type : std::string(1, type));
  if (type == 'd' || type == 'i' || type == 'x') {
    LAMINA_CHECK(std::isfinite(value), ValueError, "[ModelCheckpoint] cannot format ", value, " for key '", key,
                 "' as an integer");
    std::snprintf(buf, sizeof buf, fmt.c_str(), static_cast<long long>(value));
  } else {
    std::snprintf(buf, sizeof buf, fmt.c_str(), value);
  }
  return buf;
}

}  // namespace

std::string ModelCheckpoint::format_filepath(const std::string& pattern, int epoch_1based, const Logs& logs) {
  std::string out;
  for (std::size_t i = 0; i < pattern.size(); ++i) {
    const char c = pattern[i];
    if (c == '{' && i + 1 < pattern.size() && pattern[i + 1] == '{') {
      out += '{';
      ++i;
    } else if (c == '}' && i + 1 < pattern.size() && pattern[i + 1] == '}') {
      out += '}';
      ++i;
    } else if (c == '{') {
      const auto close = pattern.find('}', i);
      LAMINA_CHECK(close != std::string::npos, ValueError, "[ModelCheckpoint] unbalanced '{' in filepath '", pattern, "'");
      const std::string field = pattern.substr(i + 1, close - i - 1);
      const auto colon = field.find(':');
      const std::string key = field.substr(0, colon);
      const std::string spec = colon == std::string::npos ? "" : field.substr(colon + 1);
      if (key == "epoch") {
        out += format_one(key, spec, epoch_1based, true);
      } else {
        auto v = logs.get(key);
        if (!v) {
          std::string known = "epoch";
          for (const auto& [k, x] : logs.items()) known += ", " + k;
          throw ValueError("[ModelCheckpoint] Failed to format this callback filepath: \"" + pattern +
                           "\". Reason: no log key '" + key + "' (available: " + known + ")");
        }
        out += format_one(key, spec, *v, false);
      }
      i = close;
    } else {
      out += c;
    }
  }
  return out;
}

void ModelCheckpoint::save(int epoch, std::int64_t step, const Logs& logs) {
  auto* model = model_;
  LAMINA_CHECK(model != nullptr, ValueError, "[ModelCheckpoint] not attached to a model");
  const std::string path = format_filepath(options_.filepath, epoch + 1, logs);
  // A diverged model (NaN/inf loss, e.g. stopped by TerminateOnNaN) must not
  // overwrite the last good checkpoint. Keras would save it; we keep the data.
  if (auto loss = logs.get("loss"); loss && !std::isfinite(*loss)) {
    std::fprintf(stderr, "Epoch %d: loss is %g, not saving the model to %s\n", epoch + 1, *loss, path.c_str());
    return;
  }
  if (options_.save_best_only) {
    auto current = logs.get(options_.monitor);
    if (!current) {
      std::fprintf(stderr, "Can save best model only with %s available, skipping.\n", options_.monitor.c_str());
      return;
    }
    char prev[64];
    if (best_) std::snprintf(prev, sizeof prev, "%.5f", *best_);
    else std::snprintf(prev, sizeof prev, "None");
    if (!improved(*current)) {
      if (options_.verbose > 0)
        std::fprintf(out_, "\nEpoch %d: %s did not improve from %s\n", epoch + 1, options_.monitor.c_str(), prev);
      return;
    }
    if (options_.verbose > 0)
      std::fprintf(out_, "\nEpoch %d: %s improved from %s to %.5f, saving model to %s\n", epoch + 1,
                   options_.monitor.c_str(), prev, *current, path.c_str());
    best_ = *current;
  } else if (options_.verbose > 0) {
    std::fprintf(out_, "\nEpoch %d: saving model to %s\n", epoch + 1, path.c_str());
  }
  const std::filesystem::path parent = std::filesystem::path(path).parent_path();
  if (!parent.empty()) std::filesystem::create_directories(parent);
  if (options_.save_weights_only) {
    save_weights(*model, path, SaveOptions{.fsync = options_.fsync});
  } else {
    SaveOptions so{.fsync = options_.fsync};
    // After the last batch of an epoch (an epoch-end save, step 0, or a
    // batch-level save at step == batches per epoch) the next epoch starts
    // from batch 0.
    const bool epoch_done = step == 0 || (params_.steps > 0 && step >= params_.steps);
    // The seed the user gave, else the one fit used (drawn when not given).
    const std::optional<std::uint64_t> seed = options_.shuffle_seed ? options_.shuffle_seed : params().shuffle_seed;
    so.training_position = epoch_done ? TrainingPosition{epoch + 1, 0, seed} : TrainingPosition{epoch, step, seed};
    save_model(*model, path, so);
  }
  last_saved_ = path;
}

void ModelCheckpoint::on_train_batch_end(int batch, const Logs& logs) {
  if (options_.save_freq <= 0) return;
  if (++batches_since_save_ >= options_.save_freq) {
    batches_since_save_ = 0;
    save(current_epoch_, batch + 1, logs);
  }
}

void ModelCheckpoint::on_epoch_end(int epoch, Logs& logs) {
  if (options_.save_freq == 0) save(epoch, 0, logs);
}

}  // namespace lamina
