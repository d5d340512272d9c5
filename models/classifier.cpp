// The sentiment classifier (see classifier.hpp).
#include "models/classifier.hpp"

#include <fmt/format.h>

#include "autograd/tape.hpp"
#include "models/limits.hpp"

namespace tg {

std::string_view pooling_name(PoolingKind kind) {
  switch (kind) {
    case PoolingKind::last: return "last";
    case PoolingKind::attention: return "attention";
    case PoolingKind::mean: return "mean";
  }
  return "?";
}

PoolingKind parse_pooling(std::string_view name) {
  for (PoolingKind k : {PoolingKind::last, PoolingKind::attention, PoolingKind::mean})
    if (pooling_name(k) == name) return k;
  throw Error(fmt::format("unknown pooling \"{}\" (expected last, attention or mean)", name));
}

namespace {
template <class T>
std::unique_ptr<Pooling<T>> make_pooling(const ClassifierConfig& c, std::size_t dim, std::mt19937_64& rng) {
  switch (c.pooling) {
    case PoolingKind::attention: return std::make_unique<AttentionPooling<T>>(dim, rng);
    case PoolingKind::last: return std::make_unique<LastStatePooling<T>>(c.bidirectional);
    case PoolingKind::mean: return std::make_unique<MeanPooling<T>>();
  }
  throw Error("unknown pooling");
}

const ClassifierConfig& checked(const ClassifierConfig& c) {
  if (c.vocab_size < 2 || c.embedding_dim == 0 || c.hidden_size == 0 || c.classes < 2)
    throw Error(fmt::format("classifier: vocabulary {}, embedding {}, hidden {}, classes {} is not a model",
                            c.vocab_size, c.embedding_dim, c.hidden_size, c.classes));
  try {
    check_classifier_size(c);  // before a single weight is allocated
  } catch (const Error& e) {
    throw Error(fmt::format("classifier: {}", e.what()));
  }
  return c;
}
}  // namespace

template <class T>
SentimentClassifier<T>::SentimentClassifier(const ClassifierConfig& config)
    : config_(checked(config)),
      init_rng_(config.seed),
      embedding(config.vocab_size, config.embedding_dim, init_rng_),
      embedding_dropout(config.embedding_dropout, config.seed * 2 + 1),
      lstm(config.embedding_dim, config.hidden_size, init_rng_, config.bidirectional),
      pooling(make_pooling<T>(config, lstm.output_size(), init_rng_)),
      state_dropout(config.state_dropout, config.seed * 2 + 2),
      classifier(lstm.output_size(), config.classes, init_rng_) {
  this->register_module("embedding", embedding);
  this->register_module("embedding_dropout", embedding_dropout);
  this->register_module("lstm", lstm);
  // Only attention pooling has parameters; PyTorch's model calls that module "attention".
  this->register_module(config.pooling == PoolingKind::attention ? "attention" : "pooling", *pooling);
  this->register_module("state_dropout", state_dropout);
  this->register_module("classifier", classifier);
}

template <class T>
ClassifierOutput<T> SentimentClassifier<T>::forward(const Ids& ids, const Mask& mask) {
  if (ids.dimension() != 2 || !shapes_equal(ids.shape(), mask.shape()))
    throw Error(fmt::format("classifier: ids {} and mask {} must both be (B,T)", shape_str(ids.shape()),
                            shape_str(mask.shape())));
  try {  // Note [Resource limits]: refused before the first op allocates anything
    check_batch_memory(config_, ids.shape()[0], ids.shape()[1], active_tape<T>() != nullptr);
  } catch (const Error& e) {
    throw Error(fmt::format("classifier: {}", e.what()));
  }
  Tensor<T> x = embedding_dropout.forward(embedding.forward(ids));  // (B,T,E)
  LSTMOutput<T> states = lstm.forward(x, mask);                      // (B,T,D)
  Pooled<T> pooled = pooling->forward(states.states, mask);          // s (B,D), α (B,T)
  Tensor<T> logits = classifier.forward(state_dropout.forward(pooled.pooled));
  return {logits, pooled.alpha};
}

template class SentimentClassifier<float>;
template class SentimentClassifier<double>;

}  // namespace tg
