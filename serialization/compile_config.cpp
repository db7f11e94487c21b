// Config conversion of optimizer, schedule and loss config structs, for the
// compile settings of model files (serialization/detail/compile_config.h).
#include "lamina/serialization/detail/compile_config.h"

#include <optional>
#include <set>
#include <type_traits>

#include "lamina/core/error.h"
#include "lamina/optim/adagrad.h"
#include "lamina/optim/adam.h"
#include "lamina/optim/rmsprop.h"
#include "lamina/optim/schedules.h"
#include "lamina/optim/sgd.h"

namespace lamina::detail {
namespace {

// ---------------------------------------------------------------------------
// Config conversion of optimizer, schedule and loss config structs.

template <class T>
struct is_opt : std::false_type {};
template <class T>
struct is_opt<std::optional<T>> : std::true_type {};

ConfigValue schedule_to_value(const optim::LearningRateSchedule& s);

template <class F>
ConfigValue to_cv(const F& f) {
  if constexpr (std::is_same_v<F, optim::LearningRate>) {
    return f.is_schedule() ? schedule_to_value(*f.schedule()) : ConfigValue(f.value());
  } else if constexpr (std::is_same_v<F, losses::Reduction>) {
    return ConfigValue(std::string(losses::reduction_name(f)));
  } else if constexpr (is_opt<F>::value) {
    return f ? to_cv(*f) : ConfigValue();
  } else if constexpr (std::is_same_v<F, bool>) {
    return ConfigValue(f);
  } else if constexpr (std::is_integral_v<F>) {
    return ConfigValue(static_cast<std::int64_t>(f));
  } else if constexpr (std::is_floating_point_v<F>) {
    return ConfigValue(static_cast<double>(f));
  } else if constexpr (std::is_same_v<F, std::string>) {
    return ConfigValue(f);
  } else if constexpr (std::is_same_v<F, std::vector<double>> || std::is_same_v<F, std::vector<std::int64_t>>) {
    ConfigList l;
    for (auto x : f) l.emplace_back(x);
    return ConfigValue(std::move(l));
  } else {
    static_assert(!sizeof(F), "unsupported config field type");
  }
}

std::shared_ptr<const optim::LearningRateSchedule> schedule_from_value(const Config& env);

[[noreturn]] void bad_field(const std::string& who, const std::string& key, const char* expected) {
  throw ValueError(detail::concat("[load] ", who, ": field '", key, "' must be ", expected));
}

double as_double(const ConfigValue& v, const std::string& who, const std::string& key) {
  if (auto* d = std::get_if<double>(&v.value)) return *d;
  if (auto* i = std::get_if<std::int64_t>(&v.value)) return static_cast<double>(*i);
  bad_field(who, key, "a number");
}

template <class F>
void from_cv(F& f, const ConfigValue& v, const std::string& who, const std::string& key) {
  if constexpr (std::is_same_v<F, optim::LearningRate>) {
    if (auto* c = std::get_if<Config>(&v.value)) {
      auto s = schedule_from_value(*c);
      f = optim::LearningRate(std::const_pointer_cast<optim::LearningRateSchedule>(s));
    } else {
      f = optim::LearningRate(as_double(v, who, key));
    }
  } else if constexpr (std::is_same_v<F, losses::Reduction>) {
    auto* s = std::get_if<std::string>(&v.value);
    if (!s) bad_field(who, key, "a reduction name");
    f = losses::parse_reduction(*s);
  } else if constexpr (is_opt<F>::value) {
    if (v.is_null()) f.reset();
    else {
      typename F::value_type inner{};
      from_cv(inner, v, who, key);
      f = inner;
    }
  } else if constexpr (std::is_same_v<F, bool>) {
    auto* b = std::get_if<bool>(&v.value);
    if (!b) bad_field(who, key, "a bool");
    f = *b;
  } else if constexpr (std::is_integral_v<F>) {
    auto* i = std::get_if<std::int64_t>(&v.value);
    if (!i) bad_field(who, key, "an integer");
    f = static_cast<F>(*i);
  } else if constexpr (std::is_floating_point_v<F>) {
    f = static_cast<F>(as_double(v, who, key));
  } else if constexpr (std::is_same_v<F, std::string>) {
    auto* s = std::get_if<std::string>(&v.value);
    if (!s) bad_field(who, key, "a string");
    f = *s;
  } else {  // vectors
    auto* l = std::get_if<ConfigList>(&v.value);
    if (!l) bad_field(who, key, "a list");
    f.clear();
    for (const auto& e : *l) {
      if constexpr (std::is_same_v<F, std::vector<double>>) f.push_back(as_double(e, who, key));
      else {
        auto* i = std::get_if<std::int64_t>(&e.value);
        if (!i) bad_field(who, key, "a list of integers");
        f.push_back(*i);
      }
    }
  }
}

template <class C>
Config struct_to_config(C c) {
  Config out;
  c.visit_fields([&out](const auto& name, auto& field) { out.set(std::string(name), to_cv(field)); });
  return out;
}

template <class C>
C struct_from_config(const Config& cfg, const std::string& who) {
  C c{};
  std::set<std::string> known;
  c.visit_fields([&](const auto& name, auto& field) {
    const std::string key(name);
    known.insert(key);
    if (cfg.has(key)) from_cv(field, cfg.at(key), who, key);
  });
  // As Keras's from_config(**config): a key the class does not take is an error.
  for (const auto& [key, value] : cfg.items())
    if (known.count(key) == 0) {
      std::string takes;
      for (const auto& k : known) takes += (takes.empty() ? "" : ", ") + k;
      throw ValueError(detail::concat("[", who, "] unknown config key '", key, "' (known: ", takes, ")"));
    }
  return c;
}

ConfigValue schedule_to_value(const optim::LearningRateSchedule& s) {
  if (auto* e = dynamic_cast<const optim::ExponentialDecay*>(&s))
    return envelope(s.name(), struct_to_config(e->config()));
  if (auto* p = dynamic_cast<const optim::PiecewiseConstantDecay*>(&s))
    return envelope(s.name(), struct_to_config(p->config()));
  if (auto* c = dynamic_cast<const optim::CosineDecay*>(&s)) return envelope(s.name(), struct_to_config(c->config()));
  throw ValueError("[save] cannot serialize the learning-rate schedule '" + s.name() +
                   "' (known: CosineDecay, ExponentialDecay, PiecewiseConstantDecay)");
}

std::shared_ptr<const optim::LearningRateSchedule> schedule_from_value(const Config& env) {
  auto [cls, cfg] = open_envelope(env, "learning-rate schedule");
  const std::string who = "schedule " + cls;
  if (cls == "ExponentialDecay")
    return std::make_shared<optim::ExponentialDecay>(struct_from_config<optim::ExponentialDecayConfig>(cfg, who));
  if (cls == "PiecewiseConstantDecay")
    return std::make_shared<optim::PiecewiseConstantDecay>(
        struct_from_config<optim::PiecewiseConstantDecayConfig>(cfg, who));
  if (cls == "CosineDecay")
    return std::make_shared<optim::CosineDecay>(struct_from_config<optim::CosineDecayConfig>(cfg, who));
  throw ValueError("[load] unknown learning-rate schedule '" + cls +
                   "' (known: CosineDecay, ExponentialDecay, PiecewiseConstantDecay)");
}

}  // namespace

Config envelope(const std::string& class_name, Config config) {
  Config e;
  e.set("class_name", class_name).set("config", std::move(config));
  return e;
}

std::pair<std::string, Config> open_envelope(const Config& env, const std::string& who) {
  LAMINA_CHECK(env.has("class_name") && env.has("config"), ValueError, "[load] ", who,
               ": expected {\"class_name\", \"config\"}, got ", env.str().substr(0, 200));
  auto* cls = std::get_if<std::string>(&env.at("class_name").value);
  auto* cfg = std::get_if<Config>(&env.at("config").value);
  LAMINA_CHECK(cls && cfg, ValueError, "[load] ", who, ": class_name must be a string and config an object");
  return {*cls, *cfg};
}

Config optimizer_to_config(const optim::Optimizer& opt) {
  // AdamW derives from Adam: test it first.
  if (auto* o = dynamic_cast<const optim::AdamW*>(&opt)) return envelope("AdamW", struct_to_config(o->config()));
  if (auto* o = dynamic_cast<const optim::Adam*>(&opt)) return envelope("Adam", struct_to_config(o->config()));
  if (auto* o = dynamic_cast<const optim::SGD*>(&opt)) return envelope("SGD", struct_to_config(o->config()));
  if (auto* o = dynamic_cast<const optim::RMSprop*>(&opt)) return envelope("RMSprop", struct_to_config(o->config()));
  if (auto* o = dynamic_cast<const optim::Adagrad*>(&opt)) return envelope("Adagrad", struct_to_config(o->config()));
  throw ValueError("[save] cannot serialize optimizer '" + opt.name() +
                   "' (known: Adagrad, Adam, AdamW, RMSprop, SGD); save with include_optimizer = false");
}

std::shared_ptr<optim::Optimizer> optimizer_from_config(const Config& env) {
  auto [cls, cfg] = open_envelope(env, "optimizer");
  const std::string who = "optimizer " + cls;
  if (cls == "Adam") return std::make_shared<optim::Adam>(struct_from_config<optim::AdamConfig>(cfg, who));
  if (cls == "AdamW") return std::make_shared<optim::AdamW>(struct_from_config<optim::AdamWConfig>(cfg, who));
  if (cls == "SGD") return std::make_shared<optim::SGD>(struct_from_config<optim::SGDConfig>(cfg, who));
  if (cls == "RMSprop") return std::make_shared<optim::RMSprop>(struct_from_config<optim::RMSpropConfig>(cfg, who));
  if (cls == "Adagrad") return std::make_shared<optim::Adagrad>(struct_from_config<optim::AdagradConfig>(cfg, who));
  throw ValueError("[load] unknown optimizer class '" + cls + "' (known: Adagrad, Adam, AdamW, RMSprop, SGD)");
}

ConfigValue loss_to_value(const losses::Loss* loss) {
  using namespace losses;
  if (!loss) return ConfigValue();
  if (auto* l = dynamic_cast<const MeanSquaredError*>(loss)) return envelope("MeanSquaredError", struct_to_config(l->config()));
  if (auto* l = dynamic_cast<const MeanAbsoluteError*>(loss)) return envelope("MeanAbsoluteError", struct_to_config(l->config()));
  if (auto* l = dynamic_cast<const Huber*>(loss)) return envelope("Huber", struct_to_config(l->config()));
  if (auto* l = dynamic_cast<const BinaryCrossentropy*>(loss))
    return envelope("BinaryCrossentropy", struct_to_config(l->config()));
  if (auto* l = dynamic_cast<const CategoricalCrossentropy*>(loss))
    return envelope("CategoricalCrossentropy", struct_to_config(l->config()));
  if (auto* l = dynamic_cast<const SparseCategoricalCrossentropy*>(loss))
    return envelope("SparseCategoricalCrossentropy", struct_to_config(l->config()));
  // A custom loss: its class is recorded; loading it needs LoadOptions{.compile = false}.
  return envelope(std::string(loss->class_name()), Config());
}

std::shared_ptr<losses::Loss> loss_from_config(const Config& env) {
  using namespace losses;
  auto [cls, cfg] = open_envelope(env, "loss");
  const std::string who = "loss " + cls;
  if (cls == "MeanSquaredError") return std::make_shared<MeanSquaredError>(struct_from_config<MeanSquaredErrorConfig>(cfg, who));
  if (cls == "MeanAbsoluteError") return std::make_shared<MeanAbsoluteError>(struct_from_config<MeanAbsoluteErrorConfig>(cfg, who));
  if (cls == "Huber") return std::make_shared<Huber>(struct_from_config<HuberConfig>(cfg, who));
  if (cls == "BinaryCrossentropy")
    return std::make_shared<BinaryCrossentropy>(struct_from_config<BinaryCrossentropyConfig>(cfg, who));
  if (cls == "CategoricalCrossentropy")
    return std::make_shared<CategoricalCrossentropy>(struct_from_config<CategoricalCrossentropyConfig>(cfg, who));
  if (cls == "SparseCategoricalCrossentropy")
    return std::make_shared<SparseCategoricalCrossentropy>(struct_from_config<SparseCategoricalCrossentropyConfig>(cfg, who));
  throw ValueError("[load] cannot rebuild loss class '" + cls +
                   "' (known: BinaryCrossentropy, CategoricalCrossentropy, Huber, MeanAbsoluteError, "
                   "MeanSquaredError, SparseCategoricalCrossentropy); load with LoadOptions{.compile = false} "
                   "and compile again");
}

}  // namespace lamina::detail
