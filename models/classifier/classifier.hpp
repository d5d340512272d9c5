// The flagship model: Embedding(V, E) → encoder → pooling → Linear(D, C) over
// {negative, neutral, positive}, the encoder (lstm, gru, …) and the pooling (last,
// attention, mean, …) chosen by name from the registries (models/classifier/registry.hpp).
// Its parameter names are the PyTorch state_dict names of the same model.
// Legend: B batch, T time, V vocabulary, E embedding, D the encoder's output size, C classes.
#pragma once
#include <memory>
#include <optional>
#include <random>

#include "models/classifier/classifier_config.hpp"
#include "nn/dropout.hpp"
#include "nn/embedding.hpp"
#include "nn/embedding_bag.hpp"
#include "nn/encoder.hpp"
#include "nn/linear.hpp"
#include "nn/pooling.hpp"

namespace tg {

template <class T>
struct ClassifierOutput {
  Tensor<T> logits;  // (B,C)
  Tensor<T> alpha;   // (B,T): the weight each position got in s; exactly 0 at padding
};

template <class T>
class SentimentClassifier : public Module<T> {
 public:
  // Throws one line when the encoder or pooling is not registered (listing the known ones)
  // or a size is over Note [Resource limits], before a weight is allocated.
  explicit SentimentClassifier(const ClassifierConfig& config);
  // ids (B,T) right-padded with 0; mask (B,T) true at real positions; subwords (B,T,K) the
  // bags of each position's n-gram ids (batch_subword_bags, models/data/subwords.hpp), given
  // exactly when the model has a subword table (config().subword_buckets > 0).
  ClassifierOutput<T> forward(const Ids& ids, const Mask& mask, const Ids* subwords = nullptr);
  // The embedded tokens (B,T,E), before dropout: the word's row, plus the mean of its
  // n-grams' rows when the model has subwords.
  Tensor<T> embed(const Ids& ids, const Ids* subwords) const;
  const ClassifierConfig& config() const { return config_; }

 private:
  ClassifierConfig config_;
  std::mt19937_64 init_rng_;  // declared before the layers: they draw from it in order

 public:
  Embedding<T> embedding;
  Dropout<T> embedding_dropout;
  std::unique_ptr<Encoder<T>> encoder;  // registered as its entry's module name ("lstm", …)
  std::unique_ptr<Pooling<T>> pooling;  // registered as "attention" or "pooling"
  Dropout<T> state_dropout;
  Linear<T> classifier;
  // Declared last, so it draws its weights after every other layer: a seed gives the same
  // weights as a model without it for everything else.
  std::optional<EmbeddingBag<T>> subword_embedding;  // registered as "subword_embedding"
};

}  // namespace tg
