// Lesson 2's links as a learner might write them, with one known mistake: dc averages the
// two copies of c_j (xt::mean) instead of summing them; c_j was used in both rows, so each
// use hands back its whole dz_ij and dc_j = dz_0j + dz_1j.
// Target 02_broadcast_matmul_wrong_dc-broadcast, CTest test
// lesson.02_broadcast_matmul_exercise_grades_a_wrong_dc-broadcast: exactly the link "dc (broadcast)"
// graded wrong, every other link exact or close.

// Y = A·B, Y_ij = Σ_k A_ik B_kj: A_ik is used in every Y_ij of row i with weight B_kj, so
//   dA_ik = Σ_j dY_ij B_kj   (written as index sums)
Array<double> dA_by_index(const Array<double>& dY, const Array<double>& B) {
  Array<double> dA = xt::zeros<double>({dY.shape()[0], B.shape()[0]});
  for (std::size_t i = 0; i < dA.shape()[0]; ++i)
    for (std::size_t k = 0; k < dA.shape()[1]; ++k)
      for (std::size_t j = 0; j < dY.shape()[1]; ++j) dA(i, k) += dY(i, j) * B(k, j);
  return dA;
}

// B_kj is used in every Y_ij of column j with weight A_ik, so  dB_kj = Σ_i A_ik dY_ij
Array<double> dB_by_index(const Array<double>& A, const Array<double>& dY) {
  Array<double> dB = xt::zeros<double>({A.shape()[1], dY.shape()[1]});
  for (std::size_t k = 0; k < dB.shape()[0]; ++k)
    for (std::size_t j = 0; j < dB.shape()[1]; ++j)
      for (std::size_t i = 0; i < A.shape()[0]; ++i) dB(k, j) += A(i, k) * dY(i, j);
  return dB;
}

// The same sums as matrix products: Σ_j dY_ij B_kj = (dY·Bᵀ)_ik
Array<double> dA_as_matmul(const Array<double>& dY, const Array<double>& B) {
  return xt::linalg::dot(dY, xt::transpose(B));
}

// Σ_i A_ik dY_ij = (Aᵀ·dY)_kj
Array<double> dB_as_matmul(const Array<double>& A, const Array<double>& dY) {
  return xt::linalg::dot(xt::transpose(A), dY);
}

// z = x + c, x (2,3), c (3) broadcast along axis 0: c_j is used in z_0j and z_1j, so
//   dc_j = Σ_i dz_ij
Array<double> dc_broadcast(const Array<double>& dz) { return xt::mean(dz, {0}); }  // the mistake

// P = u ⊙ v, u (2,1) copied along axis 1: du_i = Σ_j dP_ij v_j, kept (2,1)
Array<double> du_outer(const Array<double>& dP, const Array<double>& v) {
  return xt::sum(dP * v, {1}, xt::keep_dims);
}

// v (1,3) copied along axis 0: dv_j = Σ_i u_i dP_ij, kept (1,3)
Array<double> dv_outer(const Array<double>& u, const Array<double>& dP) {
  return xt::sum(u * dP, {0}, xt::keep_dims);
}
