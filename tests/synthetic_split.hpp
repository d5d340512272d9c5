// A test helper: generated tweets split for a brief training run, shared by the test files
// that train tiny sentiment models (ensembles, subwords).
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "models/data/synthetic_tweets.hpp"
#include "models/training/trainer.hpp"

namespace tg::test {

// 120 generated tweets (seeded), the vocabulary of the first 90, and those 90 and the
// other 30 encoded for training and validation.
struct SyntheticSplit {
  std::vector<std::string> texts;
  Vocabulary vocab;
  EncodedData train, valid;

  explicit SyntheticSplit(std::uint64_t seed) {
    std::vector<LabelledText> rows;
    for (const SyntheticTweet& t : generate_tweets(120, seed)) {
      texts.push_back(t.text);
      rows.push_back({t.text, t.label});
    }
    std::vector<std::string_view> views(texts.begin(), texts.begin() + 90);
    vocab = Vocabulary::build(views);
    train = encode_dataset({rows.begin(), rows.begin() + 90}, vocab);
    valid = encode_dataset({rows.begin() + 90, rows.end()}, vocab);
  }
};

}  // namespace tg::test
