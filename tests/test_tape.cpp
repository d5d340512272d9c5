// Engine behaviour (autograd/tape.hpp, tensor.hpp, inspect.hpp): recording order,
// gradient accumulation, NoGrad, backward's refusals, the exact text of shape errors,
// and the inspection tools (listing, DOT, --trace, check-finite).
#include <doctest/doctest.h>

#include <cmath>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

#include <xtensor/xio.hpp>

#include "autograd/autograd.hpp"

namespace {

using A = tg::Array<double>;
using Td = tg::Tensor<double>;

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

}  // namespace

TEST_CASE("tape: nodes are recorded in creation order, each leaf when an op first uses it") {
  Td x(A{1, 2}, true), w(A{3, 4}, true), b(A{5, 6}, true);
  tg::Tape<double> tape;
  Td y = x * w;
  CHECK(tape.size() == 3);
  Td z = tg::tanh(y);
  Td u = z + b;  // b's first use: it is registered just before u
  Td v = u * x;  // x is already on the tape
  const std::vector<Td> order{x, w, y, z, b, u, v};
  REQUIRE(tape.size() == order.size());
  for (std::size_t i = 0; i < order.size(); ++i) {
    CAPTURE(i);
    CHECK(tape.nodes()[i] == order[i].node_ptr());
    CHECK(order[i].node().index == i);
    CHECK(order[i].node().tape_id == tape.id());
  }
  CHECK(std::string(v.op()) == "mul");
  CHECK(std::string(x.op()) == "leaf");
}

TEST_CASE("tape: a tensor used twice accumulates, y = x*x + x gives dy/dx = 2x + 1") {
  Td x(A{1, -2, 3}, true);
  tg::Tape<double> tape;
  tape.backward(tg::sum(x * x + x));
  CHECK(x.grad() == A{3, -3, 7});
}

TEST_CASE("tape: leaves keep their gradient across backward calls on two tapes until zero_grad") {
  Td x(A{1, -2, 3}, true);
  {
    tg::Tape<double> tape;
    tape.backward(tg::sum(x * 3.0));
  }
  CHECK(x.grad() == A{3, 3, 3});
  {
    tg::Tape<double> tape;
    tape.backward(tg::sum(x * x));  // adds 2x
  }
  CHECK(x.grad() == A{5, -1, 9});
  x.zero_grad();
  CHECK(x.grad() == A{0, 0, 0});
  tg::Tape<double> tape;
  tape.backward(tg::sum(x * x));
  CHECK(x.grad() == A{2, -4, 6});
}

TEST_CASE("tape: intermediate gradients are readable after backward and reset by the next one") {
  Td x(A{1, 2}, true);
  tg::Tape<double> tape;
  Td y = x * 2.0;
  Td loss = tg::sum(y * y);
  tape.backward(loss);
  CHECK(loss.grad() == A(1.0));
  CHECK(y.grad() == A{4, 8});   // 2y
  CHECK(x.grad() == A{8, 16});  // 2 · 2y
  tape.backward(loss);
  CHECK(y.grad() == A{4, 8});   // an intermediate starts from zero each time ...
  CHECK(x.grad() == A{16, 32}); // ... a leaf accumulates
}

TEST_CASE("tape: retain_grads off gives the leaves the same gradients and frees the intermediates") {
  // Every op that reuses its gradient's buffer when it may: add, sub, reshape, tanh,
  // sigmoid, exp, mul (same shape and broadcast), with a tensor used twice.
  const A x0{{0.5, -1, 2}, {1.5, 0.25, -0.75}}, w0{0.3, -0.2, 0.7};
  auto run = [&](bool retain) {
    Td x(x0, true), w(w0, true);
    tg::Tape<double> tape;
    tape.retain_grads = retain;
    const Td h = tg::tanh(x * w) + tg::sigmoid(x) - tg::exp(x * 0.5);
    const Td y = tg::reshape(h * x, {3, 2});
    tape.backward(tg::sum(y * y + y));
    if (!retain) CHECK(h.node().grad.dimension() == 0);  // freed after its backward ran
    return std::pair{x.grad(), w.grad()};
  };
  const auto [x_kept, w_kept] = run(true);
  const auto [x_freed, w_freed] = run(false);
  CHECK(x_kept == x_freed);
  CHECK(w_kept == w_freed);
}

