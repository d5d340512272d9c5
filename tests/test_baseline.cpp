// The linear baseline (models/baseline/bag_of_ngrams.hpp): its features, and that it learns.
#include <doctest/doctest.h>

#include <algorithm>

#include "autograd/error.hpp"
#include "models/baseline/bag_of_ngrams.hpp"
#include "models/data/synthetic_tweets.hpp"

namespace {

std::vector<tg::LabelledText> rows_of(const std::vector<tg::SyntheticTweet>& tweets) {
  std::vector<tg::LabelledText> out;
  for (const tg::SyntheticTweet& t : tweets) out.push_back({t.text, t.label, 0});
  return out;
}

}  // namespace

TEST_CASE("baseline: features are the distinct unigrams and bigrams of the shared tokenizer") {
  // "Bad, bad FLIGHT" tokenizes to bad bad flight: unigrams {bad, flight}, bigrams {bad bad, bad flight}.
  const std::vector<std::int64_t> f = tg::ngram_features("Bad, bad FLIGHT", 1 << 20);
  CHECK(f.size() == 4);
  CHECK(std::is_sorted(f.begin(), f.end()));
  CHECK(std::all_of(f.begin(), f.end(), [](std::int64_t row) { return row >= 1 && row < (1 << 20); }));
  CHECK(f == tg::ngram_features("bad bad flight", 1 << 20));  // the tokenizer lowercases, drops punctuation
  CHECK(tg::ngram_features("", 1 << 20).size() == 1);          // an empty text is <unk>, as for the LSTM
  CHECK_THROWS_AS(tg::ngram_features("x", 1), tg::Error);
}

TEST_CASE("baseline: it learns synthetic tweets well above chance, choosing its settings on train alone") {
  const std::vector<tg::SyntheticTweet> tweets = tg::generate_tweets(700, 5);
  const std::vector<tg::SyntheticTweet> train(tweets.begin(), tweets.begin() + 600), valid(tweets.begin() + 600, tweets.end());
  tg::BaselineOptions options;
  options.rows = 1 << 14;
  options.weight_decays = {0.0, 1e-4};
  const tg::BaselineResult r = tg::train_baseline(rows_of(train), rows_of(valid), options);
  CHECK(r.valid.count == 100);
  CHECK(r.valid.accuracy > 0.6);  // chance is about 1/3 (the largest class is well under 0.6)
  CHECK(r.epochs >= 1);
  CHECK(r.epochs <= options.epochs);
  CHECK(r.held_out_accuracy > 0.5);
  CHECK(tg::evaluate_baseline(r.model, rows_of(valid), options.rows).accuracy == r.valid.accuracy);
}

TEST_CASE("baseline: an empty validation split or too few training rows is one clear error") {
  const std::vector<tg::LabelledText> rows = rows_of(tg::generate_tweets(30, 1));
  CHECK_THROWS_WITH_AS(tg::train_baseline(rows, {}), doctest::Contains("validation split is empty"), tg::Error);
  CHECK_THROWS_AS(tg::train_baseline({rows.front()}, rows), tg::Error);
}
