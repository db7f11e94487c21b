#pragma once
/// Dataset: in-memory tensors served as batches, with a seeded per-epoch
/// shuffle, per-batch map functions and prefetching of the next batch on a
/// oneTBB task while the caller trains on the current one.
///
/// A Dataset is a cheap value (the tensors are shared, not copied); batch(),
/// shuffle(), map(), take() return modified copies, like tf.data. Batches are
/// new contiguous tensors gathered from the rows of x and y, so a map may
/// modify them in place without touching the dataset.
///
/// Example:
///   auto m = lamina::data::load_mnist("/usr/share/datasets/fashion-mnist");
///   auto ds = lamina::data::Dataset(m.x_train, m.y_train)
///                 .shuffle(42)
///                 .batch(128)
///                 .map(lamina::data::cast_x(lamina::DType::float32, 1.0 / 255));
///   for (std::int64_t e = 0; e < epochs; ++e)
///     for (const lamina::data::Batch& b : ds.epoch(e))
///       train_step(b.x, b.y);  // b.x: (128, 28, 28) float32, b.y: (128,) int64
///
/// Determinism: the order of epoch e depends only on (seed, e) — a
/// Fisher–Yates shuffle driven by Philox4x32 — and never on the thread count
/// or on prefetching, so batch contents are reproducible.

#include <cstdint>
#include <functional>
#include <iterator>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include "lamina/core/tensor.h"

namespace lamina::data {

/// One batch: x (B, ...) and y (B, ...) (y undefined for an x-only dataset).
struct Batch {
  Tensor x;
  Tensor y;
};

class Dataset {
 public:
  /// Applied to every batch, in the order map() was called. Runs on a TBB
  /// worker thread when prefetching: it must not depend on thread-local
  /// state (e.g. a GradientTape scope); core ops are fine.
  using MapFn = std::function<Batch(Batch)>;
  class Epoch;
  class Iterator;

  /// x: (N, ...) of any dtype; y: (N, ...) of any dtype, or undefined for
  /// inputs only. Non-contiguous tensors are made contiguous once, here.
  /// Throws ValueError for an undefined or 0-d x, for N == 0 ("empty
  /// dataset") and when y has a different number of samples (naming both).
  explicit Dataset(Tensor x, Tensor y = Tensor());

  /// Groups samples into batches of `batch_size`; the last, smaller batch is
  /// kept unless drop_remainder. Throws ValueError when batch_size <= 0.
  /// An unbatched dataset yields batches of one sample (leading axis kept).
  Dataset batch(std::int64_t batch_size, bool drop_remainder = false) const;
  /// Reshuffles the sample order every epoch, from (seed, epoch).
  Dataset shuffle(std::uint64_t seed) const;
  /// Appends a per-batch transformation.
  Dataset map(MapFn fn) const;
  /// At most `num_batches` batches per epoch (>= 0, else ValueError).
  Dataset take(std::int64_t num_batches) const;
  /// Enables (default) or disables preparing the next batch on a TBB task.
  Dataset prefetch(bool enabled) const;

  /// Keras's validation_split: split_at = floor(N * (1 - fraction)); returns
  /// {samples [0, split_at), samples [split_at, N)} — the validation part is
  /// the LAST samples, taken before any shuffling. Both parts share the
  /// tensors (no copy) and keep batch size, maps and take; the validation
  /// part is not shuffled. Throws ValueError unless 0 < fraction < 1 and
  /// both parts are non-empty.
  std::pair<Dataset, Dataset> split_tail(double fraction) const;

  /// Number of samples N.
  std::int64_t size() const { return n_; }
  /// Batch size (1 when batch() was not called).
  std::int64_t batch_size() const { return batch_size_; }
  bool drop_remainder() const { return drop_remainder_; }
  bool shuffled() const { return seed_.has_value(); }
  /// The seed of shuffle(), if shuffled.
  std::optional<std::uint64_t> shuffle_seed() const { return seed_; }
  /// Batches per epoch: ceil(N / batch_size) (floor with drop_remainder),
  /// capped by take().
  std::int64_t num_batches() const;
  const Tensor& x() const { return x_; }
  const Tensor& y() const { return y_; }

