// Lesson 2 — tensors, broadcasting and the matmul backward.
// Teaches why Y = A·B hands back dA = dY·Bᵀ and dB = Aᵀ·dY (derived element by element
// on a 2×3 · 3×2 product), why a broadcast input gets its gradient summed over the
// axis it was copied along, and how a gradient check works when done in the open —
// including why it weights the output by a random R instead of taking a plain sum.
// Prints every index sum, the matrix forms, `tensor | tape | by hand | finite diff |
// max diff` tables, a per-element central-difference table beside tg::gradcheck's
// report, and a wrong softmax backward that only the R-weighted check catches.
// Exits non-zero if any check fails. Run: ./02_broadcast_matmul [--step] [--trace] [--dot graph.dot]
// Exercise: derive the links yourself in tutorials/exercises/02_broadcast_matmul.cpp, then
//   cmake --build build --target 02_broadcast_matmul_exercise && build/02_broadcast_matmul_exercise
#include <string>
#include <vector>

#include <fmt/format.h>
#include <xtensor-blas/xlinalg.hpp>
#include <xtensor/xmanipulation.hpp>

#include "autograd/autograd.hpp"
#include "exercise.hpp"
#include "lesson.hpp"

using tg::Array;
using Tensor = tg::Tensor<double>;

namespace {

// Every value of a small 1-D or 2-D array, row by row: "[[1 2 -1] [0.5 -1 3]]".
std::string values(const Array<double>& a) {
  auto row = [&](std::size_t start, std::size_t n) {
    std::string out = "[";
    for (std::size_t j = 0; j < n; ++j) out += fmt::format("{}{:.6g}", j ? " " : "", a.data()[start + j]);
    return out + "]";
  };
  if (a.dimension() == 1) return row(0, a.size());
  if (a.dimension() != 2) return tg::summarize(a, a.size());
  std::string out = "[";
  for (std::size_t i = 0; i < a.shape()[0]; ++i) out += (i ? " " : "") + row(i * a.shape()[1], a.shape()[1]);
  return out + "]";
}

void show(const std::string& name, const Array<double>& a, const std::string& note = "") {
  fmt::print("  {:<3} {:<6} = {}{}\n", name, tg::shape_str(a.shape()), values(a), note.empty() ? "" : "   " + note);
}

// A check that a statement holds (shown as ✓/✗ like every other check).
void expect(tg::Lesson& lesson, const std::string& name, bool holds) { lesson.check(name, holds ? 1.0 : 0.0, 1.0, 0); }

// softmax along axis 1 with a plausible bug: dx = grad − Σ grad ⊙ y, the outer "y ⊙"
// of the true dx = y ⊙ (grad − Σ grad ⊙ y) forgotten. Built with tg::record like any op.
Tensor softmax_forgetting_y(const Tensor& x) {
  const Array<double> y = tg::softmax(Tensor(x.value()), 1).value();  // a constant: not recorded
  return tg::record<double>("softmax_forgot_y", y, {x}, [](const tg::BackwardContext<double>& c) {
    const Array<double> dot = xt::sum(c.grad() * c.result(), {1}, xt::keep_dims);
    c.accumulate(0, Array<double>(c.grad() - dot));
  });
}

// ---- the backward by hand: one function per link ----
// (the exercise: the same signatures in tutorials/exercises/02_broadcast_matmul.cpp)
#ifdef TG_EXERCISE_FILE
#include TG_EXERCISE_FILE
#else
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
Array<double> dc_broadcast(const Array<double>& dz) { return xt::sum(dz, {0}); }

// P = u ⊙ v, u (2,1) copied along axis 1: du_i = Σ_j dP_ij v_j, kept (2,1)
Array<double> du_outer(const Array<double>& dP, const Array<double>& v) {
  return xt::sum(dP * v, {1}, xt::keep_dims);
}

// v (1,3) copied along axis 0: dv_j = Σ_i u_i dP_ij, kept (1,3)
Array<double> dv_outer(const Array<double>& u, const Array<double>& dP) {
  return xt::sum(u * dP, {0}, xt::keep_dims);
}
#endif

struct TapeAndNumeric {
  Array<double> tape, numeric;
};

// The gradient of Σ f(x) ⊙ W w.r.t. x, from the tape and from central differences.
TapeAndNumeric both_ways(tg::Lesson& lesson, const std::function<Tensor(const Tensor&)>& f, Tensor& x,
                         const Array<double>& W) {
  auto loss = [&] { return tg::sum(f(x) * Tensor(W)); };
  tg::Tape<double> tape;
  lesson.attach(tape);
  x.zero_grad();
  tape.backward(loss());
  return {x.grad(), tg::finite_diff([&] { return loss().item(); }, x)};
}

}  // namespace

