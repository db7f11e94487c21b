#include "lamina/optim/optimizer.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <sstream>

#include "lamina/core/detail/grain.h"
#include "lamina/core/detail/parallel.h"
#include "lamina/core/error.h"
#include "lamina/optim/clipping.h"
#include "lamina/optim/kernels/update_kernels.h"

namespace lamina::optim {

namespace {

std::string optional_str(const std::optional<double>& v) {
  if (!v) return "None";
  std::ostringstream os;
  os << *v;
  return os.str();
}

// Keras names a slot "<variable path with '/' -> '_'>_<slot>".
std::string slot_variable_name(const std::string& var_name, const std::string& slot) {
  std::string s = var_name;
  std::replace(s.begin(), s.end(), '/', '_');
  return s + "_" + slot;
}

bool is_cheap(detail::UpdateRule rule) {
  return rule == detail::UpdateRule::sgd || rule == detail::UpdateRule::sgd_momentum ||
         rule == detail::UpdateRule::sgd_nesterov;
}

template <class T>
void run_fused(detail::UpdateRule rule, const Tensor& grad, const Variable& var, std::span<const Variable> slots,
               const detail::UpdateParams<T>& p) {
  Tensor w = var.value();
  T* wp = w.data<T>();
  const T* gp = grad.data<T>();
  T* sp[3] = {nullptr, nullptr, nullptr};
  for (std::size_t i = 0; i < slots.size() && i < 3; ++i) {
    Tensor s = slots[i].value();
    sp[i] = s.data<T>();
  }
  const detail::UpdateFn<T> fn = detail::update_kernels_for<T>().update[static_cast<int>(rule)];
  // Updates with sqrt/div cost more per element than SGD's multiply-adds.
  const std::int64_t grain = is_cheap(rule) ? lamina::detail::kGrainCheap : lamina::detail::kGrainCheap / 4;
  auto at = [](T* base, std::int64_t off) { return base ? base + off : nullptr; };
  lamina::detail::parallel_for(w.numel(), grain, [&](std::int64_t b, std::int64_t e) {
    fn(wp + b, gp + b, at(sp[0], b), at(sp[1], b), at(sp[2], b), e - b, &p);
  });
}

}  // namespace

Optimizer::Optimizer(std::string_view class_name, OptimizerOptions options)
    : class_name_(class_name), options_(std::move(options)) {
  const int clip_args = int(options_.clipnorm.has_value()) + int(options_.clipvalue.has_value()) +
                        int(options_.global_clipnorm.has_value());
  LAMINA_CHECK(clip_args <= 1, ValueError, "[", class_name_,
               "] Only one of `clipnorm`, `clipvalue` and `global_clipnorm` can be set. Received: clipnorm=",
               optional_str(options_.clipnorm), ", clipvalue=", optional_str(options_.clipvalue),
               ", global_clipnorm=", optional_str(options_.global_clipnorm));
  check_learning_rate(options_.learning_rate);
  iterations_ = Variable(Tensor::scalar(0, DType::int64), "iteration", /*trainable=*/false);
}

void Optimizer::check_hyperparameter(std::string_view name, double value, double lo, double hi) const {
  LAMINA_CHECK(value >= lo && value <= hi, ValueError, "[", class_name_, "] `", name, "` must be in [", lo, ", ", hi,
               "]. Received: ", name, "=", value);
}

void Optimizer::check_learning_rate(const LearningRate& lr) const {
  if (lr.is_schedule()) return;
  check_hyperparameter("learning_rate", lr.value(), 0.0, std::numeric_limits<double>::max());
}

Optimizer::~Optimizer() = default;

std::int64_t Optimizer::iterations() const { return iterations_.value().item<std::int64_t>(); }

double Optimizer::learning_rate() const { return options_.learning_rate(iterations()); }

void Optimizer::set_learning_rate(double lr) { options_.learning_rate = LearningRate(lr); }

void Optimizer::set_learning_rate(LearningRate lr) {
  check_learning_rate(lr);
  options_.learning_rate = std::move(lr);
}

std::vector<std::string> Optimizer::slot_names() const {
  std::vector<std::string> names;
  for (const SlotSpec& s : slot_specs()) names.push_back(s.name);
  return names;
}

const Optimizer::Entry& Optimizer::ensure_slots(const Variable& var) {
  auto it = index_.find(var.key());
  if (it != index_.end()) return entries_[it->second];
  Entry e;
  e.var = var;  // keeps the variable (and so its key) alive
  for (const SlotSpec& s : slot_specs())
    e.slots.emplace_back(full(var.shape(), s.initial_value, var.dtype()), slot_variable_name(var.name(), s.name),
                         /*trainable=*/false);
  index_.emplace(var.key(), entries_.size());
  entries_.push_back(std::move(e));
  return entries_.back();
}

void Optimizer::build(const std::vector<Variable>& vars) {
  for (const Variable& v : vars) {
    LAMINA_CHECK(v.defined(), ValueError, "[", class_name_, "] build: variable is undefined");
    LAMINA_CHECK(is_floating(v.dtype()), DTypeError, "[", class_name_, "] variable '", v.name(), "' has dtype ",
                 v.dtype(), "; optimizers update float32 or float64 variables");
  }
  for (const Variable& v : vars) ensure_slots(v);
}

std::vector<Variable> Optimizer::variables() const {
  std::vector<Variable> out{iterations_};
  for (const Entry& e : entries_) out.insert(out.end(), e.slots.begin(), e.slots.end());
  return out;
}

std::vector<Variable> Optimizer::tracked_variables() const {
  std::vector<Variable> out;
  for (const Entry& e : entries_) out.push_back(e.var);
  return out;
}

Variable Optimizer::get_slot(const Variable& var, std::string_view slot_name) const {
  const std::vector<std::string> names = slot_names();
  auto pos = std::find(names.begin(), names.end(), slot_name);
  if (pos == names.end()) {
    std::ostringstream known;
    for (std::size_t i = 0; i < names.size(); ++i) known << (i ? ", " : "") << names[i];
    throw ValueError(lamina::detail::concat("[", class_name_, "] unknown slot '", slot_name, "'; this optimizer has: ",
                                            names.empty() ? std::string("(no slots)") : known.str()));
  }
  auto it = index_.find(var.key());
  if (it == index_.end()) return Variable();
  return entries_[it->second].slots[static_cast<std::size_t>(pos - names.begin())];
}

void Optimizer::exclude_from_weight_decay(const std::vector<Variable>& vars,
                                          const std::vector<std::string>& var_names) {
  wd_excluded_.insert(wd_excluded_.end(), vars.begin(), vars.end());
  wd_excluded_names_.insert(wd_excluded_names_.end(), var_names.begin(), var_names.end());
}

bool Optimizer::uses_weight_decay(const Variable& var) const {
  for (const Variable& v : wd_excluded_)
    if (v.same(var)) return false;
  for (const std::string& n : wd_excluded_names_)
    if (var.name().find(n) != std::string::npos) return false;
  return true;
}

void Optimizer::apply_gradients(const std::vector<Tensor>& grads, const std::vector<Variable>& vars) {
  LAMINA_CHECK(grads.size() == vars.size(), ValueError, "[", class_name_, "] apply_gradients got ", grads.size(),
               " gradients for ", vars.size(), " variables");
  if (grads.empty()) return;

  // Validate everything before touching any state.
  struct Item {
    Tensor grad;
    const Variable* var;
  };
  std::vector<Item> items;
  items.reserve(grads.size());
  for (std::size_t i = 0; i < grads.size(); ++i) {
    const Variable& v = vars[i];
    LAMINA_CHECK(v.defined(), ValueError, "[", class_name_, "] variable ", i, " is undefined");
    if (!grads[i].defined()) continue;  // Keras drops None gradients
    const Tensor& g = grads[i];
    LAMINA_CHECK(is_floating(v.dtype()), DTypeError, "[", class_name_, "] variable '", v.name(), "' has dtype ",
                 v.dtype(), "; optimizers update float32 or float64 variables");
    LAMINA_CHECK(g.shape() == v.shape(), ShapeError, "[", class_name_, "] gradient for variable '", v.name(),
                 "' has shape ", g.shape(), ", the variable has shape ", v.shape());
    LAMINA_CHECK(g.dtype() == v.dtype(), DTypeError, "[", class_name_, "] gradient for variable '", v.name(),
                 "' has dtype ", g.dtype(), ", the variable has dtype ", v.dtype());
    items.push_back({g.contiguous(), &v});
  }

  StepInfo info;
  info.iterations = iterations();
  info.learning_rate = options_.learning_rate(info.iterations);

  // Clipping factors (Keras applies clipping only for a positive setting).
  std::vector<double> scales(items.size(), 1.0);
  if (options_.clipnorm && *options_.clipnorm > 0) {
    for (std::size_t i = 0; i < items.size(); ++i) scales[i] = clipnorm_scale(l2_norm(items[i].grad), *options_.clipnorm);
  } else if (options_.global_clipnorm && *options_.global_clipnorm > 0) {
    double s = 0;
    for (const Item& it : items) s += sum_of_squares(it.grad);
    std::fill(scales.begin(), scales.end(), global_clipnorm_scale(std::sqrt(s), *options_.global_clipnorm));
  } else if (options_.clipvalue && *options_.clipvalue > 0) {
    info.clipvalue = options_.clipvalue;
  }

  for (std::size_t i = 0; i < items.size(); ++i) {
    const Variable& v = *items[i].var;
    const Entry& e = ensure_slots(v);
    info.grad_scale = scales[i];
    info.decay = options_.weight_decay && uses_weight_decay(v) ? *options_.weight_decay * info.learning_rate : 0.0;
    update_step(items[i].grad, v, e.slots, info);
  }

  Tensor it = iterations_.value();
  it.data<std::int64_t>()[0] += 1;
}

void Optimizer::fused_update(detail::UpdateRule rule, const Tensor& grad, const Variable& var,
                             std::span<const Variable> slots, const StepInfo& info, const RuleScalars& s) {
  auto params = [&]<class T>(T) {
    detail::UpdateParams<T> p{};
    p.lr = static_cast<T>(s.lr);
    p.momentum = static_cast<T>(s.momentum);
    p.one_minus_b1 = static_cast<T>(s.one_minus_b1);
    p.one_minus_b2 = static_cast<T>(s.one_minus_b2);
    p.rho = static_cast<T>(s.rho);
    p.one_minus_rho = static_cast<T>(s.one_minus_rho);
    p.epsilon = static_cast<T>(s.epsilon);
    p.grad_scale = static_cast<T>(info.grad_scale);
    p.clip = static_cast<T>(info.clipvalue.value_or(0.0));
    p.clip_value = info.clipvalue ? 1 : 0;
    p.decay = static_cast<T>(info.decay);
    return p;
  };
  if (var.dtype() == DType::float32) run_fused<float>(rule, grad, var, slots, params(float{}));
  else run_fused<double>(rule, grad, var, slots, params(double{}));
}

}  // namespace lamina::optim
