// Tests for nn/'s basic layers (Linear, Embedding, Dropout) and the Module base:
// gradient checks in double with padding present, the padding row, dotted names,
// train/eval modes, zero_grad and the summary table.
#include <doctest/doctest.h>

#include <cmath>

#include <xtensor/xview.hpp>

#include "autograd/autograd.hpp"
#include "nn/dropout.hpp"
#include "nn/embedding.hpp"
#include "nn/linear.hpp"
#include "nn/optim.hpp"

using tg::Array;
using tg::Tensor;

namespace {

// Two levels of nesting: Outer holds Inner as "a", which holds a Linear as "b".
struct Inner : tg::Module<double> {
  tg::Linear<double> b;
  explicit Inner(std::mt19937_64& rng) : b(2, 3, rng) { register_module("b", b); }
};

struct Outer : tg::Module<double> {
  Tensor<double> scale;
  Inner a;
  tg::Linear<double> proj;
  tg::Dropout<double> drop{0.5, 1};
  explicit Outer(std::mt19937_64& rng) : a(rng), proj(3, 4, rng) {
    scale = register_parameter("scale", Array<double>{1.0, 2.0});
    register_module("a", a);
    register_module("proj", proj);
    register_module("drop", drop);
  }
  Tensor<double> forward(const Tensor<double>& x) { return proj.forward(drop.forward(a.b.forward(x * scale))); }
};

// Σ f ⊙ R with a fixed R: a loss whose gradient reaches every element differently.
Tensor<double> weighted_sum(const Tensor<double>& y, std::uint64_t seed = 3) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(-1, 1);
  Array<double> r = Array<double>::from_shape(y.shape());
  for (double& v : r) v = u(rng);
  return tg::sum(y * Tensor<double>(r));
}

Array<double> row(const Array<double>& table, std::size_t i) { return xt::view(table, i, xt::all()); }

}  // namespace

// ---- Module -------------------------------------------------------------------

TEST_CASE("module: parameters are named by their dotted path through nested modules") {
  std::mt19937_64 rng(1);
  Outer m(rng);
  std::vector<std::string> names, tensor_names;
  for (const auto& [name, p] : m.named_parameters()) {
    names.push_back(name);
    tensor_names.push_back(p.name());
  }
  const std::vector<std::string> want{"scale", "a.b.weight", "a.b.bias", "proj.weight", "proj.bias"};
  CHECK(names == want);
  CHECK(tensor_names == want);  // gradcheck and tape listings show the same names
  CHECK(m.parameter("proj.weight").node_ptr() == m.proj.weight.node_ptr());
  CHECK(m.a.named_parameters()[0].first == "b.weight");  // a child lists its own names from itself
}

TEST_CASE("module: asking for a parameter that does not exist throws naming it") {
  std::mt19937_64 rng(1);
  Outer m(rng);
  CHECK_THROWS_WITH_AS(m.parameter("a.b.wieght"), doctest::Contains("a.b.wieght"), tg::Error);
}

TEST_CASE("module: train and eval reach every nested module") {
  std::mt19937_64 rng(1);
  Outer m(rng);
  CHECK(m.drop.training());
  m.eval();
  CHECK_FALSE(m.training());
  CHECK_FALSE(m.a.b.training());
  CHECK_FALSE(m.drop.training());
  m.train();
  CHECK(m.a.b.training());
  CHECK(m.drop.training());
}

TEST_CASE("module: zero_grad zeroes the gradient of every nested parameter") {
  std::mt19937_64 rng(1);
  Outer m(rng);
  tg::Tape<double> tape;
  tape.backward(weighted_sum(m.forward(Tensor<double>(Array<double>{{0.5, -1.0}, {2.0, 0.25}}))));
  double before = 0;
  for (const auto& p : m.parameters()) before += xt::sum(xt::abs(p.grad()))();
  CHECK(before > 0);
  m.zero_grad();
  for (const auto& [name, p] : m.named_parameters()) {
    INFO(name);
    CHECK(xt::all(xt::equal(p.grad(), 0.0)));
  }
}

TEST_CASE("module: summary lists each parameter's name, shape and count, then the total") {
  std::mt19937_64 rng(1);
  Outer m(rng);
  const std::string s = m.summary();
  INFO(s);
  // scale 2 + a.b 3·2 + 3 + proj 4·3 + 4 = 27
  CHECK(m.parameter_count() == 27);
  for (const char* line : {"a.b.weight", "(3,2)", "proj.weight", "(4,3)", "proj.bias", "(4)"})
    CHECK(s.find(line) != std::string::npos);
  CHECK(s.find("total") != std::string::npos);
  CHECK(s.substr(s.rfind("total")).find("27") != std::string::npos);
  CHECK(s.find("12\n") != std::string::npos);  // proj.weight's count ends its line
}

