// The Transformer encoder: learned positions added to the embedded tokens, then L
// pre-LayerNorm layers of PyTorch's nn.TransformerEncoderLayer(norm_first=True,
// activation='relu', batch_first=True) and a final LayerNorm, as PyTorch's
// nn.TransformerEncoder(layer, L, norm=nn.LayerNorm(d)) called with a key-padding mask.
// Parameter names are PyTorch's state_dict names of that model: "position.weight",
// "transformer.layers.0.self_attn.in_proj_weight", …, "transformer.norm.weight".
// Composed from generic ops; the equations are in docs/transformer-encoder.md.
// Legend: B batch, T time, d model width (= the embedding size E), h heads, F feed-forward
// width, L layers, P positions.
#pragma once
#include <memory>
#include <random>
#include <vector>

#include "autograd/ops.hpp"
#include "nn/dropout.hpp"
#include "nn/encoder.hpp"
#include "nn/layer_norm.hpp"
#include "nn/linear.hpp"
#include "nn/multihead_attention.hpp"

namespace tg {

struct TransformerSettings {
  std::size_t d_model = 64;         // d: the embedding size, and every layer's width
  std::size_t heads = 2;            // h, dividing d
  std::size_t feedforward = 128;    // F
  std::size_t layers = 1;           // L
  std::size_t max_positions = 256;  // P: the longest sequence it takes
  double dropout = 0;               // PyTorch's four places: on A, after attention, inside
                                    // and after the feed-forward block (training mode only)
};

// One pre-LN layer, x (B,T,d) → (B,T,d):
//   x′ = x + SelfAttention(LN₁(x))                         (mask: padded keys get weight 0)
//   x″ = x′ + relu(LN₂(x′) W₁ᵀ + b₁) W₂ᵀ + b₂              W₁ (F,d) linear1, W₂ (d,F) linear2
template <class T>
class TransformerEncoderLayer : public Module<T> {
 public:
  TransformerEncoderLayer(const TransformerSettings& s, std::mt19937_64& rng);
  // x (B,T,d), mask (B,T) true at real positions. Also returns the attention weights A.
  AttentionOutput<T> forward(const Tensor<T>& x, const Mask& mask) const;

  MultiheadAttention<T> self_attn;
  Linear<T> linear1, linear2;
  LayerNorm<T> norm1, norm2;

 private:
  mutable Dropout<T> dropout_, dropout1_, dropout2_;  // inside FF, after attention, after FF
};

// PyTorch's nn.TransformerEncoder: the layers ("layers.0", …) and the final LayerNorm ("norm").
template <class T>
struct TransformerStack : Module<T> {
  TransformerStack(const TransformerSettings& s, std::mt19937_64& rng);
  std::vector<std::unique_ptr<TransformerEncoderLayer<T>>> layers;
  LayerNorm<T> norm;
};

template <class T>
struct TransformerOutput {
  Tensor<T> states;                  // y (B,T,d) after the final LayerNorm
  std::vector<Tensor<T>> attention;  // per layer, A (B,h,T,T)
};

// The encoder, y = LN_f(layer_{L−1}(… layer_0(x + P[0:T]))), x the embedded tokens:
//   "position.weight" (P,d): row t is added at position t (PyTorch's nn.Embedding(P, d), N(0,1))
//   "transformer.…": the TransformerStack
// The names carry their own prefixes, so an owner registers this module with an empty name
// (Module::register_module) to keep them as PyTorch's state_dict has them.
// At padded positions y holds what PyTorch computes there (a query over the real keys);
// nothing at a real position depends on padding.
template <class T>
class TransformerEncoder : public Encoder<T> {
 public:
  TransformerEncoder(const TransformerSettings& s, std::mt19937_64& rng);

  // x (B,T,d) with T ≤ P; mask (B,T) true at real positions.
  TransformerOutput<T> forward(const Tensor<T>& x, const Mask& mask) const;
  Tensor<T> encode(const Tensor<T>& x, const Mask& mask) const override { return forward(x, mask).states; }
  std::size_t output_size() const override { return settings.d_model; }

  TransformerSettings settings;
  Tensor<T> position;  // (P,d)
  TransformerStack<T> transformer;
};

}  // namespace tg
