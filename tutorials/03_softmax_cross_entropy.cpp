// Lesson 3 — softmax and cross-entropy.
// Teaches the softmax Jacobian J = diag(y) − y yᵀ (and why backward never builds it),
// why softmax subtracts the max, why cross-entropy's gradient is softmax − one-hot
// (fused in tg::cross_entropy, and the same through log_softmax → pick), and why
// padded positions get −∞: exactly zero weight and exactly zero gradient.
// Prints J by hand and row by row from the tape, a naive softmax turning into NaN,
// the loss and its gradient three ways, and a masked softmax with its gradient.
// Exits non-zero if any check fails. Run: ./03_softmax_cross_entropy [--step] [--trace] [--dot ce.dot]
// Exercise: derive the links yourself in tutorials/exercises/03_softmax_cross_entropy.cpp, then
//   cmake --build build --target 03_softmax_cross_entropy_exercise
//   build/03_softmax_cross_entropy_exercise
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <xtensor/xmath.hpp>
#include <xtensor/xview.hpp>

#include "autograd/autograd.hpp"
#include "exercise.hpp"
#include "lesson.hpp"

using tg::Array;
using Tensor = tg::Tensor<double>;

namespace {

constexpr double inf = std::numeric_limits<double>::infinity();

// "[ 0.090031  0.244728]": n values from p, fixed width so that rows line up.
std::string vec(const double* p, std::size_t n) {
  std::string out = "[";
  for (std::size_t i = 0; i < n; ++i) out += fmt::format("{}{:10.6f}", i ? " " : "", p[i]);
  return out + "]";
}

// A small 1-D or 2-D array, one row a line, under its name and shape.
void show(const std::string& name, const Array<double>& a, const std::string& note = "") {
  const std::size_t rows = a.dimension() == 2 ? a.shape()[0] : 1, cols = rows ? a.size() / rows : 0;
  for (std::size_t i = 0; i < rows; ++i)
    fmt::print("  {:<15} {}{}\n", i ? "" : fmt::format("{} {}", name, tg::shape_str(a.shape())),
               vec(a.data() + i * cols, cols), i == 0 && !note.empty() ? "   " + note : "");
}

void expect(tg::Lesson& lesson, const std::string& name, bool holds) { lesson.check(name, holds ? 1.0 : 0.0, 1.0, 0); }

Array<double> exp_of(const Array<double>& x) {
  Array<double> e = x;
  for (double& v : e) v = std::exp(v);
  return e;
}

// The textbook formula, without the max: e^x / Σ e^x over a vector.
Array<double> naive_softmax(const Array<double>& x) {
  const Array<double> e = exp_of(x);
  return e / xt::sum(e)();
}

// −(1/B) Σ_b log_softmax(logits)_b[label_b], composed from generic ops: the "pick" is
// select(row b) then select(column label_b), whose backward puts grad into that one cell.
Tensor composed_cross_entropy(const Tensor& logits, const tg::Ids& labels) {
  Tensor logp = tg::log_softmax(logits, 1);
  Tensor total;
  for (std::size_t b = 0; b < labels.size(); ++b) {
    Tensor picked = tg::select(tg::select(logp, 0, b), 0, static_cast<std::size_t>(labels(b)));
    total = total.defined() ? total + picked : picked;
  }
  return -total / double(labels.size());
}

// ---- the backward by hand: one function per link ----
// (the exercise: the same signatures in tutorials/exercises/03_softmax_cross_entropy.cpp)
#ifdef TG_EXERCISE_FILE
#include TG_EXERCISE_FILE
#else
// y_i = e^{x_i} / Σ_k e^{x_k}: the e^{x_i} on top gives y_i δ_ij, the shared Σ below −y_i y_j,
//   J_ij = ∂y_i/∂x_j = y_i (δ_ij − y_j),   J = diag(y) − y yᵀ   (n,n)
Array<double> softmax_jacobian(const Array<double>& y) {
  const std::size_t n = y.size();
  Array<double> J = xt::zeros<double>({n, n});
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t j = 0; j < n; ++j) J(i, j) = y(i) * ((i == j ? 1.0 : 0.0) - y(j));
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
#endif

}  // namespace

