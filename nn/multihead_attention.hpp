// Multi-head self-attention as PyTorch's nn.MultiheadAttention(d, heads, batch_first=True)
// called with query = key = value = x and a key-padding mask: its parameters
// (in_proj_weight, in_proj_bias, out_proj.weight, out_proj.bias), layouts and numbers.
// Composed from generic ops (linear, reshape, transpose, bmm, masked_fill, softmax).
// Legend: B batch, T time, d model width, h heads, d_h = d / h per head.
#pragma once
#include <cstdint>
#include <random>

#include "autograd/ops.hpp"
#include "nn/dropout.hpp"
#include "nn/linear.hpp"
#include "nn/module.hpp"

namespace tg {

template <class T>
struct AttentionOutput {
  Tensor<T> output;   // (B,T,d)
  Tensor<T> weights;  // (B,h,T,T): row t of head j is query t's weights over the keys;
                      // exactly 0 at padded keys
};

// For x (B,T,d), per sequence and head j (columns j·d_h … (j+1)·d_h − 1 of Q, K, V):
//   [Q K V] = x W_inᵀ + b_in            W_in (3d,d) stacks W_Q, W_K, W_V; b_in (3d)
//   S_j = Q_j K_jᵀ / √d_h                (T,T), S_j[t,s] = −∞ for every padded key s
//   A_j = softmax of each row of S_j     (a padded key gets exactly 0 weight and no gradient)
//   O = [A_0 V_0 … A_{h−1} V_{h−1}]      heads side by side, (T,d)
//   output = O W_Oᵀ + b_O                out_proj, a Linear (d,d)
// Padded queries are computed like real ones (as PyTorch does); callers ignore them.
// Dropout (training mode only) acts on A, as in PyTorch.
template <class T>
class MultiheadAttention : public Module<T> {
 public:
  // PyTorch's start: W_in Xavier-uniform, b_in = 0, W_O uniform in ±1/√d, b_O = 0.
  MultiheadAttention(std::size_t d_model, std::size_t heads, std::mt19937_64& rng, double dropout = 0);
  // x (B,T,d); mask (B,T) true at real positions.
  AttentionOutput<T> forward(const Tensor<T>& x, const Mask& mask) const;

  Tensor<T> in_proj_weight, in_proj_bias;
  Linear<T> out_proj;
  std::size_t d_model, heads;

 private:
  mutable Dropout<T> dropout_;  // draws masks inside a const forward, as the encoder's is const
};

}  // namespace tg
