// Lesson 8's links as a learner might write them, with one known mistake: dQ forgets the
// 1/√d_h the scores were scaled by in the forward pass (S = Q Kᵀ / √d_h), so it comes out
// √d_h times too large. (dK, derived the same way, keeps the scale and is graded right.)
// Target 08_self_attention_wrong_dQ, CTest test
// lesson.08_self_attention_exercise_grades_a_wrong_dQ: exactly the link "dQ"
// graded wrong, every other link exact or close.

// In the forward pass this was y = x̂ ⊙ γ + β with x̂ = (x − μ)·r, r = 1/√(σ² + eps), per row
// of n features (here d). With dx̂ = dy ⊙ γ, each row's dx is the sum of three paths:
//   direct   r·dx̂_j                      x̂_j moves with x_j
//   via μ    −r·mean(dx̂)                 μ moves with every x_j by 1/n
//   via σ    −r·x̂_j·mean(dx̂ ⊙ x̂)        r moves with x_j by −r²x̂_j/n (σ²'s term through μ is 0)
// Returned stacked, (3,rows,n): [0] direct, [1] via μ, [2] via σ; dx is their sum.
Array<double> layer_norm_paths(const Array<double>& dy, const Array<double>& x, const Array<double>& gamma,
                               double eps) {
  const std::size_t rows = x.shape()[0], n = x.shape()[1];
  Array<double> paths = xt::zeros<double>({std::size_t(3), rows, n});
  for (std::size_t i = 0; i < rows; ++i) {
    double mu = 0, var = 0;
    for (std::size_t k = 0; k < n; ++k) mu += x(i, k) / double(n);
    for (std::size_t k = 0; k < n; ++k) var += (x(i, k) - mu) * (x(i, k) - mu) / double(n);
    const double r = 1 / std::sqrt(var + eps);
    double mean_dxhat = 0, mean_dxhat_xhat = 0;
    for (std::size_t k = 0; k < n; ++k) {
      mean_dxhat += dy(i, k) * gamma(k) / double(n);
      mean_dxhat_xhat += dy(i, k) * gamma(k) * (x(i, k) - mu) * r / double(n);
    }
    for (std::size_t k = 0; k < n; ++k) {
      const double xhat = (x(i, k) - mu) * r, dxhat = dy(i, k) * gamma(k);
      paths(0, i, k) = r * dxhat;
      paths(1, i, k) = -r * mean_dxhat;
      paths(2, i, k) = -r * xhat * mean_dxhat_xhat;
    }
  }
  return paths;
}

// The same forward line y = x̂ ⊙ γ + β: γ and β are shared by every row, so
//   dγ = Σ_rows dy ⊙ x̂   and   dβ = Σ_rows dy.
Array<double> layer_norm_dgamma(const Array<double>& dy, const Array<double>& x, double eps) {
  const std::size_t rows = x.shape()[0], n = x.shape()[1];
  Array<double> dgamma = xt::zeros<double>({n});
  for (std::size_t i = 0; i < rows; ++i) {
    double mu = 0, var = 0;
    for (std::size_t k = 0; k < n; ++k) mu += x(i, k) / double(n);
    for (std::size_t k = 0; k < n; ++k) var += (x(i, k) - mu) * (x(i, k) - mu) / double(n);
    for (std::size_t k = 0; k < n; ++k) dgamma(k) += dy(i, k) * (x(i, k) - mu) / std::sqrt(var + eps);
  }
  return dgamma;
}
Array<double> layer_norm_dbeta(const Array<double>& dy) { return xt::sum(dy, {0}); }

// In the forward pass this was y[n,o] = Σ_i x[n,i] W[o,i] + b[o] (rows n, W (out,in)), so now
//   dx[n,i] = Σ_o dy[n,o] W[o,i],   dW[o,i] = Σ_n dy[n,o] x[n,i],   db[o] = Σ_n dy[n,o].
Array<double> linear_dx(const Array<double>& dy, const Array<double>& W) {
  Array<double> dx = xt::zeros<double>({dy.shape()[0], W.shape()[1]});
  for (std::size_t n = 0; n < dy.shape()[0]; ++n)
    for (std::size_t o = 0; o < W.shape()[0]; ++o)
      for (std::size_t i = 0; i < W.shape()[1]; ++i) dx(n, i) += dy(n, o) * W(o, i);
  return dx;
}
Array<double> linear_dW(const Array<double>& dy, const Array<double>& x) {
  Array<double> dW = xt::zeros<double>({dy.shape()[1], x.shape()[1]});
  for (std::size_t n = 0; n < dy.shape()[0]; ++n)
    for (std::size_t o = 0; o < dy.shape()[1]; ++o)
      for (std::size_t i = 0; i < x.shape()[1]; ++i) dW(o, i) += dy(n, o) * x(n, i);
  return dW;
}
Array<double> linear_db(const Array<double>& dy) { return xt::sum(dy, {0}); }

