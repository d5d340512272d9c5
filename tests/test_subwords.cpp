// Tests for the subword features (Note [Subword features], models/data/subwords.hpp): the
// hashed n-grams of a token, the bags of a batch, the EmbeddingBag layer (values and
// central differences), and the classifier that reads them: its gradients, word dropout,
// the parallel forward, explanations and a checkpoint round trip.
#include <doctest/doctest.h>

#include <algorithm>

#include <xtensor/xview.hpp>

#include "autograd/gradcheck.hpp"
#include "helpers.hpp"
#include "synthetic_split.hpp"
#include "models/checkpoint/sentiment_checkpoint.hpp"
#include "models/data/subwords.hpp"
#include "models/explain.hpp"
#include "models/training/parallel_forward.hpp"
#include "nn/embedding_bag.hpp"

using tg::test::ScratchDir;

TEST_CASE("subwords: a token's 3-5-grams of <token>, hashed by 32-bit FNV-1a into [1, buckets]") {
  // Python: h = 2166136261; for byte: h = ((h ^ byte) * 16777619) % 2**32; id = 1 + h % 20000,
  // over "<th", "thx", "hx>", "<thx", "thx>", "<thx>".
  CHECK(tg::subword_ids("thx", 20000) == std::vector<std::int64_t>{11152, 8172, 15002, 18774, 19728, 2770});
  CHECK(tg::subword_ids("a", 20000).size() == 1);  // "<a>": one 3-gram, no 4- or 5-gram
  for (const std::int64_t id : tg::subword_ids("jetbluerocks", 7)) CHECK((id >= 1 && id <= 7));
  CHECK(tg::subword_ids("<url>", 100).empty());
  CHECK(tg::subword_ids("<unk>", 100).empty());
  // A long run is cut to its first 20 characters: at most 20 + 19 + 18 n-grams.
  CHECK(tg::subword_ids(std::string(10000, 'a'), 100).size() == tg::kMaxSubwordsPerToken);
  CHECK(tg::subword_ids(std::string(10000, 'a'), 100) == tg::subword_ids(std::string(21, 'a'), 100));
  CHECK_THROWS_AS(tg::subword_ids("thx", 0), tg::Error);
  CHECK_THROWS_AS(tg::subword_ids("thx", tg::kMaxSubwordBuckets + 1), tg::Error);
}

TEST_CASE("subwords: a batch's bags line up with its ids, 0-padded, empty at padding and for <url>") {
  const std::vector<std::string> texts = {"thx @united", "!!!", "see http://x.co ok"};
  tg::Vocabulary vocab;
  std::vector<std::vector<std::int64_t>> ids;
  for (const std::string& t : texts) ids.push_back(vocab.encode(t));
  const std::vector<std::size_t> rows = {2, 0, 1};
  const tg::Batch batch = tg::make_batch(ids, {0, 0, 0}, rows);
  const tg::Ids bags = tg::batch_subword_bags(batch, texts, 50);
  REQUIRE(bags.dimension() == 3);
  CHECK(bags.shape()[0] == 3);
  CHECK(bags.shape()[1] == 3);  // "see <url> ok" is the longest
  CHECK(bags.shape()[2] == tg::subword_ids("united", 50).size());  // the longest bag
  const auto bag = [&](std::size_t b, std::size_t t) {
    std::vector<std::int64_t> out(&bags(b, t, 0), &bags(b, t, 0) + bags.shape()[2]);
    out.erase(std::remove(out.begin(), out.end(), 0), out.end());
    return out;
  };
  CHECK(bag(0, 0) == tg::subword_ids("see", 50));
  CHECK(bag(0, 1).empty());  // <url>
  CHECK(bag(0, 2) == tg::subword_ids("ok", 50));
  CHECK(bag(1, 0) == tg::subword_ids("thx", 50));
  CHECK(bag(1, 1) == tg::subword_ids("united", 50));
  CHECK(bag(1, 2).empty());  // padding
  CHECK(bag(2, 0).empty());  // "!!!" has no token: one <unk>, as encode() gives
  // Texts that do not match the ids are refused, not misaligned.
  CHECK_THROWS_AS(tg::batch_subword_bags(batch, std::vector<std::string>{"a", "b", "c"}, 50), tg::Error);
  CHECK_THROWS_AS(tg::batch_subword_bags(batch, std::vector<std::string>{"a"}, 50), tg::Error);
}

TEST_CASE("embedding bag: each bag is the mean of its rows, padding ids left out, an empty bag is zeros") {
  std::mt19937_64 rng(5);
  tg::EmbeddingBag<double> bag(6, 3, rng);
  CHECK(xt::all(xt::equal(xt::view(bag.weight.value(), 0, xt::all()), 0.0)));
  const tg::Ids bags = {{{1, 2, 0}, {3, 0, 0}}, {{0, 0, 0}, {1, 2, 0}}};
  const tg::Array<double> out = bag.forward(bags).value();
  REQUIRE(out.shape() == std::vector<std::size_t>{2, 2, 3});
  const tg::Array<double>& w = bag.weight.value();
  for (std::size_t e = 0; e < 3; ++e) {
    CHECK(out(0, 0, e) == doctest::Approx((w(1, e) + w(2, e)) / 2));
    CHECK(out(0, 1, e) == w(3, e));
    CHECK(out(1, 0, e) == 0.0);
    CHECK(out(1, 1, e) == out(0, 0, e));
  }
  CHECK_THROWS_AS(bag.forward(tg::Ids{{1, 6}}), tg::Error);
  CHECK_THROWS_AS(bag.forward(tg::Ids{1, 2}), tg::Error);
}

