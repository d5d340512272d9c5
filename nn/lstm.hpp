// LSTM: one layer, batch-first, uni- or bidirectional, with PyTorch nn.LSTM's parameters
// (names, shapes, gate order i, f, g, o) and packed-sequence padding semantics.
// The reference is composed from generic autograd ops, with no hand-written backward; the
// fast path runs the recurrence as one op with its backward derived in lstm.cpp, tested equal.
// Legend: B batch, T time, E embedding (input), H hidden, D = H or 2H (output).
// The reference (the masked schedule) comes first, here and in lstm.cpp; the fast path
// (the packed schedule and the kept weight panels) follows it, tested equal.
#pragma once
#include <memory>
#include <mutex>
#include <optional>
#include <random>

#include "autograd/fast/gemm.hpp"  // Panels
#include "autograd/ops.hpp"
#include "nn/encoder.hpp"

namespace tg {

// Per step t, PyTorch's equations (W_ih (4H,E), W_hh (4H,H), both biases (4H)):
//   z = x_t W_ihᵀ + b_ih + h W_hhᵀ + b_hh            (B,4H), four blocks of H columns
//   i = σ(z₀)  f = σ(z₁)  ĝ = tanh(z₂)  o = σ(z₃)
//   c' = f ⊙ c + i ⊙ ĝ      h' = o ⊙ tanh(c')        h₀ = c₀ = 0
// Padding: where position t of a sequence is not real, (h, c) are carried unchanged and
// the output is exactly 0, so a sequence's results do not depend on how far it is padded.
// The reverse direction runs t = T−1 … 0 under the same mask, so on right-padded input
// it starts, from zero state, at each sequence's last real token.
// The reference schedule (run_masked) is these equations as written: every row at every
// step, padded rows' state kept with `where`; it takes any mask.
template <class T>
struct LSTMWeights {
  Tensor<T> weight_ih, weight_hh, bias_ih, bias_hh;
};

template <class T>
struct LSTMOutput {
  Tensor<T> states;  // (B,T,D): [forward, reverse] on the last axis; exactly 0 at padding
  Tensor<T> h_n;     // (directions,B,H) as PyTorch: forward h at length−1, reverse h at position 0
  Tensor<T> c_n;     // (directions,B,H): the cell state at the same positions
};

struct PackedLayout;  // the fast path's batch layout, below

template <class T>
class LSTM : public Encoder<T> {
 public:
  // Every parameter uniform in ±1/√H, PyTorch's default.
  LSTM(std::size_t input_size, std::size_t hidden_size, std::mt19937_64& rng, bool bidirectional = false);

  // x (B,T,E); mask (B,T) true at real positions, or lengths (B) of right-padded sequences.
  LSTMOutput<T> forward(const Tensor<T>& x, const Mask& mask) const;
  LSTMOutput<T> forward(const Tensor<T>& x, const Ids& lengths) const;

  // The Encoder face: the states alone.
  Tensor<T> encode(const Tensor<T>& x, const Mask& mask) const override { return forward(x, mask).states; }
  std::size_t output_size() const override { return bidirectional ? 2 * hidden_size : hidden_size; }
  bool reversed_half() const override { return bidirectional; }

  LSTMWeights<T> forward_weights;  // weight_ih_l0, weight_hh_l0, bias_ih_l0, bias_hh_l0
  LSTMWeights<T> reverse_weights;  // the same with "_reverse"; empty unless bidirectional
  std::size_t input_size, hidden_size;
  bool bidirectional;

  // The fast path: use the packed schedule when the mask is right-padded (the default);
  // false: always the reference.
  bool packed = true;

 private:
  struct Run {
    Tensor<T> states, h, c;  // (B,T,H), (B,H), (B,H)
  };
  // The reference: the equations above, step by step over the whole batch.
  Run run_masked(const LSTMWeights<T>& w, const Tensor<T>& x, const Mask& mask, bool reverse) const;
  LSTMWeights<T> make_weights(const std::string& suffix, std::mt19937_64& rng);

  // ---- The fast path ----
  // The packed schedule (PyTorch's PackedSequence) takes right-padded masks only: it sorts
  // the sequences longest first, so the ones still running at step t are the first
  // active[t] rows, and computes only those — no work at all on padding. The input
  // product and every step are one op (Note [Fused LSTM recurrence], lstm.cpp);
  // tests/test_lstm.cpp checks that it gives the reference's values and gradients.
  Run run_packed(const LSTMWeights<T>& w, const Tensor<T>& x, const PackedLayout& layout, bool reverse) const;

  // Note [Transposed weights]
  // The packed schedule's step multiplies a few rows h by W_hhᵀ, (H,4H), and the input
  // product x by W_ihᵀ, (E,4H). Both read them as column panels, each a contiguous block
  // (Note [Weight panels], autograd/fast/block_gemm.hpp): one row times W_hhᵀ takes 0.72 of
  // the time it takes on W_hhᵀ as stored. Under a tape W_hhᵀ's panels are made at every
  // forward, once for all its steps. In evaluation both are kept between forwards — for
  // one tweet at a time, making them each time would cost as much as the products save. A
  // kept copy is used only while W is bit for bit what it was made from: comparing is
  // cheaper than transposing (and than comparing W with its transpose in register tiles,
  // measured 6% slower at batch 1), and no write to W, however made, can leave a stale copy.
  std::shared_ptr<const fast::Panels<T>> kept_transpose(const Tensor<T>& weight) const;
  struct KeptTranspose {
    std::shared_ptr<Node<T>> source;
    Array<T> source_value;  // W when the copy was made
    std::shared_ptr<const fast::Panels<T>> panels;  // Wᵀ as panels
  };
  mutable std::mutex kept_mutex_;  // forward_parallel's threads share the copies
  mutable std::vector<KeptTranspose> kept_;
};

// (B,T) mask, true where t < lengths[b]; throws when a length is negative or over T.
Mask sequence_mask(const Ids& lengths, std::size_t steps);

// ---- The fast path's layout, shared by every recurrent layer's packed schedule (LSTM, GRU) ----

// Where each real position of a right-padded batch goes when it is packed: time-major,
// sequences sorted longest first (stable), so step t's rows are a contiguous block.
struct PackedLayout {
  std::size_t batch = 0, steps = 0;
  std::vector<std::size_t> active;  // (T) sequences still running at step t
  std::vector<std::size_t> offset;  // (T+1) first packed row of step t; offset[T] = real positions
  Ids source;  // (N) packed row → row b·T + t of the input seen as (B·T, E)
  Ids unpack;  // (B,T) padded position → 1 + its packed row, or 0 at padding (row 0 is zeros)
  Ids last;    // (B) 1 + packed row of each sequence's last real position, 0 if it is empty
  Ids first;   // (B) 1 + packed row of each sequence's position 0, 0 if it is empty
};
// The layout of `mask`, or nothing when some row has a real position after a padded one.
std::optional<PackedLayout> packed_layout(const Mask& mask);
// `state` (rows,H) cut or zero-extended to its first n rows: in a packed schedule the
// running sequences of the next step are a prefix (forward: fewer; reverse: more, the new
// ones starting from 0).
template <class T>
Tensor<T> first_rows(const Tensor<T>& state, std::size_t n);

}  // namespace tg
