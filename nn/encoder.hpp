// Encoder: the layer between the embedded tokens and the pooling. It reads a padded
// batch (B,T,E) and gives one state per position (B,T,D). The LSTM, the GRU and the
// Transformer encoder all implement it, so the classifier can hold any of them.
// Legend: B batch, T time, E embedding (input), D state size.
#pragma once
#include "autograd/ops.hpp"
#include "nn/module.hpp"

namespace tg {

template <class T>
class Encoder : public Module<T> {
 public:
  // x (B,T,E); mask (B,T) true at real positions, right-padded. Returns states (B,T,D).
  // Poolings read real positions only: what an encoder leaves at padded positions is its
  // own business (the recurrent ones leave exactly 0).
  virtual Tensor<T> encode(const Tensor<T>& x, const Mask& mask) const = 0;
  virtual std::size_t output_size() const = 0;  // D
  // True when the second half of D runs backwards in time (a bidirectional RNN): last-state
  // pooling then reads that half at position 0 instead of at the last real token.
  virtual bool reversed_half() const { return false; }
};

}  // namespace tg
