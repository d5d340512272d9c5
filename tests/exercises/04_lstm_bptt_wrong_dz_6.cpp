// Lesson 4's links as a learner might write them, with one known mistake: dz treats the
// candidate ĝ = tanh(z₂) like the three sigmoid gates, dz_g = dĝ ⊙ ĝ(1 − ĝ), instead of
// tanh' = 1 − ĝ². The lesson grades it at its last step, T = 6, hence the link dz_6.
// Target 04_lstm_bptt_wrong_dz_6, CTest test
// lesson.04_lstm_bptt_exercise_grades_a_wrong_dz_6: exactly the link "dz_6"
// graded wrong, every other link exact or close.

// c_t is used twice: in h_t = o_t ⊙ tanh c_t, and in c_{t+1} = f_{t+1} ⊙ c_t + …, so
//   dc_t = dh_t ⊙ o_t ⊙ (1 − tanh² c_t) + dc_{t+1} ⊙ f_{t+1}     (dc_{t+1} = 0 at t = T)
Array<double> dc_by_hand(const Array<double>& dh, const Array<double>& o, const Array<double>& c,
                         const Array<double>& dc_next, const Array<double>& f_next) {
  const Array<double> tanh_c = xt::tanh(c);
  return dh * o * (1 - tanh_c * tanh_c) + dc_next * f_next;
}

// h_t = o ⊙ tanh c_t  →  do = dh ⊙ tanh c_t
Array<double> do_by_hand(const Array<double>& dh, const Array<double>& c) { return dh * xt::tanh(c); }

// c_t = f ⊙ c_{t−1} + i ⊙ ĝ  →  di = dc ⊙ ĝ,  df = dc ⊙ c_{t−1},  dĝ = dc ⊙ i
Array<double> di_by_hand(const Array<double>& dc, const Array<double>& g) { return dc * g; }
Array<double> df_by_hand(const Array<double>& dc, const Array<double>& c_prev) { return dc * c_prev; }
Array<double> dg_by_hand(const Array<double>& dc, const Array<double>& i) { return dc * i; }

// i = σ(z₀), f = σ(z₁), ĝ = tanh(z₂), o = σ(z₃), with σ' = σ(1 − σ) and tanh' = 1 − tanh²;
// dz is the four blocks side by side, (1,4H).
Array<double> dz_by_hand(const Array<double>& di, const Array<double>& df, const Array<double>& dg,
                         const Array<double>& d_o, const Array<double>& i, const Array<double>& f,
                         const Array<double>& g, const Array<double>& o) {
  const Array<double> dz_i = di * i * (1 - i), dz_f = df * f * (1 - f), dz_g = dg * g * (1 - g),  // the mistake
                      dz_o = d_o * o * (1 - o);
  return xt::concatenate(xt::xtuple(dz_i, dz_f, dz_g, dz_o), 1);
}

// z = x_t W_ihᵀ + b + h_{t−1} W_hhᵀ  →  dx_t = dz W_ih (1,E),  dh_{t−1} = dz W_hh (1,H)
Array<double> dx_by_hand(const Array<double>& dz, const Array<double>& W_ih) { return xt::linalg::dot(dz, W_ih); }
Array<double> dh_prev_by_hand(const Array<double>& dz, const Array<double>& W_hh) {
  return xt::linalg::dot(dz, W_hh);
}
