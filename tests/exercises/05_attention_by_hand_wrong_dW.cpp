// Lesson 5's links as a learner might write them, with one known mistake: dW misses a
// transpose, dW[j,i] = Σ_{b,t} dz[b,t,i] h[b,t,j]; W is square (D,D), so the shape is right
// and only the values give it away: z[j] used W[j,i] with weight h[i], so dW[j,i] = Σ dz[j] h[i].
// Target 05_attention_by_hand_wrong_dW, CTest test
// lesson.05_attention_by_hand_exercise_grades_a_wrong_dW: exactly the link "dW"
// graded wrong, every other link exact or close.

// In the forward pass this was loss = (1/B) Σ_b −log p[b,label_b], p = softmax(logits[b]),
// so now dlogits[b,c] = (p[b,c] − [c = label_b]) / B.
Array<double> dlogits_by_hand(const Array<double>& logits, const tg::Ids& labels) {
  Array<double> d = xt::zeros<double>({B, C});
  for (std::size_t b = 0; b < B; ++b) {
    double total = 0;
    for (std::size_t c = 0; c < C; ++c) total += std::exp(logits(b, c));
    for (std::size_t c = 0; c < C; ++c)
      d(b, c) = (std::exp(logits(b, c)) / total - (labels(b) == int64_t(c))) / B;
  }
  return d;
}

// In the forward pass this was logits[b,c] = Σ_i s[b,i] V[c,i], so now ds[b,i] = Σ_c dlogits[b,c] V[c,i].
Array<double> ds_by_hand(const Array<double>& dlogits, const Array<double>& V) {
  Array<double> ds = xt::zeros<double>({B, D});
  for (std::size_t b = 0; b < B; ++b)
    for (std::size_t i = 0; i < D; ++i)
      for (std::size_t c = 0; c < C; ++c) ds(b, i) += dlogits(b, c) * V(c, i);
  return ds;
}

// In the forward pass this was s[b] = Σ_t α[b,t] h[b,t], so now dα[b,t] = ds[b] · h[b,t] ...
Array<double> dalpha_by_hand(const Array<double>& ds, const Array<double>& H) {
  Array<double> dalpha = xt::zeros<double>({B, T});
  for (std::size_t b = 0; b < B; ++b)
    for (std::size_t t = 0; t < T; ++t)
      for (std::size_t i = 0; i < D; ++i) dalpha(b, t) += ds(b, i) * H(b, t, i);
  return dalpha;
}

// ... and h[b,t] gets α[b,t] ds[b]: its first path, "via s".
Array<double> dH_via_s_by_hand(const Array<double>& ds, const Array<double>& alpha) {
  Array<double> dH = xt::zeros<double>({B, T, D});
  for (std::size_t b = 0; b < B; ++b)
    for (std::size_t t = 0; t < T; ++t)
      for (std::size_t i = 0; i < D; ++i) dH(b, t, i) = alpha(b, t) * ds(b, i);
  return dH;
}

// In the forward pass this was α[b] = softmax(ẽ[b]) over t, so now
//   dẽ[b,t] = α[b,t] (dα[b,t] − Σ_k α[b,k] dα[b,k]).
Array<double> de_masked_by_hand(const Array<double>& dalpha, const Array<double>& alpha) {
  Array<double> de_masked = xt::zeros<double>({B, T});
  for (std::size_t b = 0; b < B; ++b) {
    double centre = 0;
    for (std::size_t k = 0; k < T; ++k) centre += alpha(b, k) * dalpha(b, k);
    for (std::size_t t = 0; t < T; ++t) de_masked(b, t) = alpha(b, t) * (dalpha(b, t) - centre);
  }
  return de_masked;
}

// Before that it was ẽ = e with −∞ at padding, so de = dẽ at real positions, 0 at padded ones.
Array<double> de_by_hand(const Array<double>& de_masked, const tg::Mask& padding) {
  Array<double> de = xt::zeros<double>({B, T});
  for (std::size_t b = 0; b < B; ++b)
    for (std::size_t t = 0; t < T; ++t) de(b, t) = padding(b, t) ? 0.0 : de_masked(b, t);
  return de;
}

// In the forward pass this was e[b,t] = Σ_i u[b,t,i] u_w[i], so now
//   du_w[i] = Σ_{b,t} de[b,t] u[b,t,i]   (u_w is shared by every position) ...
Array<double> du_w_by_hand(const Array<double>& de, const Array<double>& u) {
  Array<double> du_w = xt::zeros<double>({D});
  for (std::size_t b = 0; b < B; ++b)
    for (std::size_t t = 0; t < T; ++t)
      for (std::size_t i = 0; i < D; ++i) du_w(i) += de(b, t) * u(b, t, i);
  return du_w;
}

// ... and du[b,t,i] = de[b,t] u_w[i].
Array<double> du_by_hand(const Array<double>& de, const Array<double>& u_w) {
  Array<double> du = xt::zeros<double>({B, T, D});
  for (std::size_t b = 0; b < B; ++b)
    for (std::size_t t = 0; t < T; ++t)
      for (std::size_t i = 0; i < D; ++i) du(b, t, i) = de(b, t) * u_w(i);
  return du;
}

// In the forward pass this was u = tanh(z), so now dz = du ⊙ (1 − u²).
Array<double> dz_by_hand(const Array<double>& du, const Array<double>& u) { return du * (1.0 - u * u); }

// In the forward pass this was z[b,t,j] = Σ_i h[b,t,i] W[j,i] + b[j], so now
//   dW[j,i] = Σ_{b,t} dz[b,t,j] h[b,t,i] ...
Array<double> dW_by_hand(const Array<double>& dz, const Array<double>& H) {
  Array<double> dW = xt::zeros<double>({D, D});
  for (std::size_t b = 0; b < B; ++b)
    for (std::size_t t = 0; t < T; ++t)
      for (std::size_t j = 0; j < D; ++j)
        for (std::size_t i = 0; i < D; ++i) dW(j, i) += dz(b, t, i) * H(b, t, j);  // the mistake: dWᵀ
  return dW;
}

// ... db[j] = Σ_{b,t} dz[b,t,j] ...
Array<double> db_by_hand(const Array<double>& dz) {
  Array<double> db = xt::zeros<double>({D});
  for (std::size_t b = 0; b < B; ++b)
    for (std::size_t t = 0; t < T; ++t)
      for (std::size_t j = 0; j < D; ++j) db(j) += dz(b, t, j);
  return db;
}

// ... and h[b,t,i] gets Σ_j dz[b,t,j] W[j,i]: its second path, "via e".
Array<double> dH_via_e_by_hand(const Array<double>& dz, const Array<double>& W) {
  Array<double> dH = xt::zeros<double>({B, T, D});
  for (std::size_t b = 0; b < B; ++b)
    for (std::size_t t = 0; t < T; ++t)
      for (std::size_t j = 0; j < D; ++j)
        for (std::size_t i = 0; i < D; ++i) dH(b, t, i) += dz(b, t, j) * W(j, i);
  return dH;
}
