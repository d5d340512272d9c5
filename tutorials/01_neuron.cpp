// Lesson 1 — the chain rule on one neuron: y = tanh(w·x + b).
// Teaches what the tape records and what backward does with it: the forward is cut
// into named intermediates, the tape is printed, backward runs, and then every
// gradient is derived again by hand with the chain rule and by finite differences.
// Prints each intermediate (name, shape, value), the tape, and the table
// `tensor | tape | by hand | finite diff | max diff`; exits non-zero on a mismatch.
// Run: ./01_neuron [--step] [--trace] [--dot neuron.dot]
// Exercise: derive the links yourself in tutorials/exercises/01_neuron.cpp, then
//   cmake --build build --target 01_neuron_exercise && build/01_neuron_exercise
#include <cmath>

#include <fmt/format.h>

#include "autograd/autograd.hpp"
#include "exercise.hpp"
#include "lesson.hpp"

using tg::Array;
using Tensor = tg::Tensor<double>;

namespace {
void show(const Tensor& t, const char* formula) {
  fmt::print("  {:<2} = {:<12} {}\n", t.name(), formula, tg::summarize(t.value()));
}

// ---- the chain rule by hand: one function per link, each undoing one forward line ----
// (the exercise: the same signatures in tutorials/exercises/01_neuron.cpp, for you to fill in)
#ifdef TG_EXERCISE_FILE
#include TG_EXERCISE_FILE
#else
// y = tanh z        → dy/dz = 1 − tanh² z = 1 − y²
double dz_by_hand(double y) { return 1 - y * y; }

// z = s + b         → dz/db = 1, so dy/db = dy/dz · 1
double db_by_hand(double dz) { return dz * 1; }

//                     dz/ds = 1, so dy/ds = dy/dz · 1
double ds_by_hand(double dz) { return dz * 1; }

// s = Σ_i p_i       → ds/dp_i = 1: every p_i gets dy/ds (shape of p)
Array<double> dp_by_hand(double ds, const Array<double>& p) { return xt::ones_like(p) * ds; }

// p_i = w_i x_i     → dp_i/dw_i = x_i
Array<double> dw_by_hand(const Array<double>& dp, const Array<double>& x) { return dp * x; }

//                     dp_i/dx_i = w_i
Array<double> dx_by_hand(const Array<double>& dp, const Array<double>& w) { return dp * w; }
#endif
}  // namespace

int main(int argc, char** argv) {
  tg::Lesson lesson("Lesson 1: the chain rule on one neuron, y = tanh(w·x + b)",
                    "the chain rule on y = tanh(w·x + b): the tape, backward, every gradient by hand");
  if (auto code = lesson.parse(argc, argv)) return *code;

  // Step 1: the forward pass, one op per named intermediate. Shapes: x, w (3); b, s, z, y ().
  lesson.step("forward pass on the tape");
  tg::Tape<double> tape;
  lesson.attach(tape);
  Tensor x(Array<double>{1.0, -2.0, 0.5}, true, "x");
  Tensor w(Array<double>{0.3, 0.1, -0.4}, true, "w");
  Tensor b(Array<double>(0.6), true, "b");  // a 0-d array: shape ()
  auto forward = [&] {
    Tensor p = w * x;          // p_i = w_i x_i
    Tensor s = tg::sum(p);     // s = Σ p_i = w·x
    Tensor z = s + b;          // z = w·x + b
    Tensor y = tg::tanh(z);    // y = tanh z
    p.set_name("p");
    s.set_name("s");
    z.set_name("z");
    y.set_name("y");
    return std::vector<Tensor>{p, s, z, y};
  };
  const auto nodes = forward();
  const Tensor &p = nodes[0], &s = nodes[1], &z = nodes[2], &y = nodes[3];
  for (const auto& [t, formula] : {std::pair{x, "input"}, {w, "weight"}, {b, "bias"}, {p, "w ⊙ x"},
                                    {s, "Σ p"}, {z, "s + b"}, {y, "tanh z"}})
    show(t, formula);
  const double y_plain = std::tanh(0.3 * 1.0 + 0.1 * -2.0 + -0.4 * 0.5 + 0.6);  // = tanh(0.5)
  lesson.check("y equals tanh(0.3·1 + 0.1·(−2) − 0.4·0.5 + 0.6) in plain doubles", y.item(), y_plain, 1e-15);

  // Step 2: the tape is a stack in creation order; leaves join it when an op first uses them.
  lesson.step("the tape (creation order is a topological order)");
  fmt::print("{}", tg::wrapped_tape_listing(tape));

  // Step 3: backward seeds dy/dy = 1 and runs each node's backward in reverse order.
  lesson.step("backward (run with --trace to watch each node)");
  tape.backward(y);
  fmt::print("{}", tg::wrapped_tape_listing(tape));

  // Step 4: the same gradients by hand, one chain-rule link per forward line, read bottom-up.
  // Each link is graded against the tape's gradient right after it is derived.
  lesson.step("the chain rule by hand");
  tg::Grader grade(lesson, 1e-15);
  const double Y = y.item();
  const double dz = grade("dz", [&] { return dz_by_hand(Y); }, z.grad().data()[0]);
  fmt::print("  dy/dz = 1 − y² = 1 − {:.6f}² = {:.6f}\n", Y, dz);
  const double db = grade("db", [&] { return db_by_hand(dz); }, b.grad().data()[0]);
  fmt::print("  dy/db = dy/dz · 1 = {:.6f}\n", db);
  const double ds = grade("ds", [&] { return ds_by_hand(dz); }, s.grad().data()[0]);
  fmt::print("  dy/ds = dy/dz · 1 = {:.6f}\n", ds);
  const Array<double> dp = grade("dp", [&] { return dp_by_hand(ds, p.value()); }, p.grad());
  fmt::print("  dy/dp = dy/ds · 1 = {}\n", tg::summarize(dp));
  const Array<double> dw = grade("dw", [&] { return dw_by_hand(dp, x.value()); }, w.grad());
  fmt::print("  dy/dw = dy/dp ⊙ x = {}\n", tg::summarize(dw));
  const Array<double> dx = grade("dx", [&] { return dx_by_hand(dp, w.value()); }, x.grad());
  fmt::print("  dy/dx = dy/dp ⊙ w = {}\n", tg::summarize(dx));
  grade.finish();

  // Step 5: tape vs hand vs central differences, (y(v+ε) − y(v−ε)) / 2ε for every element.
  lesson.step("three ways to the same gradients");
  auto y_of = [&] { return forward()[3].item(); };
  lesson.gradient_table({{"w", w.grad(), Array<double>(dw), tg::finite_diff(y_of, w)},
                         {"b", b.grad(), Array<double>(db), tg::finite_diff(y_of, b)},
                         {"x", x.grad(), Array<double>(dx), tg::finite_diff(y_of, x)}},
                        1e-8);

  lesson.write_dot(y);
  return lesson.finish();
}
