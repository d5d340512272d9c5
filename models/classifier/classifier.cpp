// The sentiment classifier (see classifier.hpp).
#include "models/classifier/classifier.hpp"

#include <fmt/format.h>

#include "autograd/tape.hpp"
#include "models/limits.hpp"
#include "models/classifier/registry.hpp"

namespace tg {
namespace {

const ClassifierConfig& checked(const ClassifierConfig& c) {
  if (c.vocab_size < 2 || c.embedding_dim == 0 || c.hidden_size == 0 || c.classes < 2)
    throw Error(fmt::format("classifier: vocabulary {}, embedding {}, hidden {}, classes {} is not a model",
                            c.vocab_size, c.embedding_dim, c.hidden_size, c.classes));
  try {
    check_encoder_settings(encoder_entry(c.encoder), c);
    pooling_entry(c.pooling);
    check_classifier_size(c);  // before a single weight is allocated
  } catch (const Error& e) {
    throw Error(fmt::format("classifier: {}", e.what()));
  }
  return c;
}

}  // namespace

// The layers draw their initial weights from init_rng_ in the order they are built:
// embedding, encoder, pooling, classifier.
template <class T>
SentimentClassifier<T>::SentimentClassifier(const ClassifierConfig& config)
    : config_(checked(config)),
      init_rng_(config.seed),
      embedding(config.vocab_size, config.embedding_dim, init_rng_),
      embedding_dropout(config.embedding_dropout, config.seed * 2 + 1),
      encoder(encoder_entry(config.encoder).make.template make<T>(config, init_rng_)),
      pooling(pooling_entry(config.pooling).make.template make<T>(config, encoder->output_size(),
                                                                  encoder->reversed_half(), init_rng_)),
      state_dropout(config.state_dropout, config.seed * 2 + 2),
      classifier(encoder->output_size(), config.classes, init_rng_) {
  if (config.subword_buckets > 0)
    subword_embedding.emplace(config.subword_buckets + 1, config.embedding_dim, init_rng_);
  this->register_module("embedding", embedding);
  this->register_module("embedding_dropout", embedding_dropout);
  this->register_module(encoder_entry(config.encoder).module_name, *encoder);
  this->register_module(pooling_entry(config.pooling).module_name, *pooling);
  this->register_module("state_dropout", state_dropout);
  this->register_module("classifier", classifier);
  if (subword_embedding) this->register_module("subword_embedding", *subword_embedding);
}

template <class T>
Tensor<T> SentimentClassifier<T>::embed(const Ids& ids, const Ids* subwords) const {
  if (!subword_embedding) {
    if (subwords) throw Error("classifier: subword bags given to a model without a subword table");
    return embedding.forward(ids);
  }
  if (!subwords || subwords->dimension() != 3 || subwords->shape()[0] != ids.shape()[0] ||
      subwords->shape()[1] != ids.shape()[1])
    throw Error(fmt::format("classifier: a model with subwords needs their bags (B,T,K) for ids {}, got {}",
                            shape_str(ids.shape()), subwords ? shape_str(subwords->shape()) : "none"));
  return embedding.forward(ids) + subword_embedding->forward(*subwords);
}

template <class T>
ClassifierOutput<T> SentimentClassifier<T>::forward(const Ids& ids, const Mask& mask, const Ids* subwords) {
  if (ids.dimension() != 2 || !shapes_equal(ids.shape(), mask.shape()))
    throw Error(fmt::format("classifier: ids {} and mask {} must both be (B,T)", shape_str(ids.shape()),
                            shape_str(mask.shape())));
  try {  // Note [Resource limits]: refused before the first op allocates anything
    check_batch_memory(config_, ids.shape()[0], ids.shape()[1], active_tape<T>() != nullptr);
  } catch (const Error& e) {
    throw Error(fmt::format("classifier: {}", e.what()));
  }
  Tensor<T> x = embedding_dropout.forward(embed(ids, subwords));  // (B,T,E)
  Tensor<T> states = encoder->encode(x, mask);                      // (B,T,D)
  Pooled<T> pooled = pooling->forward(states, mask);                // s (B,D), α (B,T)
  Tensor<T> logits = classifier.forward(state_dropout.forward(pooled.pooled));
  return {logits, pooled.alpha};
}

template class SentimentClassifier<float>;
template class SentimentClassifier<double>;

}  // namespace tg