TEST_CASE("NoGrad: ops record nothing and their results need no gradient") {
  Td x(A{0.5, -1}, true);
  tg::Tape<double> tape;
  {
    tg::NoGrad<double> no_grad;
    Td y = tg::tanh(x * x);
    CHECK(tape.size() == 0);
    CHECK_FALSE(y.requires_grad());
    CHECK(y.value() == A{std::tanh(0.25), std::tanh(1.0)});
  }
  Td z = x * x;  // recording resumes when the NoGrad ends
  CHECK(tape.size() == 2);
  CHECK(z.requires_grad());
}

TEST_CASE("ops without a tape compute values only") {
  Td x(A{1, 2}, true);
  Td y = x * x;
  CHECK_FALSE(y.requires_grad());
  CHECK(y.value() == A{1, 4});
}

TEST_CASE("backward: refuses a non-scalar loss, a loss from another tape and a constant") {
  Td x(A{1, 2}, true);
  tg::Tape<double> first;
  Td loss = tg::sum(x * x);
  Td not_scalar = x * x;
  CHECK_THROWS_WITH_AS(first.backward(not_scalar), "backward: the loss must be a scalar, got shape (2)", tg::Error);
  {
    tg::Tape<double> second;
    CHECK_THROWS_WITH_AS(second.backward(loss), "backward: the loss (sum) was not recorded on this tape", tg::Error);
  }
  CHECK_THROWS_WITH_AS(first.backward(Td(A(1.0))), "backward: the loss (leaf) was not recorded on this tape", tg::Error);
  first.backward(loss);  // the right tape still works
  CHECK(x.grad() == A{2, 4});
}

TEST_CASE("backward: a gradient of the wrong shape throws naming the op and both shapes") {
  Td x(A{{1, 2, 3}, {4, 5, 6}}, true);
  tg::Tape<double> tape;
  Td y = tg::record<double>("bad_shape", x.value(), {x},
                            [](const tg::BackwardContext<double>& c) { c.accumulate(0, A{1, 2, 3}); });
  CHECK_THROWS_WITH_AS(tape.backward(tg::sum(y)),
                       "bad_shape backward: gradient for input 0 has shape (3), the input has (2,3)", tg::Error);
}