int main(int argc, char** argv) {
  tg::Lesson lesson("Lesson 2: tensors, broadcasting and the matmul backward",
                    "why dA = dY·Bᵀ and dB = Aᵀ·dY, broadcasting undone by sums, a gradient check in the open");
  if (auto code = lesson.parse(argc, argv)) return *code;

  // Step 1: Y = A·B. A loss L = Σ Y ⊙ G has dL/dY = G exactly, so G plays the part of
  // "whatever gradient arrives from the layers above" — not all ones, so we can see it move.
  lesson.step("forward: Y = A·B, and a loss L = Σ Y ⊙ G whose dL/dY is G");
  Tensor A(Array<double>{{0.5, 1.0, -0.5}, {0.25, -0.5, 1.5}}, true, "A");   // (M,K) = (2,3)
  Tensor B(Array<double>{{0.5, -1.0}, {1.0, 0.25}, {-0.5, 0.5}}, true, "B");  // (K,N) = (3,2)
  const Array<double> G{{1.0, -2.0}, {0.5, 3.0}};                               // (M,N) = (2,2)
  tg::Tape<double> tape;
  lesson.attach(tape);
  Tensor Y = tg::matmul(A, B);  // Y_ij = Σ_k A_ik B_kj
  Y.set_name("Y");
  Tensor L = tg::sum(Y * Tensor(G, false, "G"));
  L.set_name("L");
  show("A", A.value());
  show("B", B.value());
  show("Y", Y.value(), "Y_ij = Σ_k A_ik B_kj");
  show("G", G);
  lesson.check("Y[0,0] = 0.5·0.5 + 1·1 + (−0.5)(−0.5) = 1.5", Y.value()(0, 0), 1.5, 1e-15);

  lesson.step("backward on the tape (run with --trace to watch each node)");
  tape.backward(L);
  fmt::print("{}", tg::wrapped_tape_listing(tape));
  lesson.check("dY on the tape is G", Y.grad(), G, 0);

  // Step 3: in the forward pass A_ik was used in every Y_ij of row i (once per j), with
  // weight B_kj. So now dA_ik collects dY_ij · B_kj from each of them:
  //   dA_ik = Σ_j dY_ij ∂Y_ij/∂A_ik = Σ_j dY_ij B_kj
  lesson.step("dA element by element: dA_ik = Σ_j dY_ij · B_kj");
  tg::Grader grade(lesson, 1e-14);
  const Array<double>& dY = Y.grad();
  const Array<double>& a = A.value();
  const Array<double>& b = B.value();
  const Array<double> dA_sum = grade("dA (index sums)", [&] { return dA_by_index(dY, b); }, A.grad());
  for (std::size_t i = 0; i < 2; ++i)
    for (std::size_t k = 0; k < 3; ++k)
      fmt::print("  dA[{},{}] = dY[{},0]·B[{},0] + dY[{},1]·B[{},1] = ({:g})({:g}) + ({:g})({:g}) = {:g}\n", i, k, i, k,
                 i, k, dY(i, 0), b(k, 0), dY(i, 1), b(k, 1), dA_sum(i, k));

  // Step 4: B_kj was used in every Y_ij of column j (once per i), with weight A_ik:
  //   dB_kj = Σ_i dY_ij ∂Y_ij/∂B_kj = Σ_i A_ik dY_ij
  lesson.step("dB element by element: dB_kj = Σ_i A_ik · dY_ij");
  const Array<double> dB_sum = grade("dB (index sums)", [&] { return dB_by_index(a, dY); }, B.grad());
  for (std::size_t k = 0; k < 3; ++k)
    for (std::size_t j = 0; j < 2; ++j)
      fmt::print("  dB[{},{}] = A[0,{}]·dY[0,{}] + A[1,{}]·dY[1,{}] = ({:g})({:g}) + ({:g})({:g}) = {:g}\n", k, j, k, j,
                 k, j, a(0, k), dY(0, j), a(1, k), dY(1, j), dB_sum(k, j));

  // Step 5: Σ_j dY_ij B_kj is row i of dY dotted with row k of B, i.e. (dY·Bᵀ)_ik; and
  // Σ_i A_ik dY_ij is column k of A dotted with column j of dY, i.e. (Aᵀ·dY)_kj. The shapes
  // alone force it: dA must be (2,3) like A, and from dY (2,2) and B (3,2) only dY·Bᵀ is.
  lesson.step("the same sums as matrix products: dA = dY·Bᵀ, dB = Aᵀ·dY");
  const Array<double> dA_mat = grade("dA (dY·Bᵀ)", [&] { return dA_as_matmul(dY, b); }, A.grad());
  const Array<double> dB_mat = grade("dB (Aᵀ·dY)", [&] { return dB_as_matmul(a, dY); }, B.grad());
  show("dA", dA_mat, "= dY·Bᵀ: (2,2)·(2,3) → (2,3), A's shape");
  show("dB", dB_mat, "= Aᵀ·dY: (3,2)·(2,2) → (3,2), B's shape");
  auto L_of = [&] { return tg::sum(tg::matmul(A, B) * Tensor(G)).item(); };
  const Array<double> dA_fd = tg::finite_diff(L_of, A), dB_fd = tg::finite_diff(L_of, B);
  lesson.gradient_table({{"A (Σ_j dY_ij B_kj)", A.grad(), dA_sum, dA_fd},
                         {"A (dY·Bᵀ)", A.grad(), dA_mat, dA_fd},
                         {"B (Σ_i A_ik dY_ij)", B.grad(), dB_sum, dB_fd},
                         {"B (Aᵀ·dY)", B.grad(), dB_mat, dB_fd}},
                        1e-8);

  // Step 6: NumPy broadcasting: x (2,3) + c (3) lines c up with x's last axis and copies it
  // into both rows, z_ij = x_ij + c_j. In the forward pass c_j was used twice (z_0j, z_1j),
  // so now dc_j = dz_0j + dz_1j: the gradient is summed over the axis c was copied along.
  lesson.step("broadcasting a bias: z = x + c, x (2,3), c (3) → dc = Σ over the broadcast axis");
  {
    tg::Tape<double> t;
    lesson.attach(t);
    Tensor x(Array<double>{{0.2, -0.4, 1.0}, {0.7, 0.3, -0.9}}, true, "x");
    Tensor c(Array<double>{0.1, 0.2, 0.3}, true, "c");
    const Array<double> Gz{{1.0, 2.0, -1.0}, {0.5, -3.0, 4.0}};  // dL/dz
    auto loss = [&] { return tg::sum((x + c) * Tensor(Gz)); };
    Tensor z = x + c;
    t.backward(tg::sum(z * Tensor(Gz)));
    show("z", z.value(), "z_ij = x_ij + c_j");
    show("dz", z.grad());
    const Array<double> dc = grade("dc (broadcast)", [&] { return dc_broadcast(z.grad()); }, c.grad());
    show("dc", dc, "= Σ_i dz_ij = dz[0,:] + dz[1,:]");
    show("dc", tg::sum_to<double>(Gz, {3}), "= tg::sum_to(dz, (3)), the helper every broadcasting op's backward uses");
    auto L_zc = [&] { return loss().item(); };
    lesson.gradient_table({{"x", x.grad(), Gz, tg::finite_diff(L_zc, x)},
                           {"c", c.grad(), dc, tg::finite_diff(L_zc, c)}},
                          1e-8);
  }

  // Step 7: u (2,1) ⊙ v (1,3) broadcasts both ways: u is copied along axis 1, v along
  // axis 0, P_ij = u_i v_j. So now du_i = Σ_j dP_ij v_j and dv_j = Σ_i u_i dP_ij, each kept
  // in its input's shape. That is the matmul of Step 5 with K = 1: du = dP·vᵀ, dv = uᵀ·dP.
  lesson.step("an outer product by broadcasting: P = u ⊙ v, u (2,1), v (1,3)");
  {
    tg::Tape<double> t;
    lesson.attach(t);
    Tensor u(Array<double>(xt::xtensor<double, 2>{{2.0}, {-1.0}}), true, "u");
    Tensor v(Array<double>{{0.5, 1.5, -2.0}}, true, "v");
    const Array<double> Gp{{1.0, -1.0, 0.5}, {2.0, 0.25, -3.0}};  // dL/dP
    auto loss = [&] { return tg::sum(u * v * Tensor(Gp)); };
    Tensor P = u * v;
    t.backward(tg::sum(P * Tensor(Gp)));
    show("P", P.value(), "P_ij = u_i v_j");
    const Array<double> du = grade("du (outer)", [&] { return du_outer(P.grad(), v.value()); }, u.grad());
    const Array<double> dv = grade("dv (outer)", [&] { return dv_outer(u.value(), P.grad()); }, v.grad());
    show("du", du, "= Σ_j dP_ij v_j");
    show("dv", dv, "= Σ_i u_i dP_ij");
    const Array<double> du_mat = xt::linalg::dot(Gp, xt::transpose(v.value()));  // (2,3)·(3,1)
    const Array<double> dv_mat = xt::linalg::dot(xt::transpose(u.value()), Gp);  // (1,2)·(2,3)
    lesson.check("du = dP·vᵀ, the matmul rule with K = 1", du, du_mat, 1e-15);
    lesson.check("dv = uᵀ·dP, the matmul rule with K = 1", dv, dv_mat, 1e-15);
    auto L_uv = [&] { return loss().item(); };
    lesson.gradient_table({{"u", u.grad(), du, tg::finite_diff(L_uv, u)},
                           {"v", v.grad(), dv, tg::finite_diff(L_uv, v)}},
                          1e-8);
  }

  grade.finish();

  // Step 8: a gradient check is the tape's gradient of a scalar against central
  // differences (L(v+ε) − L(v−ε)) / 2ε, nudging one element at a time. f has a vector
  // output, so it is reduced to the scalar L = Σ f ⊙ R with a fixed random R (Step 9 says why).
  lesson.step("a gradient check in the open: f = tanh(A·B + c), L = Σ f ⊙ R");
  Tensor c(Array<double>{0.1, -0.2}, true, "c");           // (2), broadcast over f's rows
  const Array<double> R{{0.37, -0.81}, {0.64, 0.12}};      // drawn once and written down
  auto f = [&] { return tg::tanh(tg::matmul(A, B) + c); };  // (2,2)
  auto loss = [&] { return tg::sum(f() * Tensor(R)); };
  {
    tg::Tape<double> t;
    lesson.attach(t);
    for (Tensor* p : {&A, &B, &c}) p->zero_grad();
    Tensor AB = tg::matmul(A, B), pre = AB + c, fv = tg::tanh(pre);  // = f(), with names for --dot
    Tensor l = tg::sum(fv * Tensor(R, false, "R"));
    AB.set_name("A·B");
    pre.set_name("A·B + c");
    fv.set_name("f");
    l.set_name("L");
    t.backward(l);
    show("f", fv.value());
    show("R", R);
    lesson.write_dot(l);
  }
  const double eps = 1e-6;
  fmt::print("  {:<7} | {:>15} | {:>15} | {:>12} | {:>12} | {}\n", "element", "L(v+ε)", "L(v−ε)", "(L₊−L₋)/2ε",
             "tape", "|diff|");
  double worst = 0;
  std::size_t elements = 0;
  for (Tensor* p : {&A, &B, &c}) {
    tg::NoGrad<double> no_grad;
    Array<double>& value = p->mutable_value();
    for (std::size_t e = 0; e < value.size(); ++e, ++elements) {
      const double saved = value.data()[e];
      value.data()[e] = saved + eps;
      const double plus = loss().item();
      value.data()[e] = saved - eps;
      const double minus = loss().item();
      value.data()[e] = saved;
      const double numeric = (plus - minus) / (2 * eps), analytic = p->grad().data()[e];
      worst = std::max(worst, std::abs(numeric - analytic));
      fmt::print("  {:<7} | {:>15.12f} | {:>15.12f} | {:>12.8f} | {:>12.8f} | {:.1e}\n",
                 fmt::format("{}[{}]", p->name(), e), plus, minus, numeric, analytic, std::abs(numeric - analytic));
    }
  }
  lesson.check(fmt::format("our check: all {} elements within 1e-8", elements), worst, 0, 1e-8);
  const tg::GradcheckReport report = tg::gradcheck(f, {A, B, c});
  fmt::print("  tg::gradcheck (the same loop, its own random R): {}\n", report.str());
  expect(lesson, "tg::gradcheck agrees: ok", report.ok);
  lesson.check("tg::gradcheck visited the same elements", double(report.elements_checked), double(elements), 0);

  // Step 9: why R. Each row of softmax sums to 1 whatever x is, so Σ softmax(x) is a
  // constant and its gradient is zero — for the true backward, y ⊙ (1 − Σ y) = 0, and also
  // for a wrong one such as 1 − Σ y = 0. Plain Σ f is the special case R = 1, a direction
  // in which softmax does not move; a random R looks in a direction where it does.
  lesson.step("why Σ f ⊙ R and not Σ f: a wrong softmax backward that plain Σ cannot see");
  Tensor x(Array<double>{{0.2, -1.0, 0.7}, {1.3, 0.4, -0.6}}, true, "x");
  const Array<double> ones = xt::ones<double>({2, 3});
  auto right = [](const Tensor& in) { return tg::softmax(in, 1); };
  const TapeAndNumeric plain_right = both_ways(lesson, right, x, ones);
  const TapeAndNumeric plain_wrong = both_ways(lesson, softmax_forgetting_y, x, ones);
  const Array<double> R23{{0.37, -0.81, 0.52}, {0.64, 0.12, -0.45}};
  const TapeAndNumeric weighted_wrong = both_ways(lesson, softmax_forgetting_y, x, R23);
  for (const auto& [what, r] : {std::pair{"plain Σ f, true backward", &plain_right},
                                 {"plain Σ f, wrong backward", &plain_wrong}, {"Σ f ⊙ R, wrong backward", &weighted_wrong}})
    fmt::print("  {}:\n    tape        {}\n    finite diff {}\n", what, values(r->tape), values(r->numeric));
  lesson.check("plain Σ: the true gradient is zero (Σ softmax = 2 for every x)", plain_right.tape,
               Array<double>(xt::zeros<double>({2, 3})), 1e-8);
  lesson.check("plain Σ: the wrong backward passes the check (the blind spot)", plain_wrong.tape,
               plain_wrong.numeric, 1e-8);
  const double miss = xt::amax(xt::abs(weighted_wrong.tape - weighted_wrong.numeric))();
  fmt::print("  with R the wrong backward is off by up to {:.3f}\n", miss);
  expect(lesson, "Σ f ⊙ R: the wrong backward is off by > 0.01", miss > 0.01);
  const tg::GradcheckReport caught = tg::gradcheck([&] { return softmax_forgetting_y(x); }, {x});
  const tg::GradcheckReport passed = tg::gradcheck([&] { return tg::softmax(x, 1); }, {x});
  fmt::print("  tg::gradcheck on the wrong backward: {}\n", caught.str());
  fmt::print("  tg::gradcheck on tg::softmax: {}\n", passed.str());
  expect(lesson, "tg::gradcheck fails the wrong backward", !caught.ok);
  expect(lesson, "tg::gradcheck passes tg::softmax", passed.ok);

  return lesson.finish();
}
