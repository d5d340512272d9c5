// Tests of nn/lstm: PyTorch's parameter layout, one step worked by hand from the gate
// equations, gradient checks with padding present, and the padding semantics (results
// independent of the amount of padding; the reverse direction starts at the last real token).
#include <doctest/doctest.h>

#include <cmath>
#include <random>
#include <tuple>
#include <type_traits>

#include <xtensor/xview.hpp>

#include "autograd/autograd.hpp"
#include "helpers.hpp"
#include "nn/init.hpp"
#include "nn/lstm.hpp"

namespace {

using tg::Array;
using tg::Tensor;

Tensor<double> random_input(const tg::Shape& shape, std::uint64_t seed) {
  return Tensor<double>(tg::test::random_array(shape, seed), true, "x");
}

// Every output of the layer flattened into one vector, so one gradcheck covers them all.
Tensor<double> all_outputs(const tg::LSTMOutput<double>& out) {
  auto flat = [](const Tensor<double>& t) { return tg::reshape(t, {t.size()}); };
  return tg::concat<double>({flat(out.states), flat(out.h_n), flat(out.c_n)}, 0);
}

double max_abs_diff(const Array<double>& a, const Array<double>& b) {
  REQUIRE(a.shape() == b.shape());
  double m = 0;
  for (std::size_t i = 0; i < a.size(); ++i) m = std::max(m, std::abs(a.data()[i] - b.data()[i]));
  return m;
}

// The layer's outputs, after a backward pass of a loss that reaches all of them: the
// gradients stay in x and the parameters.
tg::LSTMOutput<double> forward_backward(const tg::LSTM<double>& lstm, const Tensor<double>& x, const tg::Ids& lengths) {
  tg::Tape<double> tape;
  const auto out = lstm.forward(x, lengths);
  const Tensor<double> r = random_input(tg::Shape(out.states.shape().begin(), out.states.shape().end()), 99);
  tape.backward(tg::sum(tg::mul(out.states, Tensor<double>(r.value()))) + tg::sum(out.h_n));
  return out;
}

void check_gradients(bool bidirectional, bool packed) {
  std::mt19937_64 rng(11);
  tg::LSTM<double> lstm(3, 2, rng, bidirectional);
  lstm.packed = packed;
  Tensor<double> x = random_input({3, 3, 3}, 12);
  const tg::Ids lengths = {2, 3, 1};  // unsorted, with padded positions
  std::vector<Tensor<double>> wrt = lstm.parameters();
  wrt.push_back(x);
  const auto report = tg::gradcheck([&] { return all_outputs(lstm.forward(x, lengths)); }, wrt);
  CHECK_MESSAGE(report.ok, report.str());
  CHECK(report.elements_checked == x.size() + lstm.parameter_count());
}

}  // namespace

TEST_CASE("lstm: parameters have PyTorch's names, shapes, order and ±1/√H init") {
  std::mt19937_64 rng(1);
  tg::LSTM<double> lstm(5, 4, rng, true);
  const std::vector<std::pair<std::string, tg::Shape>> want = {
      {"weight_ih_l0", {16, 5}},         {"weight_hh_l0", {16, 4}},         {"bias_ih_l0", {16}},
      {"bias_hh_l0", {16}},              {"weight_ih_l0_reverse", {16, 5}}, {"weight_hh_l0_reverse", {16, 4}},
      {"bias_ih_l0_reverse", {16}},      {"bias_hh_l0_reverse", {16}}};
  const auto got = lstm.named_parameters();
  REQUIRE(got.size() == want.size());
  for (std::size_t k = 0; k < want.size(); ++k) {
    CHECK(got[k].first == want[k].first);
    CHECK(tg::shapes_equal(got[k].second.shape(), want[k].second));
    CHECK(xt::amax(xt::abs(got[k].second.value()))() <= 0.5);  // 1/√4
  }
  CHECK(lstm.output_size() == 8);
  tg::LSTM<double> uni(5, 4, rng);
  CHECK(uni.named_parameters().size() == 4);
  CHECK(uni.output_size() == 4);
}

