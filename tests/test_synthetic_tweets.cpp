// Tests for models/data/synthetic_tweets.*: determinism, label shares, where the cues sit,
// negation, lengths, vocabulary size, option checks and the CSV writer. Tokens are
// counted the way the canonical tokenizer does (models/data/text.hpp), re-stated here so
// these tests do not depend on it.
#include <doctest/doctest.h>

#include "helpers.hpp"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "autograd/error.hpp"
#include "models/data/synthetic_tweets.hpp"

namespace {

using Tokens = std::vector<std::string>;

// URL -> <url>; elsewhere maximal runs of [A-Za-z0-9'], lowercased.
Tokens tokens_of(const std::string& text) {
  Tokens out;
  std::istringstream words(text);
  std::string word;
  while (words >> word) {
    if (word.rfind("http://", 0) == 0) { out.emplace_back("<url>"); continue; }
    std::string token;
    for (char c : word + " ") {
      if (std::isalnum(static_cast<unsigned char>(c)) || c == '\'') {
        token += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      } else if (!token.empty()) {
        out.push_back(token);
        token.clear();
      }
    }
  }
  return out;
}

std::size_t whitespace_words(const std::string& text) {
  std::istringstream words(text);
  std::size_t n = 0;
  for (std::string word; words >> word;) ++n;
  return n;
}

Tokens split(std::string_view phrase) {
  return tokens_of(std::string(phrase));
}

// Index of the first occurrence of `phrase` in `tokens`, or tokens.size().
std::size_t find_phrase(const Tokens& tokens, const Tokens& phrase) {
  return static_cast<std::size_t>(std::search(tokens.begin(), tokens.end(), phrase.begin(), phrase.end()) -
                                  tokens.begin());
}

// The cue whose words these are; nullptr for none (a neutral tweet).
const tg::SyntheticCue* cue_of(const Tokens& cue_words) {
  if (cue_words.empty()) return nullptr;
  for (const tg::SyntheticCue& cue : tg::synthetic_cues())
    if (split(cue.phrase) == cue_words) return &cue;
  FAIL("cue words match no cue of synthetic_cues()");
  return nullptr;
}

int cue_label(const Tokens& cue_words) {
  const tg::SyntheticCue* cue = cue_of(cue_words);
  return cue ? cue->label : 1;
}

tg::SyntheticOptions without_noise() {
  tg::SyntheticOptions options;
  options.label_noise = 0.0;
  return options;
}

using tg::test::error_of;

std::string read_all(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

}  // namespace

TEST_CASE("synthetic tweets: the same seed gives the same tweets, another seed other ones") {
  const auto a = tg::generate_tweets(300, 11);
  const auto b = tg::generate_tweets(300, 11);
  const auto c = tg::generate_tweets(300, 12);
  REQUIRE(a.size() == 300);
  std::size_t same_as_other_seed = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    CHECK(a[i].text == b[i].text);
    CHECK(a[i].label == b[i].label);
    CHECK(a[i].cue_words == b[i].cue_words);
    CHECK(a[i].flipped == b[i].flipped);
    same_as_other_seed += a[i].text == c[i].text;
  }
  CHECK(same_as_other_seed < 3);
}

// Pinned output: a change here means tweets for a seed differ across builds or
// platforms (or the word lists changed, in which case update the pin on purpose).
TEST_CASE("synthetic tweets: seed 1 gives the pinned first tweets") {
  const auto tweets = tg::generate_tweets(12, 1);
  CHECK(tweets[0].text ==
        "@united ruined my trip. my ticket was for the 6pm departure. landed in Baltimore at 11am! "
        "http://t.co/GUyht5wvv0");
  CHECK(tweets[1].text ==
        "@AmericanAir The flight takes about three hours, my trip from San Francisco to Baltimore is next "
        "week, checked in online last night! the app shows gate e3 for flight 527, my seat is 31b, today "
        "horrible service.");
  std::vector<int> labels;
  for (const auto& t : tweets) labels.push_back(t.label);
  CHECK(labels == std::vector<int>{0, 0, 1, 1, 1, 0, 2, 0, 0, 0, 0, 2});
  CHECK(tweets[11].flipped);
}

