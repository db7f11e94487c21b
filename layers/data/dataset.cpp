#include "lamina/layers/data/dataset.h"

#include <tbb/task_group.h>

#include <cmath>
#include <exception>
#include <numeric>

#include "lamina/core/detail/parallel.h"
#include "lamina/core/error.h"
#include "lamina/core/ops/binary.h"
#include "lamina/core/random.h"
#include "lamina/layers/data/gather.h"

namespace lamina::data {

// ---- shuffling ---------------------------------------------------------------

std::vector<std::int64_t> shuffled_indices(std::int64_t n, std::uint64_t seed, std::int64_t epoch) {
  LAMINA_CHECK(n >= 0, ValueError, "[shuffled_indices] n must be >= 0, got ", n);
  LAMINA_CHECK(epoch >= 0 && epoch < (std::int64_t{1} << 23), ValueError,
               "[shuffled_indices] epoch must be in [0, 2^23), got ", epoch);
  std::vector<std::int64_t> idx(static_cast<std::size_t>(n));
  std::iota(idx.begin(), idx.end(), std::int64_t{0});
  // Each epoch owns the Philox counters [epoch << 40, (epoch + 1) << 40); one
  // 128-bit block gives two 64-bit draws. Sequential, so independent of threads.
  const std::uint64_t base = static_cast<std::uint64_t>(epoch) << 40;
  std::uint64_t draws[2] = {0, 0};
  std::uint64_t step = 0;
  for (std::int64_t i = n - 1; i > 0; --i, ++step) {
    if ((step & 1) == 0) {
      const auto w = detail::philox4x32(base + (step >> 1), seed);
      draws[0] = (std::uint64_t{w[0]} << 32) | w[1];
      draws[1] = (std::uint64_t{w[2]} << 32) | w[3];
    }
    const std::uint64_t r = draws[step & 1];
    // Lemire's multiply-shift: a uniform j in [0, i] (bias below 2^-24 for n < 2^40).
    const auto j = static_cast<std::int64_t>(
        (static_cast<unsigned __int128>(r) * static_cast<unsigned __int128>(i + 1)) >> 64);
    std::swap(idx[static_cast<std::size_t>(i)], idx[static_cast<std::size_t>(j)]);
  }
  return idx;
}

// ---- Dataset -----------------------------------------------------------------

Dataset::Dataset(Tensor x, Tensor y) {
  LAMINA_CHECK(x.defined(), ValueError, "[Dataset] x is an undefined tensor");
  LAMINA_CHECK(x.ndim() >= 1, ValueError, "[Dataset] x must have a leading sample axis, got shape ", x.shape());
  n_ = x.size(0);
  LAMINA_CHECK(n_ > 0, ValueError, "[Dataset] empty dataset: x has 0 samples (shape ", x.shape(), ")");
  if (y.defined()) {
    LAMINA_CHECK(y.ndim() >= 1, ValueError, "[Dataset] y must have a leading sample axis, got shape ", y.shape());
    LAMINA_CHECK(y.size(0) == n_, ValueError, "[Dataset] x and y must hold the same number of samples: x has ", n_,
                 " (shape ", x.shape(), "), y has ", y.size(0), " (shape ", y.shape(), ")");
    y_ = y.contiguous();
  }
  x_ = x.contiguous();
  maps_ = std::make_shared<const std::vector<MapFn>>();
}

Dataset Dataset::batch(std::int64_t batch_size, bool drop_remainder) const {
  LAMINA_CHECK(batch_size > 0, ValueError, "[Dataset.batch] batch_size must be positive, got ", batch_size);
  Dataset d = *this;
  d.batch_size_ = batch_size;
  d.drop_remainder_ = drop_remainder;
  return d;
}

Dataset Dataset::shuffle(std::uint64_t seed) const {
  Dataset d = *this;
  d.seed_ = seed;
  return d;
}

Dataset Dataset::map(MapFn fn) const {
  LAMINA_CHECK(static_cast<bool>(fn), ValueError, "[Dataset.map] empty function");
  auto maps = std::make_shared<std::vector<MapFn>>(*maps_);
  maps->push_back(std::move(fn));
  Dataset d = *this;
  d.maps_ = std::move(maps);
  return d;
}

Dataset Dataset::take(std::int64_t num_batches) const {
  LAMINA_CHECK(num_batches >= 0, ValueError, "[Dataset.take] num_batches must be >= 0, got ", num_batches);
  Dataset d = *this;
  d.take_ = take_ < 0 ? num_batches : std::min(take_, num_batches);
  return d;
}

Dataset Dataset::prefetch(bool enabled) const {
  Dataset d = *this;
  d.prefetch_ = enabled;
  return d;
}

std::pair<Dataset, Dataset> Dataset::split_tail(double fraction) const {
  LAMINA_CHECK(fraction > 0.0 && fraction < 1.0, ValueError, "[Dataset.split_tail] fraction must be in (0, 1), got ",
               fraction);
  const auto split_at = static_cast<std::int64_t>(std::floor(static_cast<double>(n_) * (1.0 - fraction)));
  LAMINA_CHECK(split_at > 0 && split_at < n_, ValueError, "[Dataset.split_tail] ", n_,
               " samples are not enough to split with fraction ", fraction, ": split_at = floor(", n_, " * (1 - ",
               fraction, ")) = ", split_at, " leaves an empty part");
  Dataset train = *this;
  Dataset val = *this;
  train.x_ = x_.slice(0, 0, split_at);
  val.x_ = x_.slice(0, split_at, n_);
  if (y_.defined()) {
    train.y_ = y_.slice(0, 0, split_at);
    val.y_ = y_.slice(0, split_at, n_);
  }
  train.n_ = split_at;
  val.n_ = n_ - split_at;
  val.seed_.reset();
  return {std::move(train), std::move(val)};
}

std::int64_t Dataset::num_batches() const {
  std::int64_t nb = n_ / batch_size_;
  if (!drop_remainder_ && n_ % batch_size_ != 0) ++nb;
  return take_ >= 0 ? std::min(nb, take_) : nb;
}

std::vector<std::int64_t> Dataset::order(std::int64_t epoch) const {
  LAMINA_CHECK(epoch >= 0, ValueError, "[Dataset] epoch must be >= 0, got ", epoch);
  if (seed_) return shuffled_indices(n_, *seed_, epoch);
  std::vector<std::int64_t> idx(static_cast<std::size_t>(n_));
  std::iota(idx.begin(), idx.end(), std::int64_t{0});
  return idx;
}

// `order` empty means the identity order (no shuffle).
Batch Dataset::make_batch(const std::vector<std::int64_t>& order, std::int64_t index) const {
  const std::int64_t start = index * batch_size_;
  const std::int64_t stop = std::min(start + batch_size_, n_);
  Batch b;
  if (order.empty()) {
    b.x = copy_rows(x_, start, stop);
    if (y_.defined()) b.y = copy_rows(y_, start, stop);
  } else {
    const std::span<const std::int64_t> rows(order.data() + start, static_cast<std::size_t>(stop - start));
    b.x = gather_rows(x_, rows);
    if (y_.defined()) b.y = gather_rows(y_, rows);
  }
  for (const MapFn& fn : *maps_) b = fn(std::move(b));
  return b;
}

Batch Dataset::get_batch(std::int64_t epoch, std::int64_t index) const {
  LAMINA_CHECK(epoch >= 0, ValueError, "[Dataset] epoch must be >= 0, got ", epoch);
  const std::int64_t nb = num_batches();
  LAMINA_CHECK(index >= 0 && index < nb, IndexError, "[Dataset.get_batch] batch ", index, " out of range for ", nb,
               " batches");
  return make_batch(seed_ ? shuffled_indices(n_, *seed_, epoch) : std::vector<std::int64_t>{}, index);
}

// ---- epoch iteration with prefetch ---------------------------------------------

struct Dataset::EpochState {
  Dataset ds;
  std::vector<std::int64_t> order;  // empty: identity
  std::int64_t count = 0;           // batches this epoch
  std::int64_t index = 0;           // current batch
  Batch current;
  // The batch being prepared on a task: written by the task only, read by the
  // iterating thread only after tg.wait().
  Batch next;
  std::exception_ptr next_error;
  bool pending = false;
  tbb::task_group tg;
  lamina::detail::TsanTokens tsan_tokens;  // the prefetch task's spawn and join, for ThreadSanitizer

