// Tests for nn/optim: SGD and Adam(W) steps against numbers worked out by hand,
// PyTorch's rules for parameters without a gradient, clip_grad_norm, option
// checks, and one clip + Adam step against PyTorch's own numbers (the fixture).
#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>

#include <xtensor/xio.hpp>

#include "autograd/autograd.hpp"
#include "nn/npz.hpp"
#include "nn/optim.hpp"

using tg::Array;
using tg::Tensor;

namespace {

// A parameter holding `value` whose gradient is `grad`, as a backward would leave it.
Tensor<double> param(Array<double> value, const char* name) { return Tensor<double>(std::move(value), true, name); }

void set_grad(Tensor<double>& p, const Array<double>& g) { p.mutable_grad() = g; }

// 1e-14 is a few ulps at these magnitudes; a wrong formula (ε in the wrong place, a
// missing bias correction) is off by 1e-9 or more.
void check_close(const Array<double>& got, const Array<double>& want, double tol = 1e-14) {
  INFO("got  ", got);
  INFO("want ", want);
  REQUIRE(tg::shapes_equal(got.shape(), want.shape()));
  CHECK(xt::amax(xt::abs(got - want))() <= tol);
}

}  // namespace

// ---- SGD ----------------------------------------------------------------------

TEST_CASE("sgd: two momentum steps match the hand computation") {
  Tensor<double> p = param({1.0, -2.0}, "p");
  tg::SGD<double> sgd(std::vector{p}, {.lr = 0.1, .momentum = 0.9});
  // step 1: buf = g₁ = [0.5, −0.1] (no momentum yet); p = [1, −2] − 0.1·buf = [0.95, −1.99]
  set_grad(p, {0.5, -0.1});
  sgd.step();
  check_close(p.value(), {0.95, -1.99});
  // step 2: buf = 0.9·[0.5, −0.1] + [0.2, 0.3] = [0.65, 0.21]; p = [0.95 − 0.065, −1.99 − 0.021]
  set_grad(p, {0.2, 0.3});
  sgd.step();
  check_close(p.value(), {0.885, -2.011});
}

TEST_CASE("sgd: dampening leaves the first step alone, nesterov and weight decay as PyTorch") {
  Tensor<double> p = param({1.0, -2.0}, "p");
  tg::SGD<double> damped(std::vector{p}, {.lr = 0.1, .momentum = 0.9, .dampening = 0.5});
  set_grad(p, {0.5, -0.1});
  damped.step();  // buf = g₁ undamped: p = [0.95, −1.99]
  set_grad(p, {0.2, 0.3});
  damped.step();  // buf = 0.9·[0.5, −0.1] + 0.5·[0.2, 0.3] = [0.55, 0.06]; p −= 0.1·buf
  check_close(p.value(), {0.895, -1.996});

  Tensor<double> q = param({1.0, -2.0}, "q");
  tg::SGD<double> nesterov(std::vector{q}, {.lr = 0.1, .momentum = 0.9, .weight_decay = 0.1, .nesterov = true});
  set_grad(q, {0.5, -0.1});
  // g = [0.5, −0.1] + 0.1·[1, −2] = [0.6, −0.3]; buf = g; g + 0.9·buf = [1.14, −0.57]; q −= 0.1·that
  nesterov.step();
  check_close(q.value(), {0.886, -1.943});
}

// ---- Adam ---------------------------------------------------------------------

TEST_CASE("adam: two steps match the hand computation") {
  Tensor<double> p = param({1.0, -2.0, 0.5}, "p");
  tg::Adam<double> adam(std::vector{p}, {.lr = 0.1});
  // step 1, g = [0.5, −0.1, 0]: m = 0.1·g, v = 0.001·g², step_size = 0.1/(1 − 0.9) = 1,
  //   denom = √v/√0.001 + 1e-8 = |g| + 1e-8, so p −= 0.1·g/(|g| + 1e-8):
  //   [1 − 0.05/0.50000001, −2 + 0.01/0.10000001, 0.5 − 0] = [0.900000002, −1.90000001, 0.5]
  set_grad(p, {0.5, -0.1, 0.0});
  adam.step();
  check_close(p.value(), {0.900000002, -1.90000001, 0.5});
  // step 2, g = [0.2, 0.3, −0.4]: m = 0.9·m + 0.1·g = [0.065, 0.021, −0.04],
  //   v = 0.999·v + 0.001·g² = [2.8975e-4, 9.999e-5, 1.6e-4],
  //   step_size = 0.1/(1 − 0.81) = 0.526315789…, √(v/(1 − 0.998001)) = [0.380720, 0.223652, 0.282913],
  //   p −= step_size·m/(that + 1e-8) = [0.0898575, 0.0494190, −0.0744137]
  set_grad(p, {0.2, 0.3, -0.4});
  adam.step();
  check_close(p.value(), {0.8101424839029282, -1.9494189911200654, 0.5744136797264351});
}

