// Exercise 3: softmax and cross-entropy backward, one link at a time.
//
//   cmake --build build --target 03_softmax_cross_entropy_exercise
//   build/03_softmax_cross_entropy_exercise
//
// Replace each `tg::todo();` with the link's formula and run again: the lesson grades every
// link against the tape's gradient right after it is derived (✓ exact, ✓ close, ✗ WRONG,
// · not yet written) and exits 0 once all are right. A wrong link is replaced by the tape's
// value, so the others are still graded on their own. The answers are in
// tutorials/03_softmax_cross_entropy.cpp. This file is #included by that lesson: `Array`
// (xt::xarray), tg::Ids (integer labels) and xt:: are in scope.
//
// The forward passes:
//   y = softmax(x)      y_i = e^{x_i} / Σ_k e^{x_k}, x and y (n)
//   L = (1/B) Σ_b −log softmax(logits_b)[label_b]      logits (B,C), labels (B)

// The Jacobian J_ij = ∂y_i/∂x_j (n,n), from y alone. The tape's rows: upstream e_0, e_1, e_2.
Array<double> softmax_jacobian(const Array<double>& y) {
  // TODO
  tg::todo();
}

// dx = Jᵀg for an upstream gradient g (n), in O(n): never build J
Array<double> softmax_backward(const Array<double>& y, const Array<double>& g) {
  // TODO
  tg::todo();
}

// dL/dlogits (B,C), from probs = softmax(logits) (B,C) and the labels
Array<double> cross_entropy_backward(const Array<double>& probs, const tg::Ids& labels) {
  // TODO
  tg::todo();
}
