// Exercise 2: the matmul backward and broadcasting, one link at a time.
//
//   cmake --build build --target 02_broadcast_matmul_exercise && build/02_broadcast_matmul_exercise
//
// Replace each `tg::todo();` with the link's formula and run again: the lesson grades every
// link against the tape's gradient right after it is derived (✓ exact, ✓ close, ✗ WRONG,
// · not yet written) and exits 0 once all are right. A wrong link is replaced by the tape's
// value, so the others are still graded on their own. The answers are in
// tutorials/02_broadcast_matmul.cpp. This file is #included by that lesson: `Array`
// (xt::xarray), xt:: and xt::linalg::dot are in scope.
//
// The forward passes:
//   Y = A·B        A (2,3), B (3,2), Y (2,2):  Y_ij = Σ_k A_ik B_kj     dY is dL/dY (2,2)
//   z = x + c      x (2,3), c (3) broadcast over the rows:  z_ij = x_ij + c_j
//   P = u ⊙ v      u (2,1), v (1,3) broadcast both ways:    P_ij = u_i v_j

// dA (2,3) as index sums: which Y_ij used A_ik, and with what weight? (loops, no matmul)
Array<double> dA_by_index(const Array<double>& dY, const Array<double>& B) {
  // TODO
  tg::todo();
}

// dB (3,2) as index sums
Array<double> dB_by_index(const Array<double>& A, const Array<double>& dY) {
  // TODO
  tg::todo();
}

// dA as one matrix product (the shapes leave one choice; xt::transpose, xt::linalg::dot)
Array<double> dA_as_matmul(const Array<double>& dY, const Array<double>& B) {
  // TODO
  tg::todo();
}

// dB as one matrix product
Array<double> dB_as_matmul(const Array<double>& A, const Array<double>& dY) {
  // TODO
  tg::todo();
}

// dc (3) for z = x + c, from dz (2,3): c_j was copied into every row
Array<double> dc_broadcast(const Array<double>& dz) {
  // TODO
  tg::todo();
}

// du (2,1) for P = u ⊙ v, from dP (2,3): keep u's shape (xt::sum(…, {axis}, xt::keep_dims))
Array<double> du_outer(const Array<double>& dP, const Array<double>& v) {
  // TODO
  tg::todo();
}

// dv (1,3) for P = u ⊙ v
Array<double> dv_outer(const Array<double>& u, const Array<double>& dP) {
  // TODO
  tg::todo();
}
