// Dropout as a module, as PyTorch's nn.Dropout(p): active in training mode, the
// identity after eval(). It owns its random stream, so a seed fixes every mask it
// draws and no other layer's draws shift them.
#pragma once
#include <cstdint>
#include <random>

#include "autograd/ops.hpp"
#include "nn/module.hpp"

namespace tg {

template <class T>
class Dropout : public Module<T> {
 public:
  // p in [0,1): the probability of zeroing an element; kept ones are scaled by 1/(1−p).
  Dropout(double p, std::uint64_t seed);
  // Draws a fresh mask on every call in training mode, so it is not const.
  Tensor<T> forward(const Tensor<T>& x);

  double p;

 private:
  std::mt19937_64 rng_;
};

}  // namespace tg
