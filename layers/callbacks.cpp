#include "lamina/layers/callbacks.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>

#include "lamina/layers/model.h"
#include "lamina/optim/optimizer.h"

namespace lamina {

namespace {

double now_seconds() {
  using namespace std::chrono;
  return duration<double>(steady_clock::now().time_since_epoch()).count();
}

// "auto" mode: maximize accuracy-like metrics, minimize the rest (Keras).
bool minimize_for(const std::string& mode, const std::string& monitor, const std::string& who) {
  if (mode == "min") return true;
  if (mode == "max") return false;
  LAMINA_CHECK(mode == "auto", ValueError, "[", who, "] mode must be 'auto', 'min' or 'max', got '", mode, "'");
  const bool maximize = monitor.find("acc") != std::string::npos || monitor.find("auc") != std::string::npos ||
                        monitor.find("precision") != std::string::npos || monitor.find("recall") != std::string::npos;
  return !maximize;
}

}  // namespace

// ---- History ----
void History::on_epoch_end(int epoch, Logs& logs) {
  epochs_.push_back(epoch);
  for (const auto& [k, v] : logs.items()) {
    if (!history_.count(k)) keys_.push_back(k);
    history_[k].push_back(v);
  }
}

// ---- ProgbarLogger ----
ProgbarLogger::ProgbarLogger(std::int64_t steps, int epochs, std::FILE* out, std::optional<bool> interactive)
    : steps_(steps), epochs_(epochs), out_(out), interactive_(interactive.value_or(isatty(fileno(out)) != 0)) {}

std::string ProgbarLogger::format_value(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, std::fabs(v) > 1e-3 ? "%.4f" : "%.4e", v);
  return buf;
}

std::string ProgbarLogger::bar(std::int64_t done) const {
  constexpr int kWidth = 30;
  const std::string digits = std::to_string(steps_);
  char head[64];
  std::snprintf(head, sizeof head, "%*lld/%s [", static_cast<int>(digits.size()), static_cast<long long>(done),
                digits.c_str());
  int filled = steps_ > 0 ? static_cast<int>(kWidth * done / steps_) : kWidth;
  std::string b = head;
  if (filled > 0) {
    b += std::string(static_cast<std::size_t>(filled - 1), '=');
    b += done < steps_ ? '>' : '=';
  }
  b += std::string(static_cast<std::size_t>(kWidth - std::max(filled, 0)), '.');
  return b + "]";
}

void ProgbarLogger::on_epoch_begin(int epoch, const Logs&) {
  if (epochs_ > 1) std::fprintf(out_, "Epoch %d/%d\n", epoch + 1, epochs_);
  std::fflush(out_);
  epoch_start_ = now_seconds();
}

void ProgbarLogger::on_train_batch_end(int batch, const Logs& logs) {
  if (!interactive_) return;
  const std::int64_t done = batch + 1;
  if (done >= steps_) return;  // the final line is written at epoch end
  const double elapsed = now_seconds() - epoch_start_;
  const double eta = elapsed / static_cast<double>(done) * static_cast<double>(steps_ - done);
  std::string line = "\r" + bar(done) + " - ETA: " + std::to_string(static_cast<int>(std::lround(eta))) + "s";
  for (const auto& [k, v] : logs.items()) line += " - " + k + ": " + format_value(v);
  std::fputs(line.c_str(), out_);
  std::fflush(out_);
}

void ProgbarLogger::on_epoch_end(int, Logs& logs) {
  const double elapsed = now_seconds() - epoch_start_;
  const double per_step = steps_ > 0 ? elapsed / static_cast<double>(steps_) : 0;
  char timing[64];
  if (per_step >= 1) std::snprintf(timing, sizeof timing, " - %.0fs %.0fs/step", elapsed, per_step);
  else if (per_step >= 1e-3) std::snprintf(timing, sizeof timing, " - %.0fs %.0fms/step", elapsed, per_step * 1e3);
  else std::snprintf(timing, sizeof timing, " - %.0fs %.0fus/step", elapsed, per_step * 1e6);
  std::string line = (interactive_ ? "\r" : "") + bar(steps_) + timing;
  for (const auto& [k, v] : logs.items()) line += " - " + k + ": " + format_value(v);
  std::fprintf(out_, "%s\n", line.c_str());
  std::fflush(out_);
}

// ---- EarlyStopping ----
EarlyStopping::EarlyStopping(EarlyStoppingOptions options) : options_(std::move(options)) {
  minimize_ = minimize_for(options_.mode, options_.monitor, "EarlyStopping");
}

bool EarlyStopping::improved(double current, double reference) const {
  const double delta = std::fabs(options_.min_delta);
  return minimize_ ? current < reference - delta : current > reference + delta;
}

void EarlyStopping::on_train_begin(const Logs&) {
  wait_ = 0;
  stopped_epoch_ = -1;
  best_epoch_ = 0;
  best_ = minimize_ ? INFINITY : -INFINITY;
  best_weights_.clear();
}

void EarlyStopping::on_epoch_end(int epoch, Logs& logs) {
  auto current = logs.get(options_.monitor);
  if (!current) {
    std::fprintf(stderr, "Early stopping conditioned on metric `%s` which is not available.\n",
                 options_.monitor.c_str());
    return;
  }
  if (epoch < options_.start_from_epoch) return;
  if (options_.restore_best_weights && best_weights_.empty()) best_weights_ = model()->get_weights();
  ++wait_;
  if (improved(*current, best_)) {
    best_ = *current;
    best_epoch_ = epoch;
    if (options_.restore_best_weights) best_weights_ = model()->get_weights();
    if (!options_.baseline || improved(*current, *options_.baseline)) wait_ = 0;
    return;
  }
  if (wait_ >= options_.patience && epoch > 0) {
    stopped_epoch_ = epoch;
    model()->stop_training = true;
  }
}

