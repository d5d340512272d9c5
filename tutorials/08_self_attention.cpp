// Lesson 8 — self-attention, backward by hand: the sequel to lesson 5. Lesson 5 pooled a
// sequence with one learned query; here every position is a query, a key and a value:
// scaled dot-product attention QKᵀ/√d_h with two heads, a key-padding mask and a causal
// mask, then a layer norm whose backward is derived in the open (llm.c's doc/layernorm).
// The forward is the encoder's own generic ops on the parameters of tg::MultiheadAttention
// and tg::LayerNorm; every link backward is derived by hand and checked, right where it is
// derived, against the tape and against central differences. Last, the gradient of X is
// split into its three paths (through Q, through K, through V) and summed.
// Run: ./08_self_attention [--step] [--trace] [--dot self_attention.dot]
// Exercise: derive the links yourself in tutorials/exercises/08_self_attention.cpp, then
//   cmake --build build --target 08_self_attention_exercise && build/08_self_attention_exercise
#include <cmath>
#include <functional>
#include <limits>
#include <random>
#include <string>

#include <fmt/format.h>
#include <xtensor/xview.hpp>

#include "autograd/autograd.hpp"
#include "autograd/random.hpp"
#include "exercise.hpp"
#include "lesson.hpp"
#include "nn/layer_norm.hpp"
#include "nn/multihead_attention.hpp"

using tg::Array;
using Tensor = tg::Tensor<double>;

namespace {
// Legend: B batch, T time, d model width, h heads, d_h = d / h per head, N = B·T rows.
constexpr std::size_t B = 2, T = 3, d = 4, h = 2, dh = d / h, N = B * T;
constexpr std::size_t lengths[B] = {3, 2};  // sequence 1's last position is padding

// ---- the backward by hand: one function per link, each quoting the forward it undoes ----
// (the exercise: the same signatures in tutorials/exercises/08_self_attention.cpp)
#ifdef TG_EXERCISE_FILE
#include TG_EXERCISE_FILE
#else
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
  const double scale = 1 / std::sqrt(double(dh));
  Array<double> dQ = xt::zeros<double>({B, h, T, dh});
  for (std::size_t b = 0; b < B; ++b)
    for (std::size_t j = 0; j < h; ++j)
      for (std::size_t t = 0; t < T; ++t)
        for (std::size_t s = 0; s < T; ++s)
          for (std::size_t i = 0; i < dh; ++i) dQ(b, j, t, i) += dS(b, j, t, s) * K(b, j, s, i) * scale;
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
#endif

// ---- the forward: the encoder's generic ops, one named intermediate per stage ----

// Rows n = b·T + t; columns j·d_h … (j+1)·d_h − 1 are head j. These two only move numbers.
Array<double> heads_of(const Array<double>& cols) {  // (N,d) → (B,h,T,d_h)
  Array<double> out = xt::zeros<double>({B, h, T, dh});
  for (std::size_t b = 0; b < B; ++b)
    for (std::size_t j = 0; j < h; ++j)
      for (std::size_t t = 0; t < T; ++t)
        for (std::size_t i = 0; i < dh; ++i) out(b, j, t, i) = cols(b * T + t, j * dh + i);
  return out;
}
Array<double> columns_of(const Array<double>& heads) {  // (B,h,T,d_h) → (N,d)
  Array<double> out = xt::zeros<double>({N, d});
  for (std::size_t b = 0; b < B; ++b)
    for (std::size_t j = 0; j < h; ++j)
      for (std::size_t t = 0; t < T; ++t)
        for (std::size_t i = 0; i < dh; ++i) out(b * T + t, j * dh + i) = heads(b, j, t, i);
  return out;
}
// A (B·h,T,d_h) tape array viewed as (B,h,T,d_h).
Array<double> heads_value(const Tensor& x) {
  Array<double> a = x.value();
  a.reshape({B, h, T, a.shape()[2]});
  return a;
}
Array<double> heads_grad(const Tensor& x) {
  Array<double> a = x.grad();
  a.reshape({B, h, T, a.shape()[2]});
  return a;
}

struct Model {
  Tensor W_in, b_in, W_O, b_O;  // tg::MultiheadAttention's in_proj_weight (3d,d), in_proj_bias, out_proj
  const tg::LayerNorm<double>* norm;
  Tensor G;                     // (N,d) the upstream gradient: loss = Σ Y ⊙ G; 0 at padded queries

