// Lesson 3's links as a learner might write them, with one known mistake: the softmax
// Jacobian keeps only its diagonal, J_ii = y_i (1 − y_i), as if y_i depended on x_i alone;
// the shared Σ in the denominator also gives J_ij = −y_i y_j off the diagonal.
// Target 03_softmax_cross_entropy_wrong_J, CTest test
// lesson.03_softmax_cross_entropy_exercise_grades_a_wrong_J: exactly the link "J"
// graded wrong, every other link exact or close.

// y_i = e^{x_i} / Σ_k e^{x_k}: the e^{x_i} on top gives y_i δ_ij, the shared Σ below −y_i y_j,
//   J_ij = ∂y_i/∂x_j = y_i (δ_ij − y_j),   J = diag(y) − y yᵀ   (n,n)
Array<double> softmax_jacobian(const Array<double>& y) {
  const std::size_t n = y.size();
  Array<double> J = xt::zeros<double>({n, n});
  for (std::size_t i = 0; i < n; ++i)
    J(i, i) = y(i) * (1 - y(i));  // the mistake: the diagonal only
  return J;
}

// Backward never builds J: dx = Jᵀg, and since J is symmetric,
//   dx_j = Σ_i g_i y_i (δ_ij − y_j) = y_j (g_j − g·y)   in O(n)
Array<double> softmax_backward(const Array<double>& y, const Array<double>& g) {
  return y * (g - xt::sum(g * y)());
}

// L = (1/B) Σ_b −log softmax(logits_b)[label_b], with probs = softmax(logits) (B,C):
//   dlogits_bj = (probs_bj − [j = label_b]) / B
Array<double> cross_entropy_backward(const Array<double>& probs, const tg::Ids& labels) {
  Array<double> onehot = xt::zeros<double>(probs.shape());
  for (std::size_t b = 0; b < labels.size(); ++b) onehot(b, labels(b)) = 1;
  return (probs - onehot) / double(labels.size());
}
