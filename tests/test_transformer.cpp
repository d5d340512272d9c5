// Tests of the Transformer encoder (nn/transformer, nn/multihead_attention, nn/layer_norm):
// PyTorch's state_dict names, the tiny reference model of ../shared/fixtures/
// encoder-transformer.npz (states, logits, α, loss, every gradient, two clip + Adam steps),
// central-difference gradient checks of LayerNorm, the attention block, one layer and the
// whole encoder with padding present, and the padding semantics (padded keys get exactly
// zero weight; padding changes nothing at real positions).
#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>
#include <random>
#include <string>
#include <tuple>
#include <type_traits>
#include <vector>

#include <fmt/format.h>
#include <xtensor/xview.hpp>

#include "autograd/autograd.hpp"
#include "fixture_helpers.hpp"
#include "helpers.hpp"
#include "nn/embedding.hpp"
#include "nn/linear.hpp"
#include "nn/lstm.hpp"
#include "nn/optim.hpp"
#include "nn/pooling.hpp"
#include "nn/transformer.hpp"

namespace {

using tg::Array;
using tg::Tensor;
using tg::test::check_close;
using tg::test::Fixture;

// The fixture's model: V = 12, d = 6, 2 heads of 3, F = 8, one layer, P = 8, 3 classes.
constexpr std::size_t kVocab = 12, kWidth = 6, kClasses = 3;
constexpr tg::TransformerSettings kFixtureSettings{
    .d_model = kWidth, .heads = 2, .feedforward = 8, .layers = 1, .max_positions = 8};

// Embedding (+ positions) → TransformerEncoder → attention pooling → Linear, with the
// state_dict names of the fixture's PyTorch model.
template <class T>
struct TinyTransformer : tg::Module<T> {
  explicit TinyTransformer(std::mt19937_64& rng)
      : embedding(kVocab, kWidth, rng),
        encoder(kFixtureSettings, rng),
        attention(kWidth, rng),
        classifier(kWidth, kClasses, rng) {
    this->register_module("embedding", embedding);
    this->register_module("", encoder);  // "position.weight" and "transformer.…" as they are
    this->register_module("attention", attention);
    this->register_module("classifier", classifier);
  }

  struct Run {
    Tensor<T> states, logits, alpha;
  };
  Run run(const tg::Ids& ids, const tg::Ids& lengths) const {
    const tg::Mask mask = tg::sequence_mask(lengths, ids.shape()[1]);
    const Tensor<T> states = encoder.encode(embedding.forward(ids), mask);
    const tg::Pooled<T> pooled = attention.forward(states, mask);
    return {states, classifier.forward(pooled.pooled), pooled.alpha};
  }
  // (logits, α), the face tg::test::train_step expects.
  tg::Pooled<T> forward(const tg::Ids& ids, const tg::Ids& lengths) const {
    const Run r = run(ids, lengths);
    return {r.logits, r.alpha};
  }