TEST_CASE("embedding bag: gradient matches central differences, repeated bags and padding present") {
  std::mt19937_64 rng(6);
  tg::EmbeddingBag<double> bag(7, 4, rng);
  const tg::Ids bags = {{{1, 2, 2}, {3, 0, 0}, {1, 2, 2}}, {{6, 5, 0}, {0, 0, 0}, {3, 0, 0}}};
  const auto report = tg::gradcheck([&] { return bag.forward(bags); }, bag.parameters());
  CHECK_MESSAGE(report.ok, report.str());
  tg::Tape<double> tape;
  tape.backward(tg::sum(bag.forward(bags)));
  CHECK(xt::all(xt::equal(xt::view(bag.weight.grad(), 0, xt::all()), 0.0)));  // the padding row never moves
  CHECK(xt::all(xt::equal(xt::view(bag.weight.grad(), 4, xt::all()), 0.0)));  // nor a row no bag holds
}

namespace {

tg::ClassifierConfig tiny_config(std::size_t buckets) {
  return {.vocab_size = 6, .embedding_dim = 3, .hidden_size = 2, .bidirectional = true, .seed = 4,
          .subword_buckets = buckets};
}

}  // namespace

TEST_CASE("classifier with subwords: every gradient matches central differences") {
  tg::SentimentClassifier<double> model(tiny_config(9));
  model.eval();
  const tg::Ids ids = {{2, 5, 1}, {3, 1, 0}};
  const tg::Mask mask = {{true, true, true}, {true, true, false}};
  const tg::Ids bags = {{{1, 4}, {9, 0}, {2, 2}}, {{1, 4}, {0, 0}, {0, 0}}};
  const auto report = tg::gradcheck([&] { return model.forward(ids, mask, &bags).logits; }, model.parameters());
  CHECK_MESSAGE(report.ok, report.str());
  CHECK(model.named_parameters().back().first == "subword_embedding.weight");
  CHECK(tg::classifier_parameter_count(model.config()) == [&] {
    std::size_t n = 0;
    for (const auto& [_, p] : model.named_parameters()) n += p.size();
    return n;
  }());
}

TEST_CASE("classifier with subwords: the other layers' weights are those of the same seed without them") {
  tg::SentimentClassifier<double> with(tiny_config(9)), without(tiny_config(0));
  const auto a = with.named_parameters(), b = without.named_parameters();
  REQUIRE(a.size() == b.size() + 1);
  for (std::size_t i = 0; i < b.size(); ++i) {
    CHECK(a[i].first == b[i].first);
    CHECK(a[i].second.value() == b[i].second.value());
  }
}

TEST_CASE("classifier with subwords: bags missing, misshapen or given to a model without a table are refused") {
  tg::SentimentClassifier<double> with(tiny_config(9)), without(tiny_config(0));
  const tg::Ids ids = {{2, 5}};
  const tg::Mask mask = {{true, true}};
  const tg::Ids bags = xt::ones<std::int64_t>({std::size_t{1}, std::size_t{2}, std::size_t{1}});
  const tg::Ids wrong = xt::ones<std::int64_t>({std::size_t{1}, std::size_t{3}, std::size_t{1}});
  CHECK_THROWS_WITH_AS(with.forward(ids, mask), doctest::Contains("needs their bags"), tg::Error);
  CHECK_THROWS_WITH_AS(with.forward(ids, mask, &wrong), doctest::Contains("(1,3,1)"), tg::Error);
  CHECK_THROWS_WITH_AS(without.forward(ids, mask, &bags), doctest::Contains("without a subword table"), tg::Error);
  CHECK_NOTHROW(with.forward(ids, mask, &bags));
}

TEST_CASE("word dropout: a dropped word's bag is emptied, and the draws are those without bags") {
  std::vector<std::vector<std::int64_t>> ids = {{2, 3, 4, 5, 2, 3, 4, 5}, {2, 3}};
  const std::vector<std::size_t> rows = {0, 1};
  const tg::Batch batch = tg::make_batch(ids, {0, 0}, rows);
  tg::Ids bags = xt::ones<std::int64_t>({std::size_t{2}, std::size_t{8}, std::size_t{3}});
  std::mt19937_64 a(11), b(11);
  const tg::Ids plain = tg::drop_tokens(batch, 0.5, 1, a);
  const tg::Ids dropped = tg::drop_tokens(batch, 0.5, 1, b, &bags);
  CHECK(plain == dropped);
  std::size_t emptied = 0;
  for (std::size_t i = 0; i < 2; ++i)
    for (std::size_t t = 0; t < 8; ++t) {
      const bool was_dropped = batch.mask(i, t) && dropped(i, t) != batch.ids(i, t);
      for (std::size_t k = 0; k < 3; ++k) CHECK(bags(i, t, k) == (was_dropped ? 0 : 1));
      emptied += was_dropped;
    }
  CHECK(emptied > 0);
  tg::Ids misshapen = xt::ones<std::int64_t>({std::size_t{2}, std::size_t{3}, std::size_t{3}});
  CHECK_THROWS_AS(tg::drop_tokens(batch, 0.5, 1, a, &misshapen), tg::Error);
}

