// Embedding layer (see embedding.hpp and its Note [The padding row gets no gradient]).
#include "nn/embedding.hpp"

#include <algorithm>

#include "nn/init.hpp"

namespace tg {

template <class T>
Embedding<T>::Embedding(std::size_t num_embeddings, std::size_t embedding_dim, std::mt19937_64& rng)
    : num_embeddings(num_embeddings), embedding_dim(embedding_dim) {
  if (num_embeddings == 0) throw Error("Embedding: a table needs at least the padding row (V ≥ 1)");
  static_assert(padding_id == 0, "embedding_init zeroes row 0");
  weight = this->register_parameter("weight", embedding_init<T>(num_embeddings, embedding_dim, rng));
}

template <class T>
Tensor<T> Embedding<T>::forward(const Ids& ids) const {
  // No padding id among them (one tweet at a time): the rows as they are, one op less.
  if (std::find(ids.begin(), ids.end(), padding_id) == ids.end()) return gather(weight, ids);
  Shape keep_shape(ids.shape().begin(), ids.shape().end());
  keep_shape.push_back(1);
  Array<T> keep = Array<T>::from_shape(keep_shape);
  std::transform(ids.begin(), ids.end(), keep.begin(), [](std::int64_t id) { return T(id != padding_id); });
  return gather(weight, ids) * Tensor<T>(std::move(keep));
}

template class Embedding<float>;
template class Embedding<double>;

}  // namespace tg
