#pragma once
/// Saving and loading models (keras-semantics D): the architecture as JSON,
/// weights files, and whole-model checkpoints in ONE binary file that resume
/// training exactly. The file format and its version policy are described in
/// serialization/FORMAT.md.
///
/// Example:
///   auto model = std::make_shared<Sequential>(...);
///   model->compile("adam", "sparse_categorical_crossentropy", {"accuracy"});
///   model->fit(x, y, {.epochs = 2, .seed = 7});
///   save_model(*model, "mlp.lamina", {.training_position = TrainingPosition{.epoch = 2, .shuffle_seed = 7}});
///   ...
///   LoadedModel ck = load_checkpoint("mlp.lamina");   // in a new process
///   ck.model->fit(x, y, {.epochs = 4, .seed = *ck.training_position->shuffle_seed,
///                        .initial_epoch = int(ck.training_position->epoch)});
///
/// Weights are keyed by their path relative to the saved model:
/// "<sublayer name>/.../<weight name>", e.g. "dense_1/kernel" (a weight of the
/// root layer itself is just "<weight name>").
///
/// Errors: IOError for unreadable, truncated or corrupt files (every section
/// carries a crc32); ValueError for content that does not fit (unknown class,
/// mismatched shapes or dtypes, unknown format version). A failed load leaves
/// the target model, and the global random state, untouched.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "lamina/layers/config.h"
#include "lamina/layers/layer.h"
#include "lamina/layers/model.h"

namespace lamina {

/// Where training stands, for resuming exactly: the number of completed
/// epochs (pass it to FitOptions::initial_epoch), the batch within the next
/// epoch (0 at epoch boundaries) and the seed of fit's per-epoch shuffle
/// (pass it to FitOptions::seed).
struct TrainingPosition {
  std::int64_t epoch = 0;
  std::int64_t step = 0;
  std::optional<std::uint64_t> shuffle_seed = std::nullopt;
  friend bool operator==(const TrainingPosition&, const TrainingPosition&) = default;
};

struct SaveOptions {
  /// fsync the file and its directory (durability). Only benchmarks turn it off.
  bool fsync = true;
  /// Stored in the file when set (see TrainingPosition).
  std::optional<TrainingPosition> training_position = std::nullopt;
  /// Store the compile config and optimizer state (when the model is compiled).
  bool include_optimizer = true;
};

struct LoadOptions {
  /// Compile the loaded model with the saved loss, metrics and optimizer state.
  bool compile = true;
  /// While the model is built (one batch of 1 through it), no single
  /// allocation may exceed this or the file's size, whichever is larger, so
  /// that a few bytes of config cannot make the loader allocate gigabytes.
  /// Raise it for models whose activations for one sample are larger.
  std::size_t max_build_allocation = std::size_t{256} << 20;
};

struct LoadedModel {
  std::shared_ptr<Model> model;
  std::optional<TrainingPosition> training_position = std::nullopt;
};

// ---- architecture ------------------------------------------------------------

/// {"class_name", "config", "build_config": {"input_shape": [...] or null}}.
Config model_config(const Layer& layer);
std::string model_to_json(const Layer& layer);
/// Creates the layer from its registered class (ValueError listing the known
/// names for an unknown class) and, when a build shape is given, builds it and
/// runs it once on zeros (batch of 1) so that every nested weight exists.
std::shared_ptr<Layer> model_from_config(const Config& envelope);
std::shared_ptr<Layer> model_from_json(const std::string& json);

// ---- weights -------------------------------------------------------------------

/// Every weight (trainable and not) with its key (path relative to `layer`), in weights() order.
std::vector<std::pair<std::string, Variable>> weight_paths(const Layer& layer);

/// Writes the weights (file kind "weights", same container as save_model).
void save_weights(const Layer& layer, const std::string& path, const SaveOptions& options = {});
/// Loads weights saved by save_weights or save_model into a built `layer`,
/// matching them by key (see weight_paths; when NO key matches, e.g. a copy of
/// the architecture built with other automatic names, by order). Checks every
/// count, dtype and shape first: ValueError naming the layer, the weight and
/// both shapes; nothing is assigned unless everything fits.
void load_weights(Layer& layer, const std::string& path);

// ---- whole model -----------------------------------------------------------------

/// Writes the model atomically: a temporary file in the same directory,
/// flushed and fsynced, renamed over `path`, then the directory fsynced.
void save_model(const Model& model, const std::string& path, const SaveOptions& options = {});
std::shared_ptr<Model> load_model(const std::string& path, const LoadOptions& options = {});
/// load_model plus the stored training position.
LoadedModel load_checkpoint(const std::string& path, const LoadOptions& options = {});

/// The file's bytes (what save_model writes) and their inverse, for tests,
/// fuzzing and in-memory copies.
std::vector<std::uint8_t> serialize_model(const Model& model, const SaveOptions& options = {});
LoadedModel deserialize_model(std::span<const std::uint8_t> bytes, const LoadOptions& options = {},
                              const std::string& source = "<memory>");

// ---- low level: the parsed file (lamina-inspect) ------------------------------------

/// File kinds (FORMAT.md).
enum class FileKind : std::uint32_t { model = 1, weights = 2 };

/// A stored tensor: key, dtype, shape and value.
struct TensorRecord {
  std::string name;
  Tensor value;
};

struct SectionInfo {
  std::string tag;          ///< "ARCH", "WGHT", ...
  std::uint64_t offset = 0;  ///< of the section header
  std::uint64_t length = 0;  ///< payload bytes
  std::uint32_t crc32 = 0;   ///< as stored (verified while parsing)
};

struct DropoutState {
  std::string path;
  std::uint64_t seed = 0, offset = 0;
};

/// Everything a file holds, parsed and checksum-verified, no model built.
struct ModelFile {
  std::uint32_t version = 0;
  FileKind kind = FileKind::model;
  std::vector<SectionInfo> sections;
  std::optional<Config> architecture;        ///< the model_config envelope
  std::vector<TensorRecord> weights;
  std::optional<Config> compile_config;      ///< {"loss": {...} or null, "metrics": [...]}
  std::optional<Config> optimizer_config;    ///< {"class_name", "config"}
  std::vector<TensorRecord> optimizer_state;  ///< "iterations", then "<weight key>:<slot>"
  std::optional<std::pair<std::uint64_t, std::uint64_t>> global_seed_state;
  std::vector<DropoutState> dropout_states;
  std::optional<TrainingPosition> training_position = std::nullopt;
};

/// Parses and verifies every section (IOError / ValueError as for load_model).
ModelFile parse_model_file(std::span<const std::uint8_t> bytes, const std::string& source = "<memory>");
/// Reads a whole file (IOError naming it when it cannot be read).
std::vector<std::uint8_t> read_file_bytes(const std::string& path);
/// Replaces `path` atomically with `bytes` (temporary file, fsync, rename, directory fsync).
void write_file_atomic(const std::string& path, std::span<const std::uint8_t> bytes, bool fsync = true);

/// The current format version written by this build; files with a larger
/// version are refused.
inline constexpr std::uint32_t kFormatVersion = 1;

/// 64-bit FNV-1a over every weight in order: its dtype code (1 byte), rank
/// (1 byte), dims (int64 LE each) and raw little-endian bytes. Names are not
/// hashed, so renamed-but-identical models hash equal. As hex: %016llx.
std::uint64_t weights_hash(const std::vector<TensorRecord>& weights);
std::uint64_t weights_hash(const Layer& layer);

}  // namespace lamina