  tg::Embedding<T> embedding;
  tg::TransformerEncoder<T> encoder;
  tg::AttentionPooling<T> attention;
  tg::Linear<T> classifier;
};

// One row of the printed comparison: what, and max |ours − PyTorch's|.
using Errors = std::vector<std::pair<std::string, double>>;

// Everything the fixture holds, checked at tolerance `tol` in the scalar T; returns the errors.
template <class T>
Errors check_fixture(double tol) {
  const std::string path = std::string(TG_SHARED_DIR) + "/fixtures/encoder-transformer.npz";
  Errors errors;
  if (!std::filesystem::exists(path)) {
    MESSAGE("skipped: " << path << " is absent");
    return errors;
  }
  const Fixture f{path, tg::read_npz(path)};
  std::mt19937_64 rng(0);
  TinyTransformer<T> model(rng);
  tg::test::load_weights(model, f);
  const tg::Ids ids = f.get<std::int64_t>("input.ids"), lengths = f.get<std::int64_t>("input.lengths");
  const Array<T> positions = model.encoder.position.value();

  {
    tg::Tape<T> tape;
    const auto out = model.run(ids, lengths);
    const Tensor<T> loss = tg::cross_entropy(out.logits, f.get<std::int64_t>("input.labels"));
    tape.backward(loss);
    // States at real positions only: at padded ones both sides hold values nobody reads.
    const tg::Mask real = f.get<bool>("output.states_mask");
    Array<T> states = out.states.value();
    Array<double> want = f.get<double>("output.states");
    for (std::size_t b = 0; b < real.shape()[0]; ++b)
      for (std::size_t t = 0; t < real.shape()[1]; ++t)
        if (!real(b, t))
          for (std::size_t k = 0; k < kWidth; ++k) {
            states(b, t, k) = T(0);
            want(b, t, k) = 0;
          }
    errors.emplace_back("output.states (real positions)", check_close<T>("output.states", states, want, tol));
    for (const auto& [key, got] : {std::pair{"output.logits", out.logits}, std::pair{"output.alpha", out.alpha}})
      errors.emplace_back(key, check_close<T>(key, got.value(), f.get<double>(key), tol));
    CHECK(tg::Mask(xt::equal(out.alpha.value(), T(0))) == tg::Mask(xt::equal(f.get<double>("output.alpha"), 0.0)));
    errors.emplace_back("output.loss", check_close<T>("output.loss", loss.value(), f.get<double>("output.loss"), tol));
    for (auto& [name, p] : model.named_parameters())
      errors.emplace_back("grad." + name, check_close<T>("grad." + name, p.grad(), f.get<double>("grad." + name), tol));
    // Position rows 6 and 7 are past the padded length: exactly zero gradient.
    const Array<T>& dposition = model.encoder.position.grad();
    for (std::size_t t = 6; t < 8; ++t)
      for (std::size_t k = 0; k < kWidth; ++k) CHECK(dposition(t, k) == T(0));
    model.zero_grad();
  }

  tg::Adam<T> adam(model.named_parameters(), {.lr = 2e-3});
  for (int step = 1; step <= 2; ++step) {
    const auto [loss, norm] = tg::test::train_step(model, adam, f);
    if (step == 1)
      errors.emplace_back("output.grad_norm",
                          check_close<T>("output.grad_norm", Array<T>(norm), f.get<double>("output.grad_norm"), tol));
    // The worst parameter, and the worst but in_proj_bias, whose b_K part moves by
    // Adam-amplified rounding noise (~1e-13; the fixture README explains).
    double worst = 0, worst_but_bias = 0;
    std::string worst_name;
    for (auto& [name, p] : model.named_parameters()) {
      const std::string key = fmt::format("step{}.{}", step, name);
      double e = 0;
      if (std::is_same_v<T, float> && name.find("in_proj_bias") != std::string::npos) {
        // b_K's true gradient is 0 (a bias added to every key shifts every score of a query
        // alike, and softmax ignores that), so its gradient is rounding noise, and Adam turns
        // noise of either sign into steps of up to lr: in float its rows may move by up to
        // lr per step in either direction. b_Q and b_V are checked at tol as the rest.
        const Array<double> want = f.get<double>(key);
        const Array<T> got = p.value();
        for (std::size_t i = 0; i < want.size(); ++i) {
          const bool key_bias = i >= kWidth && i < 2 * kWidth;
          const double d = std::abs(double(got(i)) - want(i));
          CHECK_MESSAGE(d <= (key_bias ? 2 * step * 2e-3 : tol * std::max(1.0, std::abs(want(i)))), key << "[" << i << "]");
          if (!key_bias) e = std::max(e, d);
        }
      } else {
        e = check_close<T>(key, p.value(), f.get<double>(key), tol);
      }
      if (e >= worst) std::tie(worst, worst_name) = std::pair(e, key);
      if (name.find("in_proj_bias") == std::string::npos) worst_but_bias = std::max(worst_but_bias, e);
    }
    errors.emplace_back(fmt::format("step{} (worst: {})", step, worst_name), worst);
    errors.emplace_back(fmt::format("step{} (worst but in_proj_bias)", step), worst_but_bias);
    const Array<T> unused_rows = xt::view(model.encoder.position.value(), xt::range(6, 8), xt::all());
    CHECK(unused_rows == Array<T>(xt::view(positions, xt::range(6, 8), xt::all())));
  }
  return errors;
}

// Every parameter of `module` set to uniform(lo, hi) draws: LayerNorm's 1 and 0 and the
// attention's zero biases would leave terms of the backward untested.
void randomise(const tg::Module<double>& module, std::uint64_t seed, double lo = -0.5, double hi = 0.5) {
  for (auto& p : module.parameters())
    p.mutable_value() = tg::test::random_array(tg::Shape(p.shape().begin(), p.shape().end()), seed++, lo, hi);
}

Tensor<double> flat(const Tensor<double>& t) { return tg::reshape(t, {t.size()}); }

// (B,T,d) = (3,4,4); lengths 4, 2, 3: every sequence but the first has padded keys.
const tg::Mask kMask = tg::sequence_mask(tg::Ids{4, 2, 3}, 4);
constexpr tg::TransformerSettings kSmall{.d_model = 4, .heads = 2, .feedforward = 5, .layers = 2, .max_positions = 6};

}  // namespace

