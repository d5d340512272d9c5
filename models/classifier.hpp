// The flagship model: Embedding(V, E) → LSTM(H) → pooling (last | attention | mean)
// → Linear(D, C) over {negative, neutral, positive}, assembled from nn/ layers.
// Its parameter names are the PyTorch state_dict names of the same model.
// Legend: B batch, T time, V vocabulary, E embedding, H hidden, D = H or 2H, C classes.
#pragma once
#include <memory>
#include <random>
#include <string_view>

#include "nn/dropout.hpp"
#include "nn/embedding.hpp"
#include "nn/linear.hpp"
#include "nn/lstm.hpp"
#include "nn/pooling.hpp"

namespace tg {

enum class PoolingKind { last, attention, mean };
std::string_view pooling_name(PoolingKind kind);
PoolingKind parse_pooling(std::string_view name);  // "last" | "attention" | "mean", else throws

struct ClassifierConfig {
  std::size_t vocab_size = 0;
  std::size_t embedding_dim = 100;
  std::size_t hidden_size = 128;
  std::size_t classes = 3;
  PoolingKind pooling = PoolingKind::attention;
  bool bidirectional = false;
  double embedding_dropout = 0;  // on the embedded tokens (B,T,E)
  double state_dropout = 0;      // on the pooled vector s (B,D), before the classifier
  std::uint64_t seed = 1;        // initial weights and dropout masks
};

template <class T>
struct ClassifierOutput {
  Tensor<T> logits;  // (B,C)
  Tensor<T> alpha;   // (B,T): the weight each position got in s; exactly 0 at padding
};

template <class T>
class SentimentClassifier : public Module<T> {
 public:
  explicit SentimentClassifier(const ClassifierConfig& config);
  // ids (B,T) right-padded with 0; mask (B,T) true at real positions.
  ClassifierOutput<T> forward(const Ids& ids, const Mask& mask);
  const ClassifierConfig& config() const { return config_; }

 private:
  ClassifierConfig config_;
  std::mt19937_64 init_rng_;  // declared before the layers: they draw from it in order

 public:
  Embedding<T> embedding;
  Dropout<T> embedding_dropout;
  LSTM<T> lstm;
  std::unique_ptr<Pooling<T>> pooling;
  Dropout<T> state_dropout;
  Linear<T> classifier;
};

}  // namespace tg
