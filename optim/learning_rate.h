#pragma once
/// The learning rate of an optimizer: a constant or a LearningRateSchedule
/// evaluated at the optimizer's iteration count (Keras semantics F1: step 0
/// for the first update).
///
/// Example:
///   Adam opt({.learning_rate = 1e-3});
///   SGD sgd({.learning_rate = ExponentialDecay({.initial_learning_rate = 0.1,
///                                               .decay_steps = 1000, .decay_rate = 0.96})});

#include <concepts>
#include <cstdint>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>

namespace lamina::optim {

/// A learning rate as a function of the step (the optimizer's iteration
/// count before the update). Concrete schedules (optim/schedules.h) expose a
/// config struct with visit_fields for serialization; name() is the Keras class
/// name ("ExponentialDecay", ...), by which a serializer picks the type.
class LearningRateSchedule {
 public:
  virtual ~LearningRateSchedule() = default;
  /// The learning rate at `step` (>= 0).
  virtual double operator()(std::int64_t step) const = 0;
  /// Keras class name.
  virtual std::string name() const = 0;
};

/// A constant (double) or a shared, immutable schedule. Implicitly built from
/// a number, a schedule object or a shared_ptr to one, so config structs read
/// `.learning_rate = 1e-3` or `.learning_rate = CosineDecay({...})`.
class LearningRate {
 public:
  LearningRate(double value = 0.001) : value_(value) {}  // NOLINT(google-explicit-constructor)
  template <class S>
    requires std::derived_from<S, LearningRateSchedule>
  LearningRate(std::shared_ptr<S> schedule)  // NOLINT(google-explicit-constructor)
      : schedule_(std::move(schedule)) {
    check_schedule();
  }
  template <class S>
    requires std::derived_from<std::remove_cvref_t<S>, LearningRateSchedule>
  LearningRate(S&& schedule)  // NOLINT(google-explicit-constructor)
      : schedule_(std::make_shared<std::remove_cvref_t<S>>(std::forward<S>(schedule))) {}

  bool is_schedule() const { return schedule_ != nullptr; }
  /// The constant value (meaningless when is_schedule()).
  double value() const { return value_; }
  /// The schedule, or nullptr for a constant.
  const std::shared_ptr<const LearningRateSchedule>& schedule() const { return schedule_; }
  /// The learning rate at `step`.
  double operator()(std::int64_t step) const { return schedule_ ? (*schedule_)(step) : value_; }

 private:
  void check_schedule() const;

  double value_ = 0.001;
  std::shared_ptr<const LearningRateSchedule> schedule_;
};

}  // namespace lamina::optim
