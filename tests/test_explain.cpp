// models/explain.hpp: per-token α, gradient × input and leave-one-out, each checked
// against a second computation (central differences; one forward per shortened sequence),
// and poolings without learned α explained all the same.
#include <doctest/doctest.h>

#include <cmath>
#include <numeric>

#include <xtensor/xview.hpp>

#include "autograd/autograd.hpp"
#include "models/data/batch.hpp"
#include "models/explain.hpp"

namespace {

using Model = tg::SentimentClassifier<double>;

tg::Batch one(const std::vector<std::int64_t>& ids) {
  const std::size_t row = 0;
  return tg::make_batch({ids}, {0}, std::span<const std::size_t>(&row, 1));
}

tg::Array<double> probabilities(Model& model, const std::vector<std::int64_t>& ids) {
  tg::NoGrad<double> no_grad;
  const tg::Batch b = one(ids);
  return tg::softmax(model.forward(b.ids, b.mask).logits, 1).value();
}

// p_y with the embedded tokens x given directly (the classifier's forward after its embedding).
double p_from_x(Model& model, const tg::Array<double>& x, const tg::Mask& mask, std::size_t y) {
  tg::NoGrad<double> no_grad;
  const tg::Tensor<double> states = model.encoder->encode(tg::Tensor<double>(x), mask);
  return tg::softmax(model.classifier.forward(model.pooling->forward(states, mask).pooled), 1).value()(0, y);
}

Model make_model(const std::string& pooling, bool bidirectional = false) {
  return Model({.vocab_size = 12, .embedding_dim = 5, .hidden_size = 4, .pooling = pooling,
                .bidirectional = bidirectional, .seed = 3});
}

}  // namespace

TEST_CASE("explain: gradient × input equals central differences along each token's embedding") {
  for (const bool bidirectional : {false, true}) {
    Model model = make_model("attention", bidirectional);
    const std::vector<std::int64_t> ids = {4, 7, 2, 9, 5, 11};
    const tg::Explanation e = tg::explain_ids(model, ids);
    REQUIRE(e.saliency.size() == ids.size());
    const tg::Batch b = one(ids);
    tg::Array<double> x;
    {
      tg::NoGrad<double> no_grad;
      x = model.embedding.forward(b.ids).value();
    }
    const double eps = 1e-6;
    for (std::size_t t = 0; t < ids.size(); ++t) {
      tg::Array<double> plus = x, minus = x;
      xt::view(plus, 0, t) *= 1 + eps;
      xt::view(minus, 0, t) *= 1 - eps;
      const std::size_t y = std::size_t(e.label);
      const double numeric = (p_from_x(model, plus, b.mask, y) - p_from_x(model, minus, b.mask, y)) / (2 * eps);
      CHECK(e.saliency[t] == doctest::Approx(numeric).epsilon(0).scale(1).epsilon(1e-8));
    }
    // Backward left no gradient behind in the parameters.
    for (const auto& [name, p] : model.named_parameters()) CHECK_MESSAGE(xt::all(xt::equal(p.grad(), 0.0)), name);
  }
}

TEST_CASE("explain: leave-one-out equals a forward of each shortened sequence, and probabilities are the model's") {
  Model model = make_model("attention");
  const std::vector<std::int64_t> ids = {3, 8, 8, 10, 2};
  const tg::Explanation e = tg::explain_ids(model, ids);
  const tg::Array<double> p = probabilities(model, ids);
  REQUIRE(e.probabilities.size() == 3);
  for (std::size_t c = 0; c < 3; ++c) CHECK(e.probabilities[c] == doctest::Approx(p(0, c)).epsilon(1e-14));
  const std::size_t y = std::size_t(e.label);
  for (std::size_t c = 0; c < 3; ++c) CHECK(p(0, y) >= p(0, c));
  REQUIRE(e.occlusion.size() == ids.size());
  for (std::size_t t = 0; t < ids.size(); ++t) {
    std::vector<std::int64_t> without = ids;
    without.erase(without.begin() + long(t));
    CHECK(e.occlusion[t] == doctest::Approx(p(0, y) - probabilities(model, without)(0, y)).epsilon(0).scale(1).epsilon(1e-13));
  }
  // A one-token sequence is compared with [<unk>], what the model reads for an empty text.
  const tg::Explanation single = tg::explain_ids(model, {6});
  const tg::Array<double> p6 = probabilities(model, {6});
  const std::size_t y6 = std::size_t(single.label);
  CHECK(single.occlusion[0] ==
        doctest::Approx(p6(0, y6) - probabilities(model, {tg::Vocabulary::kUnk})(0, y6)).epsilon(1e-13));
  CHECK_THROWS_AS(tg::explain_ids(model, {}), tg::Error);
}

TEST_CASE("explain: α is the attention pooling's, and absent with a reason for last and mean") {
  Model attention = make_model("attention");
  const std::vector<std::int64_t> ids = {4, 5, 6, 7};
  const tg::Explanation e = tg::explain_ids(attention, ids);
  REQUIRE(e.alpha);
  CHECK(std::accumulate(e.alpha->begin(), e.alpha->end(), 0.0) == doctest::Approx(1).epsilon(1e-12));
  {
    tg::NoGrad<double> no_grad;
    const tg::Batch b = one(ids);
    const tg::Array<double> alpha = attention.forward(b.ids, b.mask).alpha.value();
    for (std::size_t t = 0; t < ids.size(); ++t) CHECK((*e.alpha)[t] == doctest::Approx(alpha(0, t)).epsilon(1e-14));
  }
  CHECK(e.alpha_note.find("learned") != std::string::npos);
  CHECK(tg::pooling_learns_alpha(attention));
  for (const char* pooling : {"last", "mean"}) {
    Model model = make_model(pooling);
    CHECK_FALSE(tg::pooling_learns_alpha(model));
    const tg::Explanation fixed = tg::explain_ids(model, ids);
    CHECK_FALSE(fixed.alpha);
    CHECK(fixed.alpha_note.find(std::string("\"") + pooling + "\" pooling's weights are fixed") != std::string::npos);
    CHECK(fixed.saliency.size() == ids.size());
    CHECK(fixed.occlusion.size() == ids.size());
  }
}

TEST_CASE("explain: explain_text lines tokens up with the scores and marks unknown words") {
  Model model = make_model("attention");
  tg::Vocabulary vocab = tg::Vocabulary::build(std::vector<std::string_view>{"lost my bag", "lost my bag"},
                                               {.min_count = 1});
  const tg::Explanation e = tg::explain_text(model, vocab, "Lost my zebra bag");
  CHECK(e.tokens == std::vector<std::string>{"lost", "my", "zebra", "bag"});
  CHECK(e.known == std::vector<bool>{true, true, false, true});
  CHECK(e.saliency.size() == 4);
  const tg::Explanation empty = tg::explain_text(model, vocab, "!!!");
  CHECK(empty.tokens == std::vector<std::string>{std::string(tg::kUnkToken)});
  CHECK(empty.occlusion.size() == 1);
}
