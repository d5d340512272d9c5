// Dropout module (see dropout.hpp): a mode switch and a random stream around tg::dropout.
#include "nn/dropout.hpp"

#include <fmt/format.h>

namespace tg {

template <class T>
Dropout<T>::Dropout(double p, std::uint64_t seed) : p(p), rng_(seed) {
  if (!(p >= 0 && p < 1)) throw Error(fmt::format("Dropout: p = {} is not in [0,1)", p));
}

template <class T>
Tensor<T> Dropout<T>::forward(const Tensor<T>& x) {
  return dropout(x, static_cast<T>(p), this->training(), rng_);
}

template class Dropout<float>;
template class Dropout<double>;

}  // namespace tg