TEST_CASE("transformer: parameters have PyTorch's state_dict names and shapes, in its order") {
  std::mt19937_64 rng(1);
  TinyTransformer<double> model(rng);
  const std::vector<std::pair<std::string, tg::Shape>> want = {
      {"embedding.weight", {12, 6}},
      {"position.weight", {8, 6}},
      {"transformer.layers.0.self_attn.in_proj_weight", {18, 6}},
      {"transformer.layers.0.self_attn.in_proj_bias", {18}},
      {"transformer.layers.0.self_attn.out_proj.weight", {6, 6}},
      {"transformer.layers.0.self_attn.out_proj.bias", {6}},
      {"transformer.layers.0.linear1.weight", {8, 6}},
      {"transformer.layers.0.linear1.bias", {8}},
      {"transformer.layers.0.linear2.weight", {6, 8}},
      {"transformer.layers.0.linear2.bias", {6}},
      {"transformer.layers.0.norm1.weight", {6}},
      {"transformer.layers.0.norm1.bias", {6}},
      {"transformer.layers.0.norm2.weight", {6}},
      {"transformer.layers.0.norm2.bias", {6}},
      {"transformer.norm.weight", {6}},
      {"transformer.norm.bias", {6}},
      {"attention.context", {6}},
      {"attention.proj.weight", {6, 6}},
      {"attention.proj.bias", {6}},
      {"classifier.weight", {3, 6}},
      {"classifier.bias", {3}}};
  const auto got = model.named_parameters();
  REQUIRE(got.size() == want.size());
  for (std::size_t k = 0; k < want.size(); ++k) {
    CHECK(got[k].first == want[k].first);
    CHECK(got[k].second.name() == want[k].first);  // the tensors' own names follow
    CHECK(tg::shapes_equal(got[k].second.shape(), want[k].second));
  }
  // PyTorch's start: LayerNorms at 1 and 0, the attention's biases at 0.
  CHECK(model.encoder.transformer.norm.weight.value() == Array<double>(xt::ones<double>({6})));
  CHECK(model.encoder.transformer.layers[0]->self_attn.in_proj_bias.value() == Array<double>(xt::zeros<double>({18})));
  CHECK(model.encoder.transformer.layers[0]->self_attn.out_proj.bias.value() == Array<double>(xt::zeros<double>({6})));
  CHECK(model.encoder.output_size() == 6);
  CHECK_FALSE(model.encoder.reversed_half());
}

TEST_CASE("transformer fixture (double): states, logits, α, loss, gradients and two Adam steps match PyTorch to 1e-9") {
  const Errors errors = check_fixture<double>(1e-9);
  std::string table = fmt::format("\n{:<60} {:>10}\n", "quantity", "max |diff|");
  for (const auto& [what, e] : errors) table += fmt::format("{:<60} {:>10.2e}\n", what, e);
  if (!errors.empty()) MESSAGE(table);
}

TEST_CASE("transformer fixture (float): the same model in float matches PyTorch to 1e-4 relative") {
  check_fixture<float>(1e-4);
}

TEST_CASE("layer norm module: gradient matches central differences w.r.t. x, weight and bias") {
  tg::LayerNorm<double> norm(5);
  randomise(norm, 30, 0.5, 1.5);
  Tensor<double> x(tg::test::random_array({2, 3, 5}, 31, -2, 2), true, "x");
  std::vector<Tensor<double>> wrt = norm.parameters();
  wrt.push_back(x);
  const auto report = tg::gradcheck([&] { return norm.forward(x); }, wrt);
  CHECK_MESSAGE(report.ok, report.str());
  CHECK(report.elements_checked == x.size() + 10);
}

TEST_CASE("multi-head attention: gradient matches central differences with padded keys") {
  std::mt19937_64 rng(2);
  tg::MultiheadAttention<double> attention(4, 2, rng);
  randomise(attention, 40);
  Tensor<double> x(tg::test::random_array({3, 4, 4}, 41, -1, 1), true, "x");
  std::vector<Tensor<double>> wrt = attention.parameters();
  wrt.push_back(x);
  const auto report = tg::gradcheck(
      [&] {
        const auto out = attention.forward(x, kMask);
        return tg::concat<double>({flat(out.output), flat(out.weights)}, 0);
      },
      wrt);
  CHECK_MESSAGE(report.ok, report.str());
  CHECK(report.elements_checked == x.size() + attention.parameter_count());
}