  static Tensor rows(const Tensor& X) { return tg::reshape(X, {N, d}); }  // (B,T,d) → (N,d)
  // part p = 0, 1, 2 (Q, K, V): x W_pᵀ + b_p with W_p = rows p·d … (p+1)·d − 1 of W_in.
  Tensor project(const Tensor& x, std::size_t p) const {
    return tg::linear(x, tg::slice(W_in, 0, p * d, (p + 1) * d), tg::slice(b_in, 0, p * d, (p + 1) * d));
  }
  static Tensor split(const Tensor& cols) {  // (N,d) → (B,T,h,d_h) → (B,h,T,d_h) → (B·h,T,d_h)
    return tg::reshape(tg::transpose(tg::reshape(cols, {B, T, h, dh}), {0, 2, 1, 3}), {B * h, T, dh});
  }
  static Tensor scores(const Tensor& Q, const Tensor& K) {  // S = Q Kᵀ / √d_h, (B,h,T,T)
    return tg::reshape(tg::bmm(Q, tg::transpose(K, {0, 2, 1})), {B, h, T, T}) * (1 / std::sqrt(double(dh)));
  }
  static Tensor mask(const Tensor& S, const tg::Mask& masked) {  // −∞ where masked: softmax gives exactly 0
    return tg::masked_fill(S, masked, -std::numeric_limits<double>::infinity());
  }
  static Tensor mix(const Tensor& A, const Tensor& V) { return tg::bmm(tg::reshape(A, {B * h, T, T}), V); }
  static Tensor merge(const Tensor& O) {  // (B·h,T,d_h) → (B,T,h,d_h) → (N,d): heads side by side
    return tg::reshape(tg::transpose(tg::reshape(O, {B, h, T, dh}), {0, 2, 1, 3}), {N, d});
  }
  Tensor out(const Tensor& O) const { return tg::linear(O, W_O, b_O); }
  Tensor loss(const Tensor& Y) const { return tg::sum(Y * G); }

