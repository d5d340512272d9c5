// Lesson 8 — self-attention, backward by hand: the sequel to lesson 5. Lesson 5 pooled a
// sequence with one learned query; here every position is a query, a key and a value:
// scaled dot-product attention QKᵀ/√d_h with two heads, a key-padding mask and a causal
// mask, then a layer norm whose backward is derived in the open (llm.c's doc/layernorm).
// The forward is the encoder's own generic ops on the parameters of tg::MultiheadAttention
// and tg::LayerNorm; every link backward is derived by hand and checked, right where it is
// derived, against the tape and against central differences. Last, the gradient of X is
// split into its three paths (through Q, through K, through V) and summed.
// Run: ./08_self_attention [--step] [--trace] [--dot self_attention.dot]
#include <cmath>
#include <functional>
#include <limits>
#include <random>
#include <string>

#include <fmt/format.h>

#include "autograd/autograd.hpp"
#include "autograd/random.hpp"
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

// In the forward pass this was y = x̂ ⊙ γ + β with x̂ = (x − μ)·r, r = 1/√(σ² + eps), per row
// of N features (here d). With dx̂ = dy ⊙ γ, each row's dx is the sum of three paths:
//   direct   r·dx̂_j                      x̂_j moves with x_j
//   via μ    −r·mean(dx̂)                 μ moves with every x_j by 1/N
//   via σ    −r·x̂_j·mean(dx̂ ⊙ x̂)        r moves with x_j by −r²x̂_j/N (σ²'s term through μ is 0)
// and dγ = Σ_rows dy ⊙ x̂, dβ = Σ_rows dy.
struct LayerNormGrads {
  Array<double> direct, via_mean, via_std, dgamma, dbeta;  // dx = direct + via_mean + via_std
};
LayerNormGrads layer_norm_backward(const Array<double>& dy, const Array<double>& x, const Array<double>& gamma,
                                   double eps) {
  const std::size_t rows = x.shape()[0], n = x.shape()[1];
  LayerNormGrads g{xt::zeros<double>(x.shape()), xt::zeros<double>(x.shape()), xt::zeros<double>(x.shape()),
                   xt::zeros<double>({n}), xt::zeros<double>({n})};
  for (std::size_t i = 0; i < rows; ++i) {
    double mu = 0, var = 0;
    for (std::size_t k = 0; k < n; ++k) mu += x(i, k) / double(n);
    for (std::size_t k = 0; k < n; ++k) var += (x(i, k) - mu) * (x(i, k) - mu) / double(n);
    const double r = 1 / std::sqrt(var + eps);
    Array<double> xhat = xt::zeros<double>({n}), dxhat = xt::zeros<double>({n});
    double mean_dxhat = 0, mean_dxhat_xhat = 0;
    for (std::size_t k = 0; k < n; ++k) {
      xhat(k) = (x(i, k) - mu) * r;
      dxhat(k) = dy(i, k) * gamma(k);
      mean_dxhat += dxhat(k) / double(n);
      mean_dxhat_xhat += dxhat(k) * xhat(k) / double(n);
      g.dgamma(k) += dy(i, k) * xhat(k);
      g.dbeta(k) += dy(i, k);
    }
    for (std::size_t k = 0; k < n; ++k) {
      g.direct(i, k) = r * dxhat(k);
      g.via_mean(i, k) = -r * mean_dxhat;
      g.via_std(i, k) = -r * xhat(k) * mean_dxhat_xhat;
    }
  }
  return g;
}

// In the forward pass this was y[n,o] = Σ_i x[n,i] W[o,i] + b[o], so now
//   dx[n,i] = Σ_o dy[n,o] W[o,i],   dW[o,i] = Σ_n dy[n,o] x[n,i],   db[o] = Σ_n dy[n,o].
struct LinearGrads {
  Array<double> dx, dW, db;
};
LinearGrads linear_backward(const Array<double>& dy, const Array<double>& x, const Array<double>& W) {
  const std::size_t rows = x.shape()[0], in = x.shape()[1], out = W.shape()[0];
  LinearGrads g{xt::zeros<double>({rows, in}), xt::zeros<double>({out, in}), xt::zeros<double>({out})};
  for (std::size_t n = 0; n < rows; ++n)
    for (std::size_t o = 0; o < out; ++o) {
      g.db(o) += dy(n, o);
      for (std::size_t i = 0; i < in; ++i) {
        g.dx(n, i) += dy(n, o) * W(o, i);
        g.dW(o, i) += dy(n, o) * x(n, i);
      }
    }
  return g;
}

