#include "lamina/layers/embedding.h"

#include "lamina/autograd/indexing.h"
#include "lamina/layers/registry.h"

namespace lamina::layers {

LAMINA_REGISTER_LAYER(Embedding);

Embedding::Embedding(EmbeddingOptions options, LayerOptions base)
    : Layer("Embedding", std::move(base)), options_(std::move(options)) {
  LAMINA_CHECK(options_.input_dim > 0 && options_.output_dim > 0, ValueError, "[", name(),
               "] Embedding expects input_dim > 0 and output_dim > 0, got input_dim=", options_.input_dim,
               " output_dim=", options_.output_dim);
}

void Embedding::build(const Shape&) {
  embeddings_ = add_weight("embeddings", {options_.input_dim, options_.output_dim}, options_.embeddings_initializer,
                           true, options_.embeddings_regularizer, options_.embeddings_constraint);
}

Tensor Embedding::call(const Tensor& x, const CallContext&) {
  LAMINA_CHECK(!is_floating(x.dtype()) && x.dtype() != DType::bool_, DTypeError, "[", path(),
               "] Embedding expects integer indices, got dtype ", x.dtype());
  // Rows of the table gathered with take_along_axis on axis 0: indices (n, 1)
  // broadcast across the output_dim columns.
  Tensor flat = x.reshape({x.numel(), 1});
  Tensor rows;
  try {  // the gather checks the range; the message should name this layer
    rows = take_along_axis(embeddings_, flat, 0);
  } catch (const IndexError& e) {
    LAMINA_CHECK(false, IndexError, "[", path(), "] Embedding(input_dim=", options_.input_dim,
                 ") got an index outside [0, ", options_.input_dim, "): ", e.what());
  }
  Shape out = x.shape();
  out.push_back(options_.output_dim);
  return reshape(rows, out);
}

Config Embedding::get_config() const { return merged(Layer::get_config(), fields_to_config(options_)); }

std::shared_ptr<Embedding> Embedding::from_config(const Config& c) {
  EmbeddingOptions o;
  fields_from_config(o, c);
  return std::make_shared<Embedding>(o, LayerOptions::from_config(c));
}

}  // namespace lamina::layers
