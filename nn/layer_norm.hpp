// LayerNorm: PyTorch's nn.LayerNorm(N) over the last axis, a module around the
// layer_norm op (autograd/ops/norm.cpp), with parameters "weight" (N) and "bias" (N).
// Legend: N features (the last axis of x).
#pragma once
#include "autograd/ops.hpp"
#include "nn/module.hpp"

namespace tg {

// y = (x − μ) / √(σ² + eps) ⊙ weight + bias, μ and σ² (biased) over each row's N features.
template <class T>
class LayerNorm : public Module<T> {
 public:
  // weight = 1, bias = 0: PyTorch's start, the identity after normalising.
  explicit LayerNorm(std::size_t features, double eps = 1e-5);
  Tensor<T> forward(const Tensor<T>& x) const;  // x (…,N) → (…,N)

  Tensor<T> weight, bias;
  std::size_t features;
  double eps;
};

}  // namespace tg