// In the forward pass this was O_j[t] = Σ_s A_j[t,s] V_j[s] per sequence and head, so now
//   dA_j[t,s] = dO_j[t] · V_j[s]   and   dV_j[s] = Σ_t A_j[t,s] dO_j[t].
// Shapes: dO, V (B,h,T,d_h); A (B,h,T,T).
struct MixGrads {
  Array<double> dA, dV;
};
MixGrads mix_backward(const Array<double>& dO, const Array<double>& A, const Array<double>& V) {
  MixGrads g{xt::zeros<double>({B, h, T, T}), xt::zeros<double>({B, h, T, dh})};
  for (std::size_t b = 0; b < B; ++b)
    for (std::size_t j = 0; j < h; ++j)
      for (std::size_t t = 0; t < T; ++t)
        for (std::size_t s = 0; s < T; ++s)
          for (std::size_t i = 0; i < dh; ++i) {
            g.dA(b, j, t, s) += dO(b, j, t, i) * V(b, j, s, i);
            g.dV(b, j, s, i) += A(b, j, t, s) * dO(b, j, t, i);
          }
  return g;
}

// In the forward pass this was A[t] = softmax over s of S̃[t], S̃ = S with −∞ where masked, so now
//   dS̃[t,s] = A[t,s] (dA[t,s] − Σ_k A[t,k] dA[t,k])   (lesson 3's Jᵀg, one row per query)
//   dS = dS̃ where the key is kept, exactly 0 where masked (masked_fill passes nothing back).
// masked (B,1,T,T) or (B,1,1,T): true where query t may not look at key s.
Array<double> softmax_mask_backward(const Array<double>& dA, const Array<double>& A, const tg::Mask& masked) {
  Array<double> dS = xt::zeros<double>({B, h, T, T});
  for (std::size_t b = 0; b < B; ++b)
    for (std::size_t j = 0; j < h; ++j)
      for (std::size_t t = 0; t < T; ++t) {
        double centre = 0;
        for (std::size_t k = 0; k < T; ++k) centre += A(b, j, t, k) * dA(b, j, t, k);
        for (std::size_t s = 0; s < T; ++s) {
          const bool is_masked = masked.shape()[2] == 1 ? masked(b, 0, 0, s) : masked(b, 0, t, s);
          dS(b, j, t, s) = is_masked ? 0.0 : A(b, j, t, s) * (dA(b, j, t, s) - centre);
        }
      }
  return dS;
}

// In the forward pass this was S_j[t,s] = Q_j[t] · K_j[s] / √d_h, so now
//   dQ_j[t] = Σ_s dS_j[t,s] K_j[s] / √d_h   and   dK_j[s] = Σ_t dS_j[t,s] Q_j[t] / √d_h.
struct ScoreGrads {
  Array<double> dQ, dK;
};
ScoreGrads scores_backward(const Array<double>& dS, const Array<double>& Q, const Array<double>& K) {
  const double scale = 1 / std::sqrt(double(dh));
  ScoreGrads g{xt::zeros<double>({B, h, T, dh}), xt::zeros<double>({B, h, T, dh})};
  for (std::size_t b = 0; b < B; ++b)
    for (std::size_t j = 0; j < h; ++j)
      for (std::size_t t = 0; t < T; ++t)
        for (std::size_t s = 0; s < T; ++s)
          for (std::size_t i = 0; i < dh; ++i) {
            g.dQ(b, j, t, i) += dS(b, j, t, s) * K(b, j, s, i) * scale;
            g.dK(b, j, s, i) += dS(b, j, t, s) * Q(b, j, t, i) * scale;
          }
  return g;
}

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
  for (auto [node, name] : {std::pair{&f.rows[0], "X→Q"}, {&f.rows[1], "X→K"}, {&f.rows[2], "X→V"}, {&f.Qc, "Q"}, {&f.Kc, "K"}, {&f.Vc, "V"}, {&f.Q, "Q heads"}, {&f.K, "K heads"},
                            {&f.V, "V heads"}, {&f.S, "S"}, {&f.S_masked, "S̃"}, {&f.A, "A"}, {&f.Oh, "O heads"},
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
    label = fmt::format("{}{}", r % shape[a - 1], label.empty() ? "" : "," + label);
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
    for (std::size_t k = 0; k < width; ++k) line += " " + num(a.data()[r * width + k]);
    fmt::print("{}\n", line);
  }
}

