// Poolings: from a padded sequence of states (B,T,D) to one vector per sequence (B,D),
// plus the weights α (B,T) each gave the positions, so any pooling can be shown the same
// way. Composed from generic ops: every pooled vector is s = Σ_t α_t h_t.
// Legend: B batch, T time, D state size (H, or 2H for a bidirectional LSTM).
#pragma once
#include <random>

#include "autograd/ops.hpp"
#include "nn/linear.hpp"
#include "nn/module.hpp"

namespace tg {

template <class T>
struct Pooled {
  Tensor<T> pooled;  // (B,D)
  Tensor<T> alpha;   // (B,T) weights over positions; exactly 0 at padding
};

// mask (B,T) is true at real positions. A sequence with no real position pools to zeros.
template <class T>
class Pooling : public Module<T> {
 public:
  virtual Pooled<T> forward(const Tensor<T>& states, const Mask& mask) const = 0;
};

// Attention pooling of Hierarchical Attention Networks (Yang et al. 2016):
//   u_t = tanh(W h_t + b)        W (D,D) is the child Linear "proj"
//   e_t = u_t · u_w              u_w (D) is the parameter "context"
//   α = softmax(e) over the real positions (padding is filled with −∞ first, so its α is
//       exactly 0 and no gradient reaches it; a row with no real position gets α = 0)
//   s = Σ_t α_t h_t
template <class T>
class AttentionPooling : public Pooling<T> {
 public:
  // proj as Linear's default; context uniform in ±1/√D, the same scale, so that at the
  // start e_t = u_t · u_w is O(1): α is neither uniform nor saturated and W gets gradient.
  AttentionPooling(std::size_t dim, std::mt19937_64& rng);
  Pooled<T> forward(const Tensor<T>& states, const Mask& mask) const override;

  Linear<T> proj;
  Tensor<T> context;  // u_w (D)
};

// The state at each sequence's last real token (not the last padded position):
// s = h at length−1. For a bidirectional LSTM's states, whose second half runs backwards,
// s = [forward half at length−1, reverse half at position 0] (PyTorch's h_n).
// α is one-hot at the last real token.
template <class T>
class LastStatePooling : public Pooling<T> {
 public:
  explicit LastStatePooling(bool bidirectional = false) : bidirectional(bidirectional) {}
  Pooled<T> forward(const Tensor<T>& states, const Mask& mask) const override;

  bool bidirectional;
};

// The mean over real positions: α = 1/length there and 0 at padding.
template <class T>
class MeanPooling : public Pooling<T> {
 public:
  Pooled<T> forward(const Tensor<T>& states, const Mask& mask) const override;
};

}  // namespace tg
