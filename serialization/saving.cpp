// Architecture JSON, weights files and whole-model checkpoints (FORMAT.md).
#include "lamina/serialization/saving.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <new>
#include <set>
#include <unordered_map>

#include "lamina/autograd/tape.h"
#include "lamina/core/allocator.h"
#include "lamina/core/random.h"
#include "lamina/layers/dropout.h"
#include "lamina/layers/losses/losses.h"
#include "lamina/layers/registry.h"
#include "lamina/serialization/detail/binary_io.h"
#include "lamina/serialization/detail/compile_config.h"
#include "lamina/serialization/json.h"

namespace lamina {

using serialization_detail::ByteReader;
using serialization_detail::ByteWriter;

using detail::envelope;
using detail::loss_from_config;
using detail::loss_to_value;
using detail::open_envelope;
using detail::optimizer_from_config;
using detail::optimizer_to_config;

namespace {

// ---------------------------------------------------------------------------
// Container constants (FORMAT.md).

constexpr std::uint8_t kMagic[8] = {0x89, 'L', 'M', 'N', 'A', '\r', '\n', 0x1a};
constexpr std::size_t kFileHeaderSize = 8 + 4 + 4 + 4 + 4;   // magic, version, kind, count, crc
constexpr std::size_t kSectionHeaderSize = 4 + 4 + 8 + 4;    // tag, flags, length, crc
constexpr std::uint32_t kMaxSections = 64;

constexpr std::uint32_t tag_of(const char (&s)[5]) {
  return static_cast<std::uint32_t>(static_cast<std::uint8_t>(s[0])) |
         static_cast<std::uint32_t>(static_cast<std::uint8_t>(s[1])) << 8 |
         static_cast<std::uint32_t>(static_cast<std::uint8_t>(s[2])) << 16 |
         static_cast<std::uint32_t>(static_cast<std::uint8_t>(s[3])) << 24;
}
constexpr std::uint32_t kTagArch = tag_of("ARCH");
constexpr std::uint32_t kTagWeights = tag_of("WGHT");
constexpr std::uint32_t kTagCompile = tag_of("COMP");
constexpr std::uint32_t kTagOptConfig = tag_of("OPTC");
constexpr std::uint32_t kTagOptState = tag_of("OPTS");
constexpr std::uint32_t kTagRandom = tag_of("RNGS");
constexpr std::uint32_t kTagPosition = tag_of("TPOS");

std::string tag_name(std::uint32_t tag) {
  std::string s(4, ' ');
  for (int i = 0; i < 4; ++i) {
    const char c = static_cast<char>((tag >> (8 * i)) & 0xff);
    s[i] = (c >= 0x20 && c < 0x7f) ? c : '?';
  }
  return s;
}

std::uint32_t crc32_of(std::uint32_t crc, const std::uint8_t* p, std::size_t n) {
  return static_cast<std::uint32_t>(crc32_z(crc, p, n));
}

// Stable dtype codes of the format (independent of the DType enum's values).
std::uint8_t dtype_code(DType t) {
  switch (t) {
    case DType::float32: return 1;
    case DType::float64: return 2;
    case DType::int32: return 3;
    case DType::int64: return 4;
    case DType::uint8: return 5;
    case DType::bool_: return 6;
  }
  return 0;
}
bool dtype_from_code(std::uint8_t c, DType& t) {
  switch (c) {
    case 1: t = DType::float32; return true;
    case 2: t = DType::float64; return true;
    case 3: t = DType::int32; return true;
    case 4: t = DType::int64; return true;
    case 5: t = DType::uint8; return true;
    case 6: t = DType::bool_; return true;
    default: return false;
  }
}

// ---------------------------------------------------------------------------
// Tensor blocks.

void write_tensor(ByteWriter& w, const std::string& name, const Tensor& value) {
  const Tensor t = value.contiguous();
  w.str(name);
  w.u8(dtype_code(t.dtype()));
  w.u8(static_cast<std::uint8_t>(t.ndim()));
  w.u16(0);
  for (std::int64_t d : t.shape()) w.i64(d);
  const std::uint64_t nbytes = static_cast<std::uint64_t>(t.numel()) * t.itemsize();
  w.u64(nbytes);
  if (nbytes) w.raw(t.raw_data(), nbytes);
}

void write_tensor_block(ByteWriter& w, const std::vector<std::pair<std::string, Tensor>>& tensors) {
  w.u32(static_cast<std::uint32_t>(tensors.size()));
  for (const auto& [name, t] : tensors) write_tensor(w, name, t);
}

std::vector<TensorRecord> read_tensor_block(ByteReader& r) {
  const std::uint32_t count = r.u32("tensor count");
  constexpr std::size_t kMinRecord = 4 + 1 + 1 + 2 + 8;
  if (count > r.remaining() / kMinRecord)
    r.fail(detail::concat("tensor count ", count, " cannot fit in the ", r.remaining(), " remaining bytes"));
  std::vector<TensorRecord> out;
  out.reserve(count);
  std::set<std::string> seen;
  for (std::uint32_t i = 0; i < count; ++i) {
    TensorRecord rec;
    rec.name = r.str("tensor name");
    if (!seen.insert(rec.name).second) r.fail("duplicate tensor '" + rec.name + "'");
    DType dt;
    const std::uint8_t code = r.u8("dtype");
    if (!dtype_from_code(code, dt)) r.fail(detail::concat("tensor '", rec.name, "' has unknown dtype code ", int(code)));
    const std::uint8_t ndim = r.u8("rank");
    if (ndim > kMaxDims) r.fail(detail::concat("tensor '", rec.name, "' has rank ", int(ndim), " (max ", kMaxDims, ")"));
    if (r.u16("reserved") != 0) r.fail("reserved field is not zero");
    std::vector<std::int64_t> dims(ndim);
    std::uint64_t numel = 1;
    std::uint64_t span = 1;  // product of max(d, 1): what the strides must address
    for (auto& d : dims) {
      d = r.i64("dimension");
      if (d < 0) r.fail(detail::concat("tensor '", rec.name, "' has a negative dimension ", d));
      if (__builtin_mul_overflow(numel, static_cast<std::uint64_t>(d), &numel) ||
          __builtin_mul_overflow(span, static_cast<std::uint64_t>(std::max<std::int64_t>(d, 1)), &span) ||
          span > (std::uint64_t{1} << 56))
        r.fail("tensor '" + rec.name + "' has an overflowing element count");
    }
    const std::uint64_t nbytes = r.u64("byte count");
    std::uint64_t expect;
    if (__builtin_mul_overflow(numel, static_cast<std::uint64_t>(itemsize(dt)), &expect) || expect != nbytes)
      r.fail(detail::concat("tensor '", rec.name, "' claims ", nbytes, " bytes for shape ", Shape(dims), " ",
                            dtype_name(dt)));
    auto bytes = r.take(nbytes, "tensor data");  // checked against the buffer before any allocation
    rec.value = Tensor::empty(Shape(dims), dt);
    if (nbytes) std::memcpy(rec.value.raw_data(), bytes.data(), nbytes);
    out.push_back(std::move(rec));
  }
  return out;
}

// ---------------------------------------------------------------------------
// Layer tree walks.

void collect_weight_paths(const Layer& l, const std::string& prefix,
                          std::vector<std::pair<std::string, Variable>>& out, std::set<const void*>& seen) {
  // The layer's own weights are those of weights() that no sublayer lists.
  // (Counting the sublayers' weights instead goes wrong when one sublayer
  // object is shared by two parents: weights() lists it once.)
  std::set<const void*> in_sublayers;
  for (const auto& sub : l.layers())
    for (const Variable& v : sub->weights()) in_sublayers.insert(v.key());
  for (const Variable& v : l.weights()) {
    if (in_sublayers.count(v.key()) != 0) continue;
    if (!seen.insert(v.key()).second) continue;
    const std::string& full = v.name();
    const auto slash = full.find('/');
    const std::string short_name = slash == std::string::npos ? full : full.substr(slash + 1);
    out.emplace_back(prefix.empty() ? short_name : prefix + "/" + short_name, v);
  }
  for (const auto& sub : l.layers())
    collect_weight_paths(*sub, prefix.empty() ? sub->name() : prefix + "/" + sub->name(), out, seen);
}

void collect_dropouts(const Layer& l, const std::string& prefix, std::vector<std::pair<std::string, layers::Dropout*>>& out) {
  for (const auto& sub : l.layers()) {
    const std::string p = prefix.empty() ? sub->name() : prefix + "/" + sub->name();
    if (auto* d = dynamic_cast<layers::Dropout*>(sub.get())) out.emplace_back(p, d);
    collect_dropouts(*sub, p, out);
  }
}

std::string split_layer(const std::string& key, std::string* weight) {
  const auto slash = key.rfind('/');
  if (slash == std::string::npos) {
    *weight = key;
    return "(root)";
  }
  *weight = key.substr(slash + 1);
  return key.substr(0, slash);
}

/// Pairs every weight of `layer` with its stored value; throws (listing every
/// problem) before anything is assigned. `allow_by_order`: when no key
/// matches, pair them by order (load_weights into a copy of the architecture
/// built with other automatic names). load_model builds the model from the
/// file's own architecture, where every key must match.
std::vector<std::pair<Variable, Tensor>> match_weights(const Layer& layer, const std::vector<TensorRecord>& recs,
                                                       const std::string& source, bool allow_by_order) {
  const auto model = weight_paths(layer);
  if (model.empty() && !recs.empty() && !layer.built())
    throw ValueError(detail::concat("[load_weights] layer '", layer.name(), "' is not built: build it (build_for or "
                                    "a call) before loading weights from ", source));
  std::unordered_map<std::string, std::size_t> file_index;
  for (std::size_t i = 0; i < recs.size(); ++i) file_index.emplace(recs[i].name, i);
  std::size_t matched = 0;
  for (const auto& [key, v] : model) matched += file_index.count(key);
  const bool by_order = allow_by_order && matched == 0 && !model.empty() && model.size() == recs.size();

  std::vector<std::string> problems;
  std::vector<std::pair<Variable, Tensor>> out;
  std::vector<bool> used(recs.size(), false);
  for (std::size_t i = 0; i < model.size(); ++i) {
    const auto& [key, var] = model[i];
    std::string wname;
    const std::string lname = split_layer(key, &wname);
    std::size_t idx;
    if (by_order) idx = i;
    else {
      auto it = file_index.find(key);
      if (it == file_index.end()) {
        problems.push_back(detail::concat("layer '", lname, "' weight '", wname, "' (", key, ", shape ", var.shape(),
                                          ") is missing from the file"));
        continue;
      }
      idx = it->second;
    }
    used[idx] = true;
    const Tensor& value = recs[idx].value;
    if (value.dtype() != var.dtype())
      problems.push_back(detail::concat("layer '", lname, "' weight '", wname, "': dtype mismatch: model has ",
                                        var.dtype(), " ", var.shape(), ", file has ", value.dtype(), " ",
                                        value.shape()));
    else if (!(value.shape() == var.shape()))
      problems.push_back(detail::concat("layer '", lname, "' weight '", wname, "': shape mismatch: model has ",
                                        var.shape(), ", file has ", value.shape()));
    else out.emplace_back(var, value);
  }
  for (std::size_t i = 0; i < recs.size(); ++i)
    if (!used[i])
      problems.push_back(detail::concat("the file's weight '", recs[i].name, "' (shape ", recs[i].value.shape(),
                                        ") matches no weight of the model"));
  if (!problems.empty()) {
    std::string msg = detail::concat("[load_weights] ", source, ": a total of ", problems.size(),
                                     " weights could not be loaded into '", layer.name(), "' (model has ",
                                     model.size(), " weights, file has ", recs.size(), "):");
    for (const auto& p : problems) msg += "\n  " + p;
    throw ValueError(msg);
  }
  return out;
}

// ---------------------------------------------------------------------------
// Writing.

class FileBuilder {
 public:
  FileBuilder(FileKind kind) {
    w_.raw(kMagic, sizeof kMagic);
    w_.u32(kFormatVersion);
    w_.u32(static_cast<std::uint32_t>(kind));
    w_.u32(0);  // section count, patched
    w_.u32(0);  // header crc, patched
  }
  /// Starts a section; write its payload into writer() then call end().
  void begin(std::uint32_t tag) {
    start_ = w_.size();
    w_.u32(tag);
    w_.u32(0);  // flags
    w_.u64(0);  // length, patched
    w_.u32(0);  // crc, patched
  }
  void end() {
    const std::size_t payload = start_ + kSectionHeaderSize;
    const std::uint64_t len = w_.size() - payload;
    w_.patch(start_ + 8, len);
    auto& b = w_.bytes();
    std::uint32_t crc = crc32_of(0, b.data() + start_, 16);
    crc = crc32_of(crc, b.data() + payload, len);
    w_.patch(start_ + 16, crc);
    ++count_;
  }
  void json_section(std::uint32_t tag, const Config& c) {
    begin(tag);
    const std::string text = to_json(c);
    w_.raw(text.data(), text.size());
    end();
  }
  ByteWriter& writer() { return w_; }
  void reserve(std::size_t n) { w_.reserve(n); }
  std::vector<std::uint8_t> finish() {
    w_.patch(16, count_);
    w_.patch(20, crc32_of(0, w_.bytes().data(), 20));
    return std::move(w_.bytes());
  }