void EarlyStopping::on_train_end(const Logs&) {
  if (stopped_epoch_ >= 0 && options_.verbose > 0) std::printf("Epoch %d: early stopping\n", stopped_epoch_ + 1);
  if (options_.restore_best_weights && !best_weights_.empty()) model()->set_weights(best_weights_);
}

// ---- LearningRateScheduler ----
LearningRateScheduler::LearningRateScheduler(std::function<double(int, double)> schedule, int verbose)
    : schedule_(std::move(schedule)), verbose_(verbose) {}

void LearningRateScheduler::on_epoch_begin(int epoch, const Logs&) {
  auto* opt = model()->optimizer();
  LAMINA_CHECK(opt != nullptr, ValueError, "[LearningRateScheduler] the model is not compiled");
  const double lr = schedule_(epoch, opt->learning_rate());
  LAMINA_CHECK(std::isfinite(lr), ValueError, "[LearningRateScheduler] schedule returned a non-finite rate ", lr);
  opt->set_learning_rate(lr);
  if (verbose_ > 0) std::printf("\nEpoch %d: LearningRateScheduler setting learning rate to %g.\n", epoch + 1, lr);
}

void LearningRateScheduler::on_epoch_end(int, Logs& logs) {
  logs.set("learning_rate", model()->optimizer()->learning_rate());
}

// ---- ReduceLROnPlateau ----
ReduceLROnPlateau::ReduceLROnPlateau(ReduceLROnPlateauOptions options) : options_(std::move(options)) {
  LAMINA_CHECK(options_.factor < 1.0, ValueError, "[ReduceLROnPlateau] ReduceLROnPlateau does not support a factor >= 1.0, got ",
               options_.factor);
  minimize_ = minimize_for(options_.mode, options_.monitor, "ReduceLROnPlateau");
}

void ReduceLROnPlateau::on_train_begin(const Logs&) {
  best_ = minimize_ ? INFINITY : -INFINITY;
  wait_ = 0;
  cooldown_counter_ = 0;
}

void ReduceLROnPlateau::on_epoch_end(int epoch, Logs& logs) {
  auto* opt = model()->optimizer();
  logs.set("learning_rate", opt->learning_rate());
  auto current = logs.get(options_.monitor);
  if (!current) return;
  if (cooldown_counter_ > 0) {
    --cooldown_counter_;
    wait_ = 0;
  }
  const bool better = minimize_ ? *current < best_ - options_.min_delta : *current > best_ + options_.min_delta;
  if (better) {
    best_ = *current;
    wait_ = 0;
  } else if (cooldown_counter_ <= 0) {
    ++wait_;
    if (wait_ >= options_.patience) {
      const double old_lr = opt->learning_rate();
      if (old_lr > options_.min_lr) {
        const double new_lr = std::max(old_lr * options_.factor, options_.min_lr);
        opt->set_learning_rate(new_lr);
        if (options_.verbose > 0)
          std::printf("\nEpoch %d: ReduceLROnPlateau reducing learning rate to %g.\n", epoch + 1, new_lr);
        cooldown_counter_ = options_.cooldown;
        wait_ = 0;
      }
    }
  }
}

// ---- TerminateOnNaN ----
void TerminateOnNaN::on_train_batch_end(int batch, const Logs& logs) {
  auto loss = logs.get("loss");
  if (loss && !std::isfinite(*loss)) {
    LAMINA_CHECK(!raise_error_, ValueError, "[TerminateOnNaN] Batch ", batch, ": Invalid loss, terminating training");
    std::printf("Batch %d: Invalid loss, terminating training\n", batch);
    model()->stop_training = true;
  }
}

// ---- CSVLogger ----
CSVLogger::CSVLogger(std::string filename, char separator, bool append)
    : filename_(std::move(filename)), separator_(separator), append_(append) {}

CSVLogger::~CSVLogger() {
  if (file_) std::fclose(file_);
}

void CSVLogger::on_train_begin(const Logs&) {
  file_ = std::fopen(filename_.c_str(), append_ ? "a" : "w");
  LAMINA_CHECK(file_ != nullptr, IOError, "[CSVLogger] cannot open '", filename_, "' for writing");
  keys_.clear();
}

void CSVLogger::on_epoch_end(int epoch, Logs& logs) {
  if (keys_.empty()) {
    for (const auto& [k, v] : logs.items()) keys_.push_back(k);
    std::sort(keys_.begin(), keys_.end());
    std::fseek(file_, 0, SEEK_END);
    if (!append_ || std::ftell(file_) == 0) {
      std::fprintf(file_, "epoch");
      for (const auto& k : keys_) std::fprintf(file_, "%c%s", separator_, k.c_str());
      std::fprintf(file_, "\n");
    }
  }
  std::fprintf(file_, "%d", epoch);
  for (const auto& k : keys_) {
    auto v = logs.get(k);
    if (v) std::fprintf(file_, "%c%.17g", separator_, *v);
    else std::fprintf(file_, "%cNA", separator_);
  }
  std::fprintf(file_, "\n");
  std::fflush(file_);
}

void CSVLogger::on_train_end(const Logs&) {
  if (file_) std::fclose(file_);
  file_ = nullptr;
}

}  // namespace lamina
