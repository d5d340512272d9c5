// Exercise 4: one LSTM step's backward, one link at a time (then the lesson runs your links
// T times: backprop through time).
//
//   cmake --build build --target 04_lstm_bptt_exercise && build/04_lstm_bptt_exercise
//
// Replace each `tg::todo();` with the link's formula and run again: the lesson grades every
// link against the tape's gradient right after it is derived (✓ exact, ✓ close, ✗ WRONG,
// · not yet written) and exits 0 once all are right. A wrong link is replaced by the tape's
// value, so the others are still graded on their own. The answers are in
// tutorials/04_lstm_bptt.cpp. This file is #included by that lesson: `Array` (xt::xarray),
// xt::tanh, xt::concatenate, xt::linalg::dot and H (hidden size) are in scope.
//
// One step t of the cell (all (1,H) but z (1,4H), x_t (1,E)):
//   z   = x_t W_ihᵀ + b_ih + b_hh + h_{t−1} W_hhᵀ       W_ih (4H,E), W_hh (4H,H)
//   i = σ(z₀)  f = σ(z₁)  ĝ = tanh(z₂)  o = σ(z₃)       z₀…z₃: four blocks of H columns
//   c_t = f ⊙ c_{t−1} + i ⊙ ĝ
//   h_t = o ⊙ tanh c_t
// dh is dL/dh_t (everything after step t); the step after is t+1.

// dL/dc_t. c_t is used twice: in h_t, and in c_{t+1} = f_{t+1} ⊙ c_t + …
// (dc_next = dL/dc_{t+1} and f_next = f_{t+1}; both are 0 at the last step)
Array<double> dc_by_hand(const Array<double>& dh, const Array<double>& o, const Array<double>& c,
                         const Array<double>& dc_next, const Array<double>& f_next) {
  // TODO
  tg::todo();
}

// dL/do from h_t = o ⊙ tanh c_t
Array<double> do_by_hand(const Array<double>& dh, const Array<double>& c) {
  // TODO
  tg::todo();
}

// dL/di, dL/df, dL/dĝ from c_t = f ⊙ c_{t−1} + i ⊙ ĝ
Array<double> di_by_hand(const Array<double>& dc, const Array<double>& g) {
  // TODO
  tg::todo();
}
Array<double> df_by_hand(const Array<double>& dc, const Array<double>& c_prev) {
  // TODO
  tg::todo();
}
Array<double> dg_by_hand(const Array<double>& dc, const Array<double>& i) {
  // TODO
  tg::todo();
}

// dL/dz (1,4H): the four gates' pre-activations side by side, from the gate gradients and the
// gate values (σ' = σ(1 − σ), tanh' = 1 − tanh²; xt::concatenate(xt::xtuple(…), 1))
Array<double> dz_by_hand(const Array<double>& di, const Array<double>& df, const Array<double>& dg,
                         const Array<double>& d_o, const Array<double>& i, const Array<double>& f,
                         const Array<double>& g, const Array<double>& o) {
  // TODO
  tg::todo();
}

// dL/dx_t (1,E) and dL/dh_{t−1} (1,H) from dz (xt::linalg::dot)
Array<double> dx_by_hand(const Array<double>& dz, const Array<double>& W_ih) {
  // TODO
  tg::todo();
}
Array<double> dh_prev_by_hand(const Array<double>& dz, const Array<double>& W_hh) {
  // TODO
  tg::todo();
}