  /// The sample indices of epoch `epoch` in the order they are served.
  std::vector<std::int64_t> order(std::int64_t epoch) const;
  /// Batch `index` of epoch `epoch`, gathered and mapped on the calling
  /// thread (computes the epoch's order: O(N); iterate epoch() for training).
  /// Throws IndexError when index is outside [0, num_batches()).
  Batch get_batch(std::int64_t epoch, std::int64_t index) const;
  /// The batches of one epoch, as a range for `for (const Batch& b : ...)`.
  /// Each begin() starts the epoch over (same order). With `first_batch` > 0
  /// the range starts at that batch (for resuming inside an epoch): the
  /// batches before it are neither gathered nor mapped, and Iterator::index()
  /// counts from `first_batch`. Throws ValueError unless 0 <= first_batch <=
  /// num_batches() (num_batches() gives an empty range).
  Epoch epoch(std::int64_t epoch, std::int64_t first_batch = 0) const;

 private:
  struct EpochState;
  Batch make_batch(const std::vector<std::int64_t>& order, std::int64_t index) const;

  Tensor x_, y_;
  std::int64_t n_ = 0;
  std::int64_t batch_size_ = 1;
  bool drop_remainder_ = false;
  std::optional<std::uint64_t> seed_;
  std::int64_t take_ = -1;  // -1: all batches
  bool prefetch_ = true;
  std::shared_ptr<const std::vector<MapFn>> maps_;
};

/// An input iterator over the batches of one epoch. While the caller holds
/// batch i, batch i + 1 is being prepared on a TBB task; an exception thrown
/// while preparing a batch (e.g. by a map) is rethrown by operator++.
class Dataset::Iterator {
 public:
  using iterator_category = std::input_iterator_tag;
  using value_type = Batch;
  using difference_type = std::ptrdiff_t;
  using pointer = Batch*;
  using reference = Batch&;

  Iterator() = default;
  Batch& operator*() const;
  Batch* operator->() const { return &**this; }
  Iterator& operator++();
  void operator++(int) { ++*this; }
  /// Index of the current batch in the epoch.
  std::int64_t index() const;
  friend bool operator==(const Iterator& it, std::default_sentinel_t) { return it.at_end(); }

 private:
  friend class Dataset::Epoch;
  explicit Iterator(std::shared_ptr<EpochState> state) : state_(std::move(state)) {}
  bool at_end() const;
  std::shared_ptr<EpochState> state_;
};

class Dataset::Epoch {
 public:
  Iterator begin() const;
  std::default_sentinel_t end() const { return {}; }
  /// Number of batches this epoch yields (from its first batch on).
  std::int64_t size() const { return ds_.num_batches() - first_batch_; }
  std::int64_t index() const { return epoch_; }

 private:
  friend class Dataset;
  Epoch(Dataset ds, std::int64_t epoch, std::int64_t first_batch)
      : ds_(std::move(ds)), epoch_(epoch), first_batch_(first_batch) {}
  Dataset ds_;
  std::int64_t epoch_;
  std::int64_t first_batch_ = 0;
};

/// A MapFn converting x to `dtype` and multiplying it by `scale` (y is
/// unchanged): cast_x(DType::float32, 1.0 / 255) turns uint8 pixels into
/// floats in [0, 1] per batch. Fused single pass for uint8 -> float32.
Dataset::MapFn cast_x(DType dtype, double scale = 1.0);

/// The permutation of [0, n) for (seed, epoch): Fisher–Yates over Philox4x32
/// words. Exposed for tests and for callers that shuffle other containers.
std::vector<std::int64_t> shuffled_indices(std::int64_t n, std::uint64_t seed, std::int64_t epoch);

}  // namespace lamina::data
