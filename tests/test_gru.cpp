// The GRU (nn/gru.hpp): PyTorch's names and shapes, gradients against central
// differences under both schedules, and the sentiment classifier with the "gru" encoder
// against PyTorch 1.13's reference values in ../shared/fixtures/encoder-gru*.npz (see its
// README): logits, α, the states at real positions, the last-state logits, the loss, every
// gradient and two clip_grad_norm + Adam steps. Skips the fixtures cleanly when absent.
#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>
#include <random>

#include <fmt/format.h>
#include <xtensor/xview.hpp>

#include "autograd/autograd.hpp"
#include "helpers.hpp"
#include "models/classifier/classifier.hpp"
#include "nn/gru.hpp"
#include "nn/npz.hpp"
#include "nn/optim.hpp"

namespace {

using tg::Array;
using tg::Tensor;

Tensor<double> all_outputs(const tg::GRUOutput<double>& out) {
  auto flat = [](const Tensor<double>& t) { return tg::reshape(t, {t.size()}); };
  return tg::concat<double>({flat(out.states), flat(out.h_n)}, 0);
}

void check_gradients(bool bidirectional, bool packed) {
  std::mt19937_64 rng(11);
  tg::GRU<double> gru(3, 2, rng, bidirectional);
  gru.packed = packed;
  Tensor<double> x(tg::test::random_array({3, 3, 3}, 12), true, "x");
  const tg::Mask mask = tg::sequence_mask(tg::Ids{2, 3, 1}, 3);  // unsorted, with padded positions
  std::vector<Tensor<double>> wrt = gru.parameters();
  wrt.push_back(x);
  const auto report = tg::gradcheck([&] { return all_outputs(gru.forward(x, mask)); }, wrt);
  CHECK_MESSAGE(report.ok, report.str());
  CHECK(report.elements_checked == x.size() + gru.parameter_count());
}

// ---- the fixtures ----------------------------------------------------------------

struct Fixture {
  std::string path;
  tg::NpzContents arrays;

