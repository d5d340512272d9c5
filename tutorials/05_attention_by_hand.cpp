// Lesson 5 — attention pooling, backward by hand (Hierarchical Attention Networks, Yang et
// al. 2016; the layer is nn/pooling.hpp's AttentionPooling). On a tiny padded batch the
// forward is cut into named intermediates, then every gradient is derived again by hand,
// one chain-rule link per forward line, llm.c-style, and compared with the tape, with the
// layer itself and with central differences. Padding gets exactly zero attention and
// exactly zero gradient. Prints every intermediate and gradient (name, shape, values), the
// tape, the two paths into each h_t, and `tensor | tape | by hand | finite diff | max diff`.
// Run: ./05_attention_by_hand [--step] [--trace] [--dot attention.dot]
// Exercise: derive the links yourself in tutorials/exercises/05_attention_by_hand.cpp, then
//   cmake --build build --target 05_attention_by_hand_exercise && build/05_attention_by_hand_exercise
#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <random>
#include <string>

#include <fmt/format.h>

#include "autograd/autograd.hpp"
#include "exercise.hpp"
#include "lesson.hpp"
#include "nn/pooling.hpp"

using tg::Array;
using Tensor = tg::Tensor<double>;

namespace {
// Legend: B batch, T time, D state size, C classes.
constexpr std::size_t B = 2, T = 4, D = 3, C = 3;

// "[1,2]" for row r of an array whose last axis is printed across: the leading indices.
std::string row_label(const tg::Shape& shape, std::size_t r) {
  std::string label;
  for (std::size_t a = shape.size(); a-- > 1;) {  // the leading axes 0 … rank−2, last first
    label = fmt::format("{}{}", r % shape[a - 1], label.empty() ? "" : "," + label);
    r /= shape[a - 1];
  }
  return label.empty() ? "" : "[" + label + "]";
}

// One printed number. Adding +0.0 turns −0.0 (0 times a negative) into 0.0, which is the
// same number and reads as the exact zero it is.
std::string num(double v, int width = 10) { return fmt::format("{:>{}.6f}", v + 0.0, width); }

// name (shape) = formula, then the values one row of the last axis per line; rows of a
// (B,T,D) array at padded positions are marked when `padding` is given.
void show(const std::string& name, const std::string& formula, const Array<double>& a,
          const tg::Mask* padding = nullptr) {
  fmt::print("  {} {} = {}\n", name, tg::shape_str(a.shape()), formula);
  const tg::Shape shape(a.shape().begin(), a.shape().end());
  const std::size_t width = shape.empty() ? 1 : shape.back();
  for (std::size_t r = 0; r < a.size() / width; ++r) {
    std::string line = fmt::format("    {:<6}", row_label(shape, r));
    for (std::size_t k = 0; k < width; ++k) line += " " + num(a.data()[r * width + k]);
    if (padding && shape.size() == 3 && (*padding)(r / T, r % T)) line += "   (padding)";
    fmt::print("{}\n", line);
  }
}

// The forward, one generic op per stage, with the layer's parameters. Each `from_x` is
// "the rest of the forward" from intermediate x to the loss: finite differences nudge x.
struct Model {
  Tensor H, W, b, u_w, V;  // H (B,T,D) states; W (D,D), b (D), u_w (D) the layer's; V (C,D)
  tg::Mask padding;        // (B,T) true at padded positions
  tg::Ids labels;          // (B)

  Tensor project(const Tensor& rows) const {  // z = H Wᵀ + b, on H as (B·T,D) rows
    return tg::reshape(tg::matmul(rows, tg::transpose(W)) + b, {B, T, D});
  }
  Tensor score(const Tensor& u) const { return tg::sum(u * u_w, 2); }  // e_t = u_t · u_w
  Tensor mask(const Tensor& e) const {  // −∞ at padding: softmax gives it exactly 0
    return tg::masked_fill(e, padding, -std::numeric_limits<double>::infinity());
  }
  Tensor pool(const Tensor& alpha) const { return tg::sum(H * tg::reshape(alpha, {B, T, 1}), 1); }
  Tensor classify(const Tensor& s) const { return tg::matmul(s, tg::transpose(V)); }
  Tensor loss(const Tensor& logits) const { return tg::cross_entropy(logits, labels); }

