// The tiny flagship model (Embedding → LSTM → pooling → Linear) against PyTorch 1.13's
// reference values in ../shared/fixtures (see its README): logits, α, loss, every
// gradient and two clip_grad_norm + Adam steps, in double to 1e-9 and in float to ~1e-4.
// Skips cleanly when the fixtures are absent.
#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>
#include <memory>
#include <random>

#include <fmt/format.h>

#include "autograd/autograd.hpp"
#include "fixture_helpers.hpp"
#include "nn/embedding.hpp"
#include "nn/linear.hpp"
#include "nn/lstm.hpp"
#include "nn/optim.hpp"
#include "nn/pooling.hpp"

namespace {

using tg::Array;
using tg::Tensor;
using tg::test::check_close;
using tg::test::Fixture;

constexpr std::size_t kVocab = 12, kEmbed = 5, kHidden = 4, kClasses = 3;

struct Variant {
  const char* file;
  bool attention, bidirectional;
};
constexpr Variant kVariants[] = {{"flagship-attention.npz", true, false},
                                 {"flagship-attention-bidirectional.npz", true, true},
                                 {"flagship-last.npz", false, false},
                                 {"flagship-last-bidirectional.npz", false, true}};

// The state_dict names of PyTorch's model: "embedding", "lstm", "attention", "classifier".
template <class T>
struct TinyFlagship : tg::Module<T> {
  TinyFlagship(const Variant& v, std::mt19937_64& rng)
      : embedding(kVocab, kEmbed, rng),
        lstm(kEmbed, kHidden, rng, v.bidirectional),
        pooling(v.attention ? std::unique_ptr<tg::Pooling<T>>(new tg::AttentionPooling<T>(lstm.output_size(), rng))
                            : std::unique_ptr<tg::Pooling<T>>(new tg::LastStatePooling<T>(v.bidirectional))),
        classifier(lstm.output_size(), kClasses, rng) {
    this->register_module("embedding", embedding);
    this->register_module("lstm", lstm);
    this->register_module(v.attention ? "attention" : "pooling", *pooling);
    this->register_module("classifier", classifier);
  }

  tg::Pooled<T> forward(const tg::Ids& ids, const tg::Ids& lengths) const {
    const tg::Mask mask = tg::sequence_mask(lengths, ids.shape()[1]);
    const Tensor<T> states = lstm.forward(embedding.forward(ids), mask).states;
    const tg::Pooled<T> pooled = pooling->forward(states, mask);
    return {classifier.forward(pooled.pooled), pooled.alpha};  // (logits, α)
  }

  tg::Embedding<T> embedding;
  tg::LSTM<T> lstm;
  std::unique_ptr<tg::Pooling<T>> pooling;
  tg::Linear<T> classifier;
};

// Everything the fixture holds, checked at tolerance `tol` in the scalar T.
template <class T>
void check_variant(const Variant& v, double tol) {
  const std::string path = std::string(TG_SHARED_DIR) + "/fixtures/" + v.file;
  if (!std::filesystem::exists(path)) {
    MESSAGE("skipped: " << path << " is absent");
    return;
  }
  const Fixture f{path, tg::read_npz(path)};
  std::mt19937_64 rng(0);
  TinyFlagship<T> model(v, rng);
  tg::test::load_weights(model, f);

  {
    tg::Tape<T> tape;
    const tg::Pooled<T> out = model.forward(f.get<std::int64_t>("input.ids"), f.get<std::int64_t>("input.lengths"));
    const Tensor<T> loss = tg::cross_entropy(out.pooled, f.get<std::int64_t>("input.labels"));
    tape.backward(loss);
    check_close<T>("output.logits", out.pooled.value(), f.get<double>("output.logits"), tol);
    check_close<T>("output.loss", loss.value(), f.get<double>("output.loss"), tol);
    if (v.attention) {
      check_close<T>("output.alpha", out.alpha.value(), f.get<double>("output.alpha"), tol);
      CHECK(tg::Mask(xt::equal(out.alpha.value(), T(0))) == tg::Mask(xt::equal(f.get<double>("output.alpha"), 0.0)));
    }
    for (auto& [name, p] : model.named_parameters())
      check_close<T>("grad." + name, p.grad(), f.get<double>("grad." + name), tol);
    model.zero_grad();
  }

  tg::Adam<T> adam(model.named_parameters(), {.lr = 2e-3});
  for (int step = 1; step <= 2; ++step) {
    const auto [loss, norm] = tg::test::train_step(model, adam, f);
    if (step == 1) {
      check_close<T>("output.loss (step 1)", Array<T>(loss), f.get<double>("output.loss"), tol);
      check_close<T>("output.grad_norm", Array<T>(norm), f.get<double>("output.grad_norm"), tol);
    }
    for (auto& [name, p] : model.named_parameters()) {
      const std::string key = fmt::format("step{}.{}", step, name);
      check_close<T>(key, p.value(), f.get<double>(key), tol);
    }
  }
}

}  // namespace

TEST_CASE("flagship fixture (double): logits, α, loss, gradients and two Adam steps match PyTorch to 1e-9") {
  for (const Variant& v : kVariants) {
    INFO(v.file);
    check_variant<double>(v, 1e-9);
  }
}

TEST_CASE("flagship fixture (float): the same model in float matches PyTorch to 1e-4 relative") {
  for (const Variant& v : kVariants) {
    INFO(v.file);
    check_variant<float>(v, 1e-4);
  }
}