TEST_CASE("lstm: two steps match the gate equations worked by hand (E = H = 1)") {
  std::mt19937_64 rng(1);
  tg::LSTM<double> lstm(1, 1, rng);
  // Rows in gate order i, f, g, o. ({{0.5}, …} would be ambiguous to xarray's constructors.)
  auto shaped = [](Array<double> a, tg::Shape shape) {
    a.reshape(shape);
    return a;
  };
  lstm.forward_weights.weight_ih.mutable_value() = shaped({0.5, -0.25, 1.0, 0.75}, {4, 1});
  lstm.forward_weights.weight_hh.mutable_value() = shaped({0.1, 0.2, -0.3, 0.4}, {4, 1});
  lstm.forward_weights.bias_ih.mutable_value() = Array<double>{0.0, 0.5, 0.0, -0.5};
  lstm.forward_weights.bias_hh.mutable_value() = Array<double>{0.0, 0.0, 0.0, 0.25};
  const Tensor<double> x(shaped({2.0, -1.0}, {1, 2, 1}));  // (B,T,E)
  const auto out = lstm.forward(x, tg::Ids{2});

  // Step 1, x = 2, h₀ = c₀ = 0:
  //   z = (0.5·2, −0.25·2 + 0.5, 1·2, 0.75·2 − 0.5 + 0.25) = (1, 0, 2, 1.25)
  //   i = σ(1) = 0.7310585786300049, f = σ(0) = 0.5, ĝ = tanh 2 = 0.9640275800758169,
  //   o = σ(1.25) = 0.7772998611746911
  //   c₁ = 0.5·0 + 0.7310585786300049·0.9640275800758169 = 0.7047606324503499
  //   h₁ = 0.7772998611746911·tanh(0.7047606324503499) = 0.4721170481474868
  // Step 2, x = −1:
  //   z = (−0.5 + 0.1h₁, 0.25 + 0.5 + 0.2h₁, −1 − 0.3h₁, −0.75 − 0.5 + 0.25 + 0.4h₁)
  //     = (−0.4527882951852513, 0.8444234096294974, −1.141635114444246, −0.8111531807410053)
  //   i = 0.38869802876801746, f = 0.6993960185337498, ĝ = −0.8149639526203848, o = 0.3076448143272089
  //   c₂ = f·c₁ + i·ĝ = 0.17613189845456662
  //   h₂ = o·tanh(c₂) = 0.05363260398456111
  CHECK(out.states.value()(0, 0, 0) == doctest::Approx(0.4721170481474868).epsilon(1e-14));
  CHECK(out.states.value()(0, 1, 0) == doctest::Approx(0.05363260398456111).epsilon(1e-14));
  CHECK(out.h_n.value()(0, 0, 0) == doctest::Approx(0.05363260398456111).epsilon(1e-14));
  CHECK(out.c_n.value()(0, 0, 0) == doctest::Approx(0.17613189845456662).epsilon(1e-14));
}

TEST_CASE("lstm: unidirectional gradient matches central differences, with padding, both schedules") {
  check_gradients(false, true);
  check_gradients(false, false);
}

TEST_CASE("lstm: bidirectional gradient matches central differences, with padding, both schedules") {
  check_gradients(true, true);
  check_gradients(true, false);
}

// One sequence takes the packed schedule's other form of the step's gemm (linear on W_hh
// as stored; several rows use addmm on a transposed copy): checked the same way.
TEST_CASE("lstm: a batch of one sequence, gradient by central differences, both schedules") {
  for (bool packed : {true, false}) {
    CAPTURE(packed);
    std::mt19937_64 rng(3);
    tg::LSTM<double> lstm(3, 2, rng);
    lstm.packed = packed;
    Tensor<double> x = random_input({1, 4, 3}, 5);
    const tg::Ids lengths = {3};
    std::vector<Tensor<double>> wrt = lstm.parameters();
    wrt.push_back(x);
    const auto report = tg::gradcheck([&] { return all_outputs(lstm.forward(x, lengths)); }, wrt);
    CHECK_MESSAGE(report.ok, report.str());
  }
}

// Note [Transposed weights]: evaluation keeps W_ihᵀ and W_hhᵀ as panels between forwards;
// a write to W by any route, even through a reference taken before, must reach the next
// forward. E = 20, H = 16: in float the panels are made through whole 16 × 16 register
// tiles as well as at the edges (fast::transpose_into); the writes land in both.
TEST_CASE_TEMPLATE("lstm: evaluation sees a weight written in place between forwards", T, float, double) {
  const double tolerance = std::is_same_v<T, float> ? 1e-6 : 1e-14;
  std::mt19937_64 rng(4);
  tg::LSTM<T> lstm(20, 16, rng);
  const Tensor<T> x(xt::cast<T>(tg::test::random_array({2, 4, 20}, 6)));
  const tg::Ids lengths = {4, 2};
  tg::NoGrad<T> no_grad;
  Array<T>& w_hh = lstm.forward_weights.weight_hh.mutable_value();  // (64,16), held across forwards
  Array<T>& w_ih = lstm.forward_weights.weight_ih.mutable_value();  // (64,20)
  const auto states = [&] { return Array<double>(xt::cast<double>(lstm.forward(x, lengths).states.value())); };
  const auto masked_states = [&] {
    lstm.packed = false;  // the reference schedule: no kept copies
    const Array<double> r = states();
    lstm.packed = true;
    return r;
  };
  const Array<double> before = states();
  CHECK(max_abs_diff(before, masked_states()) <= tolerance);
  for (const auto& [w, row, col] : {std::tuple{&w_hh, 5, 3}, {&w_hh, 40, 0}, {&w_ih, 1, 18}, {&w_ih, 33, 7}}) {
    CAPTURE(row);
    CAPTURE(col);
    (*w)(std::size_t(row), std::size_t(col)) += T(0.5);
    const Array<double> after = states();
    CHECK(max_abs_diff(after, masked_states()) <= tolerance);
    CHECK(max_abs_diff(after, before) > 1e-3);
    (*w)(std::size_t(row), std::size_t(col)) -= T(0.5);
    CHECK(max_abs_diff(states(), before) <= tolerance);
  }
}

