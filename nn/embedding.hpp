// Embedding: rows of a (V,E) table looked up by token id, as PyTorch's
// nn.Embedding(V, E, padding_idx=0). Sits in nn/ above the generic gather op.
#pragma once
#include <cstdint>
#include <random>

#include "autograd/ops.hpp"
#include "nn/module.hpp"

namespace tg {

// Note [The padding row gets no gradient]
// Id 0 is padding: its row starts at zero and must never move, whatever the loss.
// PyTorch hard-codes that in its embedding backward. We get it by composition instead:
//   out = gather(weight, ids) ⊙ keep          keep = (ids ≠ 0), shape ids.shape + (1),
//                                              broadcast over E
// mul's backward hands gather grad ⊙ keep, which is exactly 0 at every padded
// position (0·g is ±0 for finite g, and ±0 sum to +0), and gather routes only
// those zeros into row 0. So the row's gradient is exactly zero, Adam's and SGD's
// moments for it stay zero, and so does the row — with L2 weight decay too, since
// decay·0 = 0. The forward value is unchanged: row 0 holds zeros anyway.
template <class T>
class Embedding : public Module<T> {
 public:
  static constexpr std::int64_t padding_id = 0;

  // weight (V,E) from N(0,1), PyTorch's default, then the padding row zeroed.
  Embedding(std::size_t num_embeddings, std::size_t embedding_dim, std::mt19937_64& rng);
  // ids of any shape, each in [0,V) → ids.shape + (E).
  Tensor<T> forward(const Ids& ids) const;

  Tensor<T> weight;
  std::size_t num_embeddings, embedding_dim;
};

}  // namespace tg
