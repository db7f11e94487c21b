#include "lamina/layers/model.h"

#include <cstdio>
#include <sstream>

#include "lamina/layers/registry.h"

namespace lamina {

LAMINA_REGISTER_LAYER(Sequential);



namespace {

std::string with_commas(std::int64_t n) {
  std::string s = std::to_string(n), out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (i && (s.size() - i) % 3 == 0) out += ',';
    out += s[i];
  }
  return out;
}

std::string shape_text(const Shape& s) {
  if (s.empty()) return "?";
  std::string t = "(None";
  for (int d = 1; d < s.ndim(); ++d) t += ", " + std::to_string(s[d]);
  return t + ")";
}

}  // namespace

std::string Model::summary() const {
  std::ostringstream os;
  char line[256];
  const std::string rule(80, '-');
  os << "Model: \"" << name() << "\"\n" << rule << "\n";
  std::snprintf(line, sizeof line, "%-34s %-28s %14s\n", "Layer (type)", "Output Shape", "Param #");
  os << line << std::string(80, '=') << "\n";
  for (const auto& l : layers()) {
    const std::string label = l->name() + " (" + l->class_name() + ")";
    std::snprintf(line, sizeof line, "%-34s %-28s %14s\n", label.c_str(), shape_text(l->output_shape()).c_str(),
                  with_commas(l->count_params()).c_str());
    os << line;
  }
  const std::int64_t total = count_params(), trainable = count_params(true);
  os << std::string(80, '=') << "\n";
  os << "Total params: " << with_commas(total) << "\n";
  os << "Trainable params: " << with_commas(trainable) << "\n";
  os << "Non-trainable params: " << with_commas(total - trainable) << "\n";
  return os.str();
}

Sequential::Sequential(std::vector<std::shared_ptr<Layer>> layers, LayerOptions options)
    : Model("Sequential", std::move(options)) {
  for (auto& l : layers) add(std::move(l));
}

Sequential& Sequential::add(std::shared_ptr<Layer> layer) {
  track(std::move(layer));
  return *this;
}

Tensor Sequential::call(const Tensor& x, const CallContext& ctx) {
  Tensor h = x;
  for (const auto& l : layers()) h = (*l)(h, ctx.training);
  return h;
}

Config Sequential::get_config() const {
  ConfigList list;
  for (const auto& l : layers()) {
    Config entry;
    entry.set("class_name", l->class_name()).set("config", l->get_config());
    list.emplace_back(entry);
  }
  // Each entry carries its layer's name (and that layer's own sublayer names).
  Config c = Layer::get_config();
  c.erase("sublayer_names");
  return c.set("layers", list);
}

std::shared_ptr<Sequential> Sequential::from_config(const Config& c) {
  auto model = std::make_shared<Sequential>(std::vector<std::shared_ptr<Layer>>{}, LayerOptions::from_config(c));
  for (const auto& entry : c.get<ConfigList>("layers")) {
    auto* e = std::get_if<Config>(&entry.value);
    LAMINA_CHECK(e != nullptr, ValueError, "[Sequential] each entry of 'layers' must be {class_name, config}");
    model->add(layer_from_config(e->get<std::string>("class_name"), e->get<Config>("config")));
  }
  return model;
}

}  // namespace lamina