namespace {

// A briefly trained model with subwords on generated tweets, and its vocabulary.
struct TrainedWithSubwords {
  tg::test::SyntheticSplit split{8};
  const std::vector<std::string>& texts = split.texts;
  const tg::Vocabulary& vocab = split.vocab;
  tg::SentimentCheckpoint info;
  std::unique_ptr<tg::SentimentClassifier<float>> model;

  TrainedWithSubwords() {
    info.model = {.vocab_size = vocab.size(), .embedding_dim = 8, .hidden_size = 8, .seed = 2, .subword_buckets = 64};
    info.train = {.lr = 1e-2, .batch_size = 32, .epochs = 2, .seed = 2, .word_dropout = 0.2};
    info.recipe = "default";
    model = std::make_unique<tg::SentimentClassifier<float>>(info.model);
    info.history = tg::train_classifier(*model, split.train, split.valid, info.train);
  }
};

const TrainedWithSubwords& trained() {
  static const TrainedWithSubwords t;
  return t;
}

}  // namespace

TEST_CASE("classifier with subwords: training moves the subword table, and a checkpoint round trip predicts the same") {
  const TrainedWithSubwords& t = trained();
  REQUIRE(t.info.history.epochs.size() == 2);
  tg::SentimentClassifier<float> untrained(t.info.model);
  CHECK_FALSE(t.model->subword_embedding->weight.value() == untrained.subword_embedding->weight.value());

  ScratchDir scratch{"subword-ckpt"};
  tg::save_sentiment_checkpoint(scratch.dir / "ckpt", *t.model, t.vocab, t.info);
  tg::LoadedSentimentModel loaded = tg::load_sentiment_checkpoint(scratch.dir / "ckpt");
  CHECK(loaded.info.model.subword_buckets == 64);
  const auto before = tg::predict_texts(*t.model, t.vocab, t.texts);
  const auto after = tg::predict_texts(*loaded.model, loaded.vocab, t.texts);
  REQUIRE(before.size() == after.size());
  for (std::size_t i = 0; i < before.size(); ++i) {
    CHECK(after[i].probabilities == before[i].probabilities);
    CHECK(after[i].alpha == before[i].alpha);
  }
  // An unseen spelling still reaches the model through its n-grams.
  const auto seen = tg::predict_texts(*t.model, t.vocab, {"zzqx flight"});
  const auto other = tg::predict_texts(*t.model, t.vocab, {"qqwv flight"});
  CHECK_FALSE(seen[0].known[0]);
  CHECK(seen[0].probabilities != other[0].probabilities);
}

TEST_CASE("classifier with subwords: the parallel forward and an explanation agree with the plain forward") {
  const TrainedWithSubwords& t = trained();
  tg::SentimentClassifier<float>& model = *t.model;
  model.eval();
  tg::NoGrad<float> no_grad;
  std::vector<std::vector<std::int64_t>> ids;
  std::vector<std::size_t> rows;
  for (std::size_t i = 0; i < 20; ++i) {
    ids.push_back(t.vocab.encode(t.texts[i]));
    rows.push_back(i);
  }
  const tg::Batch batch = tg::make_batch(ids, std::vector<std::int64_t>(20, 0), rows);
  const tg::Ids bags = tg::batch_subword_bags(batch, t.texts, 64);
  const tg::ClassifierOutput<float> whole = model.forward(batch.ids, batch.mask, &bags);
  tg::WorkerPool pool(3);
  const tg::ClassifierOutput<float> dealt = tg::forward_parallel(model, batch.ids, batch.mask, pool, &bags);
  CHECK(xt::allclose(dealt.logits.value(), whole.logits.value(), 1e-5, 1e-6));
  CHECK(xt::allclose(dealt.alpha.value(), whole.alpha.value(), 1e-5, 1e-6));

  const tg::Explanation e = tg::explain_text(model, t.vocab, t.texts[0]);
  const std::vector<tg::Prediction> p = tg::predict_texts(model, t.vocab, {t.texts[0]});
  for (std::size_t c = 0; c < 3; ++c) CHECK(e.probabilities[c] == doctest::Approx(p[0].probabilities[c]).epsilon(1e-5));
  REQUIRE(e.occlusion.size() == e.tokens.size());
  CHECK_THROWS_WITH_AS(tg::explain_ids(model, ids[0]), doctest::Contains("needs each id's token"), tg::Error);
}