  // "The rest of the forward" from each intermediate: central differences nudge it.
  double from_Y(const Tensor& Y) const { return loss(Y).item(); }
  double from_Z(const Tensor& Z) const { return from_Y(norm->forward(Z)); }
  double from_O(const Tensor& O) const { return from_Z(out(O)); }
  double from_Oh(const Tensor& Oh) const { return from_O(merge(Oh)); }
  double from_A(const Tensor& A, const Tensor& V) const { return from_Oh(mix(A, V)); }
  double from_S(const Tensor& S, const Tensor& V, const tg::Mask& m) const {
    return from_A(tg::softmax(mask(S, m), 3), V);
  }
  double from_heads(const Tensor& Q, const Tensor& K, const Tensor& V, const tg::Mask& m) const {
    return from_S(scores(Q, K), V, m);
  }
  // X enters three times; passing three different tensors separates the paths.
  double from_X(const Tensor& Xq, const Tensor& Xk, const Tensor& Xv, const tg::Mask& m) const {
    return from_heads(split(project(rows(Xq), 0)), split(project(rows(Xk), 1)), split(project(rows(Xv), 2)), m);
  }
};

struct Forward {
  Tensor rows[3];  // X as (N,d) rows, once per use: the tape's three paths into X
  Tensor Qc, Kc, Vc, Q, K, V, S, S_masked, A, Oh, O, Z, Y, loss;
};

Forward run_forward(const Model& m, const Tensor& X, const tg::Mask& masked) {
  Forward f;
  for (Tensor& r : f.rows) r = Model::rows(X);
  f.Qc = m.project(f.rows[0], 0);          // (N,d)  Q = X W_Qᵀ + b_Q
  f.Kc = m.project(f.rows[1], 1);          // (N,d)  K = X W_Kᵀ + b_K
  f.Vc = m.project(f.rows[2], 2);          // (N,d)  V = X W_Vᵀ + b_V
  f.Q = Model::split(f.Qc);                // (B·h,T,d_h)
  f.K = Model::split(f.Kc);                // (B·h,T,d_h)
  f.V = Model::split(f.Vc);                // (B·h,T,d_h)
  f.S = Model::scores(f.Q, f.K);           // (B,h,T,T)
  f.S_masked = Model::mask(f.S, masked);   // (B,h,T,T)
  f.A = tg::softmax(f.S_masked, 3);        // (B,h,T,T) softmax over the keys s
  f.Oh = Model::mix(f.A, f.V);             // (B·h,T,d_h)
  f.O = Model::merge(f.Oh);                // (N,d)
  f.Z = m.out(f.O);                        // (N,d)  attention output
  f.Y = m.norm->forward(f.Z);              // (N,d)  layer norm
  f.loss = m.loss(f.Y);                    // ()
  for (auto [node, name] : {std::pair{&f.rows[0], "X→Q"}, {&f.rows[1], "X→K"}, {&f.rows[2], "X→V"}, {&f.Qc, "Q"},
                            {&f.Kc, "K"}, {&f.Vc, "V"}, {&f.Q, "Q heads"}, {&f.K, "K heads"}, {&f.V, "V heads"},
                            {&f.S, "S"}, {&f.S_masked, "S̃"}, {&f.A, "A"}, {&f.Oh, "O heads"},
                            {&f.O, "O"}, {&f.Z, "Z"}, {&f.Y, "Y"}, {&f.loss, "loss"}})
    node->set_name(name);
  return f;
}

// ---- printing ----

std::string num(double v, int width = 10) { return fmt::format("{:>{}.6f}", v + 0.0, width); }  // −0 → 0

// "[1,2]" for row r of an array whose last axis is printed across: the leading indices.
std::string row_label(const tg::Shape& shape, std::size_t r) {
  std::string label;
  for (std::size_t a = shape.size(); a-- > 1;) {
    label = fmt::format("{}{}{}", r % shape[a - 1], label.empty() ? "" : ",", label);
    r /= shape[a - 1];
  }
  return label.empty() ? "" : "[" + label + "]";
}

// name (shape) = formula, then the values, one row of the last axis per line.
void show(const std::string& name, const std::string& formula, const Array<double>& a) {
  fmt::print("  {} {} = {}\n", name, tg::shape_str(a.shape()), formula);
  const tg::Shape shape(a.shape().begin(), a.shape().end());
  const std::size_t width = shape.empty() ? 1 : shape.back();
  for (std::size_t r = 0; r < a.size() / width; ++r) {
    std::string line = fmt::format("    {:<10}", row_label(shape, r));
    for (std::size_t k = 0; k < width; ++k) line += fmt::format(" {}", num(a.data()[r * width + k]));
    fmt::print("{}\n", line);
  }
}

// Central differences of the loss w.r.t. a copy of intermediate x, through the rest of the forward.
Array<double> nudge(const Tensor& x, const std::function<double(const Tensor&)>& rest) {
  Tensor copy(x.value());
  return tg::finite_diff([&] { return rest(copy); }, copy);
}

// Where a link is derived, after the grader has compared it with the tape: the tape with
// central differences.
void numeric(tg::Lesson& lesson, const std::string& name, const Array<double>& tape, const Array<double>& fd) {
  lesson.check(name + ": tape = central differences", fd, tape, 1e-8);
}

// Readable numbers: uniform in ±bound, rounded to 2 decimals (tg::uniform01: the same with
// every standard library).
Array<double> readable(const tg::Shape& shape, double bound, std::mt19937_64& rng) {
  Array<double> a = xt::empty<double>(shape);
  for (double& v : a) v = std::round((2 * tg::uniform01(rng) - 1) * bound * 100) / 100;
  return a;
}
}  // namespace

