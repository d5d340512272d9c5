// Tests of nn/pooling: attention against a softmax worked by hand, gradient checks with
// padding present, exactly zero α and gradient at padding, rows with no real position,
// and last-state / mean pooling picking the right positions.
#include <doctest/doctest.h>

#include <cmath>
#include <random>

#include <xtensor/xview.hpp>

#include "autograd/autograd.hpp"
#include "helpers.hpp"
#include "nn/init.hpp"
#include "nn/pooling.hpp"

namespace {

using tg::Array;
using tg::Tensor;

Tensor<double> random_states(const tg::Shape& shape, std::uint64_t seed) {
  return Tensor<double>(tg::test::random_array(shape, seed), true, "states");
}

// (B,T) = (2,3); the second sequence has one padded position.
const tg::Mask kMask = {{true, true, true}, {true, true, false}};

// pooled and α flattened into one vector, so one gradcheck covers both.
void check_gradients(const tg::Pooling<double>& pooling, std::size_t dim) {
  Tensor<double> states = random_states({2, 3, dim}, 3);
  std::vector<Tensor<double>> wrt = pooling.parameters();
  wrt.push_back(states);
  const auto report = tg::gradcheck(
      [&] {
        const auto out = pooling.forward(states, kMask);
        return tg::concat<double>({tg::reshape(out.pooled, {out.pooled.size()}),
                                   tg::reshape(out.alpha, {out.alpha.size()})}, 0);
      },
      wrt);
  CHECK_MESSAGE(report.ok, report.str());
  CHECK(report.elements_checked == states.size() + pooling.parameter_count());
}

}  // namespace

TEST_CASE("attention pooling: parameters are proj.weight, proj.bias and context") {
  std::mt19937_64 rng(1);
  tg::AttentionPooling<double> attention(4, rng);
  const auto params = attention.named_parameters();
  REQUIRE(params.size() == 3);
  CHECK(params[0].first == "context");
  CHECK(tg::shapes_equal(params[0].second.shape(), tg::Shape{4}));
  CHECK(xt::amax(xt::abs(params[0].second.value()))() <= 0.5);  // 1/√4
  CHECK(params[1].first == "proj.weight");
  CHECK(tg::shapes_equal(params[1].second.shape(), tg::Shape{4, 4}));
  CHECK(params[2].first == "proj.bias");
}

TEST_CASE("attention pooling: α and s match the equations worked by hand") {
  std::mt19937_64 rng(1);
  tg::AttentionPooling<double> attention(2, rng);
  attention.proj.weight.mutable_value() = Array<double>{{0.5, -1.0}, {1.0, 0.25}};
  attention.proj.bias.mutable_value() = Array<double>{0.1, -0.2};
  attention.context.mutable_value() = Array<double>{1.5, -0.5};
  // h₀ = (1, 2), h₁ = (−1, 0.5), h₂ = (3, 3) is padding.
  const Tensor<double> states(Array<double>{{{1.0, 2.0}, {-1.0, 0.5}, {3.0, 3.0}}});
  const auto out = attention.forward(states, tg::Mask{{true, true, false}});
  // W h₀ + b = (0.5 − 2 + 0.1, 1 + 0.5 − 0.2) = (−1.4, 1.3)
  //   u₀ = (tanh −1.4, tanh 1.3) = (−0.8853516482022625, 0.8617231593133063)
  //   e₀ = 1.5·u₀₀ − 0.5·u₀₁ = −1.7588890519600469
  // W h₁ + b = (−0.5 − 0.5 + 0.1, −1 + 0.125 − 0.2) = (−0.9, −1.075)
  //   u₁ = (−0.7162978701990245, −0.7913375537619973), e₁ = −0.6787780284175381
  // α₀ = e^e₀ / (e^e₀ + e^e₁) = 0.25348500706262445, α₁ = 0.7465149929373757, α₂ = 0
  // s = α₀ h₀ + α₁ h₁ = (−0.4930299858747512, 0.8802275105939368)
  CHECK(out.alpha.value()(0, 0) == doctest::Approx(0.25348500706262445).epsilon(1e-14));
  CHECK(out.alpha.value()(0, 1) == doctest::Approx(0.7465149929373757).epsilon(1e-14));
  CHECK(out.alpha.value()(0, 2) == 0.0);
  CHECK(out.pooled.value()(0, 0) == doctest::Approx(-0.4930299858747512).epsilon(1e-14));
  CHECK(out.pooled.value()(0, 1) == doctest::Approx(0.8802275105939368).epsilon(1e-14));
}

