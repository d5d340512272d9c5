// Lesson 9's rules as a learner might write them, with one known mistake: the cosine schedule
// divides by K − 1 instead of K, so its last step (k = K − 1) gets lr 0 and every step but the
// first too little; cosine annealing over K steps ends at k = K, which is never taken. (Adam's
// bias correction is no single link here: every Adam step of the lesson uses it.)
// Target 09_optimisers_wrong_cosine-lr, CTest test
// lesson.09_optimisers_exercise_grades_a_wrong_cosine-lr: exactly the link "cosine lr"
// graded wrong, every other link exact or close.

// SGD: p ← p − lr·g.
Array<double> sgd_step(const Array<double>& w, const Array<double>& g, double lr) { return w - lr * g; }

// Momentum (PyTorch's form, no dampening): buf ← μ·buf + g, then an SGD step along buf. The
// buffer starts at 0, so the first step is plain SGD; buf is a running sum of past gradients,
// each one step older worth μ less.
Array<double> momentum_buffer(const Array<double>& buf, const Array<double>& g, double mu) { return mu * buf + g; }

// L2 in the loss: loss + ½λ‖w‖² adds λw to the gradient (Adam's weight_decay does just that).
Array<double> l2_gradient(const Array<double>& g, const Array<double>& w, double lambda) { return g + lambda * w; }

// AdamW's decoupled decay: shrink w itself, before (and apart from) the Adam step.
Array<double> decoupled_decay(const Array<double>& w, double lr, double lambda) { return w * (1 - lr * lambda); }

// Adam's running means: m ← β₁ m + (1 − β₁) g and v ← β₂ v + (1 − β₂) g², both this one.
Array<double> adam_moment(const Array<double>& average, const Array<double>& x, double beta) {
  return beta * average + (1 - beta) * x;
}

// Bias correction: the average starts at 0, so after t steps it carries only 1 − βᵗ of the
// weight a steady x would give it; dividing by 1 − βᵗ undoes that.
Array<double> bias_correct(const Array<double>& average, double beta, int t) {
  return average / (1 - std::pow(beta, t));
}

// The step Adam subtracts: lr · m̂ / (√v̂ + ε), about lr in size whatever the gradient's scale.
Array<double> adam_update(const Array<double>& m_hat, const Array<double>& v_hat, double lr, double eps) {
  return lr * m_hat / (xt::sqrt(v_hat) + eps);
}

// Gradient clipping by the global norm: every gradient × min(1, max_norm / (‖g‖ + 1e-6)),
// ‖g‖ taken over all parameters together (the 1e-6 is PyTorch's, against ‖g‖ = 0).
double clip_scale(double norm, double max_norm) { return std::min(1.0, max_norm / (norm + 1e-6)); }

// Cosine annealing: step k of K (0-based) gets lr·½(1 + cos(πk/K)), from lr down towards 0.
double cosine_lr(double lr, std::size_t k, std::size_t K) {
  return lr * 0.5 * (1 + std::cos(std::numbers::pi * double(k) / double(K - 1)));  // the mistake
}