int main(int argc, char** argv) {
  tg::Lesson lesson("Lesson 8: self-attention, backward by hand",
                    "QKᵀ/√d over two heads, padding and causal masks, layer norm's backward, three paths into X");
  if (auto code = lesson.parse(argc, argv)) return *code;

  // Step 1: the batch, and the two modules whose parameters the forward uses.
  lesson.step("a padded batch, tg::MultiheadAttention(d=4, h=2) and tg::LayerNorm(4)");
  std::mt19937_64 rng(8);
  tg::MultiheadAttention<double> attention(d, h, rng);
  tg::LayerNorm<double> norm(d);
  attention.in_proj_weight.mutable_value() = readable({3 * d, d}, 1.0, rng);
  attention.in_proj_bias.mutable_value() = readable({3 * d}, 0.2, rng);
  attention.out_proj.weight.mutable_value() = readable({d, d}, 1.0, rng);
  attention.out_proj.bias.mutable_value() = readable({d}, 0.2, rng);
  norm.weight.mutable_value() = Array<double>{1.2, 0.8, -0.5, 1.5};
  norm.bias.mutable_value() = Array<double>{0.1, -0.2, 0.3, 0.0};
  Tensor X(readable({B, T, d}, 1.0, rng), true, "X");
  tg::Mask real = xt::zeros<bool>({B, T});  // true at real positions, as the modules take it
  for (std::size_t b = 0; b < B; ++b)
    for (std::size_t t = 0; t < lengths[b]; ++t) real(b, t) = true;
  tg::Mask padded_keys = xt::zeros<bool>({B, std::size_t(1), T, T});  // (B,1,T,T): broadcast over heads
  for (std::size_t b = 0; b < B; ++b)
    for (std::size_t t = 0; t < T; ++t)
      for (std::size_t s = lengths[b]; s < T; ++s) padded_keys(b, 0, t, s) = true;
  Array<double> G = readable({N, d}, 1.0, rng);
  for (std::size_t b = 0; b < B; ++b)
    for (std::size_t t = lengths[b]; t < T; ++t) xt::view(G, b * T + t, xt::all()) = 0.0;  // padded queries are ignored
  const Model m{attention.in_proj_weight, attention.in_proj_bias, attention.out_proj.weight,
                attention.out_proj.bias, &norm, Tensor(G, false, "G")};
  fmt::print("  lengths {{{}, {}}}: position [1,2] is padding\n", lengths[0], lengths[1]);
  show("X", "the input, one row per position", X.value());
  show("W_in", "in_proj_weight: rows 0-3 W_Q, 4-7 W_K, 8-11 W_V", m.W_in.value());
  Array<double> b_rows = m.b_in.value();
  b_rows.reshape({3, d});
  show("b_in", "in_proj_bias (12), as rows b_Q, b_K, b_V", b_rows);
  show("W_O", "out_proj.weight", m.W_O.value());
  show("b_O", "out_proj.bias", m.b_O.value());
  Array<double> gamma_beta = xt::zeros<double>({std::size_t(2), d});
  xt::view(gamma_beta, 0, xt::all()) = norm.weight.value();
  xt::view(gamma_beta, 1, xt::all()) = norm.bias.value();
  show("γ, β", "LayerNorm weight and bias", gamma_beta);
  show("G", "upstream gradient: loss = Σ Y ⊙ G (0 at the padded query)", G);

  // Step 2: the forward, as MultiheadAttention::forward computes it, with a layer norm on
  // top (PyTorch's original post-norm; tapegrad's encoder normalises first and adds a
  // residual, the same links in another order).
  lesson.step("forward: Q, K, V, two heads, S = QKᵀ/√d_h, mask, A = softmax(S̃), O = AV, LN");
  tg::Tape<double> tape;
  lesson.attach(tape);
  const Forward f = run_forward(m, X, padded_keys);
  show("Q", "X W_Qᵀ + b_Q (head 0: columns 0-1, head 1: columns 2-3)", f.Qc.value());
  show("S", "Q_j K_jᵀ / √2, per sequence b and head j: [b,j,query t]", f.S.value());
  show("A", "softmax over keys of S with −∞ at padded keys", f.A.value());
  show("Z", "O W_Oᵀ + b_O, the heads side by side then out_proj", f.Z.value());
  show("Y", "layer_norm(Z) ⊙ γ + β", f.Y.value());
  fmt::print("  loss = Σ Y ⊙ G = {:.6f}\n", f.loss.item());
  const auto out = attention.forward(X, real);
  Array<double> module_Z = out.output.value();
  module_Z.reshape({N, d});
  lesson.check("tg::MultiheadAttention gives the same A", out.weights.value(), f.A.value(), 1e-14);
  lesson.check("tg::MultiheadAttention gives the same Z", module_Z, f.Z.value(), 1e-14);
  tape.backward(f.loss);
  lesson.write_dot(f.loss);

  // Step 3: the layer norm, derived in the open. Each link is graded against the tape the
  // moment it is derived (tutorials/exercise.hpp), then central differences check the tape.
  lesson.step("by hand: Y = layer_norm(Z) → dZ (three paths per row), dγ, dβ");
  tg::Grader grade(lesson, 1e-12);
  const double eps = norm.eps;
  const Array<double> Zv = f.Z.value();
  Array<double> paths;
  const Array<double> dZ = grade("dZ", [&] {
    paths = layer_norm_paths(G, Zv, norm.weight.value(), eps);
    return Array<double>(xt::sum(paths, {0}));
  }, f.Z.grad());
  const double sigma0 = std::sqrt(xt::variance(xt::view(Zv, 0, xt::all()))() + eps);
  fmt::print("  row [0]: μ = {:.6f}, σ = √(σ² + eps) = {:.6f}, r = 1/σ = {:.6f}\n",
             xt::mean(xt::view(Zv, 0, xt::all()))(), sigma0, 1 / sigma0);
  if (paths.dimension() == 3) {
    show("direct", "r·dx̂ with dx̂ = dY ⊙ γ", xt::view(paths, 0));
    show("via μ", "−r·mean(dx̂): the same in every column of a row", xt::view(paths, 1));
    show("via σ", "−r·x̂·mean(dx̂ ⊙ x̂)", xt::view(paths, 2));
  }
  show("dZ", "the sum of the three", dZ);
  numeric(lesson, "dZ", f.Z.grad(), nudge(f.Z, [&](const Tensor& x) { return m.from_Z(x); }));
  auto norm_loss = [&] { return m.from_Z(Tensor(Zv)); };
  grade("dγ", [&] { return layer_norm_dgamma(G, Zv, eps); }, norm.weight.grad());
  numeric(lesson, "dγ", norm.weight.grad(), tg::finite_diff(norm_loss, norm.weight));
  grade("dβ", [&] { return layer_norm_dbeta(G); }, norm.bias.grad());
  numeric(lesson, "dβ", norm.bias.grad(), tg::finite_diff(norm_loss, norm.bias));
  double row_sums = 0;  // each row of dZ sums to 0: shifting a row leaves layer_norm unchanged
  for (std::size_t n = 0; n < N; ++n) row_sums = std::max(row_sums, std::abs(xt::sum(xt::view(dZ, n))()));
  lesson.check("every row of dZ sums to 0 (layer_norm ignores a shift)", row_sums, 0.0, 1e-14);

  // Step 4: out_proj. The heads were laid side by side, so dO splits back into heads by
  // moving numbers only.
  lesson.step("by hand: Z = O W_Oᵀ + b_O → dO, dW_O, db_O");
  const Array<double> dO = grade("dO", [&] { return linear_dx(dZ, m.W_O.value()); }, f.O.grad());
  show("dO", "dZ W_O", dO);
  numeric(lesson, "dO", f.O.grad(), nudge(f.O, [&](const Tensor& x) { return m.from_O(x); }));
  auto out_loss = [&] { return m.from_O(Tensor(f.O.value())); };
  grade("dW_O", [&] { return linear_dW(dZ, f.O.value()); }, m.W_O.grad());
  numeric(lesson, "dW_O", m.W_O.grad(), tg::finite_diff(out_loss, attention.out_proj.weight));
  grade("db_O", [&] { return linear_db(dZ); }, m.b_O.grad());
  numeric(lesson, "db_O", m.b_O.grad(), tg::finite_diff(out_loss, attention.out_proj.bias));
  const Array<double> dOh = heads_of(dO);

  // Step 5: O_j = A_j V_j.
  lesson.step("by hand: O = A V → dA, dV");
  const Array<double> A = f.A.value(), Qv = heads_value(f.Q), Kv = heads_value(f.K), Vv = heads_value(f.V);
  const Array<double> dA = grade("dA", [&] { return attention_dA(dOh, Vv); }, f.A.grad());
  show("dA", "dO_j[t] · V_j[s]  (not 0 at padded keys: A there would move O)", dA);
  const Tensor V_fixed(f.V.value());
  numeric(lesson, "dA", f.A.grad(), nudge(f.A, [&](const Tensor& x) { return m.from_A(x, V_fixed); }));
  const Array<double> dV = grade("dV", [&] { return attention_dV(dOh, A); }, heads_grad(f.V));
  Array<double> dV_fd = nudge(f.V, [&](const Tensor& x) { return m.from_A(Tensor(A), x); });
  dV_fd.reshape({B, h, T, dh});
  numeric(lesson, "dV", heads_grad(f.V), dV_fd);

  // Step 6: softmax and the mask.
  lesson.step("by hand: A = softmax(S̃), S̃ = S with −∞ at padded keys → dS");
  const Array<double> dS = grade("dS", [&] { return softmax_mask_dS(dA, A, padded_keys); }, f.S.grad());
  show("dS", "A (dA − Σ_k A dA), exactly 0 at the padded key [1,·,·,2]", dS);
  numeric(lesson, "dS", f.S.grad(), nudge(f.S, [&](const Tensor& x) { return m.from_S(x, V_fixed, padded_keys); }));
  double padded_dS = 0;
  for (std::size_t j = 0; j < h; ++j)
    for (std::size_t t = 0; t < T; ++t)
      padded_dS = std::max({padded_dS, std::abs(f.S.grad()(1, j, t, 2)), std::abs(A(1, j, t, 2))});
  lesson.check("A and the tape's dS are exactly 0 at the padded key", padded_dS, 0.0, 0.0);

  // Step 7: the scores S = Q Kᵀ / √d_h.
  lesson.step("by hand: S = Q Kᵀ / √d_h → dQ, dK");
  const Array<double> dQ = grade("dQ", [&] { return scores_dQ(dS, Kv); }, heads_grad(f.Q));
  const Array<double> dK = grade("dK", [&] { return scores_dK(dS, Qv); }, heads_grad(f.K));
  show("dQ", "dS K / √d_h, per head", dQ);
  show("dK", "dSᵀ Q / √d_h, per head (0 at the padded key)", dK);
  const Tensor Q_fixed(f.Q.value()), K_fixed(f.K.value());
  Array<double> dQ_fd = nudge(f.Q, [&](const Tensor& x) { return m.from_heads(x, K_fixed, V_fixed, padded_keys); });
  Array<double> dK_fd = nudge(f.K, [&](const Tensor& x) { return m.from_heads(Q_fixed, x, V_fixed, padded_keys); });
  dQ_fd.reshape({B, h, T, dh});
  dK_fd.reshape({B, h, T, dh});
  numeric(lesson, "dQ", heads_grad(f.Q), dQ_fd);
  numeric(lesson, "dK", heads_grad(f.K), dK_fd);

  // Step 8: back through the in-projection. X was used three times, once per part, so it
  // collects three gradients; each is linear_dx with that part's rows of W_in.
  lesson.step("by hand: Q, K, V = X W_{Q,K,V}ᵀ + b → dW_in, db_in, and X's three paths");
  Array<double> rows = X.value();
  rows.reshape({N, d});
  const Array<double> dparts[3] = {columns_of(dQ), columns_of(dK), columns_of(dV)};
  auto W_part = [&](std::size_t p) -> Array<double> {
    return xt::view(m.W_in.value(), xt::range(p * d, (p + 1) * d), xt::all());
  };
  auto x_loss = [&] { return m.from_X(X, X, X, padded_keys); };
  grade("dW_in", [&] {
    return Array<double>(xt::concatenate(xt::xtuple(linear_dW(dparts[0], rows), linear_dW(dparts[1], rows),
                                                    linear_dW(dparts[2], rows))));
  }, m.W_in.grad());
  numeric(lesson, "dW_in", m.W_in.grad(), tg::finite_diff(x_loss, attention.in_proj_weight));
  grade("db_in", [&] {
    return Array<double>(xt::concatenate(xt::xtuple(linear_db(dparts[0]), linear_db(dparts[1]),
                                                    linear_db(dparts[2]))));
  }, m.b_in.grad());
  numeric(lesson, "db_in", m.b_in.grad(), tg::finite_diff(x_loss, attention.in_proj_bias));
  // The tape keeps the paths apart on the three `reshape` nodes X feeds; central differences
  // see one path when only that use of X is nudged and the other two are held still.
  const std::string path_name[3] = {"dX via Q", "dX via K", "dX via V"};
  Array<double> dX_path[3];
  for (std::size_t p = 0; p < 3; ++p) {
    dX_path[p] = grade(path_name[p], [&] { return linear_dx(dparts[p], W_part(p)); }, f.rows[p].grad());
    dX_path[p].reshape({B, T, d});
    Tensor copy(X.value()), fixed(X.value());
    Array<double> fd = tg::finite_diff(
        [&] { return m.from_X(p == 0 ? copy : fixed, p == 1 ? copy : fixed, p == 2 ? copy : fixed, padded_keys); },
        copy);
    fd.reshape({N, d});
    numeric(lesson, path_name[p], f.rows[p].grad(), fd);
  }
  const Array<double> dX = dX_path[0] + dX_path[1] + dX_path[2];
  show("dX via Q", "dQ W_Q: X as the queries", dX_path[0]);
  show("dX via K", "dK W_K: X as the keys (0 at [1,2]: a padded key)", dX_path[1]);
  show("dX via V", "dV W_V: X as the values (0 at [1,2]: no weight on it)", dX_path[2]);
  show("dX", "via Q + via K + via V: three uses of X, three += on the tape", dX);
  lesson.check("dX = the sum of the three paths = the tape's X.grad()", dX, X.grad(), 1e-12);
  numeric(lesson, "dX", X.grad(), tg::finite_diff(x_loss, X));
  double padded_dX = 0;
  for (std::size_t i = 0; i < d; ++i) padded_dX = std::max(padded_dX, std::abs(X.grad()(1, 2, i)));
  lesson.check("dX at the padded position is exactly 0 (no query, no key, no value)", padded_dX, 0.0, 0.0);

  // Step 9: the same through the modules, on a fresh tape with the same parameters.
  lesson.step("the same gradients through tg::MultiheadAttention and tg::LayerNorm");
  const Array<double> composed[5] = {X.grad(), m.W_in.grad(), m.b_in.grad(), m.W_O.grad(), norm.weight.grad()};
  X.zero_grad();
  attention.zero_grad();
  norm.zero_grad();
  {
    tg::Tape<double> module_tape;
    const Tensor Y = norm.forward(tg::reshape(attention.forward(X, real).output, {N, d}));
    module_tape.backward(m.loss(Y));
  }
  lesson.check("dX through the modules = dX above", X.grad(), composed[0], 1e-14);
  lesson.check("in_proj_weight.grad = dW_in above", m.W_in.grad(), composed[1], 1e-14);
  lesson.check("in_proj_bias.grad = db_in above", m.b_in.grad(), composed[2], 1e-14);
  lesson.check("out_proj.weight.grad = dW_O above", m.W_O.grad(), composed[3], 1e-14);
  lesson.check("norm.weight.grad = dγ above", norm.weight.grad(), composed[4], 1e-14);

  // Step 10: a causal mask on top of the padding: query t may look at keys s ≤ t only.
  // tg::MultiheadAttention takes a key-padding mask only, so this step composes the same
  // ops with a (B,1,T,T) mask. Only the mask changed, so only the softmax link is new.
  lesson.step("a causal mask: query t sees keys s ≤ t (and no padding)");
  tg::Mask causal = xt::zeros<bool>({B, std::size_t(1), T, T});
  for (std::size_t b = 0; b < B; ++b)
    for (std::size_t t = 0; t < T; ++t)
      for (std::size_t s = 0; s < T; ++s) causal(b, 0, t, s) = s > t || s >= lengths[b];
  X.zero_grad();
  attention.zero_grad();
  norm.zero_grad();
  tg::Tape<double> causal_tape;
  const Forward c = run_forward(m, X, causal);
  causal_tape.backward(c.loss);
  show("A", "causal: row t is 0 beyond column t", c.A.value());
  fmt::print("  loss = {:.6f}\n", c.loss.item());
  grade("dS, causal", [&] { return softmax_mask_dS(c.A.grad(), c.A.value(), causal); }, c.S.grad());
  const Tensor cV_fixed(c.V.value());
  numeric(lesson, "dS, causal", c.S.grad(), nudge(c.S, [&](const Tensor& x) { return m.from_S(x, cV_fixed, causal); }));
  numeric(lesson, "dX, causal", X.grad(), tg::finite_diff([&] { return m.from_X(X, X, X, causal); }, X));
  double above = 0;  // weights and score gradients above the diagonal
  for (std::size_t b = 0; b < B; ++b)
    for (std::size_t j = 0; j < h; ++j)
      for (std::size_t t = 0; t < T; ++t)
        for (std::size_t s = t + 1; s < T; ++s)
          above = std::max({above, std::abs(c.A.value()(b, j, t, s)), std::abs(c.S.grad()(b, j, t, s))});
  lesson.check("A and dS are exactly 0 above the diagonal", above, 0.0, 0.0);
  lesson.check("query 0 attends only to itself: A[·,·,0,0] = 1",
               xt::amin(xt::view(c.A.value(), xt::all(), xt::all(), 0, 0))(), 1.0, 0.0);

  grade.finish();
  return lesson.finish();
}