// H = 19: the fused step's SIMD-wide columns and its one-at-a-time rest; H = 3: the rest alone.
TEST_CASE("lstm: the packed schedule gives the masked schedule's values and gradients") {
  for (auto [bidirectional, hidden] : {std::pair{false, 3}, {true, 3}, {false, 19}, {true, 19}}) {
    CAPTURE(bidirectional);
    CAPTURE(hidden);
    std::mt19937_64 rng(8);
    tg::LSTM<double> lstm(4, std::size_t(hidden), rng, bidirectional);
    const Tensor<double> x = random_input({6, 7, 4}, 71);
    const tg::Ids lengths = {3, 7, 0, 5, 3, 1};  // unsorted, a tie, an empty sequence, T = 7
    auto run = [&](bool packed) {
      lstm.packed = packed;
      lstm.zero_grad();
      x.node().has_grad = false;
      const auto out = forward_backward(lstm, x, lengths);
      std::vector<Array<double>> grads{x.grad()};
      for (const auto& p : lstm.parameters()) grads.push_back(p.grad());
      return std::pair{out, grads};
    };
    const auto [masked, masked_grads] = run(false);
    const auto [packed, packed_grads] = run(true);
    CHECK(max_abs_diff(masked.states.value(), packed.states.value()) <= 1e-14);
    CHECK(max_abs_diff(masked.h_n.value(), packed.h_n.value()) <= 1e-14);
    CHECK(max_abs_diff(masked.c_n.value(), packed.c_n.value()) <= 1e-14);
    for (std::size_t i = 0; i < masked_grads.size(); ++i) CHECK(max_abs_diff(masked_grads[i], packed_grads[i]) <= 1e-13);
  }
}

TEST_CASE("lstm: packed layout sorts longest first and rejects masks with holes") {
  const auto layout = tg::packed_layout(tg::sequence_mask(tg::Ids{1, 3, 2}, 4));
  REQUIRE(layout.has_value());
  CHECK(layout->active == std::vector<std::size_t>{3, 2, 1, 0});
  CHECK(layout->offset == std::vector<std::size_t>{0, 3, 5, 6, 6});
  // Step 0 takes rows 1, 2, 0 (longest first); step 1 rows 1, 2; step 2 row 1.
  CHECK(layout->source == tg::Ids{4, 8, 0, 5, 9, 6});
  CHECK(layout->last == tg::Ids{3, 6, 5});
  CHECK(layout->first == tg::Ids{3, 1, 2});
  const tg::Mask holey = {{true, false, true}};
  CHECK_FALSE(tg::packed_layout(holey).has_value());
}

TEST_CASE("lstm: padding to T or to T+5 gives the same states and final state") {
  for (bool bidirectional : {false, true}) {
    CAPTURE(bidirectional);
    std::mt19937_64 rng(3);
    tg::LSTM<double> lstm(3, 4, rng, bidirectional);
    const tg::Ids lengths = {3, 2};
    // Different garbage (not zeros) at the padded positions of the two inputs.
    const Tensor<double> x_short = random_input({2, 3, 3}, 21);
    Tensor<double> x_long = random_input({2, 8, 3}, 22);
    xt::view(x_long.mutable_value(), xt::all(), xt::range(0, 3)) = x_short.value();
    xt::view(x_long.mutable_value(), 1, 2) = xt::view(x_short.value(), 0, 2);  // position 2 of row 1 is padding
    const auto a = lstm.forward(x_short, lengths), b = lstm.forward(x_long, lengths);
    const Array<double> b_head = xt::view(b.states.value(), xt::all(), xt::range(0, 3));
    CHECK(max_abs_diff(a.states.value(), b_head) <= 1e-12);
    CHECK(max_abs_diff(a.h_n.value(), b.h_n.value()) <= 1e-12);
    CHECK(max_abs_diff(a.c_n.value(), b.c_n.value()) <= 1e-12);
    // Exactly zero output at every padded position.
    CHECK(xt::all(xt::equal(xt::view(a.states.value(), 1, 2), 0.0)));
    CHECK(xt::all(xt::equal(xt::view(b.states.value(), 0, xt::range(3, 8)), 0.0)));
    CHECK(xt::all(xt::equal(xt::view(b.states.value(), 1, xt::range(2, 8)), 0.0)));
  }
}