TEST_CASE("shape errors: the message names the op and the shapes, word for word") {
  const Td m23(A{{1, 2, 3}, {4, 5, 6}}), m34(A(xt::ones<double>({3, 4}))), m52(A(xt::ones<double>({5, 2})));
  const Td m43(A(xt::ones<double>({4, 3}))), m24(A(xt::ones<double>({2, 4}))), t42(A(xt::ones<double>({4, 2})));
  struct BadCall {
    std::function<void()> call;
    const char* message;
  };
  const std::vector<BadCall> cases{
      {[&] { tg::matmul(m34, m52); }, "matmul: (3,4) · (5,2)"},
      {[&] { tg::matmul(m23, tg::reshape(m23, {6})); }, "matmul: (2,3) · (6)"},
      {[&] { tg::bmm(tg::reshape(m24, {2, 2, 2}), tg::reshape(m23, {2, 3, 1})); }, "bmm: (2,2,2) · (2,3,1)"},
      {[&] { tg::linear(m23, m24, tg::reshape(m24, {8})); }, "linear: (2,3) · (2,4)ᵀ + (8)"},
      {[&] { tg::linear(m23, m43, m23); }, "linear: (2,3) · (4,3)ᵀ + (2,3)"},
      {[&] { tg::addmm(m23, m23, m34); }, "addmm: (2,3) + (2,3) · (3,4)"},
      {[&] { tg::addmm(m24, m23, m43); }, "addmm: (2,4) + (2,3) · (4,3)"},
      {[&] { tg::add(m23, m43); }, "add: (2,3) + (4,3) do not broadcast"},
      {[&] { tg::sub(m23, m24); }, "sub: (2,3) - (2,4) do not broadcast"},
      {[&] { tg::mul(m23, m34); }, "mul: (2,3) * (3,4) do not broadcast"},
      {[&] { tg::div(m23, m43); }, "div: (2,3) / (4,3) do not broadcast"},
      {[&] { tg::concat<double>({m23, m24}, 0); }, "concat: (2,3) and (2,4) differ"},
      {[&] { tg::concat<double>({m23, m23}, 2); }, "concat: axis 2 out of range for shape (2,3)"},
      {[&] { tg::stack<double>({m23, m24}, 0); }, "stack: (2,3) and (2,4) differ"},
      {[&] { tg::reshape(m23, {4, 2}); }, "reshape: (2,3) to (4,2)"},
      {[&] { tg::gather(t42, tg::Ids{0, 4}); }, "gather: id 4 is out of range for a table of 4 rows"},
      {[&] { tg::gather(t42, tg::Ids{-1}); }, "gather: id -1 is out of range for a table of 4 rows"},
      {[&] { tg::cross_entropy(m23, tg::Ids{0, 3}); }, "cross_entropy: label 3 at row 1 is not in [0,3)"},
      {[&] { tg::cross_entropy(m23, tg::Ids{0, 1, 2}); }, "cross_entropy: logits (2,3) with labels (3)"},
      {[&] { tg::slice(m23, 1, 1, 4); }, "slice: [1:4] along axis 1 of (2,3)"},
      {[&] { tg::slice(m23, 2, 0, 1); }, "slice: axis 2 out of range for shape (2,3)"},
      {[&] { tg::transpose(m23, {1, 1}); }, "transpose: permutation (1,1) does not fit shape (2,3)"},
      {[&] { tg::transpose(m23, {1, 0, 2}); }, "transpose: permutation (1,0,2) does not fit shape (2,3)"},
      {[&] { tg::select(m23, 1, 3); }, "select: index 3 along axis 1 of (2,3)"},
      {[&] { tg::select(m23, 2, 0); }, "select: axis 2 out of range for shape (2,3)"},
      {[&] { tg::softmax(m23, 2); }, "softmax: axis 2 out of range for shape (2,3)"},
      {[&] { tg::sum(m23, 2); }, "sum: axis 2 out of range for shape (2,3)"},
      {[&] { tg::masked_fill(tg::select(m23, 0, 0), tg::Mask{{true, false, true}, {false, true, false}}, 0.0); },
       "masked_fill: mask (2,3) does not fit (3)"},
      {[&] { m23.item(); }, "item: tensor of shape (2,3) is not a scalar"},
  };
  for (const auto& c : cases) CHECK_THROWS_WITH_AS(c.call(), c.message, tg::Error);
}

TEST_CASE("tape_listing: one line per node, naming its op") {
  Td x(A{{1, 2}, {3, 4}}, true, "x");
  tg::Tape<double> tape;
  tape.backward(tg::sum(tg::tanh(tg::matmul(x, x))));
  const auto listing = lines(tg::tape_listing(tape));
  const std::vector<std::string> ops{"leaf x", "matmul", "tanh", "sum"};
  REQUIRE(listing.size() == ops.size());
  for (std::size_t i = 0; i < ops.size(); ++i) {
    CAPTURE(listing[i]);
    CHECK(listing[i].rfind("#" + std::to_string(i) + " ", 0) == 0);
    CHECK(contains(listing[i], ops[i]));
    CHECK(contains(listing[i], "grad (2,2)") == (i < 3));
  }
}