// In the forward pass this was O_j[t] = Σ_s A_j[t,s] V_j[s] for each sequence b and head j
// (dO, V: (B,h,T,d_h); A: (B,h,T,T)), so now
//   dA_j[t,s] = dO_j[t] · V_j[s]   and   dV_j[s] = Σ_t A_j[t,s] dO_j[t].
Array<double> attention_dA(const Array<double>& dO, const Array<double>& V) {
  Array<double> dA = xt::zeros<double>({B, h, T, T});
  for (std::size_t b = 0; b < B; ++b)
    for (std::size_t j = 0; j < h; ++j)
      for (std::size_t t = 0; t < T; ++t)
        for (std::size_t s = 0; s < T; ++s)
          for (std::size_t i = 0; i < dh; ++i) dA(b, j, t, s) += dO(b, j, t, i) * V(b, j, s, i);
  return dA;
}
Array<double> attention_dV(const Array<double>& dO, const Array<double>& A) {
  Array<double> dV = xt::zeros<double>({B, h, T, dh});
  for (std::size_t b = 0; b < B; ++b)
    for (std::size_t j = 0; j < h; ++j)
      for (std::size_t t = 0; t < T; ++t)
        for (std::size_t s = 0; s < T; ++s)
          for (std::size_t i = 0; i < dh; ++i) dV(b, j, s, i) += A(b, j, t, s) * dO(b, j, t, i);
  return dV;
}

// In the forward pass this was A[t] = softmax over s of S̃[t], S̃ = S with −∞ where masked, so now
//   dS̃[t,s] = A[t,s] (dA[t,s] − Σ_k A[t,k] dA[t,k])   (lesson 3's Jᵀg, one row per query)
//   dS = dS̃ where the key is kept, exactly 0 where masked (masked_fill passes nothing back).
// masked (B,1,T,T): true where query t may not look at key s.
Array<double> softmax_mask_dS(const Array<double>& dA, const Array<double>& A, const tg::Mask& masked) {
  Array<double> dS = xt::zeros<double>({B, h, T, T});
  for (std::size_t b = 0; b < B; ++b)
    for (std::size_t j = 0; j < h; ++j)
      for (std::size_t t = 0; t < T; ++t) {
        double centre = 0;
        for (std::size_t k = 0; k < T; ++k) centre += A(b, j, t, k) * dA(b, j, t, k);
        for (std::size_t s = 0; s < T; ++s)
          dS(b, j, t, s) = masked(b, 0, t, s) ? 0.0 : A(b, j, t, s) * (dA(b, j, t, s) - centre);
      }
  return dS;
}

// In the forward pass this was S_j[t,s] = Q_j[t] · K_j[s] / √d_h, so now
//   dQ_j[t] = Σ_s dS_j[t,s] K_j[s] / √d_h   and   dK_j[s] = Σ_t dS_j[t,s] Q_j[t] / √d_h.
Array<double> scores_dQ(const Array<double>& dS, const Array<double>& K) {
  Array<double> dQ = xt::zeros<double>({B, h, T, dh});
  for (std::size_t b = 0; b < B; ++b)
    for (std::size_t j = 0; j < h; ++j)
      for (std::size_t t = 0; t < T; ++t)
        for (std::size_t s = 0; s < T; ++s)
          for (std::size_t i = 0; i < dh; ++i) dQ(b, j, t, i) += dS(b, j, t, s) * K(b, j, s, i);  // the mistake
  return dQ;
}
Array<double> scores_dK(const Array<double>& dS, const Array<double>& Q) {
  const double scale = 1 / std::sqrt(double(dh));
  Array<double> dK = xt::zeros<double>({B, h, T, dh});
  for (std::size_t b = 0; b < B; ++b)
    for (std::size_t j = 0; j < h; ++j)
      for (std::size_t t = 0; t < T; ++t)
        for (std::size_t s = 0; s < T; ++s)
          for (std::size_t i = 0; i < dh; ++i) dK(b, j, s, i) += dS(b, j, t, s) * Q(b, j, t, i) * scale;
  return dK;
}