TEST_CASE("lstm: the reverse direction is a forward LSTM over each sequence's real tokens reversed") {
  std::mt19937_64 rng(4);
  tg::LSTM<double> bi(3, 2, rng, true);
  tg::LSTM<double> backwards(3, 2, rng);
  for (const char* name : {"weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"})
    backwards.parameter(name).mutable_value() = bi.parameter(std::string(name) + "_reverse").value();
  const Tensor<double> x = random_input({2, 5, 3}, 31);
  const std::vector<std::size_t> lengths = {5, 3};
  const auto out = bi.forward(x, tg::Ids{5, 3});
  for (std::size_t b = 0; b < 2; ++b) {
    const std::size_t n = lengths[b];
    Array<double> reversed = xt::empty<double>({std::size_t{1}, n, std::size_t{3}});
    for (std::size_t t = 0; t < n; ++t) xt::view(reversed, 0, t) = xt::view(x.value(), b, n - 1 - t);
    const auto alone = backwards.forward(Tensor<double>(reversed), tg::Ids{static_cast<std::int64_t>(n)});
    for (std::size_t t = 0; t < n; ++t) {
      const Array<double> got = xt::view(out.states.value(), b, t, xt::range(2, 4));
      const Array<double> want = xt::view(alone.states.value(), 0, n - 1 - t);
      CHECK(max_abs_diff(got, want) <= 1e-12);
    }
    const Array<double> h_rev = xt::view(out.h_n.value(), 1, b), h_alone = xt::view(alone.h_n.value(), 0, 0);
    CHECK(max_abs_diff(h_rev, h_alone) <= 1e-12);
  }
}

TEST_CASE("lstm: inputs at padded positions get exactly zero gradient") {
  std::mt19937_64 rng(5);
  tg::LSTM<double> lstm(3, 2, rng, true);
  const Tensor<double> x = random_input({2, 4, 3}, 41);
  forward_backward(lstm, x, tg::Ids{4, 2});
  CHECK(xt::all(xt::equal(xt::view(x.grad(), 1, xt::range(2, 4)), 0.0)));
  CHECK(xt::any(xt::not_equal(xt::view(x.grad(), 1, xt::range(0, 2)), 0.0)));
}

TEST_CASE("lstm: a sequence of length 0 gives zero states and finite gradients") {
  std::mt19937_64 rng(6);
  tg::LSTM<double> lstm(3, 2, rng, true);
  const Tensor<double> x = random_input({2, 3, 3}, 51);
  const auto out = forward_backward(lstm, x, tg::Ids{3, 0});
  CHECK(xt::all(xt::equal(xt::view(out.states.value(), 1), 0.0)));
  CHECK(xt::all(xt::equal(xt::view(out.h_n.value(), xt::all(), 1), 0.0)));
  CHECK(xt::all(xt::isfinite(x.grad())));
  for (const auto& p : lstm.parameters()) CHECK(xt::all(xt::isfinite(p.grad())));
}

TEST_CASE("lstm: a mask and the equivalent lengths give the same result") {
  std::mt19937_64 rng(7);
  tg::LSTM<double> lstm(3, 2, rng, true);
  const Tensor<double> x = random_input({2, 3, 3}, 61);
  const tg::Mask mask = {{true, true, true}, {true, false, false}};
  CHECK(tg::sequence_mask(tg::Ids{3, 1}, 3) == mask);
  const auto a = lstm.forward(x, mask), b = lstm.forward(x, tg::Ids{3, 1});
  CHECK(a.states.value() == b.states.value());
  CHECK(a.h_n.value() == b.h_n.value());
}

TEST_CASE("lstm: bad shapes and lengths throw naming the layer and the shapes") {
  std::mt19937_64 rng(8);
  tg::LSTM<double> lstm(3, 2, rng);
  const Tensor<double> x = random_input({2, 3, 3}, 71);
  CHECK_THROWS_WITH_AS(lstm.forward(random_input({2, 3, 4}, 1), tg::Ids{3, 3}),
                       "LSTM(3, 2): input (2,3,4) is not (B,T,3) with B, T ≥ 1", tg::Error);
  CHECK_THROWS_WITH_AS(lstm.forward(x, tg::Ids{3}), "LSTM(3, 2): lengths (1) do not match input (2,3,3)",
                       tg::Error);
  CHECK_THROWS_WITH_AS(lstm.forward(x, tg::Ids{3, 4}), "sequence_mask: length 4 of sequence 1 is not in [0,3]",
                       tg::Error);
  CHECK_THROWS_WITH_AS(lstm.forward(x, tg::Mask(xt::ones<bool>({2, 4}))),
                       "LSTM(3, 2): mask (2,4) does not match input (2,3,3)", tg::Error);
}