TEST_CASE("synthetic tweets: label shares follow the options") {
  const auto tweets = tg::generate_tweets(5000, 3);
  double counts[3] = {0, 0, 0}, flipped = 0;
  for (const auto& t : tweets) {
    counts[t.label] += 1;
    flipped += t.flipped;
  }
  CHECK(std::abs(counts[0] / 5000 - 0.63) < 0.03);
  CHECK(std::abs(counts[1] / 5000 - 0.21) < 0.03);
  CHECK(std::abs(counts[2] / 5000 - 0.16) < 0.03);
  CHECK(std::abs(flipped / 5000 - 0.03) < 0.01);

  tg::SyntheticOptions even = without_noise();
  even.negative_share = even.neutral_share = even.positive_share = 1.0;
  double even_counts[3] = {0, 0, 0};
  for (const auto& t : tg::generate_tweets(3000, 3, even)) even_counts[t.label] += 1;
  for (double n : even_counts) CHECK(std::abs(n / 3000 - 1.0 / 3) < 0.03);

  tg::SyntheticOptions no_neutral = without_noise();
  no_neutral.neutral_share = 0.0;
  for (const auto& t : tg::generate_tweets(1000, 3, no_neutral)) CHECK(t.label != 1);
}

TEST_CASE("synthetic tweets: each non-neutral tweet holds its cue words in order, neutral ones have none") {
  for (const auto& t : tg::generate_tweets(2000, 5, without_noise())) {
    CAPTURE(t.text);
    CHECK((t.label == 1) == t.cue_words.empty());
    CHECK(cue_label(t.cue_words) == t.label);
    const Tokens tokens = tokens_of(t.text);
    if (!t.cue_words.empty()) CHECK(find_phrase(tokens, t.cue_words) < tokens.size());
  }
}

TEST_CASE("synthetic tweets: no tweet forms a cue phrase other than (part of) its own") {
  for (const auto& t : tg::generate_tweets(3000, 6)) {
    const Tokens tokens = tokens_of(t.text);
    for (const tg::SyntheticCue& cue : tg::synthetic_cues()) {
      const Tokens phrase = split(cue.phrase);
      if (find_phrase(tokens, phrase) == tokens.size()) continue;
      CAPTURE(t.text);
      CAPTURE(cue.phrase);
      CHECK(find_phrase(t.cue_words, phrase) < t.cue_words.size());
    }
  }
}

TEST_CASE("synthetic tweets: many cues sit far from the end, and late_cue_rate moves them last") {
  std::size_t cued = 0, far = 0;
  for (const auto& t : tg::generate_tweets(3000, 8)) {
    if (t.cue_words.empty()) continue;
    const Tokens tokens = tokens_of(t.text);
    const std::size_t after = tokens.size() - find_phrase(tokens, t.cue_words) - t.cue_words.size();
    ++cued;
    far += after >= 10;
  }
  CHECK(double(far) / double(cued) >= 0.30);

  tg::SyntheticOptions late;
  late.early_cue_rate = 0.0;
  late.late_cue_rate = 1.0;
  for (const auto& t : tg::generate_tweets(1000, 8, late)) {
    if (t.cue_words.empty()) continue;
    const Tokens tokens = tokens_of(t.text);
    CAPTURE(t.text);
    // At most a hashtag, a URL and a trailing handle follow a last-placed cue.
    CHECK(tokens.size() - find_phrase(tokens, t.cue_words) - t.cue_words.size() <= 3);
  }
}

