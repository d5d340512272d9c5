// Exercise 9: the optimisers' update rules, one at a time.
//
//   cmake --build build --target 09_optimisers_exercise && build/09_optimisers_exercise
//
// Replace each `tg::todo();` with the rule and run again: the lesson grades each one against
// nn/optim (tg::SGD, tg::Adam, tg::clip_grad_norm) right where it is used (✓ exact, ✓ close,
// ✗ WRONG, · not yet written), and exits 0 once all are right. A wrong rule is replaced by
// nn/optim's result, so the later ones are still graded on their own. The answers are in
// tutorials/09_optimisers.cpp. This file is #included by that lesson: `Array` (xt::xarray)
// and xtensor's functions (xt::sqrt, …) are in scope; arrays combine elementwise.
//
// How the lesson puts them together for one Adam(W) step at step t (1, 2, …):
//   w ← decoupled_decay(w, lr, λ)              (AdamW only)
//   g ← l2_gradient(g, w, λ)                   (Adam's weight_decay, = L2 in the loss)
//   m ← adam_moment(m, g, β₁)     v ← adam_moment(v, g², β₂)
//   m̂ = bias_correct(m, β₁, t)    v̂ = bias_correct(v, β₂, t)
//   w ← w − adam_update(m̂, v̂, lr, ε)

// SGD: the new w from w, its gradient g and the learning rate
Array<double> sgd_step(const Array<double>& w, const Array<double>& g, double lr) {
  // TODO
  tg::todo();
}

// Momentum (PyTorch's, no dampening): the new buffer from the old one (0 at first) and g;
// the lesson then takes sgd_step(w, buffer, lr)
Array<double> momentum_buffer(const Array<double>& buf, const Array<double>& g, double mu) {
  // TODO
  tg::todo();
}

// L2 in the loss, loss + ½λ‖w‖²: the gradient Adam sees
Array<double> l2_gradient(const Array<double>& g, const Array<double>& w, double lambda) {
  // TODO
  tg::todo();
}

// AdamW: w after the decoupled decay, before the Adam step
Array<double> decoupled_decay(const Array<double>& w, double lr, double lambda) {
  // TODO
  tg::todo();
}

// One exponential moving average step: the new average of x (m with x = g, v with x = g²)
Array<double> adam_moment(const Array<double>& average, const Array<double>& x, double beta) {
  // TODO
  tg::todo();
}

// The bias-corrected average after t steps (t = 1, 2, …)
Array<double> bias_correct(const Array<double>& average, double beta, int t) {
  // TODO
  tg::todo();
}

// The amount Adam subtracts from w
Array<double> adam_update(const Array<double>& m_hat, const Array<double>& v_hat, double lr, double eps) {
  // TODO
  tg::todo();
}

// clip_grad_norm: the factor every gradient is multiplied by, from the global norm
// (PyTorch adds 1e-6 to the norm)
double clip_scale(double norm, double max_norm) {
  // TODO
  tg::todo();
}

// Cosine annealing: the learning rate of step k (0-based) of K
double cosine_lr(double lr, std::size_t k, std::size_t K) {
  // TODO
  tg::todo();
}
