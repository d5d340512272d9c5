// EmbeddingBag: each bag of ids becomes the mean of their rows in a (N,E) table, as PyTorch's
// nn.EmbeddingBag(N, E, mode="mean", padding_idx=0). The sentiment model uses it for the
// hashed character n-grams of each token (Note [Subword features], models/data/subwords.hpp).
// Composed from generic ops: gather_mean, gather. Legend: K ids per bag, E embedding.
#pragma once
#include <cstdint>
#include <random>

#include "autograd/ops.hpp"
#include "nn/module.hpp"

namespace tg {

// Note [Bags computed once per distinct bag]
// A batch holds the same word many times ("the", "flight"), and so the same bag. forward
// finds the U distinct bags among the R given, means each once, and gathers the (U,E)
// means back out to the R positions:
//   means = gather_mean(weight, distinct, 0)     the mean of each bag's rows, ids 0 left out
//   out   = gather(means, which)                 which (R): the distinct bag of each
// Both backwards add up repeated rows, so the gradient is the one of the plain
// per-position mean. Padding ids (0) are left out, so as in Note [The padding row gets no
// gradient] row 0 never moves; a bag of padding alone is a row of zeros.
template <class T>
class EmbeddingBag : public Module<T> {
 public:
  static constexpr std::int64_t padding_id = 0;

  // weight (N,E) from N(0,1), PyTorch's default, then the padding row zeroed.
  EmbeddingBag(std::size_t num_embeddings, std::size_t embedding_dim, std::mt19937_64& rng);
  // bags (…,K) of ids in [0,N), 0-padded → (…,E).
  Tensor<T> forward(const Ids& bags) const;

  Tensor<T> weight;
  std::size_t num_embeddings, embedding_dim;
};

}  // namespace tg