TEST_CASE("synthetic tweets: negated cues occur for both labels, reusing words of the other polarity") {
  std::size_t negated[3] = {0, 0, 0};
  for (const auto& t : tg::generate_tweets(3000, 9, without_noise())) {
    const tg::SyntheticCue* cue = cue_of(t.cue_words);
    if (cue && cue->negated) ++negated[t.label];
  }
  CHECK(negated[0] >= 200);
  CHECK(negated[2] >= 50);
  CHECK(negated[1] == 0);

  // A negated cue whose sentiment word also sits in a plain cue of the other label.
  std::size_t reused = 0;
  for (const tg::SyntheticCue& neg : tg::synthetic_cues()) {
    if (!neg.negated) continue;
    const Tokens words = split(neg.phrase);
    bool found = false;
    for (const tg::SyntheticCue& plain : tg::synthetic_cues()) {
      if (plain.negated || plain.label == neg.label) continue;
      const Tokens plain_words = split(plain.phrase);
      for (std::size_t i = 1; i < words.size(); ++i)
        found |= std::find(plain_words.begin(), plain_words.end(), words[i]) != plain_words.end();
    }
    reused += found;
  }
  CHECK(reused >= 12);
}

TEST_CASE("synthetic tweets: lengths run from short to long within min_tokens and max_tokens") {
  std::size_t short_ones = 0, long_ones = 0;
  const auto tweets = tg::generate_tweets(3000, 10);
  for (const auto& t : tweets) {
    const std::size_t n = tokens_of(t.text).size();
    CAPTURE(t.text);
    CHECK(n == whitespace_words(t.text));  // one word, one model token
    CHECK(n >= 6);
    CHECK(n <= 40);
    short_ones += n <= 12;
    long_ones += n >= 25;
  }
  CHECK(double(short_ones) / 3000 >= 0.05);
  CHECK(double(long_ones) / 3000 >= 0.50);

  tg::SyntheticOptions tight;
  tight.min_tokens = 8;
  tight.max_tokens = 20;
  tight.long_tokens = 15;
  for (const auto& t : tg::generate_tweets(1000, 10, tight)) {
    CAPTURE(t.text);
    CHECK(whitespace_words(t.text) >= 8);
    CHECK(whitespace_words(t.text) <= 20);
  }
}

TEST_CASE("synthetic tweets: a few hundred word types, each seen at least twice in 3,000 tweets") {
  std::map<std::string, std::size_t> counts;
  for (const auto& t : tg::generate_tweets(3000, 12))
    for (const std::string& token : tokens_of(t.text)) ++counts[token];
  counts.erase("<url>");
  CHECK(counts.size() >= 200);
  CHECK(counts.size() <= 600);
  for (const auto& [token, n] : counts) {
    CAPTURE(token);
    CHECK(n >= 2);
  }
}

TEST_CASE("synthetic tweets: label noise flips exactly the flagged tweets") {
  tg::SyntheticOptions noisy;
  noisy.label_noise = 0.5;
  std::size_t flipped = 0;
  for (const auto& t : tg::generate_tweets(2000, 13, noisy)) {
    CAPTURE(t.text);
    CHECK((cue_label(t.cue_words) != t.label) == t.flipped);
    flipped += t.flipped;
  }
  CHECK(std::abs(double(flipped) / 2000 - 0.5) < 0.05);
}

TEST_CASE("synthetic tweets: an option out of range throws tg::Error naming it") {
  const auto message_of = [](const tg::SyntheticOptions& options) {
    return error_of([&] { tg::generate_tweets(1, 1, options); });
  };
  tg::SyntheticOptions o;
  o.label_noise = 1.5;
  CHECK(message_of(o).find("label_noise") != std::string::npos);
  o = {};
  o.negative_share = o.neutral_share = o.positive_share = 0.0;
  CHECK(message_of(o).find("negative_share") != std::string::npos);
  o = {};
  o.max_tokens = 10;
  CHECK(message_of(o).find("max_tokens") != std::string::npos);
  o = {};
  o.early_cue_rate = 0.9;
  o.late_cue_rate = 0.2;
  CHECK(message_of(o).find("late_cue_rate") != std::string::npos);
}

