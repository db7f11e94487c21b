// The tape: recording, tracking, and the reverse sweep of gradient().
#include "lamina/autograd/tape.h"

#include <algorithm>
#include <atomic>
#include <unordered_map>
#include <unordered_set>

#include "lamina/autograd/detail/record.h"
#include "lamina/autograd/ops.h"

namespace lamina {

namespace {

std::atomic<std::uint64_t> g_next_id{1};
std::atomic<std::uint64_t> g_next_tape{1};

struct Node {
  std::array<std::uint64_t, detail::kMaxOpInputs> inputs{};  // 0 = input not tracked by this tape
  int n_inputs = 0;
  std::uint64_t output = 0;
  detail::BackwardFn backward;
};

}  // namespace

struct GradientTape::Impl {
  std::uint64_t serial = g_next_tape.fetch_add(1);
  bool persistent = false;
  bool used = false;
  // Records nothing: while computing its own gradient, and for good once a
  // non-persistent tape has answered its one gradient() call (TensorFlow
  // stops such a tape at that call too).
  bool paused = false;
  std::vector<Node> nodes;

  bool tracks(const detail::AutogradMeta* m) const {
    if (!m) return false;
    if (m->is_variable && m->trainable.load(std::memory_order_relaxed)) return true;
    for (int i = 0; i < m->tape_count; ++i)
      if (m->tapes[i] == serial) return true;
    return std::find(m->more_tapes.begin(), m->more_tapes.end(), serial) != m->more_tapes.end();
  }
};

namespace {

struct ThreadState {
  std::vector<GradientTape::Impl*> tapes;  // active tapes, outermost first
  int no_record = 0;
};

ThreadState& thread_state() {
  thread_local ThreadState s;
  return s;
}

// Marks `t` as tracked by tape `serial`. Serials of tapes no longer alive on
// this thread are dropped first; when more tapes than the inline slots are
// alive at once (deep nesting), the rest go to the overflow list, so no live
// tape ever stops tracking a tensor.
void add_tape(detail::AutogradMeta& m, std::uint64_t serial) {
  for (int i = 0; i < m.tape_count; ++i)
    if (m.tapes[i] == serial) return;
  if (std::find(m.more_tapes.begin(), m.more_tapes.end(), serial) != m.more_tapes.end()) return;
  if (m.tape_count == static_cast<int>(m.tapes.size())) {
    auto live = [](std::uint64_t s) {
      for (auto* a : thread_state().tapes)
        if (a->serial == s) return true;
      return false;
    };
    int kept = 0;
    for (int i = 0; i < m.tape_count; ++i)
      if (live(m.tapes[i])) m.tapes[kept++] = m.tapes[i];
    m.tape_count = kept;
    std::erase_if(m.more_tapes, [&](std::uint64_t s) { return !live(s); });
    if (m.tape_count == static_cast<int>(m.tapes.size())) {
      m.more_tapes.push_back(serial);
      return;
    }
  }
  m.tapes[m.tape_count++] = serial;
}

}  // namespace

namespace detail {

AutogradMeta& ensure_meta(const Tensor& t) {
  auto* impl = t.impl();
  if (!impl->autograd) {
    auto m = std::make_unique<AutogradMeta>();
    m->id = g_next_id.fetch_add(1, std::memory_order_relaxed);
    impl->autograd = std::move(m);
  }
  return *static_cast<AutogradMeta*>(impl->autograd.get());
}

int recording_depth() {
  auto& s = thread_state();
  if (s.no_record) return 0;
  int n = 0;
  for (auto* t : s.tapes) n += !t->paused;
  return n;
}

bool should_record(std::initializer_list<const Tensor*> inputs) {
  auto& s = thread_state();
  if (s.tapes.empty() || s.no_record) return false;
  for (const Tensor* in : inputs) {
    const AutogradMeta* m = meta_of(*in);
    if (!m) continue;
    for (auto* t : s.tapes)
      if (!t->paused && t->tracks(m)) return true;
  }
  return false;
}

void record(std::initializer_list<const Tensor*> inputs, const Tensor& output, BackwardFn backward) {
  auto& s = thread_state();
  AutogradMeta* out_meta = nullptr;
  // Each recording tape owns its copy of `backward` (each frees its own);
  // the last one takes the original, so one tape (the usual case) copies
  // nothing. A node stays put until its tape records again, which is after
  // this call.
  Node* previous = nullptr;
  for (auto* tape : s.tapes) {
    if (tape->paused) continue;
    Node node;
    bool any = false;
    int i = 0;
    for (const Tensor* in : inputs) {
      const AutogradMeta* m = meta_of(*in);
      if (tape->tracks(m)) {
        node.inputs[i] = m->id;
        any = true;
      }
      ++i;
    }
    if (!any) continue;
    if (!out_meta) out_meta = &ensure_meta(output);
    add_tape(*out_meta, tape->serial);
    node.n_inputs = i;
    node.output = out_meta->id;
    if (previous) previous->backward = backward;
    tape->nodes.push_back(std::move(node));
    previous = &tape->nodes.back();
  }
  if (previous) previous->backward = std::move(backward);
}

}  // namespace detail

GradientTape::GradientTape(bool persistent) : impl_(std::make_unique<Impl>()) {
  impl_->persistent = persistent;
  thread_state().tapes.push_back(impl_.get());
}

GradientTape::~GradientTape() {
  auto& tapes = thread_state().tapes;
  tapes.erase(std::remove(tapes.begin(), tapes.end(), impl_.get()), tapes.end());
}

bool GradientTape::persistent() const { return impl_->persistent; }
std::size_t GradientTape::size() const { return impl_->nodes.size(); }

void GradientTape::watch(const Tensor& t) {
  LAMINA_CHECK(t.defined(), ValueError, "[GradientTape.watch] cannot watch an undefined tensor");
  LAMINA_CHECK(is_floating(t.dtype()), DTypeError, "[GradientTape.watch] only float tensors can be watched, got ",
               t.dtype());
  add_tape(detail::ensure_meta(t), impl_->serial);
}

namespace {

// grads[id] += g, in place when nobody else holds the accumulated tensor.
void accumulate(std::unordered_map<std::uint64_t, Tensor>& grads, std::uint64_t id, Tensor g) {
  auto [it, inserted] = grads.try_emplace(id, g);
  if (inserted) return;
  Tensor& acc = it->second;
  const bool exclusive = acc.impl()->refs.load() == 1 && acc.impl()->storage->refs.load() == 1 &&
                         acc.is_contiguous() && acc.shape() == g.shape();
  if (exclusive && detail::recording_depth() == 0) {
    core::add_(acc, g);
  } else {
    acc = lamina::add(acc, g);
  }
}

// t.contiguous(), recorded on the active tapes tracking t (identity gradient).
Tensor dense_copy(const Tensor& t) {
  Tensor y = t.contiguous();
  detail::record_unary(t, y, [](const Tensor& g, detail::Grads& gi, const detail::Needs&) { gi[0] = g; });
  return y;
}

}  // namespace

std::vector<Tensor> GradientTape::gradient(const Tensor& target, const std::vector<Tensor>& sources,
                                           const Tensor& output_gradient, UnconnectedGradients unconnected) {
  Impl& tape = *impl_;
  LAMINA_CHECK(tape.persistent || !tape.used, ValueError,
               "[GradientTape.gradient] a non-persistent tape can compute gradients only once; "
               "use GradientTape(/*persistent=*/true) to call gradient() several times");
  LAMINA_CHECK(target.defined(), ValueError, "[GradientTape.gradient] target is undefined");
  for (std::size_t i = 0; i < sources.size(); ++i) {
    LAMINA_CHECK(sources[i].defined(), ValueError, "[GradientTape.gradient] source ", i, " is undefined");
    LAMINA_CHECK(is_floating(sources[i].dtype()), DTypeError, "[GradientTape.gradient] source ", i,
                 " has dtype ", sources[i].dtype(), "; gradients exist only for float tensors");
  }
  if (output_gradient.defined()) {
    LAMINA_CHECK(output_gradient.shape() == target.shape(), ShapeError,
                 "[GradientTape.gradient] output_gradient has shape ", output_gradient.shape(),
                 ", target has shape ", target.shape());
  } else {
    LAMINA_CHECK(target.numel() == 1, ShapeError, "[GradientTape.gradient] target of shape ", target.shape(),
                 " is not a scalar; pass output_gradient of that shape");
  }
  tape.used = true;
  tape.paused = true;
  struct Resume {
    Impl& t;
    ~Resume() { t.paused = !t.persistent; }
  } resume{tape};

  // Forward reachability from the sources: only nodes depending on a source
  // run their backward, and only for the inputs that lead to a source.
  std::unordered_set<std::uint64_t> source_ids;
  for (const Tensor& s : sources)
    if (auto* m = detail::meta_of(s)) source_ids.insert(m->id);
  std::unordered_set<std::uint64_t> reach = source_ids;
  for (const Node& n : tape.nodes)
    for (int i = 0; i < n.n_inputs; ++i)
      if (n.inputs[i] && reach.count(n.inputs[i])) {
        reach.insert(n.output);
        break;
      }

  // A target the tape did not record (no autograd state, e.g. computed with
  // raw core:: ops) reaches no source: every source is unconnected, as with
  // TensorFlow's tape.
  std::unordered_map<std::uint64_t, Tensor> grads;
  const auto* target_meta = detail::meta_of(target);
  if (target_meta) {
    Tensor seed = output_gradient.defined() ? output_gradient.to(target.dtype()) : ones_like(target);
    grads.emplace(target_meta->id, seed);
    for (auto it = tape.nodes.rbegin(); it != tape.nodes.rend(); ++it) {
      Node& n = *it;
      // A non-persistent tape releases each node's saved tensors as soon as
      // the sweep has passed it, whether or not its backward ran.
      struct Release {
        Node& n;
        bool now;
        ~Release() {
          if (now) n.backward = nullptr;
        }
      } release{n, !tape.persistent};
      if (!reach.count(n.output)) continue;
      auto g = grads.find(n.output);
      if (g == grads.end()) continue;
      detail::Needs needs{};
      bool any = false;
      for (int i = 0; i < n.n_inputs; ++i) any |= needs[i] = n.inputs[i] != 0 && reach.count(n.inputs[i]) > 0;
      if (any) {
        LAMINA_CHECK(n.backward != nullptr, ValueError, "[GradientTape.gradient] tape state was released");
        detail::Grads in_grads;
        n.backward(g->second, in_grads, needs);
        for (int i = 0; i < n.n_inputs; ++i)
          if (needs[i] && in_grads[i].defined()) accumulate(grads, n.inputs[i], std::move(in_grads[i]));
      }
      // Each tensor is the output of one node, recorded after every node
      // reading it: its gradient is complete here and no longer needed
      // unless it is asked for.
      if (!source_ids.count(n.output)) grads.erase(n.output);
    }
  }
  if (!tape.persistent) tape.nodes.clear();

  std::vector<Tensor> out;
  out.reserve(sources.size());
  for (const Tensor& s : sources) {
    const auto* m = detail::meta_of(s);
    auto it = m ? grads.find(m->id) : grads.end();
    if (it != grads.end()) {
      // Broadcast gradients may be stride-0 views, and transposes strided
      // ones: hand out dense tensors, through a recorded copy when an outer
      // tape records (a raw copy would cut the chain to second order).
      out.push_back(it->second.is_contiguous() ? it->second : dense_copy(it->second));
    } else {
      out.push_back(unconnected == UnconnectedGradients::zero ? zeros_like(s) : Tensor());
    }
  }
  return out;
}

std::vector<Tensor> GradientTape::gradient(const Tensor& target, const std::vector<Variable>& sources,
                                           const Tensor& output_gradient, UnconnectedGradients unconnected) {
  std::vector<Tensor> values;
  values.reserve(sources.size());
  for (const auto& v : sources) values.push_back(v.value());
  return gradient(target, values, output_gradient, unconnected);
}

NoRecord::NoRecord() { ++thread_state().no_record; }
NoRecord::~NoRecord() { --thread_state().no_record; }

Tensor stop_gradient(const Tensor& x) { return x.view(x.shape()); }

bool is_recording() { return detail::recording_depth() > 0; }

}  // namespace lamina
