#pragma once
/// Embedding(input_dim, output_dim): integer indices (any shape) -> vectors,
/// output shape indices.shape + (output_dim,). Keras default initializer
/// "uniform" = RandomUniform(-0.05, 0.05). Out-of-range indices raise IndexError.

#include "lamina/layers/layer.h"

namespace lamina::layers {

struct EmbeddingOptions {
  std::int64_t input_dim = 0;
  std::int64_t output_dim = 0;
  InitializerRef embeddings_initializer = "random_uniform";
  RegularizerRef embeddings_regularizer;
  ConstraintRef embeddings_constraint;

  template <class V>
  void visit_fields(V&& v) {
    v("input_dim", input_dim);
    v("output_dim", output_dim);
    v("embeddings_initializer", embeddings_initializer);
    v("embeddings_regularizer", embeddings_regularizer);
    v("embeddings_constraint", embeddings_constraint);
  }
};

class Embedding : public Layer {
 public:
  /// Throws ValueError when input_dim or output_dim <= 0.
  explicit Embedding(EmbeddingOptions options, LayerOptions base = {});
  const Variable& embeddings() const { return embeddings_; }
  Config get_config() const override;
  static std::shared_ptr<Embedding> from_config(const Config& c);

 protected:
  void build(const Shape& input_shape) override;
  Tensor call(const Tensor& x, const CallContext& ctx) override;

 private:
  EmbeddingOptions options_;
  Variable embeddings_;
};

}  // namespace lamina::layers
