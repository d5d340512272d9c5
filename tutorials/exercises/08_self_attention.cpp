// Exercise 8: self-attention backward, one link at a time.
//
//   cmake --build build --target 08_self_attention_exercise && build/08_self_attention_exercise
//
// Replace each `tg::todo();` with the link's formula and run again: the lesson grades every
// link against the tape's gradient right after it is derived (✓ exact, ✓ close, ✗ WRONG,
// · not yet written), and exits 0 once all are right. A wrong link is replaced by the tape's
// value, so the links after it are still graded on their own. The answers are in
// tutorials/08_self_attention.cpp. This file is #included by that lesson: `Array`
// (xt::xarray), xtensor's functions and the sizes B = 2, T = 3, d = 4, h = 2, dh = 2 are in
// scope.
//
// The forward pass (rows n = b·T + t; head j owns columns j·dh … (j+1)·dh − 1):
//   Q, K, V = X W_{Q,K,V}ᵀ + b_{Q,K,V}              (N,d) each, N = B·T; W_in stacks W_Q, W_K, W_V
//   S_j = Q_j K_jᵀ / √dh                            (B,h,T,T), per sequence b and head j
//   S̃ = S with −∞ where masked; A = softmax of each row of S̃ over the keys s
//   O_j = A_j V_j; heads side by side: O (N,d)
//   Z = O W_Oᵀ + b_O
//   Y = layer_norm(Z) ⊙ γ + β:  x̂ = (z − μ)·r, r = 1/√(σ² + eps), per row of d features
//   loss = Σ Y ⊙ G, so dY = G
// Every gradient below is dloss/d(something).

// Y = x̂ ⊙ γ + β: dZ as three paths per row, stacked (3,rows,n): [0] the direct path through
// x̂_j, [1] the path through μ, [2] the path through σ (r). The lesson grades their sum.
Array<double> layer_norm_paths(const Array<double>& dy, const Array<double>& x, const Array<double>& gamma,
                               double eps) {
  // TODO
  tg::todo();
}

// Y = x̂ ⊙ γ + β: dγ (n), summed over rows
Array<double> layer_norm_dgamma(const Array<double>& dy, const Array<double>& x, double eps) {
  // TODO
  tg::todo();
}

// Y = x̂ ⊙ γ + β: dβ (n)
Array<double> layer_norm_dbeta(const Array<double>& dy) {
  // TODO
  tg::todo();
}

// y = x Wᵀ + b with x (rows,in), W (out,in): dx (rows,in)
Array<double> linear_dx(const Array<double>& dy, const Array<double>& W) {
  // TODO
  tg::todo();
}

// y = x Wᵀ + b: dW (out,in)
Array<double> linear_dW(const Array<double>& dy, const Array<double>& x) {
  // TODO
  tg::todo();
}

// y = x Wᵀ + b: db (out)
Array<double> linear_db(const Array<double>& dy) {
  // TODO
  tg::todo();
}

// O_j = A_j V_j with dO, V (B,h,T,dh) and A (B,h,T,T): dA (B,h,T,T)
Array<double> attention_dA(const Array<double>& dO, const Array<double>& V) {
  // TODO
  tg::todo();
}

// O_j = A_j V_j: dV (B,h,T,dh)
Array<double> attention_dV(const Array<double>& dO, const Array<double>& A) {
  // TODO
  tg::todo();
}

// A = softmax over s of S̃, S̃ = S with −∞ where masked(b,0,t,s): dS (B,h,T,T)
// (lesson 3's softmax backward, one row per query; what does masked_fill pass back?)
Array<double> softmax_mask_dS(const Array<double>& dA, const Array<double>& A, const tg::Mask& masked) {
  // TODO
  tg::todo();
}

// S_j = Q_j K_jᵀ / √dh: dQ (B,h,T,dh)
Array<double> scores_dQ(const Array<double>& dS, const Array<double>& K) {
  // TODO
  tg::todo();
}

// S_j = Q_j K_jᵀ / √dh: dK (B,h,T,dh)
Array<double> scores_dK(const Array<double>& dS, const Array<double>& Q) {
  // TODO
  tg::todo();
}