TEST_CASE("transformer layer and encoder: gradients match central differences with padding") {
  std::mt19937_64 rng(3);
  SUBCASE("one pre-LN layer") {
    tg::TransformerEncoderLayer<double> layer(kSmall, rng);
    randomise(layer, 50);
    Tensor<double> x(tg::test::random_array({3, 4, 4}, 51, -1, 1), true, "x");
    std::vector<Tensor<double>> wrt = layer.parameters();
    wrt.push_back(x);
    const auto report = tg::gradcheck([&] { return layer.forward(x, kMask).output; }, wrt);
    CHECK_MESSAGE(report.ok, report.str());
    CHECK(report.elements_checked == x.size() + layer.parameter_count());
  }
  SUBCASE("the whole encoder: positions, two layers, the final LayerNorm") {
    tg::TransformerEncoder<double> encoder(kSmall, rng);
    randomise(encoder, 60);
    Tensor<double> x(tg::test::random_array({3, 4, 4}, 61, -1, 1), true, "x");
    std::vector<Tensor<double>> wrt = encoder.parameters();
    wrt.push_back(x);
    const auto report = tg::gradcheck([&] { return encoder.encode(x, kMask); }, wrt);
    CHECK_MESSAGE(report.ok, report.str());
    CHECK(report.elements_checked == x.size() + encoder.parameter_count());
  }
}

TEST_CASE("transformer: padding changes nothing at real positions, padded keys get exactly zero weight and gradient") {
  std::mt19937_64 rng(4);
  tg::TransformerEncoder<double> encoder(kSmall, rng);
  randomise(encoder, 70);
  const tg::Ids lengths{4, 2, 3};
  // The same sequences padded to T = 4 and to T = 6, with different garbage at padding.
  const Array<double> short_x = tg::test::random_array({3, 4, 4}, 71);
  Array<double> long_x = tg::test::random_array({3, 6, 4}, 72);
  for (std::size_t b = 0; b < 3; ++b)
    for (std::size_t t = 0; t < std::size_t(lengths(b)); ++t)
      for (std::size_t k = 0; k < 4; ++k) long_x(b, t, k) = short_x(b, t, k);
  Tensor<double> xs(short_x, true), xl(long_x, true);
  const tg::Mask short_mask = tg::sequence_mask(lengths, 4), long_mask = tg::sequence_mask(lengths, 6);

  tg::Tape<double> tape;
  const auto short_out = encoder.forward(xs, short_mask), long_out = encoder.forward(xl, long_mask);
  double diff = 0;
  for (std::size_t b = 0; b < 3; ++b)
    for (std::size_t t = 0; t < std::size_t(lengths(b)); ++t)
      for (std::size_t k = 0; k < 4; ++k)
        diff = std::max(diff, std::abs(short_out.states.value()(b, t, k) - long_out.states.value()(b, t, k)));
  CHECK(diff < 1e-13);

  // Every layer's every head gives padded keys exactly 0 weight.
  for (const auto& weights : long_out.attention) {
    REQUIRE(tg::shapes_equal(weights.shape(), tg::Shape{3, 2, 6, 6}));
    for (std::size_t b = 0; b < 3; ++b)
      for (std::size_t j = 0; j < 2; ++j)
        for (std::size_t t = 0; t < 6; ++t)
          for (std::size_t s = std::size_t(lengths(b)); s < 6; ++s) CHECK(weights.value()(b, j, t, s) == 0.0);
  }

  // A loss that reads real positions only (as every pooling does) sends padded inputs
  // exactly zero gradient.
  Array<double> real = xt::zeros<double>({3, 6, 1});
  for (std::size_t b = 0; b < 3; ++b)
    for (std::size_t t = 0; t < std::size_t(lengths(b)); ++t) real(b, t, 0) = 1;
  const Tensor<double> r(tg::test::random_array({3, 6, 4}, 73));
  tape.backward(tg::sum(long_out.states * r * Tensor<double>(real)));
  for (std::size_t b = 0; b < 3; ++b)
    for (std::size_t t = 0; t < 6; ++t)
      for (std::size_t k = 0; k < 4; ++k) {
        if (t >= std::size_t(lengths(b))) {
          CHECK(xl.grad()(b, t, k) == 0.0);
        } else {
          CHECK(xl.grad()(b, t, k) != 0.0);
        }
      }
}

TEST_CASE("transformer: bad settings and inputs throw one line naming them") {
  std::mt19937_64 rng(5);
  CHECK(tg::test::error_of([&] { tg::TransformerEncoder<double>({.d_model = 6, .heads = 4}, rng); }) ==
        "Transformer: 4 heads do not divide d_model = 6");
  tg::TransformerEncoder<double> encoder(kSmall, rng);
  CHECK(tg::test::error_of([&] { encoder.encode(Tensor<double>(Array<double>(xt::zeros<double>({1, 7, 4}))),
                                                tg::sequence_mask(tg::Ids{7}, 7)); }) ==
        "TransformerEncoder: 7 positions, but max_positions is 6");
  CHECK(tg::test::error_of([&] { encoder.encode(Tensor<double>(Array<double>(xt::zeros<double>({1, 3, 5}))),
                                                tg::sequence_mask(tg::Ids{3}, 3)); }) ==
        "TransformerEncoder(d_model=4): x (1,3,5) and mask (1,3) are not (B,T,4) and (B,T)");
}
