// Lesson 0 — the tape from scratch: reverse-mode autodiff in ~60 lines of plain C++ doubles,
// micrograd-style, without tapegrad. Teaches the three ideas the whole framework rests on:
// each value records its op, its inputs and how it depends on them; the order in which values
// are created is already a topological order, so backward is one reverse loop; and a value
// used twice collects `+=` from both uses. Then the same graph runs on tapegrad's Tape and the
// numbers are compared, and the lesson points at the lines of autograd/ that do the same.
// Prints both tapes, backward link by link, what `=` instead of `+=` would give, and the
// comparison; exits non-zero if tapegrad and the scratch tape disagree.
// Run: ./00_tape [--step] [--trace] [--dot tape.dot]
#include <cmath>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "autograd/autograd.hpp"
#include "lesson.hpp"

// ---- the tape from scratch: plain doubles, nothing from tapegrad ----
namespace scratch {

// One value: what it is, how it was made, and (after backward) dL/d(it).
struct Node {
  std::string name;
  std::string op;              // "leaf", "add", "mul", "tanh"
  double value = 0;
  std::vector<int> inputs;     // tape indices of the values it was made from
  std::vector<double> local;   // ∂value/∂input, one per input, known in the forward pass
  double grad = 0;             // dL/dvalue, filled in by backward
};

// The tape is every value in creation order. An op can only use values that already exist,
// so each input has a smaller index than the op: creation order is a topological order.
struct Tape {
  std::vector<Node> nodes;

  double value(int i) const { return nodes[i].value; }
  int push(std::string name, std::string op, double v, std::vector<int> in, std::vector<double> local) {
    nodes.push_back({std::move(name), std::move(op), v, std::move(in), std::move(local)});
    return int(nodes.size()) - 1;
  }

  int leaf(std::string name, double v) { return push(name, "leaf", v, {}, {}); }
  // c = a + b:  ∂c/∂a = 1,  ∂c/∂b = 1
  int add(std::string name, int a, int b) { return push(name, "add", value(a) + value(b), {a, b}, {1, 1}); }
  // c = a · b:  ∂c/∂a = b,  ∂c/∂b = a
  int mul(std::string name, int a, int b) {
    return push(name, "mul", value(a) * value(b), {a, b}, {value(b), value(a)});
  }
  // c = tanh a:  ∂c/∂a = 1 − c²
  int tanh(std::string name, int a) {
    const double c = std::tanh(value(a));
    return push(name, "tanh", c, {a}, {1 - c * c});
  }

  // Seed dL/dL = 1, then walk the tape backwards: by the time node i is reached, every node
  // that used it (all later ones) has handed it its share, so its grad is complete. Each node
  // hands each input  ∂value/∂input · grad  — with `+=`: a value used twice gets both shares.
  void backward(int loss, bool show) {
    for (Node& n : nodes) n.grad = 0;
    nodes[loss].grad = 1;
    for (int i = loss; i >= 0; --i) {
      const Node& n = nodes[i];
      for (std::size_t k = 0; k < n.inputs.size(); ++k) {
        nodes[n.inputs[k]].grad += n.local[k] * n.grad;
        if (show)
          fmt::print("  #{} {:<4} hands #{} {:<2} {:>9.6f} · {:>9.6f}  → {}.grad = {:>9.6f}\n", i, n.name,
                     n.inputs[k], nodes[n.inputs[k]].name, n.local[k], n.grad, nodes[n.inputs[k]].name,
                     nodes[n.inputs[k]].grad);
      }
    }
  }
};

}  // namespace scratch

namespace {
void print_tape(const scratch::Tape& tape) {
  for (std::size_t i = 0; i < tape.nodes.size(); ++i) {
    const scratch::Node& n = tape.nodes[i];
    std::string inputs;
    for (int in : n.inputs) inputs += fmt::format("{}#{}", inputs.empty() ? "" : ",", in);
    fmt::print("  #{} {:<2} = {:<4} ({:<5}) value {:>9.6f}   grad {:>9.6f}\n", i, n.name, n.op, inputs, n.value,
               n.grad);
  }
}
}  // namespace