// ---- Linear -------------------------------------------------------------------

TEST_CASE("linear: gradient w.r.t. input, weight and bias matches central differences") {
  std::mt19937_64 rng(2);
  tg::Linear<double> lin(3, 4, rng);
  Tensor<double> x(Array<double>{{0.3, -1.2, 0.7}, {1.1, 0.4, -0.5}}, true, "x");
  Tensor<double> x3(Array<double>{{{0.3, -1.2, 0.7}, {1.1, 0.4, -0.5}}, {{-0.9, 0.2, 0.6}, {0.1, 1.3, -0.8}}},
                    true, "x3");
  for (const auto& input : {x, x3}) {
    std::vector<Tensor<double>> wrt = lin.parameters();
    wrt.push_back(input);
    const auto report = tg::gradcheck([&] { return lin.forward(input); }, wrt);
    CHECK_MESSAGE(report.ok, report.str());
    CHECK(report.elements_checked == 12 + 4 + input.size());
  }
}

TEST_CASE("linear: a 3-D input maps its last axis (values by hand)") {
  std::mt19937_64 rng(2);
  tg::Linear<double> lin(2, 3, rng);
  lin.weight.mutable_value() = Array<double>{{1, 2}, {3, 4}, {5, 6}};
  lin.bias.mutable_value() = Array<double>{0.5, -1, 2};
  // x (2,1,2): y[i,0] = W x[i,0] + b
  //   [1,-1] → [1−2+0.5, 3−4−1, 5−6+2] = [−0.5, −2, 1]
  //   [0, 2] → [0+4+0.5, 0+8−1, 0+12+2] = [4.5, 7, 14]
  const Tensor<double> y = lin.forward(Tensor<double>(Array<double>{{{1, -1}}, {{0, 2}}}));
  CHECK(tg::shape_str(y.shape()) == "(2,1,3)");
  CHECK(y.value() == Array<double>{{{-0.5, -2, 1}}, {{4.5, 7, 14}}});
}

TEST_CASE("linear: an input whose last axis is not in_features throws naming its shape") {
  std::mt19937_64 rng(2);
  tg::Linear<double> lin(3, 4, rng);
  CHECK_THROWS_WITH_AS(lin.forward(Tensor<double>(Array<double>::from_shape({2, 5}))),
                       doctest::Contains("(2,5)"), tg::Error);
}

// ---- Embedding ----------------------------------------------------------------

TEST_CASE("embedding: init is seeded N(0,1) with the padding row zero") {
  std::mt19937_64 rng1(5), rng2(5);
  tg::Embedding<double> e1(1000, 10, rng1), e2(1000, 10, rng2);
  CHECK(e1.weight.value() == e2.weight.value());
  CHECK(e1.named_parameters()[0].first == "weight");
  CHECK(row(e1.weight.value(), 0) == xt::zeros<double>({10}));
  const Array<double> rest = xt::view(e1.weight.value(), xt::range(1, 1000), xt::all());
  const double mean = xt::mean(rest)(), sd = std::sqrt(xt::mean(xt::square(rest - mean))());
  CHECK(std::abs(mean) < 0.05);  // 9,990 draws: the standard error is 0.01
  CHECK(std::abs(sd - 1) < 0.05);
}

TEST_CASE("embedding: looks rows up by id, ids.shape + (E), padded positions zero") {
  std::mt19937_64 rng(5);
  tg::Embedding<double> emb(5, 3, rng);
  const tg::Ids ids{{1, 2, 0}, {4, 4, 0}};
  const Tensor<double> out = emb.forward(ids);
  CHECK(tg::shape_str(out.shape()) == "(2,3,3)");
  const Array<double>& w = emb.weight.value();
  CHECK(Array<double>(xt::view(out.value(), 0, 1)) == row(w, 2));
  CHECK(Array<double>(xt::view(out.value(), 1, 0)) == row(w, 4));
  CHECK(Array<double>(xt::view(out.value(), 1, 2)) == xt::zeros<double>({3}));
}