TEST_CASE("adam: L2 weight decay enters the gradient, AdamW decays the weights directly") {
  // g = [0.5, −0.1], p = [1, 3], lr 0.1, weight_decay 0.1.
  Tensor<double> p = param({1.0, 3.0}, "p");
  tg::Adam<double> adam(std::vector{p}, {.lr = 0.1, .weight_decay = 0.1});
  set_grad(p, {0.5, -0.1});
  // Adam: g + 0.1·p = [0.6, 0.2] (the second flips sign), p −= 0.1·g/(|g| + 1e-8)
  adam.step();
  check_close(p.value(), {1 - 0.06 / 0.60000001, 3 - 0.02 / 0.20000001});

  Tensor<double> q = param({1.0, 3.0}, "q");
  tg::Adam<double> adamw(std::vector{q}, {.lr = 0.1, .weight_decay = 0.1, .decoupled_weight_decay = true});
  set_grad(q, {0.5, -0.1});
  // AdamW: q·(1 − 0.1·0.1) = [0.99, 2.97], then the plain step −0.1·g/(|g| + 1e-8)
  adamw.step();
  check_close(q.value(), {0.99 - 0.05 / 0.50000001, 2.97 + 0.01 / 0.10000001});
}

TEST_CASE("adam: a parameter no backward reached is skipped and its step count does not advance") {
  Tensor<double> p = param({1.0}, "p"), q = param({1.0}, "q");
  tg::Adam<double> adam(std::vector{p, q}, {.lr = 0.1});
  set_grad(p, {0.5});
  adam.step();
  CHECK_FALSE(q.has_grad());
  CHECK(q.value()(0) == 1.0);
  set_grad(q, {0.5});
  adam.step();
  // q's first step is a first step (−0.1·g/(|g| + 1e-8)), not p's second
  check_close(q.value(), {0.900000002});
  CHECK(p.value()(0) < 0.9);
}

TEST_CASE("optimiser: zero_grad zeroes gradients and a zero gradient still takes an SGD step with decay") {
  Tensor<double> p = param({2.0}, "p");
  tg::SGD<double> sgd(std::vector{p}, {.lr = 0.5, .weight_decay = 0.1});
  set_grad(p, {4.0});
  sgd.zero_grad();
  CHECK(p.has_grad());  // PyTorch 1.13: set_to_none=False
  CHECK(p.grad()(0) == 0.0);
  sgd.step();  // g = 0 + 0.1·2; p = 2 − 0.5·0.2
  check_close(p.value(), {1.9});
}

TEST_CASE("optimiser: bad options and non-parameters are refused naming them") {
  Tensor<double> p = param({1.0}, "p");
  CHECK_THROWS_WITH_AS(tg::SGD<double>(std::vector{p}, {}), doctest::Contains("SGD: lr"), tg::Error);
  CHECK_THROWS_WITH_AS(tg::SGD<double>(std::vector{p}, {.lr = 0.1, .nesterov = true}),
                       doctest::Contains("nesterov"), tg::Error);
  CHECK_THROWS_WITH_AS(tg::Adam<double>(std::vector{p}, {.beta1 = 1.0}), doctest::Contains("Adam: beta1 = 1"),
                       tg::Error);
  CHECK_THROWS_WITH_AS(tg::Adam<double>(std::vector{p}, {.lr = -1}), doctest::Contains("lr = -1"), tg::Error);
  tg::Tape<double> tape;
  const Tensor<double> not_leaf = p * 2.0;
  CHECK_THROWS_WITH_AS(tg::Adam<double>(tg::NamedTensors<double>{{"twice", not_leaf}}),
                       doctest::Contains("parameter twice"), tg::Error);
  tg::Adam<double> adam(std::vector{p});
  CHECK(adam.params()[0].first == "p");  // a tensor's own name, or its position
  CHECK_THROWS_WITH_AS(adam.set_lr(NAN), doctest::Contains("lr = nan"), tg::Error);
}

// ---- clip_grad_norm -----------------------------------------------------------

TEST_CASE("clip_grad_norm: returns the norm before clipping and scales by max/(norm + 1e-6)") {
  Tensor<double> a = param({0.0, 0.0}, "a"), b = param({{0.0, 0.0}}, "b"), c = param({1.0}, "c");
  set_grad(a, {3.0, 4.0});
  set_grad(b, {{12.0, 0.0}});
  // √(9 + 16 + 144) = 13; c has no gradient and counts for nothing
  CHECK(tg::clip_grad_norm(std::vector{a, b, c}, 6.5) == 13.0);
  const double s = 6.5 / (13 + 1e-6);
  check_close(a.grad(), {3 * s, 4 * s});
  check_close(b.grad(), {{12 * s, 0.0}});
  CHECK_FALSE(c.has_grad());
  // now the norm is 13·s ≈ 6.5 and max/(norm + 1e-6) = 10/6.5 > 1: nothing changes, bit for bit
  CHECK(tg::clip_grad_norm(std::vector{a, b, c}, 10.0) == doctest::Approx(13 * s).epsilon(1e-15));
  check_close(a.grad(), {3 * s, 4 * s}, 0);
}