TEST_CASE("attention pooling: gradient matches central differences, with padding") {
  std::mt19937_64 rng(2);
  tg::AttentionPooling<double> attention(3, rng);
  check_gradients(attention, 3);
}

// The projection runs on the real positions only when there is padding, and on every
// position when there is none: the two must agree, sequence by sequence, and the path
// without padding must be gradient-checked too.
TEST_CASE("attention pooling: a padded batch gives each sequence what it gets alone, without padding") {
  std::mt19937_64 rng(6);
  tg::AttentionPooling<double> attention(3, rng);
  const Tensor<double> states = random_states({2, 3, 3}, 7);
  const auto batch = attention.forward(states, kMask);
  for (std::size_t b = 0; b < 2; ++b) {
    CAPTURE(b);
    const std::size_t length = b == 0 ? 3 : 2;
    Array<double> one = xt::view(states.value(), xt::range(b, b + 1), xt::range(0, length), xt::all());
    const auto alone = attention.forward(Tensor<double>(one), tg::Mask(xt::ones<bool>({std::size_t{1}, length})));
    CHECK(xt::allclose(xt::view(batch.pooled.value(), b), xt::view(alone.pooled.value(), 0), 1e-12, 1e-14));
    CHECK(xt::allclose(xt::view(batch.alpha.value(), b, xt::range(0, length)), xt::view(alone.alpha.value(), 0),
                       1e-12, 1e-14));
  }
  Tensor<double> full = random_states({2, 3, 3}, 8);
  std::vector<Tensor<double>> wrt = attention.parameters();
  wrt.push_back(full);
  const tg::Mask no_padding = xt::ones<bool>({std::size_t{2}, std::size_t{3}});
  const auto report = tg::gradcheck([&] { return attention.forward(full, no_padding).pooled; }, wrt);
  CHECK_MESSAGE(report.ok, report.str());
}

TEST_CASE("attention pooling: padded positions get exactly zero α and exactly zero gradient") {
  std::mt19937_64 rng(3);
  tg::AttentionPooling<double> attention(3, rng);
  Tensor<double> states = random_states({2, 3, 3}, 4);
  states.mutable_value()(1, 2, 0) = 50.0;  // a large padded value must not leak in either
  tg::Tape<double> tape;
  const auto out = attention.forward(states, kMask);
  tape.backward(tg::sum(tg::mul(out.pooled, Tensor<double>(random_states({2, 3}, 5).value()))));
  CHECK(out.alpha.value()(1, 2) == 0.0);
  CHECK(xt::all(xt::equal(xt::view(states.grad(), 1, 2), 0.0)));
  CHECK(xt::any(xt::not_equal(xt::view(states.grad(), 1, 1), 0.0)));
  CHECK(xt::sum(xt::view(out.alpha.value(), 1))() == doctest::Approx(1.0));
}

TEST_CASE("attention pooling: a row with no real position gives α = 0 and s = 0, never NaN") {
  std::mt19937_64 rng(4);
  tg::AttentionPooling<double> attention(3, rng);
  Tensor<double> states = random_states({2, 3, 3}, 6);
  tg::Tape<double> tape;
  const auto out = attention.forward(states, tg::Mask{{true, true, false}, {false, false, false}});
  tape.backward(tg::sum(out.pooled));
  CHECK(xt::all(xt::equal(xt::view(out.alpha.value(), 1), 0.0)));
  CHECK(xt::all(xt::equal(xt::view(out.pooled.value(), 1), 0.0)));
  CHECK(xt::all(xt::equal(xt::view(states.grad(), 1), 0.0)));
  for (const auto& p : attention.parameters()) CHECK(xt::all(xt::isfinite(p.grad())));
}