// Central differences of the loss w.r.t. a copy of intermediate x, through the rest of the forward.
Array<double> nudge(const Tensor& x, const std::function<double(const Tensor&)>& rest) {
  Tensor copy(x.value());
  return tg::finite_diff([&] { return rest(copy); }, copy);
}

// One link, graded where it is derived: the hand-derived gradient and central differences,
// each against the tape.
void compare(tg::Lesson& lesson, const std::string& name, const Array<double>& tape, const Array<double>& hand,
             const Array<double>& numeric) {
  lesson.check(name + " by hand = tape", hand, tape, 1e-12);
  lesson.check(name + " by central differences = tape", numeric, tape, 1e-8);
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
  tg::Lesson lesson("Lesson 8: self-attention, backward by hand");
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
  tg::Mask padded_keys = !real;  // (B,1,1,T): broadcast over heads and queries
  padded_keys.reshape({B, 1, 1, T});
  Array<double> G = readable({N, d}, 1.0, rng);
  for (std::size_t b = 0; b < B; ++b)
    for (std::size_t t = lengths[b]; t < T; ++t) xt::row(G, b * T + t) = 0.0;  // padded queries are ignored
  const Model m{attention.in_proj_weight, attention.in_proj_bias, attention.out_proj.weight,
                attention.out_proj.bias, &norm, Tensor(G, false, "G")};
  fmt::print("  lengths {{{}, {}}}: position [1,2] is padding\n", lengths[0], lengths[1]);
  show("X", "the input, one row per position", X.value());
  show("W_in", "in_proj_weight: rows 0-3 W_Q, 4-7 W_K, 8-11 W_V", m.W_in.value());
  show("b_in", "in_proj_bias", m.b_in.value());
  show("W_O", "out_proj.weight", m.W_O.value());
  show("b_O", "out_proj.bias", m.b_O.value());
  show("γ, β", "LayerNorm weight and bias", xt::stack(xt::xtuple(norm.weight.value(), norm.bias.value())));
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

  // Step 3: the layer norm, derived in the open.
  lesson.step("by hand: Y = layer_norm(Z) → dZ, dγ, dβ (three paths per row)");
  const double eps = norm.eps;
  const LayerNormGrads ln = layer_norm_backward(G, f.Z.value(), norm.weight.value(), eps);
  const Array<double> dZ = ln.direct + ln.via_mean + ln.via_std;
  const double sigma0 = std::sqrt(xt::variance(xt::row(f.Z.value(), 0))() + eps);
  fmt::print("  row [0]: μ = {:.6f}, σ = √(σ² + eps) = {:.6f}, r = 1/σ = {:.6f}\n",
             xt::mean(xt::row(f.Z.value(), 0))(), sigma0, 1 / sigma0);
  show("direct", "r·dx̂ with dx̂ = dY ⊙ γ", ln.direct);
  show("via μ", "−r·mean(dx̂): the same in every column of a row", ln.via_mean);
  show("via σ", "−r·x̂·mean(dx̂ ⊙ x̂)", ln.via_std);
  show("dZ", "the sum of the three", dZ);
  compare(lesson, "dZ", f.Z.grad(), dZ, nudge(f.Z, [&](const Tensor& x) { return m.from_Z(x); }));
  auto norm_loss = [&] { return m.from_Z(Tensor(f.Z.value())); };
  compare(lesson, "dγ", norm.weight.grad(), ln.dgamma, tg::finite_diff(norm_loss, norm.weight));
  compare(lesson, "dβ", norm.bias.grad(), ln.dbeta, tg::finite_diff(norm_loss, norm.bias));
  double row_sums = 0;  // each row of dZ sums to 0: shifting a row leaves layer_norm unchanged
  for (std::size_t n = 0; n < N; ++n) row_sums = std::max(row_sums, std::abs(xt::sum(xt::row(dZ, n))()));
  lesson.check("every row of dZ sums to 0 (layer_norm ignores a shift)", row_sums, 0.0, 1e-14);

  // Step 4: out_proj. The heads were laid side by side, so dO splits back into heads by
  // moving numbers only.
  lesson.step("by hand: Z = O W_Oᵀ + b_O → dO, dW_O, db_O, and dO per head");
  const LinearGrads outg = linear_backward(dZ, f.O.value(), m.W_O.value());
  const Array<double> dOh = heads_of(outg.dx);
  show("dO", "dZ W_O", outg.dx);
  compare(lesson, "dO", f.O.grad(), outg.dx, nudge(f.O, [&](const Tensor& x) { return m.from_O(x); }));
  auto out_loss = [&] { return m.from_O(Tensor(f.O.value())); };
  compare(lesson, "dW_O", m.W_O.grad(), outg.dW, tg::finite_diff(out_loss, attention.out_proj.weight));
  compare(lesson, "db_O", m.b_O.grad(), outg.db, tg::finite_diff(out_loss, attention.out_proj.bias));

  // Step 5: O_j = A_j V_j.
  lesson.step("by hand: O = A V → dA, dV");
  const Array<double> A = f.A.value(), Qv = heads_value(f.Q), Kv = heads_value(f.K), Vv = heads_value(f.V);
  const MixGrads mix = mix_backward(dOh, A, Vv);
  show("dA", "dO_j[t] · V_j[s]  (not 0 at padded keys: A there would move O)", mix.dA);
  const Tensor V_fixed(f.V.value());
  compare(lesson, "dA", f.A.grad(), mix.dA, nudge(f.A, [&](const Tensor& x) { return m.from_A(x, V_fixed); }));
  Array<double> dV_fd = nudge(f.V, [&](const Tensor& x) { return m.from_A(Tensor(f.A.value()), x); });
  dV_fd.reshape({B, h, T, dh});
  compare(lesson, "dV", heads_grad(f.V), mix.dV, dV_fd);

  // Step 6: softmax and the mask.
  lesson.step("by hand: A = softmax(S̃), S̃ = S with −∞ at padded keys → dS");
  const Array<double> dS = softmax_mask_backward(mix.dA, A, padded_keys);
  show("dS", "A (dA − Σ_k A dA), exactly 0 at the padded key [1,·,·,2]", dS);
  compare(lesson, "dS", f.S.grad(), dS,
          nudge(f.S, [&](const Tensor& x) { return m.from_S(x, V_fixed, padded_keys); }));
  double padded_dS = 0;
  for (std::size_t j = 0; j < h; ++j)
    for (std::size_t t = 0; t < T; ++t)
      padded_dS = std::max({padded_dS, std::abs(dS(1, j, t, 2)), std::abs(f.S.grad()(1, j, t, 2)),
                            std::abs(A(1, j, t, 2))});
  lesson.check("A, dS by hand and dS on the tape are exactly 0 at the padded key", padded_dS, 0.0, 0.0);

  // Step 7: the scores S = Q Kᵀ / √d_h.
  lesson.step("by hand: S = Q Kᵀ / √d_h → dQ, dK");
  const ScoreGrads sg = scores_backward(dS, Qv, Kv);
  show("dQ", "dS K / √d_h, per head", sg.dQ);
  show("dK", "dSᵀ Q / √d_h, per head (0 at the padded key)", sg.dK);
  const Tensor Q_fixed(f.Q.value()), K_fixed(f.K.value());
  Array<double> dQ_fd = nudge(f.Q, [&](const Tensor& x) { return m.from_heads(x, K_fixed, V_fixed, padded_keys); });
  Array<double> dK_fd = nudge(f.K, [&](const Tensor& x) { return m.from_heads(Q_fixed, x, V_fixed, padded_keys); });
  dQ_fd.reshape({B, h, T, dh});
  dK_fd.reshape({B, h, T, dh});
  compare(lesson, "dQ", heads_grad(f.Q), sg.dQ, dQ_fd);
  compare(lesson, "dK", heads_grad(f.K), sg.dK, dK_fd);

  // Step 8: back through the in-projection. X was used three times, once per part, so it
  // collects three gradients; each is one linear_backward with that part's rows of W_in.
  lesson.step("by hand: Q, K, V = X W_{Q,K,V}ᵀ + b → dW_in, db_in, and X's three paths");
  Array<double> rows = X.value();
  rows.reshape({N, d});
  Array<double> dX_path[3], dW_in = xt::zeros<double>({3 * d, d}), db_in = xt::zeros<double>({3 * d});
  const Array<double>* dparts[3] = {&sg.dQ, &sg.dK, &mix.dV};
  for (std::size_t p = 0; p < 3; ++p) {
    const Array<double> W_p = xt::view(m.W_in.value(), xt::range(p * d, (p + 1) * d), xt::all());
    const LinearGrads g = linear_backward(columns_of(*dparts[p]), rows, W_p);
    dX_path[p] = g.dx;
    dX_path[p].reshape({B, T, d});
    xt::view(dW_in, xt::range(p * d, (p + 1) * d), xt::all()) = g.dW;
    xt::view(db_in, xt::range(p * d, (p + 1) * d)) = g.db;
  }
  auto x_loss = [&] { return m.from_X(X, X, X, padded_keys); };
  compare(lesson, "dW_in", m.W_in.grad(), dW_in, tg::finite_diff(x_loss, attention.in_proj_weight));
  compare(lesson, "db_in", m.b_in.grad(), db_in, tg::finite_diff(x_loss, attention.in_proj_bias));
  const Array<double> dX = dX_path[0] + dX_path[1] + dX_path[2];
  fmt::print("  dX[b,t] = via Q + via K + via V  (three uses of X, three += on the tape)\n");
  for (std::size_t b = 0; b < B; ++b)
    for (std::size_t t = 0; t < T; ++t) {
      std::string line = fmt::format("    [{},{}]", b, t);
      for (std::size_t i = 0; i < d; ++i)
        line += fmt::format(" {:>9.5f}{:+.5f}{:+.5f}", dX_path[0](b, t, i) + 0.0, dX_path[1](b, t, i) + 0.0,
                            dX_path[2](b, t, i) + 0.0);
      fmt::print("{}\n", line);
    }
  // The tape sees the paths separately on the three `reshape` nodes X feeds; central
  // differences see one path when only that use of X is nudged, the other two held still.
  const char* path_name[3] = {"dX via Q", "dX via K", "dX via V"};
  for (std::size_t p = 0; p < 3; ++p) {
    Array<double> tape_path = f.rows[p].grad();
    tape_path.reshape({B, T, d});
    Tensor copy(X.value()), fixed(X.value());
    const Array<double> fd = tg::finite_diff(
        [&] { return m.from_X(p == 0 ? copy : fixed, p == 1 ? copy : fixed, p == 2 ? copy : fixed, padded_keys); },
        copy);
    compare(lesson, path_name[p], tape_path, dX_path[p], fd);
  }
  show("dX", "the sum of the three paths", dX);
  compare(lesson, "dX", X.grad(), dX, tg::finite_diff(x_loss, X));
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
  // ops with a (B,1,T,T) mask; the hand-derived links are the same functions.
  lesson.step("a causal mask: query t sees keys s ≤ t (and no padding)");
  tg::Mask causal = xt::zeros<bool>({B, 1, T, T});
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
  const LayerNormGrads cln = layer_norm_backward(G, c.Z.value(), norm.weight.value(), eps);
  const LinearGrads cproj = linear_backward(cln.direct + cln.via_mean + cln.via_std, c.O.value(), m.W_O.value());
  const MixGrads cmix = mix_backward(heads_of(cproj.dx), c.A.value(), heads_value(c.V));
  const Array<double> cdS = softmax_mask_backward(cmix.dA, c.A.value(), causal);
  const ScoreGrads csg = scores_backward(cdS, heads_value(c.Q), heads_value(c.K));
  Array<double> cdX = xt::zeros<double>({N, d});
  const Array<double>* cparts[3] = {&csg.dQ, &csg.dK, &cmix.dV};
  for (std::size_t p = 0; p < 3; ++p)
    cdX += linear_backward(columns_of(*cparts[p]), rows,
                           xt::view(m.W_in.value(), xt::range(p * d, (p + 1) * d), xt::all())).dx;
  cdX.reshape({B, T, d});
  const Tensor cV_fixed(c.V.value());
  compare(lesson, "dS (causal)", c.S.grad(), cdS,
          nudge(c.S, [&](const Tensor& x) { return m.from_S(x, cV_fixed, causal); }));
  compare(lesson, "dX (causal)", X.grad(), cdX, tg::finite_diff([&] { return m.from_X(X, X, X, causal); }, X));
  double above = 0;  // weights and score gradients above the diagonal
  for (std::size_t b = 0; b < B; ++b)
    for (std::size_t j = 0; j < h; ++j)
      for (std::size_t t = 0; t < T; ++t)
        for (std::size_t s = t + 1; s < T; ++s)
          above = std::max({above, std::abs(c.A.value()(b, j, t, s)), std::abs(c.S.grad()(b, j, t, s))});
  lesson.check("A and dS are exactly 0 above the diagonal", above, 0.0, 0.0);
  lesson.check("query 0 attends only to itself: A[·,·,0,0] = 1", xt::amin(xt::view(c.A.value(), xt::all(),
                                                                                     xt::all(), 0, 0))(),
               1.0, 0.0);

  return lesson.finish();
}