  EpochState(const Dataset& d, std::int64_t epoch, std::int64_t first_batch)
      : ds(d), count(d.num_batches()), index(first_batch) {
    LAMINA_CHECK(epoch >= 0, ValueError, "[Dataset] epoch must be >= 0, got ", epoch);
    if (ds.seed_ && index < count) order = shuffled_indices(ds.n_, *ds.seed_, epoch);
  }
  EpochState(const EpochState&) = delete;
  EpochState& operator=(const EpochState&) = delete;
  ~EpochState() {
    if (!pending) return;
    lamina::detail::TsanSpawnAndJoin join(tsan_tokens);
    tg.wait();  // the task reads this object: let it finish
  }

  void launch(std::int64_t i) {
    if (!ds.prefetch_ || i >= count) return;
    pending = true;
    {
      lamina::detail::TsanSpawn spawn(tsan_tokens);  // TBB's spawn, stated for ThreadSanitizer
      tg.run([this, i] {
        lamina::detail::TsanTaskBody body(tsan_tokens);
        try {
          next = ds.make_batch(order, i);
        } catch (...) {
          next_error = std::current_exception();
        }
      });
    }
  }
  Batch fetch(std::int64_t i) {
    if (!pending) return ds.make_batch(order, i);
    {
      lamina::detail::TsanSpawnAndJoin join(tsan_tokens);
      tg.wait();
    }
    pending = false;
    if (next_error) {
      auto e = std::exchange(next_error, nullptr);
      std::rethrow_exception(e);
    }
    return std::exchange(next, Batch{});
  }
};

Dataset::Epoch Dataset::epoch(std::int64_t epoch, std::int64_t first_batch) const {
  LAMINA_CHECK(epoch >= 0, ValueError, "[Dataset] epoch must be >= 0, got ", epoch);
  const std::int64_t nb = num_batches();
  LAMINA_CHECK(first_batch >= 0 && first_batch <= nb, ValueError, "[Dataset.epoch] first_batch must be in [0, ", nb,
               "] (batches per epoch), got ", first_batch);
  return Epoch(*this, epoch, first_batch);
}

Dataset::Iterator Dataset::Epoch::begin() const {
  auto state = std::make_shared<EpochState>(ds_, epoch_, first_batch_);
  if (state->index < state->count) {
    state->current = state->ds.make_batch(state->order, state->index);
    state->launch(state->index + 1);
  }
  return Iterator(std::move(state));
}

Batch& Dataset::Iterator::operator*() const {
  LAMINA_CHECK(state_ && state_->index < state_->count, IndexError,
               "[Dataset] dereferencing an iterator past the end of the epoch");
  return state_->current;
}

Dataset::Iterator& Dataset::Iterator::operator++() {
  LAMINA_CHECK(state_ && state_->index < state_->count, IndexError,
               "[Dataset] incrementing an iterator past the end of the epoch");
  EpochState& s = *state_;
  ++s.index;
  s.current = Batch{};
  if (s.index < s.count) {
    s.current = s.fetch(s.index);
    s.launch(s.index + 1);
  }
  return *this;
}

std::int64_t Dataset::Iterator::index() const { return state_ ? state_->index : 0; }

bool Dataset::Iterator::at_end() const { return !state_ || state_->index >= state_->count; }

// ---- maps ----------------------------------------------------------------------

Dataset::MapFn cast_x(DType dtype, double scale) {
  LAMINA_CHECK(scale == 1.0 || is_floating(dtype), ValueError, "[cast_x] scaling by ", scale,
               " needs a floating dtype, got ", dtype);
  return [dtype, scale](Batch b) {
    const Tensor& x = b.x;
    if (x.dtype() == DType::uint8 && dtype == DType::float32) {
      const Tensor src = x.contiguous();
      Tensor out = Tensor::empty(src.shape(), DType::float32);
      const std::uint8_t* s = src.data<std::uint8_t>();
      float* d = out.data<float>();
      const auto f = static_cast<float>(scale);
      detail::parallel_for(src.numel(), std::int64_t{1} << 18, [&](std::int64_t lo, std::int64_t hi) {
        for (std::int64_t i = lo; i < hi; ++i) d[i] = static_cast<float>(s[i]) * f;
      });
      b.x = std::move(out);
    } else if (scale == 1.0) {
      b.x = x.to(dtype);
    } else {
      b.x = core::mul(x.to(dtype), scale);
    }
    return b;
  };
}

}  // namespace lamina::data
