// Tests of the checker itself (autograd/gradcheck.hpp): it passes correct ops and
// fails deliberately wrong backwards, built here as custom ops with tg::record, with a
// report that names the input, the index and both values.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include <xtensor/xmath.hpp>

#include "autograd/autograd.hpp"

namespace {

using A = tg::Array<double>;
using Td = tg::Tensor<double>;
using Ctx = tg::BackwardContext<double>;

// square: result = x², whose backward hands on `factor` times the true dx = grad ⊙ 2x.
Td square(const Td& x, double factor) {
  return tg::record<double>("square", A(x.value() * x.value()), {x},
                            [factor](const Ctx& c) { c.accumulate(0, factor * 2.0 * c.grad() * c.input(0)); });
}

// a ⊙ b with a backward that forgets b: db should be grad ⊙ a.
Td mul_forgetting_b(const Td& a, const Td& b) {
  return tg::record<double>("mul_forgetting_b", A(a.value() * b.value()), {a, b},
                            [](const Ctx& c) { c.accumulate(0, c.grad() * c.input(1)); });
}

// softmax along axis 1 with dx = result ⊙ (grad − mean grad) instead of result ⊙ (grad − Σ grad ⊙ result).
// Both vanish when grad is all ones, so a check through plain sum() cannot tell them apart.
Td softmax_wrong_backward(const Td& x) {
  return tg::record<double>("softmax_wrong", A(tg::softmax(Td(x.value()), 1).value()), {x}, [](const Ctx& c) {
    const A mean = xt::mean(c.grad(), {1}, xt::keep_dims);
    c.accumulate(0, c.result() * (c.grad() - mean));
  });
}

const A x23{{0.5, -1, 2}, {1.5, -0.25, 3}};

}  // namespace

TEST_CASE("gradcheck: passes a correct composite of ops over every element") {
  Td x(x23, true, "x"), w(A{{0.1, -0.2, 0.3, 0.4}, {0.5, 0.6, -0.7, 0.8}, {-0.9, 1.0, 0.2, -0.1}}, true, "w");
  Td b(A{0.05, -0.1, 0.2, 0.3}, true, "b");
  const auto report = tg::gradcheck([&] { return tg::softmax(tg::tanh(tg::matmul(x, w) + b), 1); }, {x, w, b});
  CHECK_MESSAGE(report.ok, report.str());
  CHECK(report.elements_checked == 6 + 12 + 4);
  CHECK(report.mismatches.empty());
  CHECK(report.str().rfind("ok: 22 elements", 0) == 0);
}

TEST_CASE("gradcheck: passes the custom op when its backward is right") {
  Td x(x23, true, "x");
  const auto report = tg::gradcheck([&] { return square(x, 1.0); }, {x});
  CHECK_MESSAGE(report.ok, report.str());
}

TEST_CASE("gradcheck: a backward off by a factor of 2 fails, naming input, index, analytic and numeric") {
  Td x(x23, true, "x");
  const auto report = tg::gradcheck([&] { return square(x, 2.0); }, {x});
  CHECK_FALSE(report.ok);
  CHECK(report.elements_checked == 6);
  REQUIRE(report.mismatches.size() == 6);
  for (std::size_t j = 0; j < 6; ++j) {
    const auto& m = report.mismatches[j];
    CAPTURE(j);
    CHECK(m.input == "x");
    CHECK(m.index == std::vector<std::size_t>{j / 3, j % 3});
    CHECK(m.analytic == doctest::Approx(2 * m.numeric).epsilon(1e-6));
    CHECK(m.error == doctest::Approx(std::abs(m.analytic - m.numeric)));
  }
  const std::string text = report.str();
  CAPTURE(text);
  CHECK(text.rfind("gradcheck failed (6 elements checked", 0) == 0);
  CHECK(text.find("x at (1,2): analytic ") != std::string::npos);
  CHECK(text.find(", numeric ") != std::string::npos);
}

TEST_CASE("gradcheck: a backward that forgets an input fails on that input only") {
  Td a(x23, true, "a"), b(A{{2, 0.5, -1}, {1, 3, -2}}, true);  // b unnamed: reported as "input 1"
  const auto report = tg::gradcheck([&] { return mul_forgetting_b(a, b); }, {a, b});
  CHECK_FALSE(report.ok);
  CHECK(report.elements_checked == 12);
  REQUIRE(report.mismatches.size() == 6);
  for (const auto& m : report.mismatches) {
    CHECK(m.input == "input 1");
    CHECK(m.analytic == 0.0);
    CHECK(m.numeric != doctest::Approx(0.0));
  }
}

TEST_CASE("gradcheck: max_reported caps the listed mismatches, not the verdict") {
  Td x(x23, true, "x");
  tg::GradcheckOptions options;
  options.max_reported = 2;
  const auto two = tg::gradcheck([&] { return square(x, 2.0); }, {x}, options);
  CHECK_FALSE(two.ok);
  CHECK(two.elements_checked == 6);
  CHECK(two.mismatches.size() == 2);
  const std::string text = two.str();
  CHECK(std::count(text.begin(), text.end(), '\n') == 2);  // a header line, then one per mismatch
  options.max_reported = 0;
  const auto none = tg::gradcheck([&] { return square(x, 2.0); }, {x}, options);
  CHECK_FALSE(none.ok);
  CHECK(none.mismatches.empty());
}

TEST_CASE("gradcheck: a random upstream gradient catches a softmax backward that plain sum() hides") {
  Td x(x23, true, "x");
  {
    tg::Tape<double> tape;
    tape.backward(tg::sum(softmax_wrong_backward(x)));
  }
  CHECK(xt::all(xt::equal(x.grad(), 0.0)));  // the true gradient of Σ softmax is 0
  const auto report = tg::gradcheck([&] { return softmax_wrong_backward(x); }, {x});
  CHECK_FALSE(report.ok);
}

TEST_CASE("gradcheck: restores every perturbed value and refuses a tensor that needs no gradient") {
  Td x(x23, true, "x");
  tg::gradcheck([&] { return tg::exp(x); }, {x});
  CHECK(x.value() == x23);
  Td constant(x23);
  CHECK_THROWS_WITH_AS(tg::gradcheck([&] { return tg::exp(constant); }, {constant}),
                       "gradcheck: input 0 is not a leaf that requires a gradient", tg::Error);
}