 private:
  ByteWriter w_;
  std::size_t start_ = 0;
  std::uint32_t count_ = 0;
};

std::vector<std::pair<std::string, Tensor>> named_values(const std::vector<std::pair<std::string, Variable>>& ws) {
  std::vector<std::pair<std::string, Tensor>> out;
  out.reserve(ws.size());
  for (const auto& [k, v] : ws) out.emplace_back(k, v.value());
  return out;
}

void check_unique_keys(const std::vector<std::pair<std::string, Variable>>& ws, const Layer& layer) {
  std::set<std::string> keys;
  for (const auto& [k, v] : ws)
    LAMINA_CHECK(keys.insert(k).second, ValueError, "[save] '", layer.name(), "' has two weights with the path '", k,
                 "': give its sublayers distinct names");
}

// ---------------------------------------------------------------------------
// Reading.

std::string json_text(std::span<const std::uint8_t> payload) {
  return std::string(reinterpret_cast<const char*>(payload.data()), payload.size());
}

Config json_section(std::span<const std::uint8_t> payload, const std::string& what) {
  try {
    return config_from_json(json_text(payload));
  } catch (const ValueError& e) {
    throw IOError(detail::concat("[load] ", what, ": ", e.what()));
  }
}

}  // namespace

// ============================================================================
// Architecture.

Config model_config(const Layer& layer) {
  Config e = envelope(layer.class_name(), layer.get_config());
  Config build;
  if (layer.built() && !layer.build_shape().empty()) build.set("input_shape", layer.build_shape().to_vector());
  else build.set("input_shape", nullptr);
  e.set("build_config", build);
  return e;
}

std::string model_to_json(const Layer& layer) { return to_json(model_config(layer)); }

namespace {

// The sublayers of a layer that creates them in build() exist only after the
// build, under automatic names: give them the recorded ones now (a Sequential
// records none itself; its entries carry their own configs).
void reapply_sublayer_names(Layer& layer, const Config& cfg) {
  if (cfg.has("sublayer_names")) {
    restore_sublayer_names(layer, cfg, /*even_if_built=*/true);
    return;
  }
  const auto* list = cfg.has("layers") ? std::get_if<ConfigList>(&cfg.at("layers").value) : nullptr;
  if (list == nullptr) return;
  const auto& subs = layer.layers();
  for (std::size_t i = 0; i < list->size() && i < subs.size(); ++i) {
    const auto* entry = std::get_if<Config>(&(*list)[i].value);
    const auto* sub = entry && entry->has("config") ? std::get_if<Config>(&entry->at("config").value) : nullptr;
    if (sub != nullptr) reapply_sublayer_names(*subs[i], *sub);
  }
}

// Whether the config records the names of every nested sublayer. Files
// written before "sublayer_names" existed (format version 1 all the same)
// record none for layers with sublayers other than Sequential.
bool sublayer_names_recorded(const Layer& layer, const Config& cfg) {
  if (layer.layers().empty() || cfg.has("sublayer_names")) return true;
  const auto* list = cfg.has("layers") ? std::get_if<ConfigList>(&cfg.at("layers").value) : nullptr;
  if (list == nullptr || list->size() != layer.layers().size()) return false;
  for (std::size_t i = 0; i < list->size(); ++i) {
    const auto* entry = std::get_if<Config>(&(*list)[i].value);
    const auto* sub = entry && entry->has("config") ? std::get_if<Config>(&entry->at("config").value) : nullptr;
    if (sub == nullptr || !sublayer_names_recorded(*layer.layers()[i], *sub)) return false;
  }
  return true;
}

}  // namespace

std::shared_ptr<Layer> model_from_config(const Config& env) {
  auto [cls, cfg] = open_envelope(env, "architecture");
  std::shared_ptr<Layer> layer;
  if (!layer_registry().contains(cls)) {
    throw ValueError(detail::concat("[model_from_json] Could not locate class '", cls,
                                    "'. Register custom layers with LAMINA_REGISTER_LAYER(", cls,
                                    ") and link them in. ", detail::unknown_name_message("layer", cls, registered_layers())));
  }
  try {
    layer = layer_from_config(cls, cfg);
  } catch (const std::exception& e) {
    throw ValueError(detail::concat("[model_from_json] Error when deserializing class '", cls,
                                    "' using config=", cfg.str().substr(0, 500), ": ", e.what()));
  }
  LAMINA_CHECK(layer != nullptr, ValueError, "[model_from_json] from_config of '", cls, "' returned null");
  if (env.has("build_config")) {
    auto* bc = std::get_if<Config>(&env.at("build_config").value);
    LAMINA_CHECK(bc != nullptr, ValueError, "[model_from_json] build_config must be an object");
    if (bc->has("input_shape") && !bc->at("input_shape").is_null()) {
      std::vector<std::int64_t> dims;
      try {
        dims = bc->get<std::vector<std::int64_t>>("input_shape");
      } catch (const Error& e) {
        throw ValueError(std::string("[model_from_json] build_config.input_shape must be a list of integers: ") + e.what());
      }
      LAMINA_CHECK(!dims.empty() && static_cast<int>(dims.size()) <= kMaxDims, ValueError,
                   "[model_from_json] build_config.input_shape must have 1 to ", kMaxDims, " dimensions, got ",
                   dims.size());
      std::int64_t probe_numel = 1;
      for (std::size_t i = 0; i < dims.size(); ++i) {
        LAMINA_CHECK(dims[i] >= 0 && dims[i] <= (std::int64_t{1} << 31), ValueError,
                     "[model_from_json] build_config.input_shape has an invalid extent ", dims[i]);
        if (i > 0) probe_numel *= std::max<std::int64_t>(dims[i], 1);
        LAMINA_CHECK(probe_numel <= (std::int64_t{1} << 28), ValueError,
                     "[model_from_json] build_config.input_shape ", Shape(dims), " is implausibly large");
      }
      try {
        layer->build_for(Shape(dims));
        // Run once on a batch of zeros so nested layers create their weights
        // (Keras builds functional graphs the same way, symbolically); the
        // input dtype is not recorded, so integer zeros are tried when the
        // model refuses floating ones.
        std::vector<std::int64_t> probe = dims;
        probe[0] = 1;
        NoRecord guard;
        try {
          (*layer)(zeros(Shape(probe), layer->dtype()), /*training=*/false);
        } catch (const DTypeError&) {
          // Integer inputs (e.g. Embedding indices): index 0 is always valid.
          (*layer)(zeros(Shape(probe), DType::int64), /*training=*/false);
        }
        reapply_sublayer_names(*layer, cfg);
      } catch (const std::exception& e) {
        const bool oom = dynamic_cast<const std::bad_alloc*>(&e);
        throw ValueError(detail::concat("[model_from_json] building '", cls, "' for input shape ", Shape(dims),
                                        oom ? " ran out of memory" : " failed: ", oom ? "" : e.what()));
      }
    }
  }
  return layer;
}

std::shared_ptr<Layer> model_from_json(const std::string& json) { return model_from_config(config_from_json(json)); }

// ============================================================================
// Weights.

std::vector<std::pair<std::string, Variable>> weight_paths(const Layer& layer) {
  std::vector<std::pair<std::string, Variable>> out;
  std::set<const void*> seen;
  collect_weight_paths(layer, "", out, seen);
  return out;
}

void save_weights(const Layer& layer, const std::string& path, const SaveOptions& options) {
  const auto ws = weight_paths(layer);
  check_unique_keys(ws, layer);
  FileBuilder fb(FileKind::weights);
  {
    std::size_t bytes = 1 << 12;
    for (const auto& [k, v] : ws) bytes += static_cast<std::size_t>(v.numel()) * v.value().itemsize() + k.size() + 96;
    fb.reserve(bytes);
  }
  fb.begin(kTagWeights);
  write_tensor_block(fb.writer(), named_values(ws));
  fb.end();
  const auto bytes = fb.finish();
  write_file_atomic(path, bytes, options.fsync);
}

void load_weights(Layer& layer, const std::string& path) {
  const auto bytes = read_file_bytes(path);
  ModelFile f = parse_model_file(bytes, path);
  auto assignments = match_weights(layer, f.weights, path, /*allow_by_order=*/true);
  for (auto& [var, value] : assignments) var.assign(value);
}

// ============================================================================
// Whole model.

std::vector<std::uint8_t> serialize_model(const Model& model, const SaveOptions& options) {
  const auto ws = weight_paths(model);
  check_unique_keys(ws, model);
  FileBuilder fb(FileKind::model);
  {
    // One allocation: weights (and up to two optimizer slots each) plus headers and JSON.
    std::size_t bytes = 1 << 16;
    for (const auto& [k, v] : ws) bytes += static_cast<std::size_t>(v.numel()) * v.value().itemsize() + k.size() + 96;
    if (options.include_optimizer && model.compiled()) bytes *= 3;
    fb.reserve(bytes);
  }
  fb.json_section(kTagArch, model_config(model));

  fb.begin(kTagWeights);
  write_tensor_block(fb.writer(), named_values(ws));
  fb.end();

  if (options.include_optimizer && model.compiled()) {
    Config compile;
    compile.set("loss", loss_to_value(model.loss()));
    ConfigList metrics;
    const auto names = model.metrics_names();
    for (std::size_t i = 1; i < names.size(); ++i) metrics.emplace_back(names[i]);
    compile.set("metrics", metrics);
    fb.json_section(kTagCompile, compile);

    const optim::Optimizer& opt = *model.optimizer();
    fb.json_section(kTagOptConfig, optimizer_to_config(opt));
    std::unordered_map<const void*, std::string> key_of;
    for (const auto& [k, v] : ws) key_of.emplace(v.key(), k);
    std::vector<std::pair<std::string, Tensor>> state;
    state.emplace_back("iterations", opt.iterations_variable().value());
    const auto slot_names = opt.slot_names();
    for (const Variable& var : opt.tracked_variables()) {
      auto it = key_of.find(var.key());
      LAMINA_CHECK(it != key_of.end(), ValueError, "[save] the optimizer has state for variable '", var.name(),
                   "', which is not a weight of '", model.name(), "'");
      for (const auto& s : slot_names) state.emplace_back(it->second + ":" + s, opt.get_slot(var, s).value());
    }
    fb.begin(kTagOptState);
    write_tensor_block(fb.writer(), state);
    fb.end();
  }

  fb.begin(kTagRandom);
  {
    ByteWriter& w = fb.writer();
    auto [seed, counter] = random_seed_state();
    w.u64(seed);
    w.u64(counter);
    std::vector<std::pair<std::string, layers::Dropout*>> drops;
    collect_dropouts(model, "", drops);
    w.u32(static_cast<std::uint32_t>(drops.size()));
    for (const auto& [p, d] : drops) {
      auto [s, o] = d->generator_state();
      w.str(p);
      w.u64(s);
      w.u64(o);
    }
  }
  fb.end();

  if (options.training_position) {
    fb.begin(kTagPosition);
    ByteWriter& w = fb.writer();
    const TrainingPosition& p = *options.training_position;
    w.i64(p.epoch);
    w.i64(p.step);
    w.u8(p.shuffle_seed ? 1 : 0);
    w.u64(p.shuffle_seed.value_or(0));
    fb.end();
  }
  return fb.finish();
}

ModelFile parse_model_file(std::span<const std::uint8_t> bytes, const std::string& source) {
  ByteReader r(bytes, source);
  ModelFile f;
  if (bytes.empty()) throw IOError("[load] " + source + ": the file is empty");
  if (bytes.size() < sizeof kMagic && std::memcmp(bytes.data(), kMagic, bytes.size()) == 0)
    throw IOError(detail::concat("[load] ", source, ": truncated: ", bytes.size(),
                                 " bytes, shorter than the 8-byte magic number"));
  if (bytes.size() < sizeof kMagic || std::memcmp(bytes.data(), kMagic, sizeof kMagic) != 0)
    throw IOError("[load] " + source + ": not a lamina model or weights file (wrong magic number)");
  if (bytes.size() < kFileHeaderSize)
    throw IOError(detail::concat("[load] ", source, ": truncated header (", bytes.size(), " bytes)"));
  r.take(sizeof kMagic, "magic");
  f.version = r.u32("format version");
  const std::uint32_t kind = r.u32("file kind");
  const std::uint32_t count = r.u32("section count");
  const std::uint32_t header_crc = r.u32("header crc");
  if (crc32_of(0, bytes.data(), 20) != header_crc)
    throw IOError("[load] " + source + ": header checksum mismatch (corrupt file)");
  if (f.version == 0 || f.version > kFormatVersion)
    throw ValueError(detail::concat("[load] ", source, ": format version ", f.version,
                                    " is not supported by this lamina (it reads versions 1 to ", kFormatVersion,
                                    "); upgrade lamina to load it"));
  if (kind != static_cast<std::uint32_t>(FileKind::model) && kind != static_cast<std::uint32_t>(FileKind::weights))
    throw IOError(detail::concat("[load] ", source, ": unknown file kind ", kind));
  f.kind = static_cast<FileKind>(kind);
  if (count > kMaxSections) throw IOError(detail::concat("[load] ", source, ": implausible section count ", count));

  std::set<std::uint32_t> seen;
  for (std::uint32_t i = 0; i < count; ++i) {
    SectionInfo info;
    info.offset = r.position();
    auto head = r.take(kSectionHeaderSize, "section header");
    std::uint32_t tag, flags, crc;
    std::uint64_t len;
    std::memcpy(&tag, head.data(), 4);
    std::memcpy(&flags, head.data() + 4, 4);
    std::memcpy(&len, head.data() + 8, 8);
    std::memcpy(&crc, head.data() + 16, 4);
    info.tag = tag_name(tag);
    info.length = len;
    info.crc32 = crc;
    const std::string what = source + " section " + info.tag;
    if (len > r.remaining())
      throw IOError(detail::concat("[load] ", what, ": length ", len, " exceeds the ", r.remaining(),
                                   " bytes left in the file (truncated or corrupt)"));
    auto payload = r.take(len, "section payload");
    std::uint32_t actual = crc32_of(crc32_of(0, head.data(), 16), payload.data(), payload.size());
    if (actual != crc)
      throw IOError(detail::concat("[load] ", what, ": checksum mismatch (stored crc32 ", crc, ", computed ", actual,
                                   "): the file is corrupt"));
    if (flags != 0) throw IOError(detail::concat("[load] ", what, ": unknown flags ", flags));
    if (!seen.insert(tag).second) throw IOError("[load] " + what + ": duplicate section");
    f.sections.push_back(info);

    ByteReader pr(payload, what);
    if (tag == kTagArch) {
      f.architecture = json_section(payload, what);
    } else if (tag == kTagWeights) {
      f.weights = read_tensor_block(pr);
    } else if (tag == kTagCompile) {
      f.compile_config = json_section(payload, what);
    } else if (tag == kTagOptConfig) {
      f.optimizer_config = json_section(payload, what);
    } else if (tag == kTagOptState) {
      f.optimizer_state = read_tensor_block(pr);
    } else if (tag == kTagRandom) {
      const std::uint64_t seed = pr.u64("global seed");
      const std::uint64_t counter = pr.u64("seed counter");
      f.global_seed_state = std::make_pair(seed, counter);
      const std::uint32_t n = pr.u32("dropout count");
      if (n > pr.remaining() / 20) pr.fail(detail::concat("dropout count ", n, " cannot fit"));
      for (std::uint32_t k = 0; k < n; ++k) {
        DropoutState d;
        d.path = pr.str("dropout path");
        d.seed = pr.u64("dropout seed");
        d.offset = pr.u64("dropout offset");
        f.dropout_states.push_back(std::move(d));
      }
    } else if (tag == kTagPosition) {
      TrainingPosition p;
      p.epoch = pr.i64("epoch");
      p.step = pr.i64("step");
      const std::uint8_t has = pr.u8("has shuffle seed");
      const std::uint64_t s = pr.u64("shuffle seed");
      if (has > 1) pr.fail("bad shuffle-seed flag");
      if (has) p.shuffle_seed = s;
      f.training_position = p;
    } else {
      throw IOError(detail::concat("[load] ", what, ": unknown section in a version ", f.version, " file"));
    }
    if (tag != kTagArch && tag != kTagCompile && tag != kTagOptConfig && !pr.done())
      pr.fail(detail::concat(pr.remaining(), " unexpected trailing bytes"));
  }
  if (!r.done())
    throw IOError(detail::concat("[load] ", source, ": ", r.remaining(), " unexpected bytes after the last section"));
  if (f.kind == FileKind::model && !f.architecture)
    throw IOError("[load] " + source + ": model file without an architecture section");
  if (!seen.count(kTagWeights)) throw IOError("[load] " + source + ": file without a weights section");
  if (f.optimizer_config.has_value() != seen.count(kTagOptState))
    throw IOError("[load] " + source + ": optimizer config and state must come together");
  return f;
}

LoadedModel deserialize_model(std::span<const std::uint8_t> bytes, const LoadOptions& options,
                              const std::string& source) {
  ModelFile f = parse_model_file(bytes, source);
  LAMINA_CHECK(f.kind == FileKind::model, ValueError, "[load_model] ", source,
               " is a weights file (save_weights); use load_weights on a built model");

  // Building layers draws seeds from the global sequence: restore it on failure.
  const auto rng_before = random_seed_state();
  struct RestoreRng {
    std::pair<std::uint64_t, std::uint64_t> state;
    bool active = true;
    ~RestoreRng() {
      if (active) set_random_seed_state(state.first, state.second);
    }
  } restore{rng_before};

  std::shared_ptr<Layer> layer;
  {
    // Every weight is assigned from the file below: skip the initializers.
    detail::SkipWeightInitialization skip;
    // The architecture may not need much more weight memory than the file
    // holds, and building it (one batch of 1 through the model) may not make
    // any single allocation larger than the file or 256 MiB: a few bytes of
    // config cannot make the loader allocate gigabytes. (The 64 MiB of slack
    // lets a small mismatch reach match_weights, whose message names both
    // shapes.)
    std::int64_t stored_bytes = 0;
    for (const auto& r : f.weights) stored_bytes += r.value.numel() * static_cast<std::int64_t>(r.value.itemsize());
    detail::WeightBytesBudget budget(stored_bytes + (std::int64_t{64} << 20));
    detail::AllocationLimit limit(std::max<std::size_t>(bytes.size(), options.max_build_allocation));
    try {
      layer = model_from_config(*f.architecture);
    } catch (const ValueError& e) {
      const std::string what = e.what();
      if (what.find("[allocator] a request of") == std::string::npos) throw;
      throw ValueError(what + "; to load a model whose build needs more, raise LoadOptions::max_build_allocation");
    }
  }
  auto model = std::dynamic_pointer_cast<Model>(layer);
  LAMINA_CHECK(model != nullptr, ValueError, "[load_model] ", source, ": the saved object is a '", layer->class_name(),
               "', not a Model (use model_from_json for layers)");
  // Keys only, unless the file predates recorded sublayer names (then the
  // automatic names of a subclassed model's sublayers may differ).
  const bool names_recorded = sublayer_names_recorded(*model, open_envelope(*f.architecture, "architecture").second);
  auto assignments = match_weights(*model, f.weights, source, /*allow_by_order=*/!names_recorded);

  // Compile config and optimizer state, all checked before anything is assigned.
  std::shared_ptr<optim::Optimizer> opt;
  std::vector<std::pair<Variable, Tensor>> opt_assign;
  if (options.compile && f.compile_config) {
    const Config& cc = *f.compile_config;
    std::shared_ptr<losses::Loss> loss;
    if (cc.has("loss") && !cc.at("loss").is_null()) {
      auto* env = std::get_if<Config>(&cc.at("loss").value);
      LAMINA_CHECK(env, ValueError, "[load_model] ", source, ": compile config 'loss' must be an object");
      loss = loss_from_config(*env);
    }
    std::vector<std::string> metric_ids;
    if (cc.has("metrics")) {
      auto* l = std::get_if<ConfigList>(&cc.at("metrics").value);
      LAMINA_CHECK(l, ValueError, "[load_model] ", source, ": compile config 'metrics' must be a list");
      for (const auto& m : *l) {
        auto* s = std::get_if<std::string>(&m.value);
        LAMINA_CHECK(s, ValueError, "[load_model] ", source, ": metric ids must be strings");
        metric_ids.push_back(*s);
      }
    }
    LAMINA_CHECK(f.optimizer_config.has_value(), IOError, "[load_model] ", source,
                 ": compile config without optimizer sections");
    opt = optimizer_from_config(*f.optimizer_config);

    std::unordered_map<std::string, Variable> by_key;
    for (auto& [k, v] : weight_paths(*model)) by_key.emplace(k, v);
    const auto slot_names = opt->slot_names();
    std::vector<Variable> tracked;
    std::set<const void*> tracked_set;
    std::vector<std::tuple<Variable, std::string, Tensor>> slot_values;
    bool have_iterations = false;
    for (const auto& rec : f.optimizer_state) {
      if (rec.name == "iterations") {
        LAMINA_CHECK(rec.value.dtype() == DType::int64 && rec.value.numel() == 1, ValueError, "[load_model] ", source,
                     ": optimizer iterations must be an int64 scalar, got ", rec.value.dtype(), " ", rec.value.shape());
        opt_assign.emplace_back(opt->iterations_variable(), rec.value);
        have_iterations = true;
        continue;
      }
      const auto colon = rec.name.rfind(':');
      LAMINA_CHECK(colon != std::string::npos, ValueError, "[load_model] ", source, ": bad optimizer state name '",
                   rec.name, "'");
      const std::string key = rec.name.substr(0, colon), slot = rec.name.substr(colon + 1);
      auto it = by_key.find(key);
      LAMINA_CHECK(it != by_key.end(), ValueError, "[load_model] ", source, ": optimizer state '", rec.name,
                   "' names no weight of the model");
      LAMINA_CHECK(std::find(slot_names.begin(), slot_names.end(), slot) != slot_names.end(), ValueError,
                   "[load_model] ", source, ": ", opt->name(), " has no slot '", slot, "' (state '", rec.name, "')");
      const Variable& var = it->second;
      LAMINA_CHECK(rec.value.dtype() == var.dtype() && rec.value.shape() == var.shape(), ValueError, "[load_model] ",
                   source, ": optimizer slot '", slot, "' of weight '", key, "': model weight is ", var.dtype(), " ",
                   var.shape(), ", file has ", rec.value.dtype(), " ", rec.value.shape());
      if (tracked_set.insert(var.key()).second) tracked.push_back(var);
      slot_values.emplace_back(var, slot, rec.value);
    }
    LAMINA_CHECK(have_iterations, IOError, "[load_model] ", source, ": optimizer state without 'iterations'");
    LAMINA_CHECK(slot_values.size() == tracked.size() * slot_names.size(), ValueError, "[load_model] ", source,
                 ": optimizer state is incomplete (", slot_values.size(), " slots for ", tracked.size(),
                 " variables with ", slot_names.size(), " slots each)");
    opt->build(tracked);  // fresh optimizer: slots created in the saved order
    for (auto& [var, slot, value] : slot_values) opt_assign.emplace_back(opt->get_slot(var, slot), value);
    model->compile(opt, loss, metric_ids);
  }

  std::vector<std::pair<layers::Dropout*, std::pair<std::uint64_t, std::uint64_t>>> drop_assign;
  {
    std::vector<std::pair<std::string, layers::Dropout*>> drops;
    collect_dropouts(*model, "", drops);
    std::unordered_map<std::string, const DropoutState*> saved;
    for (const auto& d : f.dropout_states) saved.emplace(d.path, &d);
    for (const auto& [p, d] : drops) {
      auto it = saved.find(p);
      if (it != saved.end()) drop_assign.push_back({d, {it->second->seed, it->second->offset}});
    }
  }

  // Everything checked: assign.
  for (auto& [var, value] : assignments) var.assign(value);
  for (auto& [var, value] : opt_assign) var.assign(value);
  for (auto& [d, st] : drop_assign) d->set_generator_state(st.first, st.second);
  restore.active = false;
  if (f.global_seed_state) set_random_seed_state(f.global_seed_state->first, f.global_seed_state->second);
  else set_random_seed_state(rng_before.first, rng_before.second);
  return LoadedModel{model, f.training_position};
}

void save_model(const Model& model, const std::string& path, const SaveOptions& options) {
  const auto bytes = serialize_model(model, options);
  write_file_atomic(path, bytes, options.fsync);
}

LoadedModel load_checkpoint(const std::string& path, const LoadOptions& options) {
  const auto bytes = read_file_bytes(path);
  return deserialize_model(bytes, options, path);
}

// Declared in layers/model.h (Keras's model.save); defined here so that the
// layers library does not depend on serialization.
void Model::save(const std::string& path) const { save_model(*this, path); }

std::shared_ptr<Model> load_model(const std::string& path, const LoadOptions& options) {
  return load_checkpoint(path, options).model;
}

// ============================================================================
// Weights hash (lamina-inspect --hash): FNV-1a over dtype code, rank, shape
// and bytes of every weight in order.

namespace {
struct Fnv1a {
  std::uint64_t h = 0xcbf29ce484222325ull;
  void add(const void* p, std::size_t n) {
    const auto* b = static_cast<const std::uint8_t*>(p);
    for (std::size_t i = 0; i < n; ++i) {
      h ^= b[i];
      h *= 0x100000001b3ull;
    }
  }
  void add_tensor(const Tensor& value) {
    const Tensor t = value.contiguous();
    const std::uint8_t code = dtype_code(t.dtype()), nd = static_cast<std::uint8_t>(t.ndim());
    add(&code, 1);
    add(&nd, 1);
    for (std::int64_t d : t.shape()) add(&d, 8);
    add(t.raw_data(), static_cast<std::size_t>(t.numel()) * t.itemsize());
  }
};
}  // namespace

std::uint64_t weights_hash(const std::vector<TensorRecord>& weights) {
  Fnv1a f;
  for (const auto& w : weights) f.add_tensor(w.value);
  return f.h;
}

std::uint64_t weights_hash(const Layer& layer) {
  Fnv1a f;
  for (const auto& [k, v] : weight_paths(layer)) f.add_tensor(v.value());
  return f.h;
}

}  // namespace lamina
