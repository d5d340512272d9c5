// EmbeddingBag layer (see embedding_bag.hpp and its Note [Bags computed once per distinct bag]).
#include "nn/embedding_bag.hpp"

#include <algorithm>
#include <string_view>
#include <unordered_map>

#include <fmt/format.h>

#include "nn/init.hpp"

namespace tg {

template <class T>
EmbeddingBag<T>::EmbeddingBag(std::size_t num_embeddings, std::size_t embedding_dim, std::mt19937_64& rng)
    : num_embeddings(num_embeddings), embedding_dim(embedding_dim) {
  if (num_embeddings == 0) throw Error("EmbeddingBag: a table needs at least the padding row (N ≥ 1)");
  static_assert(padding_id == 0, "embedding_init zeroes row 0");
  weight = this->register_parameter("weight", embedding_init<T>(num_embeddings, embedding_dim, rng));
}

template <class T>
Tensor<T> EmbeddingBag<T>::forward(const Ids& bags) const {
  if (bags.dimension() < 2 || bags.shape().back() == 0)
    throw Error(fmt::format("EmbeddingBag: bags {} must be (…,K) with K ≥ 1", shape_str(bags.shape())));
  const std::size_t K = bags.shape().back(), R = bags.size() / K;
  // The distinct bags, in order of first appearance, keyed by their ids' bytes.
  std::unordered_map<std::string_view, std::int64_t> seen;
  std::vector<std::size_t> first;  // the position of each distinct bag's first appearance
  Shape which_shape(bags.shape().begin(), bags.shape().end() - 1);
  Ids which = Ids::from_shape(which_shape);
  for (std::size_t r = 0; r < R; ++r) {
    const std::string_view key(reinterpret_cast<const char*>(bags.data() + r * K), K * sizeof(std::int64_t));
    const auto [at, added] = seen.try_emplace(key, std::int64_t(first.size()));
    if (added) first.push_back(r);
    which.flat(r) = at->second;
  }
  Ids distinct = Ids::from_shape({first.size(), K});
  for (std::size_t u = 0; u < first.size(); ++u) std::copy_n(bags.data() + first[u] * K, K, &distinct(u, 0));
  return gather(gather_mean(weight, distinct, padding_id), which);  // (U,E) means, then (…,E)
}

template class EmbeddingBag<float>;
template class EmbeddingBag<double>;

}  // namespace tg
