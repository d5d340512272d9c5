// GRU: one layer, batch-first, uni- or bidirectional, with PyTorch nn.GRU's parameters
// (names, shapes, gate order r, z, n) and packed-sequence padding semantics, like the
// LSTM (nn/lstm.hpp), whose packed layout it shares. Composed from generic autograd ops:
// there is no hand-written backward here.
// Legend: B batch, T time, E embedding (input), H hidden, D = H or 2H (output).
#pragma once
#include <random>

#include "autograd/ops.hpp"
#include "nn/encoder.hpp"
#include "nn/lstm.hpp"  // PackedLayout, packed_layout, first_rows

namespace tg {

// Per step t, PyTorch's equations (W_ih (3H,E), W_hh (3H,H), both biases (3H); three
// blocks of H rows in the order r, z, n):
//   a = x_t W_ihᵀ + b_ih        b = h W_hhᵀ + b_hh                  (B,3H)
//   r = σ(a_r + b_r)    z = σ(a_z + b_z)    n = tanh(a_n + r ⊙ b_n)
//   h' = (1 − z) ⊙ n + z ⊙ h                                         h₀ = 0
// b_hn sits inside r ⊙ (…), so unlike the LSTM's the two biases cannot be merged.
// Padding, the reverse direction and the two schedules (masked: any mask, the reference;
// packed: right-padded masks, no work on padding) are exactly the LSTM's.
template <class T>
struct GRUWeights {
  Tensor<T> weight_ih, weight_hh, bias_ih, bias_hh;
};

template <class T>
struct GRUOutput {
  Tensor<T> states;  // (B,T,D): [forward, reverse] on the last axis; exactly 0 at padding
  Tensor<T> h_n;     // (directions,B,H) as PyTorch: forward h at length−1, reverse h at position 0
};

template <class T>
class GRU : public Encoder<T> {
 public:
  // Every parameter uniform in ±1/√H, PyTorch's default.
  GRU(std::size_t input_size, std::size_t hidden_size, std::mt19937_64& rng, bool bidirectional = false);

  // x (B,T,E); mask (B,T) true at real positions.
  GRUOutput<T> forward(const Tensor<T>& x, const Mask& mask) const;

  // The Encoder face: the states alone.
  Tensor<T> encode(const Tensor<T>& x, const Mask& mask) const override { return forward(x, mask).states; }
  std::size_t output_size() const override { return bidirectional ? 2 * hidden_size : hidden_size; }
  bool reversed_half() const override { return bidirectional; }

  GRUWeights<T> forward_weights;  // weight_ih_l0, weight_hh_l0, bias_ih_l0, bias_hh_l0
  GRUWeights<T> reverse_weights;  // the same with "_reverse"; empty unless bidirectional
  std::size_t input_size, hidden_size;
  bool bidirectional;
  bool packed = true;  // use the packed schedule when the mask is right-padded; false: always masked

 private:
  struct Run {
    Tensor<T> states, h;  // (B,T,H), (B,H)
  };
  // h' from a = x W_ihᵀ + b_ih (rows,3H) and h (rows,H): the equations above, one line each.
  Tensor<T> step(const GRUWeights<T>& w, const Tensor<T>& a, const Tensor<T>& h) const;
  Run run_masked(const GRUWeights<T>& w, const Tensor<T>& x, const Mask& mask, bool reverse) const;
  Run run_packed(const GRUWeights<T>& w, const Tensor<T>& x, const PackedLayout& layout, bool reverse) const;
  GRUWeights<T> make_weights(const std::string& suffix, std::mt19937_64& rng);
};

}  // namespace tg