TEST_CASE("write_synthetic_csv: a text with a comma and a quote is quoted, the quote doubled") {
  const auto dir = std::filesystem::temp_directory_path() / "tg_test_synthetic_csv";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  auto tweets = tg::generate_tweets(20, 14);
  tweets[3] = {"@united hi, \"there\"", 2, {}, false};
  const auto path = dir / "tweets.csv";
  tg::write_synthetic_csv(path.string(), tweets);

  const std::string content = read_all(path);
  CHECK(content.rfind("tweet_id,airline_sentiment,airline,text\r\n", 0) == 0);
  CHECK(std::count(content.begin(), content.end(), '\n') == 21);
  CHECK(content.find(",positive,United,\"@united hi, \"\"there\"\"\"\r\n") != std::string::npos);
  CHECK(std::distance(std::filesystem::directory_iterator(dir), {}) == 1);  // no temporary left
  std::filesystem::remove_all(dir);
}

TEST_CASE("write_synthetic_csv: a bad label or an unwritable path throws tg::Error, leaving no file") {
  const auto dir = std::filesystem::temp_directory_path() / "tg_test_synthetic_csv_bad";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  const std::vector<tg::SyntheticTweet> bad = {{"@united ok", 1, {}, false}, {"@united ok", 7, {}, false}};
  CHECK(error_of([&] { tg::write_synthetic_csv((dir / "bad.csv").string(), bad); })
            .find("tweet 1 has label 7") != std::string::npos);
  CHECK(std::filesystem::is_empty(dir));
  CHECK(error_of([&] { tg::write_synthetic_csv((dir / "missing" / "x.csv").string(), {}); })
            .find("missing") != std::string::npos);
  std::filesystem::remove_all(dir);
}

TEST_CASE("synthetic tweets: the everyday set is seeded, records its flips, and writes every family") {
  const tg::SyntheticOptions everyday{.phrases = tg::SyntheticPhrases::everyday};
  const auto tweets = tg::generate_tweets(4000, 7, everyday);
  const auto again = tg::generate_tweets(4000, 7, everyday);
  std::size_t polar = 0, contrast = 0, negated = 0, typo = 0, bare = 0, emoji = 0, flipped = 0;
  for (std::size_t i = 0; i < tweets.size(); ++i) {
    const tg::SyntheticTweet& t = tweets[i];
    CHECK(t.text == again[i].text);
    CHECK(t.label == again[i].label);
    CHECK(t.flipped == again[i].flipped);
    flipped += t.flipped;
    const Tokens tokens = tokens_of(t.text);
    bare += tokens.size() <= 10 && t.text.find("http") == std::string::npos;
    emoji += t.text.find("\xF0\x9F") != std::string::npos;  // U+1F000..: the first two UTF-8 bytes
    if (t.cue_words.empty()) continue;
    ++polar;
    CHECK_MESSAGE(find_phrase(tokens, t.cue_words) < tokens.size(), t.text);
    const auto has = [&](std::string_view w) { return std::find(t.cue_words.begin(), t.cue_words.end(), w) != t.cue_words.end(); };
    contrast += has("but");
    negated += has("not") || has("never") || has("didn't") || has("wasn't") || has("isn't") || has("don't");
    typo += has("terible") || has("awsome") || has("gr8") || has("horible") || has("luv");
  }
  CHECK(std::abs(double(flipped) / 4000 - 0.03) < 0.01);
  CHECK(double(polar) / 4000 > 0.7);  // negative 63% + positive 16%, less those flipped to neutral
  CHECK(double(contrast) / double(polar) > 0.1);
  CHECK(double(negated) / double(polar) > 0.2);
  CHECK(typo > 10);
  CHECK(double(bare) / 4000 > 0.1);
  CHECK(emoji > 50);
}

TEST_CASE("synthetic tweets: the everyday set leaves the classic stream unchanged") {
  const tg::SyntheticOptions classic{.phrases = tg::SyntheticPhrases::classic};
  const auto a = tg::generate_tweets(300, 4), b = tg::generate_tweets(300, 4, classic);
  for (std::size_t i = 0; i < a.size(); ++i) CHECK(a[i].text == b[i].text);
  const auto everyday = tg::generate_tweets(300, 4, {.phrases = tg::SyntheticPhrases::everyday});
  std::size_t same = 0;
  for (std::size_t i = 0; i < a.size(); ++i) same += a[i].text == everyday[i].text;
  CHECK(same < 30);
}
