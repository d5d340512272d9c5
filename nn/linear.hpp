// Linear: y = x Wᵀ + b, as PyTorch's nn.Linear (weight (out,in), bias (out)).
// x is (…, in): leading axes are flattened into one batch axis for a single gemm.
#pragma once
#include <random>

#include "autograd/ops.hpp"
#include "nn/module.hpp"

namespace tg {

template <class T>
class Linear : public Module<T> {
 public:
  // weight and bias uniform in ±1/√in, PyTorch's default.
  Linear(std::size_t in, std::size_t out, std::mt19937_64& rng, bool bias = true);
  Tensor<T> forward(const Tensor<T>& x) const;

  Tensor<T> weight, bias;  // bias is empty without one
  std::size_t in_features, out_features;
};

}  // namespace tg
