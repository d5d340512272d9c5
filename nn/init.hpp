// Seeded initialisation as PyTorch's defaults. Draws come from std::mt19937_64 through
// our own uniform and normal transforms, because std::uniform_real_distribution and
// std::normal_distribution are implementation-defined: a seed gives the same weights
// with every standard library.
#pragma once
#include <algorithm>
#include <cmath>
#include <random>

#include "autograd/array.hpp"
#include "autograd/random.hpp"

namespace tg {

// Every element uniform in [−bound, bound): PyTorch's default for Linear (bound = 1/√fan_in)
// and for LSTM (bound = 1/√H).
template <class T>
Array<T> uniform_init(const Shape& shape, double bound, std::mt19937_64& rng) {
  Array<T> a = xt::empty<T>(shape);
  for (T& v : a) v = static_cast<T>((2 * uniform01(rng) - 1) * bound);
  return a;
}

// Every element from N(0, 1) by Box–Muller: PyTorch's default for Embedding.
template <class T>
Array<T> normal_init(const Shape& shape, std::mt19937_64& rng) {
  Array<T> a = xt::empty<T>(shape);
  for (T& v : a) {
    const double u1 = 1.0 - uniform01(rng), u2 = uniform01(rng);  // u1 in (0, 1]: log is finite
    v = static_cast<T>(std::sqrt(-2 * std::log(u1)) * std::cos(2 * M_PI * u2));
  }
  return a;
}

// An embedding table (rows, width) from N(0, 1) with row 0, the padding row, zeroed:
// PyTorch's Embedding(padding_idx=0) and EmbeddingBag(padding_idx=0). The whole table is
// drawn first, as PyTorch does, so a seed gives the same rows 1… whether or not there is padding.
template <class T>
Array<T> embedding_init(std::size_t rows, std::size_t width, std::mt19937_64& rng) {
  Array<T> table = normal_init<T>({rows, width}, rng);
  std::fill_n(table.data(), width, T(0));
  return table;
}

}  // namespace tg