  template <class T>
  Array<T> get(const std::string& key) const {
    const auto it = arrays.find(key);
    if (it == arrays.end()) throw tg::Error(path + ": no array " + key);
    return it->second.as<T>(path + ": " + key);
  }
};

// max |got − want| ≤ tol · max(1, max |want|), over the positions `where` is true (all when empty).
template <class T>
void check_close(const std::string& what, const Array<T>& got, const Array<double>& want, double tol) {
  REQUIRE_MESSAGE(tg::shapes_equal(got.shape(), want.shape()),
                  what << ": shape " << tg::shape_str(got.shape()) << ", want " << tg::shape_str(want.shape()));
  double diff = 0, scale = 1;
  for (std::size_t i = 0; i < want.size(); ++i) {
    diff = std::max(diff, std::abs(double(got.data()[i]) - want.data()[i]));
    scale = std::max(scale, std::abs(want.data()[i]));
  }
  CHECK_MESSAGE(diff <= tol * scale, what << ": max difference " << diff << " over scale " << scale);
}

// The real classifier, built by name from the registry: Embedding → "gru" → "attention" → Linear.
template <class T>
void check_fixture(const char* file, bool bidirectional, bool packed, double tol) {
  const std::string path = std::string(TG_SHARED_DIR) + "/fixtures/" + file;
  if (!std::filesystem::exists(path)) {
    MESSAGE("skipped: " << path << " is absent");
    return;
  }
  const Fixture f{path, tg::read_npz(path)};
  tg::SentimentClassifier<T> model({.vocab_size = 12, .embedding_dim = 5, .hidden_size = 4, .classes = 3,
                                    .encoder = "gru", .pooling = "attention", .bidirectional = bidirectional});
  dynamic_cast<tg::GRU<T>&>(*model.encoder).packed = packed;
  std::size_t names = 0;
  for (auto& [name, p] : model.named_parameters()) {
    Array<T> value = f.get<T>(name);
    REQUIRE_MESSAGE(tg::shapes_equal(value.shape(), p.shape()), name << ": fixture " << tg::shape_str(value.shape()));
    p.mutable_value() = std::move(value);
    ++names;
  }
  std::size_t grads = 0;
  for (const auto& [key, _] : f.arrays) grads += key.rfind("grad.", 0) == 0;
  CHECK(grads == names);

  const tg::Ids ids = f.get<std::int64_t>("input.ids"), labels = f.get<std::int64_t>("input.labels");
  const tg::Mask mask = tg::sequence_mask(f.get<std::int64_t>("input.lengths"), ids.shape()[1]);
  {
    tg::NoGrad<T> no_grad;
    const Tensor<T> states = model.encoder->encode(model.embedding.forward(ids), mask);
    const Array<bool> real = f.get<bool>("output.states_mask");
    CHECK(real == mask);
    Array<double> want = f.get<double>("output.states");
    Array<T> got = states.value();
    for (std::size_t b = 0; b < mask.shape()[0]; ++b)  // compare real positions only
      for (std::size_t t = 0; t < mask.shape()[1]; ++t)
        if (!mask(b, t)) xt::view(want, b, t, xt::all()) = 0, xt::view(got, b, t, xt::all()) = 0;
    check_close<T>("output.states", got, want, tol);
    const tg::LastStatePooling<T> last(model.encoder->reversed_half());
    check_close<T>("output.logits_last", model.classifier.forward(last.forward(states, mask).pooled).value(),
                   f.get<double>("output.logits_last"), tol);
  }
  {
    tg::Tape<T> tape;
    const tg::ClassifierOutput<T> out = model.forward(ids, mask);
    const Tensor<T> loss = tg::cross_entropy(out.logits, labels);
    tape.backward(loss);
    check_close<T>("output.logits", out.logits.value(), f.get<double>("output.logits"), tol);
    check_close<T>("output.alpha", out.alpha.value(), f.get<double>("output.alpha"), tol);
    CHECK(tg::Mask(xt::equal(out.alpha.value(), T(0))) == tg::Mask(xt::equal(f.get<double>("output.alpha"), 0.0)));
    check_close<T>("output.loss", loss.value(), f.get<double>("output.loss"), tol);
    for (auto& [name, p] : model.named_parameters())
      check_close<T>("grad." + name, p.grad(), f.get<double>("grad." + name), tol);
  }
  tg::Adam<T> adam(model.named_parameters(), {.lr = 2e-3});
  for (int step = 1; step <= 2; ++step) {
    adam.zero_grad();
    tg::Tape<T> tape;
    tape.backward(tg::cross_entropy(model.forward(ids, mask).logits, labels));
    const T norm = tg::clip_grad_norm(model.named_parameters(), 5.0);
    adam.step();
    if (step == 1) check_close<T>("output.grad_norm", Array<T>(norm), f.get<double>("output.grad_norm"), tol);
    for (auto& [name, p] : model.named_parameters()) {
      const std::string key = fmt::format("step{}.{}", step, name);
      check_close<T>(key, p.value(), f.get<double>(key), tol);
    }
  }
}

}  // namespace

TEST_CASE("gru: parameters have PyTorch's names, shapes and order, gates r, z, n stacked in 3H rows") {
  std::mt19937_64 rng(1);
  tg::GRU<double> gru(5, 4, rng, true);
  const std::vector<std::pair<std::string, tg::Shape>> want = {
      {"weight_ih_l0", {12, 5}},         {"weight_hh_l0", {12, 4}},         {"bias_ih_l0", {12}},
      {"bias_hh_l0", {12}},              {"weight_ih_l0_reverse", {12, 5}}, {"weight_hh_l0_reverse", {12, 4}},
      {"bias_ih_l0_reverse", {12}},      {"bias_hh_l0_reverse", {12}}};
  const auto got = gru.named_parameters();
  REQUIRE(got.size() == want.size());
  for (std::size_t k = 0; k < want.size(); ++k) {
    CHECK(got[k].first == want[k].first);
    CHECK(tg::shapes_equal(got[k].second.shape(), want[k].second));
    CHECK(xt::amax(xt::abs(got[k].second.value()))() <= 0.5);  // 1/√4
  }
  CHECK(gru.output_size() == 8);
  CHECK(gru.reversed_half());
}