  double from_s(const Tensor& s) const { return loss(classify(s)).item(); }
  double from_alpha(const Tensor& alpha) const { return from_s(pool(alpha)); }
  double from_e(const Tensor& e) const { return from_alpha(tg::softmax(mask(e), 1)); }
  double from_u(const Tensor& u) const { return from_e(score(u)); }
  double from_z(const Tensor& z) const { return from_u(tg::tanh(z)); }
};

// Sequence lengths of the batch; positions t ≥ length are padding.
constexpr std::size_t lengths[B] = {4, 2};

// Readable weights in place of the layer's random ones, states whose padded rows are large
// (whatever an LSTM left there: only the mask keeps them out), and a classifier V on top.
Model make_model(tg::AttentionPooling<double>& attention) {
  attention.proj.weight.mutable_value() = Array<double>{{0.6, -0.4, 0.2}, {0.3, 0.8, -0.5}, {-0.7, 0.1, 0.9}};
  attention.proj.bias.mutable_value() = Array<double>{0.1, -0.2, 0.05};
  attention.context.mutable_value() = Array<double>{1.2, -0.8, 1.5};
  tg::Mask padding = xt::zeros<bool>({B, T});
  for (std::size_t b = 0; b < B; ++b)
    for (std::size_t t = lengths[b]; t < T; ++t) padding(b, t) = true;
  Array<double> H = {{{0.5, -0.2, 0.8}, {-0.6, 0.9, 0.1}, {0.3, 0.4, -0.7}, {0.9, -0.5, 0.2}},
                     {{-0.4, 0.7, 0.6}, {0.8, 0.1, -0.3}, {2.0, -2.0, 2.0}, {-2.0, 2.0, -2.0}}};
  Array<double> V = {{0.5, -1.0, 0.3}, {-0.4, 0.6, 0.9}, {1.1, 0.2, -0.6}};
  return {Tensor(std::move(H), true, "H"), attention.proj.weight, attention.proj.bias, attention.context,
          Tensor(std::move(V), false, "V"), std::move(padding), tg::Ids{2, 0}};
}

struct Forward {
  Tensor rows, z, u, e, e_masked, alpha, s, logits, loss;
};

Forward run_forward(const Model& m) {
  Forward f;
  f.rows = tg::reshape(m.H, {B * T, D});  // (B·T,D)
  f.z = m.project(f.rows);                // (B,T,D)
  f.u = tg::tanh(f.z);                    // (B,T,D)
  f.e = m.score(f.u);                     // (B,T)
  f.e_masked = m.mask(f.e);               // (B,T)
  f.alpha = tg::softmax(f.e_masked, 1);   // (B,T) softmax over T
  f.s = m.pool(f.alpha);                  // (B,D)
  f.logits = m.classify(f.s);             // (B,C)
  f.loss = m.loss(f.logits);              // ()
  for (auto [node, name] : {std::pair{&f.rows, "H rows"}, {&f.z, "z"}, {&f.u, "u"}, {&f.e, "e"}, {&f.e_masked, "ẽ"},
                            {&f.alpha, "α"}, {&f.s, "s"}, {&f.logits, "logits"}, {&f.loss, "loss"}})
    node->set_name(name);
  return f;
}

// Central differences of the loss w.r.t. a copy of intermediate x, through the rest of the forward.
Array<double> nudge(const Tensor& x, const std::function<double(const Tensor&)>& rest) {
  Tensor copy(x.value());
  return tg::finite_diff([&] { return rest(copy); }, copy);
}

// ---- the backward by hand: one function per link, each quoting the forward line it undoes ----
// (the exercise: the same signatures in tutorials/exercises/05_attention_by_hand.cpp)
#ifdef TG_EXERCISE_FILE
#include TG_EXERCISE_FILE
#else
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
        for (std::size_t i = 0; i < D; ++i) dW(j, i) += dz(b, t, j) * H(b, t, i);
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
#endif

// "(x y z)": the D values at position [b,t] of a (B,T,D) array.
std::string triple(const Array<double>& a, std::size_t b, std::size_t t) {
  return "(" + num(a(b, t, 0), 9) + num(a(b, t, 1), 10) + num(a(b, t, 2), 10) + ")";
}

// Padded position [b,t]: α, dẽ, de and dH are exactly 0 by hand and on the tape; dα is not.
void check_padded(tg::Lesson& lesson, std::size_t b, std::size_t t, const Forward& f, const Array<double>& dalpha,
                  const Array<double>& de_masked, const Array<double>& de, const Array<double>& dH,
                  const Array<double>& tape_dH) {
  const double alpha = f.alpha.value()(b, t), tape_de_masked = f.e_masked.grad()(b, t), tape_de = f.e.grad()(b, t);
  fmt::print("    [{},{}]  α = {}   dα = {}\n", b, t, num(alpha, 1), num(dalpha(b, t), 1));
  fmt::print("           dẽ = {} by hand, {} on the tape   de = {} by hand, {} on the tape\n",
             num(de_masked(b, t), 1), num(tape_de_masked, 1), num(de(b, t), 1), num(tape_de, 1));
  fmt::print("           dH by hand {}  on the tape {}\n", triple(dH, b, t), triple(tape_dH, b, t));
  double de_worst = 0, dH_worst = 0;  // the largest |value|: 0 only when every one is exactly 0
  for (double v : {de_masked(b, t), tape_de_masked, de(b, t), tape_de}) de_worst = std::max(de_worst, std::abs(v));
  for (std::size_t i = 0; i < D; ++i)
    dH_worst = std::max({dH_worst, std::abs(dH(b, t, i)), std::abs(tape_dH(b, t, i))});
  lesson.check(fmt::format("α[{},{}] == 0", b, t), alpha, 0.0, 0.0);
  lesson.check(fmt::format("dẽ[{0},{1}] == 0 and de[{0},{1}] == 0, by hand and on the tape", b, t), de_worst, 0.0,
               0.0);
  lesson.check(fmt::format("dH[{},{},:] == 0, by hand and on the tape", b, t), dH_worst, 0.0, 0.0);
}
}  // namespace