TEST_CASE("graph_dot: a digraph with every op behind the root and an edge per input") {
  Td x(A{1, 2}, true, "x"), w(A{3, 4}, true, "w");
  tg::Tape<double> tape;
  const std::string dot = tg::graph_dot(tg::sum(tg::exp(x * w) + x));
  CHECK(dot.rfind("digraph", 0) == 0);
  for (const char* op : {"leaf x", "leaf w", "mul", "exp", "add", "sum"}) CHECK_MESSAGE(contains(dot, op), op);
  std::size_t edges = 0;
  for (const auto& line : lines(dot)) edges += contains(line, " -> ");
  CHECK(edges == 6);  // mul←x,w; exp←mul; add←exp,x; sum←add
}

TEST_CASE("Tape::trace: one line per backward node, in reverse creation order") {
  Td x(A{0.5, -1}, true);
  std::ostringstream out;
  tg::Tape<double> tape;
  tape.trace = &out;
  tape.backward(tg::sum(tg::tanh(x * x)));
  const auto trace = lines(out.str());
  REQUIRE(trace.size() == 3);
  const std::vector<std::string> ops{"sum", "tanh", "mul"};
  for (std::size_t i = 0; i < 3; ++i) {
    CAPTURE(trace[i]);
    CHECK(trace[i].rfind("backward #" + std::to_string(3 - i), 0) == 0);
    CHECK(contains(trace[i], ops[i]));
  }
}

TEST_CASE("Tape::trace: each edge shows what the node hands that input, not the input's total") {
  // x feeds two paths: sum(2x) hands it (2, 2), |·| = 2.828; sum(3x) hands it (3, 3),
  // |·| = 4.243. Its total, (5, 5), |·| = 7.071, is what neither edge carries.
  Td x(A{1, 2}, true, "x");
  std::ostringstream out;
  tg::Tape<double> tape;
  tape.trace = &out;
  const Td twice_x = x * 2.0;  // separate statements: the order of a + b's operands is unspecified
  const Td thrice_x = x * 3.0;
  tape.backward(tg::sum(twice_x) + tg::sum(thrice_x));
  const auto trace = lines(out.str());
  std::vector<std::string> into_x;
  for (const auto& line : trace)
    if (contains(line, "mul_scalar")) into_x.push_back(line);
  REQUIRE(into_x.size() == 2);
  CAPTURE(out.str());
  CHECK(contains(into_x[0], "|g|=4.243"));  // backward runs in reverse: the 3x path first
  CHECK(contains(into_x[1], "|g|=2.828"));
  CHECK_FALSE(contains(out.str(), "7.071"));
  // An input used twice by one node gets both shares at once, marked as such: y * y hands
  // y 2·y·grad = (2, 4), |·| = 4.472.
  std::ostringstream twice;
  Td y(A{1, 2}, true, "y");
  tg::Tape<double> tape2;
  tape2.trace = &twice;
  tape2.backward(tg::sum(y * y));
  CAPTURE(twice.str());
  CHECK(contains(twice.str(), "|g|=4.472 (×2)"));
}

TEST_CASE("check_finite: stops at the first op with a non-finite value or gradient, naming it") {
  Td x(A{1, -1}, true);
  {
    tg::Tape<double> tape;
    CHECK_NOTHROW(tg::log(x));  // off by default: NaN passes silently
  }
  tg::Tape<double> tape;
  tape.check_finite = true;
  // The failing node stays on the tape (x is #0, log #1) so it can be inspected.
  CHECK_THROWS_WITH_AS(tg::log(x), "check-finite: log (tape #1, inputs (2)) produced a non-finite value", tg::Error);
  // 1/x is finite at 1e-200, but its derivative −1/x² overflows.
  Td tiny(A{1e-200, 1}, true);
  Td loss = tg::sum(1 / tiny);
  CHECK_THROWS_WITH_AS(tape.backward(loss),
                       "check-finite: backward of rdiv_scalar (tape #3, inputs (2)) gave a non-finite gradient to input 0",
                       tg::Error);
}