TEST_CASE("gru: one step matches the equations worked by hand (E = H = 1)") {
  std::mt19937_64 rng(1);
  tg::GRU<double> gru(1, 1, rng);
  auto column = [](Array<double> a) {
    a.reshape({3, 1});
    return a;
  };
  gru.forward_weights.weight_ih.mutable_value() = column({0.5, -0.25, 1.0});  // rows r, z, n
  gru.forward_weights.weight_hh.mutable_value() = column({0.1, 0.2, -0.3});
  gru.forward_weights.bias_ih.mutable_value() = Array<double>{0.0, 0.5, 0.25};
  gru.forward_weights.bias_hh.mutable_value() = Array<double>{0.0, 0.0, 0.5};
  Array<double> x = {2.0};
  x.reshape({1, 1, 1});
  const auto out = gru.forward(Tensor<double>(x), tg::sequence_mask(tg::Ids{1}, 1));
  // h₀ = 0: r = σ(1), z = σ(−0.5 + 0.5) = 0.5, n = tanh(2 + 0.25 + r·0.5), h₁ = (1 − z)·n
  const double r = 1 / (1 + std::exp(-1.0)), n = std::tanh(2.25 + r * 0.5);
  CHECK(out.states.value()(0, 0, 0) == doctest::Approx(0.5 * n).epsilon(1e-14));
}

TEST_CASE("gru: the packed and masked schedules agree, and padding changes nothing") {
  for (bool bidirectional : {false, true}) {
    CAPTURE(bidirectional);
    std::mt19937_64 rng(3);
    tg::GRU<double> gru(3, 4, rng, bidirectional);
    const Tensor<double> x(tg::test::random_array({3, 5, 3}, 4));
    const tg::Mask mask = tg::sequence_mask(tg::Ids{3, 5, 1}, 5);
    const tg::GRUOutput<double> packed = gru.forward(x, mask);
    gru.packed = false;
    const tg::GRUOutput<double> masked = gru.forward(x, mask);
    CHECK(xt::allclose(packed.states.value(), masked.states.value(), 1e-14, 1e-14));
    CHECK(xt::allclose(packed.h_n.value(), masked.h_n.value(), 1e-14, 1e-14));
    for (std::size_t t = 3; t < 5; ++t) CHECK(xt::all(xt::equal(xt::view(packed.states.value(), 0, t), 0.0)));
    // The length-3 sequence alone, unpadded, gives the same states.
    const Tensor<double> alone(Array<double>(xt::view(x.value(), xt::range(0, 1), xt::range(0, 3), xt::all())));
    gru.packed = true;
    const Array<double> unpadded = gru.forward(alone, tg::sequence_mask(tg::Ids{3}, 3)).states.value();
    CHECK(xt::allclose(unpadded, xt::view(packed.states.value(), xt::range(0, 1), xt::range(0, 3), xt::all()), 1e-14,
                       1e-14));
  }
}

TEST_CASE("gru: unidirectional gradient matches central differences, with padding, both schedules") {
  check_gradients(false, true);
  check_gradients(false, false);
}

TEST_CASE("gru: bidirectional gradient matches central differences, with padding, both schedules") {
  check_gradients(true, true);
  check_gradients(true, false);
}

TEST_CASE("gru fixture (double): the gru encoder matches PyTorch's nn.GRU to 1e-9, both schedules") {
  for (bool packed : {true, false}) {
    CAPTURE(packed);
    check_fixture<double>("encoder-gru.npz", false, packed, 1e-9);
    check_fixture<double>("encoder-gru-bidirectional.npz", true, packed, 1e-9);
  }
}

TEST_CASE("gru fixture (float): the same model in float matches to 1e-4 relative") {
  check_fixture<float>("encoder-gru.npz", false, true, 1e-4);
  check_fixture<float>("encoder-gru-bidirectional.npz", true, true, 1e-4);
}