int main(int argc, char** argv) {
  tg::Lesson lesson("Lesson 5: attention pooling, backward by hand",
                    "attention pooling's backward derived by hand, link by link; padding gets exactly 0");
  if (auto code = lesson.parse(argc, argv)) return *code;

  // Step 1: two sequences of states, lengths 4 and 2, padded to T = 4; the layer with readable weights.
  lesson.step("a padded batch and the layer's weights");
  std::mt19937_64 rng(5);
  tg::AttentionPooling<double> attention(D, rng);
  Model m = make_model(attention);
  const tg::Mask real = !m.padding;
  fmt::print("  lengths {{{}, {}}}, labels {{{}, {}}}\n", lengths[0], lengths[1], m.labels(0), m.labels(1));
  show("H", "the states h_t", m.H.value(), &m.padding);
  show("W", "proj.weight", m.W.value());
  show("b", "proj.bias", m.b.value());
  show("u_w", "context", m.u_w.value());
  show("V", "a classifier on top: logits = s Vᵀ", m.V.value());

  // Step 2: the forward of nn/pooling.cpp, one generic op per named intermediate.
  lesson.step("forward, one named intermediate per line");
  tg::Tape<double> tape;
  lesson.attach(tape);
  const Forward f = run_forward(m);
  show("z", "H Wᵀ + b", f.z.value(), &m.padding);
  show("u", "tanh(z)", f.u.value(), &m.padding);
  show("e", "u · u_w, summed over D", f.e.value());
  show("ẽ", "e with −∞ at padding", f.e_masked.value());
  show("α", "softmax over T of ẽ", f.alpha.value());
  show("s", "Σ_t α_t h_t", f.s.value());
  show("logits", "s Vᵀ", f.logits.value());
  show("loss", "cross-entropy(logits, labels), mean over B", f.loss.value());
  for (std::size_t b = 0; b < B; ++b) {
    double total = 0;
    for (std::size_t t = 0; t < lengths[b]; ++t) total += f.alpha.value()(b, t);
    lesson.check(fmt::format("α[{}] sums to 1 over its real positions", b), total, 1.0, 1e-15);
  }

  // Step 3: the tape is the forward in creation order; backward runs it in reverse.
  lesson.step("backward on the tape (run with --trace to watch each node)");
  tape.backward(f.loss);
  fmt::print("{}", tg::wrapped_tape_listing(tape));

  // Step 4: from the loss down to s. Shapes: dlogits (B,C), ds (B,D). Each link is graded
  // against the tape's gradient right after it is derived.
  lesson.step("by hand: loss → dlogits → ds");
  tg::Grader grade(lesson, 1e-14);
  Array<double> tape_via_e = f.rows.grad();  // the tape's gradient of H through z: (B·T,D) → (B,T,D)
  tape_via_e.reshape({B, T, D});
  const Array<double> tape_via_s = m.H.grad() - tape_via_e;  // and the rest, through s
  const Array<double> dlogits =
      grade("dlogits", [&] { return dlogits_by_hand(f.logits.value(), m.labels); }, f.logits.grad());
  const Array<double> ds = grade("ds", [&] { return ds_by_hand(dlogits, m.V.value()); }, f.s.grad());
  show("dlogits", "(softmax(logits) − one_hot(label)) / B", dlogits);
  show("ds", "dlogits · V", ds);

  // Step 5: through the weighted sum. h_t is used twice in the forward (in s and in z),
  // so it collects a gradient from each use; this is the first.
  lesson.step("by hand: s = Σ_t α_t h_t  →  dα, and h's path via s");
  const Array<double> dalpha = grade("dα", [&] { return dalpha_by_hand(ds, m.H.value()); }, f.alpha.grad());
  const Array<double> dH_via_s =
      grade("dH via s", [&] { return dH_via_s_by_hand(ds, f.alpha.value()); }, tape_via_s);
  show("dα", "ds · h_t  (not 0 at padding: moving α there would move s)", dalpha);
  show("dH via s", "α_t ds", dH_via_s, &m.padding);

  // Step 6: through softmax and the mask. α_t = 0 at padding multiplies the gradient away.
  lesson.step("by hand: α = softmax(ẽ), ẽ = e with −∞ at padding  →  de");
  const Array<double> de_masked =
      grade("dẽ", [&] { return de_masked_by_hand(dalpha, f.alpha.value()); }, f.e_masked.grad());
  const Array<double> de = grade("de", [&] { return de_by_hand(de_masked, m.padding); }, f.e.grad());
  show("Σ_k α_k dα_k", "what softmax subtracts from every dα_t", Array<double>(xt::sum(f.alpha.value() * dalpha, {1})));
  show("dẽ", "α_t (dα_t − Σ_k α_k dα_k)  (0 at padding already: α_t = 0 there)", de_masked);
  show("de", "dẽ where real, 0 where padded (masked_fill passes nothing back)", de);

  // Step 7: through the score e_t = u_t · u_w. u_w is shared by every position: its
  // gradient is a sum over b and t.
  lesson.step("by hand: e = u · u_w  →  du_w, du");
  const Array<double> du_w = grade("du_w", [&] { return du_w_by_hand(de, f.u.value()); }, m.u_w.grad());
  const Array<double> du = grade("du", [&] { return du_by_hand(de, m.u_w.value()); }, f.u.grad());
  show("du_w", "Σ_{b,t} de_t u_t", du_w);
  show("du", "de_t u_w", du, &m.padding);

  // Step 8: through tanh and the projection; h's second path.
  lesson.step("by hand: u = tanh(z), z = H Wᵀ + b  →  dz, dW, db, and h's path via e");
  const Array<double> dz = grade("dz", [&] { return dz_by_hand(du, f.u.value()); }, f.z.grad());
  const Array<double> dW = grade("dW", [&] { return dW_by_hand(dz, m.H.value()); }, m.W.grad());
  const Array<double> db = grade("db", [&] { return db_by_hand(dz); }, m.b.grad());
  const Array<double> dH_via_e =
      grade("dH via e", [&] { return dH_via_e_by_hand(dz, m.W.value()); }, tape_via_e);
  grade.finish();
  show("dz", "du ⊙ (1 − u²)", dz, &m.padding);
  show("dW", "Σ_{b,t} dz_tᵀ h_t", dW);
  show("db", "Σ_{b,t} dz_t", db);
  show("dH via e", "dz · W", dH_via_e, &m.padding);

  // Step 9: the two paths meet. The tape sees them too: H feeds `reshape` (into z) and
  // `mul` (into s), and its gradient is the sum of what each hands back — gradients
  // accumulate, never assign.
  lesson.step("the two paths into each h_t");
  const Array<double> dH = dH_via_e + dH_via_s;
  // Four decimals here, so that a row fits 100 columns.
  const auto short_triple = [](const Array<double>& a, std::size_t b, std::size_t t) {
    return fmt::format("({:>7.4f} {:>7.4f} {:>7.4f})", a(b, t, 0) + 0.0, a(b, t, 1) + 0.0, a(b, t, 2) + 0.0);
  };
  fmt::print("            via e,u,z                   via s                       sum\n");
  for (std::size_t b = 0; b < B; ++b)
    for (std::size_t t = 0; t < T; ++t)
      fmt::print("    h[{},{}] {} + {} = {}{}\n", b, t, short_triple(dH_via_e, b, t),
                 short_triple(dH_via_s, b, t), short_triple(dH, b, t), real(b, t) ? "" : " pad");
  lesson.check("dH via e equals the gradient of the tape's `H rows` node", tape_via_e, dH_via_e, 1e-14);
  lesson.check("dH equals the tape's H.grad(), the sum of both paths", m.H.grad(), dH, 1e-14);

  // Step 10: padding. Exactly 0, not merely small: −∞ through exp is exactly 0, and 0
  // times a finite gradient is exactly 0.
  lesson.step("padding: zero attention, zero gradient (exactly)");
  for (std::size_t b = 0; b < B; ++b)
    for (std::size_t t = lengths[b]; t < T; ++t) check_padded(lesson, b, t, f, dalpha, de_masked, de, dH, m.H.grad());

  // Step 11: the layer itself, on a fresh tape with the same weights. Its gradients replace
  // the ones above on the same parameters (zeroed first: leaves accumulate).
  lesson.step("the same through tg::AttentionPooling");
  const Array<double> composed_dW = m.W.grad(), composed_db = m.b.grad(), composed_du_w = m.u_w.grad(),
                      composed_dH = m.H.grad();
  m.H.zero_grad();
  attention.zero_grad();
  auto layer_loss = [&] { return m.from_s(attention.forward(m.H, real).pooled); };
  tg::Pooled<double> pooled;
  {
    tg::Tape<double> layer_tape;
    pooled = attention.forward(m.H, real);
    layer_tape.backward(m.loss(m.classify(pooled.pooled)));
  }
  show("α (layer)", "AttentionPooling::forward(H, mask).alpha", pooled.alpha.value());
  show("s (layer)", "AttentionPooling::forward(H, mask).pooled", pooled.pooled.value());
  lesson.check("the layer's α equals the α above", pooled.alpha.value(), f.alpha.value(), 1e-14);
  lesson.check("the layer's s equals the s above", pooled.pooled.value(), f.s.value(), 1e-14);
  lesson.check("the layer's context.grad equals du_w above", m.u_w.grad(), composed_du_w, 1e-14);
  lesson.check("the layer's proj.weight.grad equals dW above", m.W.grad(), composed_dW, 1e-14);
  lesson.check("the layer's proj.bias.grad equals db above", m.b.grad(), composed_db, 1e-14);
  lesson.check("the layer's H.grad equals dH above", m.H.grad(), composed_dH, 1e-14);

  // Step 12: tape vs hand vs central differences. Intermediates are nudged through the rest
  // of the forward; parameters and H through the layer.
  lesson.step("three ways to the same gradients");
  fmt::print("  tape: s … z from the intermediates' .grad() (step 3); u_w, W, b, H from the layer's run (step 11)\n");
  lesson.gradient_table(
      {{"s", f.s.grad(), ds, nudge(f.s, [&](const Tensor& x) { return m.from_s(x); })},
       {"α", f.alpha.grad(), dalpha, nudge(f.alpha, [&](const Tensor& x) { return m.from_alpha(x); })},
       {"e", f.e.grad(), de, nudge(f.e, [&](const Tensor& x) { return m.from_e(x); })},
       {"u_w (context)", m.u_w.grad(), du_w, tg::finite_diff(layer_loss, m.u_w)},
       {"u", f.u.grad(), du, nudge(f.u, [&](const Tensor& x) { return m.from_u(x); })},
       {"z", f.z.grad(), dz, nudge(f.z, [&](const Tensor& x) { return m.from_z(x); })},
       {"W (proj.weight)", m.W.grad(), dW, tg::finite_diff(layer_loss, m.W)},
       {"b (proj.bias)", m.b.grad(), db, tg::finite_diff(layer_loss, m.b)},
       {"H", m.H.grad(), dH, tg::finite_diff(layer_loss, m.H)}},
      1e-8);

  lesson.write_dot(f.loss);
  return lesson.finish();
}
