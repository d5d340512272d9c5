// Exercise 5: attention pooling's backward, one link at a time.
//
//   cmake --build build --target 05_attention_by_hand_exercise && build/05_attention_by_hand_exercise
//
// Replace each `tg::todo();` with the link's formula and run again: the lesson grades every
// link against the tape's gradient right after it is derived (✓ exact, ✓ close, ✗ WRONG,
// · not yet written) and exits 0 once all are right. A wrong link is replaced by the tape's
// value, so the others are still graded on their own. The answers are in
// tutorials/05_attention_by_hand.cpp. This file is #included by that lesson: `Array`
// (xt::xarray), tg::Ids, tg::Mask (true at padding), xt:: and the sizes B = 2 (batch),
// T = 4 (time), D = 3 (state), C = 3 (classes) are in scope.
//
// The forward pass, one named intermediate per line:
//   z[b,t,j] = Σ_i h[b,t,i] W[j,i] + b[j]       H (B,T,D), W (D,D), b (D)    z (B,T,D)
//   u        = tanh z                                                        u (B,T,D)
//   e[b,t]   = Σ_i u[b,t,i] u_w[i]              u_w (D), the context vector  e (B,T)
//   ẽ        = e with −∞ where padded                                        ẽ (B,T)
//   α[b]     = softmax over t of ẽ[b]                                        α (B,T)
//   s[b]     = Σ_t α[b,t] h[b,t]                                             s (B,D)
//   logits   = s Vᵀ                             V (C,D)                      logits (B,C)
//   loss     = (1/B) Σ_b −log softmax(logits[b])[label_b]
// Note that every h[b,t] is used twice: in z and in s.

Array<double> dlogits_by_hand(const Array<double>& logits, const tg::Ids& labels) {
  // TODO: (B,C)
  tg::todo();
}

Array<double> ds_by_hand(const Array<double>& dlogits, const Array<double>& V) {
  // TODO: (B,D)
  tg::todo();
}

// from s = Σ_t α_t h_t
Array<double> dalpha_by_hand(const Array<double>& ds, const Array<double>& H) {
  // TODO: (B,T)
  tg::todo();
}

// h's first path, through s
Array<double> dH_via_s_by_hand(const Array<double>& ds, const Array<double>& alpha) {
  // TODO: (B,T,D)
  tg::todo();
}

// dẽ from α = softmax(ẽ) (lesson 3's softmax backward, row by row)
Array<double> de_masked_by_hand(const Array<double>& dalpha, const Array<double>& alpha) {
  // TODO: (B,T)
  tg::todo();
}

// de from ẽ = e with −∞ at padding: what does the mask let through?
Array<double> de_by_hand(const Array<double>& de_masked, const tg::Mask& padding) {
  // TODO: (B,T)
  tg::todo();
}

// u_w is used at every position
Array<double> du_w_by_hand(const Array<double>& de, const Array<double>& u) {
  // TODO: (D)
  tg::todo();
}

Array<double> du_by_hand(const Array<double>& de, const Array<double>& u_w) {
  // TODO: (B,T,D)
  tg::todo();
}

// from u = tanh z, with u's value
Array<double> dz_by_hand(const Array<double>& du, const Array<double>& u) {
  // TODO: (B,T,D)
  tg::todo();
}

Array<double> dW_by_hand(const Array<double>& dz, const Array<double>& H) {
  // TODO: (D,D)
  tg::todo();
}

Array<double> db_by_hand(const Array<double>& dz) {
  // TODO: (D)
  tg::todo();
}

// h's second path, through z
Array<double> dH_via_e_by_hand(const Array<double>& dz, const Array<double>& W) {
  // TODO: (B,T,D)
  tg::todo();
}