TEST_CASE("last-state pooling: takes h at length−1, not the last padded position") {
  const Tensor<double> states = random_states({2, 3, 4}, 7);
  const auto out = tg::LastStatePooling<double>().forward(states, kMask);
  const Array<double> want0 = xt::view(states.value(), 0, 2), want1 = xt::view(states.value(), 1, 1);
  CHECK(Array<double>(xt::view(out.pooled.value(), 0)) == want0);
  CHECK(Array<double>(xt::view(out.pooled.value(), 1)) == want1);
  CHECK(out.alpha.value() == Array<double>{{0, 0, 1}, {0, 1, 0}});
}

TEST_CASE("last-state pooling, bidirectional: forward h at length−1 and reverse h at position 0") {
  const Tensor<double> states = random_states({2, 3, 4}, 8);  // H = 2: forward 0:2, reverse 2:4
  const auto out = tg::LastStatePooling<double>(true).forward(states, kMask);
  const Array<double> want = {
      {states.value()(0, 2, 0), states.value()(0, 2, 1), states.value()(0, 0, 2), states.value()(0, 0, 3)},
      {states.value()(1, 1, 0), states.value()(1, 1, 1), states.value()(1, 0, 2), states.value()(1, 0, 3)}};
  CHECK(out.pooled.value() == want);
  CHECK(out.alpha.value() == Array<double>{{0, 0, 1}, {0, 1, 0}});
  CHECK_THROWS_AS(tg::LastStatePooling<double>(true).forward(random_states({2, 3, 3}, 1), kMask), tg::Error);
}

TEST_CASE("last-state pooling: gradient matches central differences, with padding") {
  check_gradients(tg::LastStatePooling<double>(false), 4);
  check_gradients(tg::LastStatePooling<double>(true), 4);
}

TEST_CASE("mean pooling: averages the real positions only, with α = 1/length there") {
  const Tensor<double> states = random_states({2, 3, 2}, 9);
  const auto out = tg::MeanPooling<double>().forward(states, kMask);
  const Array<double>& h = states.value();
  CHECK(out.pooled.value()(0, 1) == doctest::Approx((h(0, 0, 1) + h(0, 1, 1) + h(0, 2, 1)) / 3));
  CHECK(out.pooled.value()(1, 0) == doctest::Approx((h(1, 0, 0) + h(1, 1, 0)) / 2));
  CHECK(out.alpha.value() == Array<double>{{1.0 / 3, 1.0 / 3, 1.0 / 3}, {0.5, 0.5, 0}});
  const auto empty = tg::MeanPooling<double>().forward(states, tg::Mask{{true, false, false}, {false, false, false}});
  CHECK(xt::all(xt::equal(xt::view(empty.pooled.value(), 1), 0.0)));
  CHECK(xt::all(xt::equal(xt::view(empty.alpha.value(), 1), 0.0)));
}

TEST_CASE("mean pooling: gradient matches central differences, with padding") {
  check_gradients(tg::MeanPooling<double>(), 3);
}

TEST_CASE("pooling: states and mask that do not fit throw naming the layer and shapes") {
  std::mt19937_64 rng(5);
  tg::AttentionPooling<double> attention(3, rng);
  const Tensor<double> states = random_states({2, 4, 3}, 10);
  CHECK_THROWS_WITH_AS(attention.forward(states, kMask),
                       "AttentionPooling: states (2,4,3) and mask (2,3) are not (B,T,D) and (B,T)", tg::Error);
  CHECK_THROWS_WITH_AS(attention.forward(random_states({2, 3, 2}, 1), kMask),
                       "AttentionPooling(3): states (2,3,2) do not end in 3", tg::Error);
  CHECK_THROWS_AS(tg::MeanPooling<double>().forward(states, kMask), tg::Error);
  CHECK_THROWS_AS(tg::LastStatePooling<double>().forward(states, kMask), tg::Error);
}