int main(int argc, char** argv) {
  tg::Lesson lesson("Lesson 3: softmax and cross-entropy",
                    "the softmax Jacobian, the stable softmax, cross-entropy's softmax − one-hot, masks");
  if (auto code = lesson.parse(argc, argv)) return *code;

  // Step 1: y_i = e^{x_i} / Σ_j e^{x_j}: positive, summing to 1, the order of x kept.
  lesson.step("softmax of a 3-vector: y = e^x / Σ e^x");
  Tensor x(Array<double>{1.0, 2.0, 0.5}, true, "x");
  const Array<double> y = tg::softmax(x, 0).value();
  show("x", x.value());
  show("e^x", exp_of(x.value()), fmt::format("Σ = {:.6f}", xt::sum(exp_of(x.value()))()));
  show("y", y);
  lesson.check("tg::softmax equals e^x / Σ e^x", y, naive_softmax(x.value()), 1e-15);
  lesson.check("Σ y = 1", xt::sum(y)(), 1.0, 1e-15);

  // Step 2: ∂y_i/∂x_j = y_i (δ_ij − y_j): e^{x_i} on top gives y_i δ_ij, the shared Σ below
  // gives −y_i y_j. So J = diag(y) − y yᵀ. The tape never builds J: for a loss L = Σ_i g_i y_i
  // (upstream g) backward returns Jᵀg, so a one-hot g = e_i returns row i of J (J is symmetric).
  lesson.step("the Jacobian J = diag(y) − y yᵀ, and the tape row by row");
  tg::Grader grade(lesson, 1e-15);
  Array<double> J_tape = xt::zeros<double>({3, 3});  // row i: the tape's dx for upstream e_i
  std::vector<Array<double>> fd_rows;
  for (std::size_t i = 0; i < 3; ++i) {
    Array<double> onehot = xt::zeros<double>({3});
    onehot(i) = 1;
    tg::Tape<double> tape;
    lesson.attach(tape);
    x.zero_grad();
    tape.backward(tg::sum(tg::softmax(x, 0) * Tensor(onehot, false, "e_i")));
    xt::row(J_tape, i) = x.grad();
    auto y_i = [&] { return tg::softmax(x, 0).value()(i); };
    fd_rows.push_back(tg::finite_diff(y_i, x));
  }
  const Array<double> J = grade("J", [&] { return softmax_jacobian(y); }, J_tape);
  show("J", J, "J_ij = y_i (δ_ij − y_j)");
  std::vector<tg::GradientRow> rows;
  for (std::size_t i = 0; i < 3; ++i)
    rows.push_back({fmt::format("x (upstream e_{} → row {} of J)", i, i), Array<double>(xt::row(J_tape, i)),
                    Array<double>(xt::row(J, i)), fd_rows[i]});
  lesson.gradient_table(rows, 1e-9);
  lesson.check("every row of J sums to 0: softmax(x + k) = softmax(x)", Array<double>(xt::sum(J, {1})),
               Array<double>(xt::zeros<double>({3})), 1e-15);
  // So backward applies Jᵀg = y ⊙ (g − g·y) in O(n), never the n×n matrix.
  const Array<double> g{0.3, -1.2, 0.7};
  const Array<double> Jg = xt::sum(J * xt::view(g, xt::all(), xt::newaxis()), {0});  // Σ_i g_i J_ij
  Array<double> tape_g;
  {
    tg::Tape<double> tape;
    lesson.attach(tape);
    x.zero_grad();
    tape.backward(tg::sum(tg::softmax(x, 0) * Tensor(g, false, "g")));
    tape_g = x.grad();
  }
  const Array<double> fast = grade("softmax dx", [&] { return softmax_backward(y, g); }, tape_g);
  show("Jᵀg", Jg, "for g = (0.3, -1.2, 0.7)");
  show("y⊙(g−g·y)", fast, "what tg::softmax's backward computes");
  show("tape", tape_g, "dx for L = Σ g ⊙ softmax(x)");
  lesson.check("Jᵀg = y ⊙ (g − g·y)", Jg, fast, 1e-15);
  lesson.check("the tape computes the same", tape_g, fast, 1e-15);

  // Step 3: e^1000 overflows double (max ≈ e^709.78) to inf, and inf/inf = NaN. Since
  // e^{x−m}/Σ e^{x−m} = e^x/Σ e^x for any m, subtracting m = max x changes nothing in exact
  // arithmetic, and makes the largest exponent e^0 = 1: no overflow, and Σ ≥ 1.
  lesson.step("why softmax subtracts the max");
  const Array<double> big{1000.0, 999.0, 998.0};
  const Array<double> naive_big = naive_softmax(big);
  const Array<double> stable_big = tg::softmax(Tensor(big), 0).value();
  fmt::print("  e^1000 = {}\n", std::exp(1000.0));
  show("x", big);
  show("naive", naive_big, "e^x / Σ e^x = inf / inf");
  show("stable", stable_big, "e^(x − 1000) / Σ e^(x − 1000)");
  expect(lesson, "the naive softmax of (1000, 999, 998) is NaN", std::isnan(naive_big(0)));
  lesson.check("the stable one equals softmax(0, −1, −2)", stable_big,
               naive_softmax(Array<double>{0.0, -1.0, -2.0}), 1e-15);
  lesson.check("for moderate x both agree", naive_softmax(x.value()), y, 1e-15);

  // Step 4: cross-entropy for a row with label c is −log y_c, the surprise at the right class.
  // Taken as a log_softmax (x_c − max − log Σ e^{x−max}), never log(softmax): e^−800 underflows
  // to 0, and −log 0 = inf.
  lesson.step("cross-entropy = −log softmax(logits)[label], averaged over the batch");
  Tensor logits(Array<double>{{2.0, 0.5, -1.0}, {0.1, 0.2, 0.3}, {-0.5, 1.5, 0.0}}, true, "logits");  // (B,C) = (3,3)
  const tg::Ids labels{0, 2, 0};
  const std::size_t B = 3;
  const Array<double> probs = tg::softmax(logits, 1).value();
  show("logits", logits.value());
  show("softmax", probs);
  double by_hand = 0;
  for (std::size_t b = 0; b < B; ++b) {
    const double term = -std::log(probs(b, labels(b)));
    by_hand += term / B;
    fmt::print("  row {}: label {}, −log {:.6f} = {:.6f}\n", b, labels(b), probs(b, labels(b)), term);
  }
  const double fused = tg::cross_entropy(logits, labels).item();
  fmt::print("  mean over B = {}: {:.6f}; tg::cross_entropy: {:.6f}\n", B, by_hand, fused);
  lesson.check("tg::cross_entropy = mean of −log softmax[label]", fused, by_hand, 1e-15);
  const Array<double> far{{0.0, 800.0}};
  const double via_log = -std::log(naive_softmax(Array<double>{0.0, 800.0})(0));
  const double via_lse = tg::cross_entropy(Tensor(far), tg::Ids{0}).item();
  fmt::print("  logits (0, 800), label 0: −log(softmax) = {}, tg::cross_entropy = {}\n", via_log, via_lse);
  lesson.check("log-sum-exp gives the finite loss 800", via_lse, 800.0, 1e-12);

  // Step 5: in the forward pass L_b = −log y_bc = −x_bc + log Σ_j e^{x_bj}, so now
  //   ∂L_b/∂x_bj = −δ_jc + e^{x_bj} / Σ_k e^{x_bk} = y_bj − onehot_bj.
  // Through the Jacobian: dL_b/dy = −e_c / y_c, and Jᵀ(−e_c/y_c) = −row c of J / y_c =
  // −(δ_cj − y_j) = y_j − δ_cj: the 1/y_c cancels, which is why the fused form is stable.
  // L = (1/B) Σ_b L_b, so every row's gradient is divided by B.
  lesson.step("the gradient: (softmax − one-hot) / B, fused and composed");
  Array<double> onehot = xt::zeros<double>({B, std::size_t(3)});
  for (std::size_t b = 0; b < B; ++b) onehot(b, labels(b)) = 1;
  Array<double> d_fused, d_composed;
  std::size_t fused_nodes = 0, composed_nodes = 0;
  {
    tg::Tape<double> tape;
    lesson.attach(tape);
    logits.zero_grad();
    tape.backward(tg::cross_entropy(logits, labels));
    d_fused = logits.grad();
    fused_nodes = tape.size();
  }
  show("one-hot", onehot);
  const Array<double> expected =
      grade("dlogits", [&] { return cross_entropy_backward(probs, labels); }, d_fused);
  show("by hand", expected, "(softmax − one-hot) / B");
  grade.finish();
  {
    tg::Tape<double> tape;
    lesson.attach(tape);
    logits.zero_grad();
    Tensor loss = composed_cross_entropy(logits, labels);
    loss.set_name("L");
    tape.backward(loss);
    d_composed = logits.grad();
    composed_nodes = tape.size();
    lesson.write_dot(loss);
    fmt::print("  the composed path log_softmax → pick on the tape ({} nodes; the fused one has {}):\n{}",
               composed_nodes, fused_nodes, tg::wrapped_tape_listing(tape));
  }
  auto L_fused = [&] { return tg::cross_entropy(logits, labels).item(); };
  auto L_composed = [&] { return composed_cross_entropy(logits, labels).item(); };
  lesson.gradient_table({{"logits (cross_entropy)", d_fused, expected, tg::finite_diff(L_fused, logits)},
                         {"logits (log_softmax→pick)", d_composed, expected, tg::finite_diff(L_composed, logits)}},
                        1e-9);
  lesson.check("each row of the gradient sums to 0 (Σ y = 1 = Σ one-hot)", Array<double>(xt::sum(d_fused, {1})),
               Array<double>(xt::zeros<double>({B})), 1e-15);

  // Step 6: attention over padded sequences must give padding no weight. With scores
  // −∞ there, e^−∞ = 0 exactly, so the weight is exactly 0; and the gradient is
  // exactly 0 twice over: softmax's dx_j = y_j (g_j − g·y) has y_j = 0, and
  // masked_fill's backward zeroes the masked cells. A large finite −30 only gets close.
  lesson.step("masked softmax: −∞ at padded positions");
  Tensor scores(Array<double>{{0.5, 1.5, -0.3, 0.8}, {1.0, -0.5, 2.0, 0.1}}, true, "scores");  // (B,T) = (2,4)
  const tg::Mask pad{{false, false, false, false}, {false, false, true, true}};               // lengths 4 and 2
  const Array<double> R{{0.37, -0.81, 0.52, 0.1}, {0.64, 0.12, -0.45, 0.9}};
  tg::Tape<double> tape;
  lesson.attach(tape);
  Tensor masked = tg::masked_fill(scores, pad, -inf);
  Tensor w = tg::softmax(masked, 1);
  tape.backward(tg::sum(w * Tensor(R, false, "R")));
  show("masked", masked.value(), "scores with −∞ where padded");
  show("w", w.value(), "softmax(masked, axis 1)");
  show("dscores", scores.grad(), "for L = Σ w ⊙ R");
  const Array<double> w_pad = xt::view(w.value(), 1, xt::range(2, 4));
  const Array<double> d_pad = xt::view(scores.grad(), 1, xt::range(2, 4));
  const Array<double> zeros = xt::zeros<double>({2});
  lesson.check("padded positions get exactly 0 weight", w_pad, zeros, 0);
  lesson.check("padded positions get exactly 0 gradient", d_pad, zeros, 0);
  lesson.check("…already at softmax's input (y_j = 0)", Array<double>(xt::view(masked.grad(), 1, xt::range(2, 4))),
               zeros, 0);
  // The real positions see a softmax over the real positions only.
  Tensor short_row(Array<double>{1.0, -0.5}, true, "short");
  {
    tg::Tape<double> t;
    lesson.attach(t);
    t.backward(tg::sum(tg::softmax(short_row, 0) * Tensor(Array<double>{0.64, 0.12})));
  }
  lesson.check("row 1's weights = softmax of its 2 real scores",
               Array<double>(xt::view(w.value(), 1, xt::range(0, 2))), tg::softmax(short_row, 0).value(), 1e-15);
  lesson.check("row 1's real gradients = those of the 2-score softmax",
               Array<double>(xt::view(scores.grad(), 1, xt::range(0, 2))), short_row.grad(), 1e-15);
  const double leak = tg::softmax(tg::masked_fill(Tensor(scores.value()), pad, -30.0), 1).value()(1, 3);
  fmt::print("  with −30 instead of −∞ a padded weight is {:.3g}: small, not zero\n", leak);
  expect(lesson, "a finite mask value leaks weight", leak > 0);

  return lesson.finish();
}