TEST_CASE("embedding: gradient w.r.t. the table matches central differences, padding present") {
  std::mt19937_64 rng(5);
  tg::Embedding<double> emb(6, 4, rng);
  const tg::Ids ids{{1, 3, 3, 0}, {5, 2, 0, 0}};
  const auto report = tg::gradcheck([&] { return emb.forward(ids); }, emb.parameters());
  CHECK_MESSAGE(report.ok, report.str());
  CHECK(report.elements_checked == 24);
}

TEST_CASE("embedding: a repeated id accumulates into one row, the padding row's gradient is exactly zero") {
  std::mt19937_64 rng(5);
  tg::Embedding<double> emb(5, 3, rng);
  const tg::Ids ids{{4, 1, 0}, {4, 0, 0}};
  Array<double> r{{{1, 2, 3}, {4, 5, 6}, {7, 8, 9}}, {{-1, -2, -3}, {10, 20, 30}, {-7, -8, -9}}};
  tg::Tape<double> tape;
  tape.backward(tg::sum(emb.forward(ids) * Tensor<double>(r)));
  const Array<double>& g = emb.weight.grad();
  CHECK(row(g, 4) == Array<double>{0, 0, 0});  // r[0,0] + r[1,0] = [1,2,3] + [−1,−2,−3]
  CHECK(row(g, 1) == Array<double>{4, 5, 6});
  CHECK(row(g, 0) == Array<double>{0, 0, 0});  // three padded positions with r ≠ 0
  CHECK_FALSE(std::signbit(g(0, 0)));          // +0, not −0
  CHECK(row(g, 2) == Array<double>{0, 0, 0});  // unused
}

TEST_CASE("embedding: the padding row stays zero through Adam steps with weight decay") {
  std::mt19937_64 rng(5);
  tg::Embedding<float> emb(5, 3, rng);
  tg::Adam<float> adam(emb.named_parameters(), {.lr = 0.1, .weight_decay = 0.01});
  const Array<float> before = emb.weight.value();
  for (int step = 0; step < 3; ++step) {
    adam.zero_grad();
    tg::Tape<float> tape;
    tape.backward(tg::sum(tg::tanh(emb.forward(tg::Ids{{2, 0, 0}, {3, 1, 0}}))));
    adam.step();
  }
  const Array<float>& w = emb.weight.value();
  CHECK(xt::all(xt::equal(xt::view(w, 0, xt::all()), 0.0f)));
  for (std::size_t used : {1, 2, 3}) CHECK(xt::all(xt::not_equal(xt::view(w, used, xt::all()), xt::view(before, used, xt::all()))));
}

TEST_CASE("embedding: an id outside the table throws naming it") {
  std::mt19937_64 rng(5);
  tg::Embedding<double> emb(5, 3, rng);
  CHECK_THROWS_WITH_AS(emb.forward(tg::Ids{1, 5}), doctest::Contains("id 5"), tg::Error);
  CHECK_THROWS_WITH_AS(emb.forward(tg::Ids{-1}), doctest::Contains("id -1"), tg::Error);
}

// ---- Dropout ------------------------------------------------------------------

TEST_CASE("dropout: zeroes about p and scales the rest by 1/(1-p) in training, identity in eval") {
  tg::Dropout<double> drop(0.25, 42);
  const Tensor<double> x(Array<double>(xt::ones<double>({4000})));
  const Array<double> y = drop.forward(x).value();
  const auto zeros = static_cast<double>(xt::sum(xt::equal(y, 0.0))());
  CHECK(xt::all(xt::equal(y, 0.0) || xt::equal(y, 1 / 0.75)));
  CHECK(std::abs(zeros / 4000 - 0.25) < 0.03);  // the standard error is 0.007
  drop.eval();
  CHECK(drop.forward(x).value() == x.value());
}

TEST_CASE("dropout: a seed fixes the masks, and each call draws a new one") {
  tg::Dropout<float> d1(0.5, 7), d2(0.5, 7), d3(0.5, 8);
  const Tensor<float> x(Array<float>(xt::ones<float>({64})));
  const Array<float> first = d1.forward(x).value();
  CHECK(first == d2.forward(x).value());
  CHECK(first != d3.forward(x).value());
  CHECK(first != d1.forward(x).value());
}

TEST_CASE("dropout: p outside 0..1 is refused naming it") {
  CHECK_THROWS_WITH_AS(tg::Dropout<float>(1.0, 1), doctest::Contains("p = 1"), tg::Error);
  CHECK_THROWS_WITH_AS(tg::Dropout<float>(-0.1, 1), doctest::Contains("p = -0.1"), tg::Error);
  CHECK_NOTHROW(tg::Dropout<float>(0.0, 1));
}