int main(int argc, char** argv) {
  tg::Lesson lesson("Lesson 0: the tape from scratch, in plain C++ doubles",
                    "values that record their op and inputs, creation order as topological order, += from every use");
  if (auto code = lesson.parse(argc, argv)) return *code;

  // Step 1: the forward pass records every value. y is used twice by one op (y·y), and z by
  // two ops (tanh and the final add): both will need `+=`.
  lesson.step("forward: u = w·x, z = u + b, y = tanh z, q = y·y, L = q + z");
  scratch::Tape t;
  const int x = t.leaf("x", 1.5), w = t.leaf("w", -0.8), b = t.leaf("b", 0.4);
  const int u = t.mul("u", w, x);
  const int z = t.add("z", u, b);
  const int y = t.tanh("y", z);
  const int q = t.mul("q", y, y);
  const int L = t.add("L", q, z);
  print_tape(t);

  // Step 2: creation order is a topological order: every input comes before its op.
  lesson.step("creation order is a topological order");
  int later_inputs = 0;
  for (std::size_t i = 0; i < t.nodes.size(); ++i)
    for (int in : t.nodes[i].inputs) later_inputs += in >= int(i);
  fmt::print("  every input's index is smaller than its op's, so walking the tape from the end\n"
             "  visits each value after all the values that used it: no graph search needed.\n");
  lesson.check("no input is created after the op that uses it", double(later_inputs), 0.0, 0.0);

  // Step 3: backward, one line per (node, input) pair.
  lesson.step("backward: one reverse loop, each node hands ∂value/∂input · grad to its inputs");
  t.backward(L, true);
  print_tape(t);
  const double Y = t.value(y), dz_via_tanh = 2 * Y * (1 - Y * Y);
  fmt::print("  z is used twice: dL/dz = 1 (from L = q + z) + 2y(1 − y²) (through y)\n"
             "                        = 1 + ({:.6f}) = {:.6f}\n",
             dz_via_tanh, 1 + dz_via_tanh);
  lesson.check("dL/dz collects both uses: 1 + 2y(1 − y²)", t.nodes[z].grad, 1 + dz_via_tanh, 1e-15);
  lesson.check("dL/dy = 2y: y·y hands y twice", t.nodes[y].grad, 2 * Y, 1e-15);

  // Step 4: the classic bug (tinygrad's first autograd had it): assigning instead of adding.
  // Each use overwrites the last, so a value used twice keeps only one share.
  lesson.step("why `+=`: the same loop with `=` loses a use");
  {
    scratch::Tape bad = t;
    for (auto& n : bad.nodes) n.grad = 0;
    bad.nodes[L].grad = 1;
    for (int i = L; i >= 0; --i)
      for (std::size_t k = 0; k < bad.nodes[i].inputs.size(); ++k)
        bad.nodes[bad.nodes[i].inputs[k]].grad = bad.nodes[i].local[k] * bad.nodes[i].grad;  // the bug
    fmt::print("  with `=`:  dL/dy = {:.6f} (right: {:.6f})   dL/dz = {:.6f} (right: {:.6f})\n",
               bad.nodes[y].grad, t.nodes[y].grad, bad.nodes[z].grad, t.nodes[z].grad);
    fmt::print("             dL/dw = {:.6f} (right: {:.6f})\n", bad.nodes[w].grad, t.nodes[w].grad);
  }

  // Step 5: the same graph on tapegrad. Its values are arrays (here 0-d), each op keeps a
  // backward closure instead of a number, and leaves join the tape when an op first uses them.
  lesson.step("the same graph on tapegrad's Tape");
  using Tensor = tg::Tensor<double>;
  tg::Tape<double> tape;
  lesson.attach(tape);
  Tensor X(tg::Array<double>(1.5), true, "x"), W(tg::Array<double>(-0.8), true, "w"),
      B(tg::Array<double>(0.4), true, "b");
  Tensor U = W * X, Z = U + B, Yt = tg::tanh(Z), Q = Yt * Yt, Lt = Q + Z;
  for (auto [node, name] : {std::pair{&U, "u"}, {&Z, "z"}, {&Yt, "y"}, {&Q, "q"}, {&Lt, "L"}}) node->set_name(name);
  tape.backward(Lt);
  fmt::print("{}", tg::wrapped_tape_listing(tape));
  const std::vector<std::pair<const Tensor*, int>> pairs{{&X, x}, {&W, w}, {&B, b}, {&U, u},
                                                         {&Z, z}, {&Yt, y}, {&Q, q}, {&Lt, L}};
  fmt::print("  {:<4} | {:>10} | {:>10} | {:>10} | {:>10}\n", "", "scratch", "tapegrad", "d scratch", "d tapegrad");
  for (const auto& [tensor, i] : pairs)
    fmt::print("  {:<4} | {:>10.6f} | {:>10.6f} | {:>10.6f} | {:>10.6f}\n", t.nodes[i].name, t.nodes[i].value,
               tensor->value().data()[0], t.nodes[i].grad, tensor->grad().data()[0]);
  double worst_value = 0, worst_grad = 0;
  for (const auto& [tensor, i] : pairs) {
    worst_value = std::max(worst_value, std::abs(t.nodes[i].value - tensor->value().data()[0]));
    worst_grad = std::max(worst_grad, std::abs(t.nodes[i].grad - tensor->grad().data()[0]));
  }
  lesson.check("every value: scratch tape = tapegrad", worst_value, 0.0, 1e-15);
  lesson.check("every gradient: scratch tape = tapegrad", worst_grad, 0.0, 1e-15);

  // Step 6: where tapegrad does the same.
  lesson.step("the same loop in tapegrad's source");
  fmt::print(
      "  autograd/tape.cpp, Tape<T>::push     a leaf joins the tape when an op first uses it; the op\n"
      "                                       goes after it: creation order, a topological order.\n"
      "  autograd/tape.cpp, Tape<T>::backward seeds dL/dL = 1, then `for (i = root.index + 1; i-- > 0;)`\n"
      "                                       runs each node's backward closure: this lesson's loop.\n"
      "  autograd/tensor.hpp, BackwardContext<T>::accumulate\n"
      "                                       the first share is assigned, every later one added (+=).\n"
      "  autograd/ops/elementwise.cpp         each op's closure: e.g. tanh hands grad ⊙ (1 − result²).\n");

  lesson.write_dot(Lt);
  return lesson.finish();
}