TEST_CASE("clip_grad_norm: float gradients, a NaN norm is returned and nothing scaled") {
  Tensor<float> a(Array<float>{0.0f, 0.0f}, true, "a");
  a.mutable_grad() = Array<float>{3.0f, 4.0f};
  CHECK(tg::clip_grad_norm(tg::NamedTensors<float>{{"a", a}}, 1.0) == 5.0f);
  CHECK(a.grad()(1) == doctest::Approx(0.8f).epsilon(1e-6));
  a.mutable_grad() = Array<float>{NAN, 4.0f};
  CHECK(std::isnan(tg::clip_grad_norm(std::vector{a}, 1.0)));
  CHECK(a.grad()(1) == 4.0f);
  CHECK_THROWS_WITH_AS(tg::clip_grad_norm(std::vector{a}, 0.0), doctest::Contains("max_norm = 0"), tg::Error);
}

// ---- against PyTorch ------------------------------------------------------------

// The fixture holds PyTorch's gradients of every flagship parameter and the parameters
// after backward, clip_grad_norm(5) and Adam(lr 2e-3): the first step needs no model.
TEST_CASE_TEMPLATE("adam: one clip_grad_norm(5) + Adam(2e-3) step reproduces PyTorch's step1", T, float, double) {
  const std::string path = std::string(TG_SHARED_DIR) + "/fixtures/flagship-attention.npz";
  if (!std::filesystem::exists(path)) {
    MESSAGE("skipped: no fixture at " << path);
    return;
  }
  const tg::NpzContents fx = tg::read_npz(path);
  tg::NamedTensors<T> params;
  for (const auto& [key, grad] : fx) {
    if (!key.starts_with("grad.")) continue;
    const std::string name = key.substr(5);
    Tensor<T> p(fx.at(name).template as<T>(name), true, name);
    p.mutable_grad() = grad.template as<T>(key);
    params.emplace_back(name, p);
  }
  REQUIRE(params.size() == 10);  // embedding 1, LSTM 4, attention 3, classifier 2
  const double tol = std::is_same_v<T, double> ? 1e-12 : 1e-5;
  const double norm = tg::clip_grad_norm(params, 5.0);
  CHECK(norm == doctest::Approx(fx.at("output.grad_norm").template as<double>("grad_norm")()).epsilon(tol));
  tg::Adam<T> adam(params, {.lr = 2e-3});
  adam.step();
  for (const auto& [name, p] : params) {
    INFO(name);
    const Array<double> got = xt::cast<double>(p.value());
    CHECK(xt::amax(xt::abs(got - fx.at("step1." + name).template as<double>(name)))() <= tol);
  }
}

// ---- WeightAverage ------------------------------------------------------------

TEST_CASE("weight average: the bias-corrected EMA of two steps, and the trained weights back") {
  Tensor<double> p = param({1.0, -2.0}, "p");
  tg::WeightAverage<double> average(tg::NamedTensors<double>{{"p", p}}, 0.5);
  p.mutable_value() = {2.0, 0.0};  // after step 1: s = 0.5·[2, 0] = [1, 0]
  average.update();
  p.mutable_value() = {4.0, 2.0};  // after step 2: s = 0.5·[1, 0] + 0.5·[4, 2] = [2.5, 1]
  average.update();
  average.use_average();  // w̄ = s / (1 − 0.5²) = [10/3, 4/3]: weights 1/3 and 2/3 on the two steps
  check_close(p.value(), {10.0 / 3, 4.0 / 3});
  average.use_trained();
  check_close(p.value(), {4.0, 2.0});
  // One update: w̄ is that step's weights exactly, whatever the decay (no pull towards 0).
  tg::WeightAverage<double> slow(tg::NamedTensors<double>{{"p", p}}, 0.999);
  slow.update();
  slow.use_average();
  check_close(p.value(), {4.0, 2.0}, 1e-12);
  slow.use_trained();
  CHECK_THROWS_WITH_AS(tg::WeightAverage<double>(tg::NamedTensors<double>{{"p", p}}, 1.0),
                       doctest::Contains("decay 1 is not in (0, 1)"), tg::Error);
  tg::WeightAverage<double> fresh(tg::NamedTensors<double>{{"p", p}}, 0.9);
  CHECK_THROWS_WITH_AS(fresh.use_average(), doctest::Contains("before any update()"), tg::Error);
  CHECK_THROWS_WITH_AS(fresh.use_trained(), doctest::Contains("without use_average()"), tg::Error);
}
