#include "lamina/layers/layer.h"

#include <algorithm>
#include <cctype>
#include <map>
#include <regex>
#include <set>
#include <typeinfo>

namespace lamina {

namespace {

// The per-thread stack of layer calls: its presence marks an inner call and
// carries the enclosing training flag.
struct CallStack {
  std::vector<CallContext> frames;
};

CallStack& call_stack() {
  thread_local CallStack s;
  return s;
}

}  // namespace

std::string to_snake_case(const std::string& name) {
  // Keras utils/naming.py: drop non-word characters, split before
  // Capitalized words and at lower->Upper boundaries, lowercase.
  static const std::regex non_word("[^A-Za-z0-9_]+"), word("(.)([A-Z][a-z]+)"), boundary("([a-z])([A-Z])");
  std::string s = std::regex_replace(name, non_word, "");
  s = std::regex_replace(s, word, "$1_$2");
  s = std::regex_replace(s, boundary, "$1_$2");
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

namespace detail {
namespace {
thread_local int t_skip_initialization = 0;
}  // namespace
SkipWeightInitialization::SkipWeightInitialization() { ++t_skip_initialization; }
SkipWeightInitialization::~SkipWeightInitialization() { --t_skip_initialization; }
bool skipping_weight_initialization() { return t_skip_initialization > 0; }

namespace {
constexpr std::int64_t kNoBudget = -1;
thread_local std::int64_t t_weight_bytes_left = kNoBudget;
}  // namespace
WeightBytesBudget::WeightBytesBudget(std::int64_t bytes) : previous_(t_weight_bytes_left) {
  t_weight_bytes_left = std::max<std::int64_t>(bytes, 0);
}
WeightBytesBudget::~WeightBytesBudget() { t_weight_bytes_left = previous_; }

// Takes a new weight's bytes from the budget, if one is active.
static void charge_weight_bytes(const std::string& layer, const std::string& weight, const Shape& shape, DType dtype) {
  if (t_weight_bytes_left == kNoBudget) return;
  // Overflow-safe: a crafted config may give extents whose product overflows.
  std::int64_t bytes = static_cast<std::int64_t>(itemsize(dtype));
  bool too_big = false;
  for (int i = 0; i < shape.size(); ++i) {
    const std::int64_t d = shape[i];
    if (d == 0) {
      bytes = 0;
      too_big = false;
      break;
    }
    if (d < 0 || __builtin_mul_overflow(bytes, d, &bytes)) too_big = true;
  }
  if (too_big || bytes > t_weight_bytes_left)
    throw ValueError(detail::concat("[", layer, "] weight '", weight, "' of shape ", shape, " (", dtype, ") needs ",
                            too_big ? std::string("more than 2^63") : std::to_string(bytes),
                            " bytes, but the weights being loaded leave only ", t_weight_bytes_left,
                            " bytes for it: the architecture does not match the stored weights"));
  t_weight_bytes_left -= bytes;
}
}  // namespace detail

std::string unique_layer_name(const std::string& prefix) {
  static std::mutex mutex;
  static std::map<std::string, int> counters;
  std::lock_guard lock(mutex);
  int n = counters[prefix]++;
  return n == 0 ? prefix : prefix + "_" + std::to_string(n);
}

LayerOptions LayerOptions::from_config(const Config& c) {
  LayerOptions o;
  o.name = c.get_or<std::string>("name", "");
  o.trainable = c.get_or("trainable", true);
  if (c.has("dtype")) o.dtype = dtype_from_name(c.get<std::string>("dtype"));
  if (c.has("activity_regularizer")) o.activity_regularizer = RegularizerRef::from_config_value(c.at("activity_regularizer"));
  return o;
}

Layer::Layer(std::string class_name, LayerOptions options)
    : class_name_(std::move(class_name)),
      name_(options.name.empty() ? unique_layer_name(to_snake_case(class_name_)) : options.name),
      dtype_(options.dtype),
      trainable_(options.trainable),
      activity_regularizer_(std::move(options.activity_regularizer)) {
  LAMINA_CHECK(name_.find('/') == std::string::npos, ValueError, "[", class_name_,
               "] layer names cannot contain '/', got '", name_, "'");
  LAMINA_CHECK(is_floating(dtype_), DTypeError, "[", class_name_, "] layer dtype must be float32 or float64, got ",
               dtype_);
}

Layer::~Layer() = default;

std::string Layer::path() const { return parent_ ? parent_->path() + "/" + name_ : name_; }

void Layer::shape_error(const std::string& message) const {
  throw ShapeError("[" + path() + "] " + message);
}

void Layer::ensure_built(const Shape& input_shape) {
  if (built_) return;
  std::lock_guard lock(build_mutex_);
  if (built_) return;
  building_ = true;
  try {
    build(input_shape);
  } catch (...) {
    building_ = false;
    throw;
  }
  building_ = false;
  build_shape_ = input_shape;
  built_ = true;
}

void Layer::build_for(const Shape& input_shape) { ensure_built(input_shape); }

Shape Layer::output_shape() const {
  std::lock_guard lock(output_shape_mutex_);
  return output_shape_;
}

namespace {
// Rethrows `e` (same type) with the layer named, as Keras's "Exception
// encountered when calling layer": an op failing deep inside a model then
// says which layer called it. Messages that name a layer already (the
// layer's own checks start with "[<path>]"; an inner layer's context was
// added where it failed) pass through unchanged.
[[noreturn]] void rethrow_in_layer(const Error& e, const std::string& path, const std::string& class_name) {
  const std::string what = e.what();
  if (what.rfind("[" + path, 0) == 0 || what.find("Exception encountered when calling layer") != std::string::npos)
    throw;
  const std::string msg = detail::concat("[", path, "] Exception encountered when calling layer '", path, "' (",
                                         class_name, "): ", what);
  // Only lamina's own types are rethrown anew: a user's subclass (thrown by a
  // custom layer) keeps its type, unchanged.
  const std::type_info& type = typeid(e);
  if (type == typeid(ShapeError)) throw ShapeError(msg);
  if (type == typeid(DTypeError)) throw DTypeError(msg);
  if (type == typeid(ValueError)) throw ValueError(msg);
  if (type == typeid(IndexError)) throw IndexError(msg);
  if (type == typeid(IOError)) throw IOError(msg);
  if (type == typeid(MemoryError)) throw MemoryError(msg);
  throw;
}
}  // namespace

Tensor Layer::operator()(const Tensor& inputs, std::optional<bool> training) {
  LAMINA_CHECK(inputs.defined(), ValueError, "[", path(), "] called with an undefined tensor");
  try {
    return call_with_context(inputs, training);
  } catch (const Error& e) {
    rethrow_in_layer(e, path(), class_name_);
  }
}

Tensor Layer::call_with_context(const Tensor& inputs, std::optional<bool> training) {
  auto& stack = call_stack();
  const bool outermost = stack.frames.empty();
  CallContext ctx;
  ctx.training = training ? *training : (outermost ? false : stack.frames.back().training);
  if (outermost) clear_losses();
  // Floating inputs are cast to the layer's dtype (Keras autocast); integer
  // inputs (e.g. Embedding indices) pass through.
  const Tensor x = is_floating(inputs.dtype()) && inputs.dtype() != dtype_ ? cast(inputs, dtype_) : inputs;
  ensure_built(x.shape());
  stack.frames.push_back(ctx);
  struct Pop {
    CallStack& s;
    ~Pop() { s.frames.pop_back(); }
  } pop{stack};
  Tensor y = call(x, ctx);
  {
    std::lock_guard lock(output_shape_mutex_);
    if (output_shape_.empty()) output_shape_ = y.shape();
  }
  if (activity_regularizer_ && y.ndim() > 0) {
    const double batch = static_cast<double>(y.shape()[0]);
    add_loss(div(activity_regularizer_->operator()(y), batch > 0 ? batch : 1.0));
  }
  return y;
}

Variable Layer::add_weight(const std::string& name, const Shape& shape, InitializerRef initializer, bool trainable,
                           RegularizerRef regularizer, ConstraintRef constraint, std::optional<DType> dtype) {
  LAMINA_CHECK(!built_, ValueError, "[", path(), "] You cannot add new elements of state (variables or sub-layers) "
               "to a layer that is already built. All state must be created in the constructor or in build().");
  const DType dt = dtype.value_or(dtype_);
  if (!initializer) initializer = is_floating(dt) ? InitializerRef("glorot_uniform") : InitializerRef("zeros");
  detail::charge_weight_bytes(path(), name, shape, dt);
  Tensor initial = detail::skipping_weight_initialization() ? zeros(shape, dt) : (*initializer)(shape, dt);
  Variable v(initial, name_ + "/" + name, trainable && trainable_);
  weights_.push_back({v, std::move(regularizer), std::move(constraint), trainable});
  return v;
}

void Layer::add_loss(const Tensor& loss) {
  LAMINA_CHECK(loss.defined() && loss.numel() == 1, ShapeError, "[", path(),
               "] add_loss expects a scalar tensor, got shape ", loss.defined() ? loss.shape().str() : "undefined");
  std::lock_guard lock(losses_mutex_);
  added_losses_.push_back(loss.ndim() == 0 ? loss : reshape(loss, Shape{}));
}

void Layer::track_layer(const std::shared_ptr<Layer>& layer) {
  LAMINA_CHECK(layer != nullptr, ValueError, "[", path(), "] cannot track a null layer");
  LAMINA_CHECK(!built_, ValueError, "[", path(), "] You cannot add new elements of state (variables or sub-layers) "
               "to a layer that is already built.");
  for (const auto& l : sublayers_)
    if (l == layer) return;
  layer->parent_ = this;
  sublayers_.push_back(layer);
}

void Layer::set_trainable(bool trainable) {
  trainable_ = trainable;
  for (auto& w : weights_) w.variable.set_trainable(trainable && w.created_trainable);
  for (auto& l : sublayers_) l->set_trainable(trainable);
}

void Layer::collect_weights(std::vector<Variable>& out) const {
  auto add = [&out](const Variable& v) {
    for (const auto& e : out)
      if (e.same(v)) return;
    out.push_back(v);
  };
  for (const auto& w : weights_)
    if (w.created_trainable) add(w.variable);
  for (const auto& w : weights_)
    if (!w.created_trainable) add(w.variable);
  for (const auto& l : sublayers_) l->collect_weights(out);
}

std::vector<Variable> Layer::weights() const {
  std::vector<Variable> out;
  collect_weights(out);
  return out;
}

std::vector<Variable> Layer::trainable_weights() const {
  std::vector<Variable> out;
  for (auto& v : weights())
    if (v.trainable()) out.push_back(v);
  return out;
}

std::vector<Variable> Layer::non_trainable_weights() const {
  std::vector<Variable> out;
  for (auto& v : weights())
    if (!v.trainable()) out.push_back(v);
  return out;
}

std::vector<Tensor> Layer::get_weights() const {
  std::vector<Tensor> out;
  for (auto& v : weights()) out.push_back(v.value().clone());
  return out;
}

void Layer::set_weights(const std::vector<Tensor>& values) {
  auto ws = weights();
  LAMINA_CHECK(values.size() == ws.size(), ValueError, "[", path(), "] set_weights expected ", ws.size(),
               " arrays, got ", values.size());
  for (std::size_t i = 0; i < ws.size(); ++i)
    LAMINA_CHECK(values[i].defined() && values[i].shape() == ws[i].shape(), ShapeError, "[", path(),
                 "] set_weights: weight '", ws[i].name(), "' has shape ", ws[i].shape(), ", got ",
                 values[i].defined() ? values[i].shape().str() : "undefined");
  for (std::size_t i = 0; i < ws.size(); ++i) ws[i].assign(values[i]);
}

std::int64_t Layer::count_params(bool trainable_only) const {
  std::int64_t n = 0;
  for (auto& v : trainable_only ? trainable_weights() : weights()) n += v.numel();
  return n;
}

void Layer::collect_added_losses(std::vector<Tensor>& out) const {
  {
    std::lock_guard lock(losses_mutex_);
    out.insert(out.end(), added_losses_.begin(), added_losses_.end());
  }
  for (const auto& l : sublayers_) l->collect_added_losses(out);
}

void Layer::collect_regularized(std::vector<std::pair<Variable, const Regularizer*>>& out) const {
  for (const auto& w : weights_)
    if (w.regularizer) out.emplace_back(w.variable, w.regularizer.get());
  for (const auto& l : sublayers_) l->collect_regularized(out);
}

std::vector<Tensor> Layer::losses() const {
  std::vector<Tensor> out;
  collect_added_losses(out);
  // Keras 3: penalties only for weights that are currently trainable.
  std::vector<std::pair<Variable, const Regularizer*>> regs;
  collect_regularized(regs);
  for (const auto& v : trainable_weights())
    for (const auto& [var, reg] : regs)
      if (var.same(v)) {
        out.push_back((*reg)(var.value()));
        break;
      }
  return out;
}

void Layer::clear_losses() {
  {
    std::lock_guard lock(losses_mutex_);
    added_losses_.clear();
  }
  for (auto& l : sublayers_) l->clear_losses();
}

namespace {

// Every nested sublayer of `l` with its path relative to `l`, depth-first.
void collect_sublayers(const Layer& l, const std::string& prefix, std::vector<std::pair<Layer*, std::string>>& out) {
  for (const auto& sub : l.layers()) {
    const std::string p = prefix.empty() ? sub->name() : prefix + "/" + sub->name();
    out.emplace_back(sub.get(), p);
    collect_sublayers(*sub, p, out);
  }
}

std::size_t depth_of(const std::string& path) {
  return static_cast<std::size_t>(std::count(path.begin(), path.end(), '/'));
}

}  // namespace

Config Layer::get_config() const {
  Config c;
  c.set("name", name_).set("trainable", trainable_).set("dtype", std::string(dtype_name(dtype_)));
  if (activity_regularizer_) c.set("activity_regularizer", activity_regularizer_.to_config_value());
  if (!sublayers_.empty()) {
    std::vector<std::pair<Layer*, std::string>> subs;
    collect_sublayers(*this, "", subs);
    ConfigList names;
    for (const auto& [l, p] : subs) names.emplace_back(p);
    c.set("sublayer_names", names);
  }
  return c;
}

void restore_sublayer_names(Layer& layer, const Config& config, bool even_if_built) {
  if (!config.has("sublayer_names")) return;
  const auto* list = std::get_if<ConfigList>(&config.at("sublayer_names").value);
  LAMINA_CHECK(list != nullptr, ValueError, "[", layer.class_name(), "] config 'sublayer_names' must be a list of paths");
  // The recorded tree must be well formed, in depth-first order: each path is
  // an open ancestor's (the last path one level up, not closed by a shallower
  // one since) plus "/" and a non-empty name; no path repeats. Linear time.
  std::vector<std::string> saved;
  std::vector<std::size_t> depths;
  std::vector<const std::string*> open;  // open[d]: the current path at depth d
  std::set<std::string> seen;
  for (const auto& v : *list) {
    const auto* s = std::get_if<std::string>(&v.value);
    LAMINA_CHECK(s != nullptr, ValueError, "[", layer.class_name(), "] config 'sublayer_names' must hold strings");
    const std::size_t d = depth_of(*s);
    const std::size_t start = d == 0 ? 0 : d <= open.size() ? open[d - 1]->size() + 1 : 0;
    const bool ok = d <= open.size() && s->size() > start && s->back() != '/' &&
                    (d == 0 || (s->compare(0, start - 1, *open[d - 1]) == 0 && (*s)[start - 1] == '/')) &&
                    seen.insert(*s).second;
    LAMINA_CHECK(ok, ValueError, "[", layer.class_name(), "] config 'sublayer_names' has a bad or repeated path '", *s,
                 "'");
    saved.push_back(*s);
    depths.push_back(d);
    open.resize(d);
    open.push_back(&*seen.find(*s));  // std::set nodes do not move
  }
  if (layer.built() && !even_if_built) return;
  std::vector<std::pair<Layer*, std::string>> subs;
  collect_sublayers(layer, "", subs);
  if (subs.size() != saved.size()) return;
  for (std::size_t i = 0; i < subs.size(); ++i)
    if (depth_of(subs[i].second) != depths[i]) return;
  for (std::size_t i = 0; i < subs.size(); ++i)
    subs[i].first->name_ = saved[i].substr(saved[i].rfind('/') + 1);
}

Shape Layer::compute_output_shape(const Shape& input_shape) {
  NoRecord guard;
  Shape probe = input_shape;
  return (*this)(zeros(probe, dtype_)).shape();
}

void Layer::apply_constraints() {
  for (auto& w : weights_)
    if (w.constraint) w.variable.assign((*w.constraint)(w.variable.value()));
  for (auto& l : sublayers_) l->apply_constraints();
}

}  // namespace lamina
