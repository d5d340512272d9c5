// Tests for models/data/text.hpp: the canonical tokenizer (against the shared fixture),
// vocabulary order, vocab.txt round trip and errors, and the fixture vocabulary.
#include <doctest/doctest.h>
#include <fmt/format.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include <unistd.h>

#include "autograd/error.hpp"
#include "models/data/csv.hpp"
#include "models/data/dataset.hpp"
#include "models/data/text.hpp"

namespace {

using Tokens = std::vector<std::string>;

const std::filesystem::path kShared = TG_SHARED_DIR;

Tokens split(std::string_view text, char separator) {
  Tokens parts;
  std::string part;
  std::istringstream in{std::string(text)};
  while (std::getline(in, part, separator)) parts.push_back(part);
  return parts;
}

// The fixture escapes \n \t \r and \\ so that one case is one line.
std::string unescape(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '\\' || i + 1 == text.size()) {
      out += text[i];
      continue;
    }
    const char next = text[++i];
    out += next == 'n' ? '\n' : next == 't' ? '\t' : next == 'r' ? '\r' : next;
  }
  return out;
}

std::vector<std::string_view> views(const std::vector<std::string>& texts) {
  return {texts.begin(), texts.end()};
}

}  // namespace

TEST_CASE("tokenize: every case of the shared fixture gives the canonical tokens") {
  std::ifstream in(kShared / "fixtures" / "tokenizer-cases.tsv", std::ios::binary);
  if (!in) {
    MESSAGE("skipped: ../shared/fixtures/tokenizer-cases.tsv is absent");
    return;
  }
  std::string line;
  std::getline(in, line);
  REQUIRE(line.starts_with("#"));  // the header comment
  int cases = 0;
  for (int number = 2; std::getline(in, line); ++number) {
    const std::size_t tab = line.find('\t');
    REQUIRE(tab != std::string::npos);
    const std::string text = unescape(line.substr(0, tab));
    INFO("fixture line " << number << ": " << line);
    CHECK(tg::tokenize(text) == split(line.substr(tab + 1), ' '));
    ++cases;
  }
  CHECK(cases >= 16);
}

TEST_CASE("tokenize: URLs become <url> wherever they start, up to whitespace") {
  CHECK(tg::tokenize("see:https://t.co/x\xC3\xA9y,z next") == Tokens{"see", "<url>", "next"});
  CHECK(tg::tokenize("gohttp://a.b now") == Tokens{"go", "<url>", "now"});
  CHECK(tg::tokenize("HtTp://A\tB") == Tokens{"<url>", "b"});
  CHECK(tg::tokenize("http:/a https:b httpx://c") == Tokens{"http", "a", "https", "b", "httpx", "c"});
}

TEST_CASE("tokenize: apostrophes and digits join tokens, other bytes separate them") {
  CHECK(tg::tokenize("It'S 4'o'Clock_NOW") == Tokens{"it's", "4'o'clock", "now"});
  CHECK(tg::tokenize("na\xC3\xAFve\xE2\x80\x94ok") == Tokens{"na", "ve", "ok"});
  CHECK(tg::tokenize("...!!!").empty());
}

TEST_CASE("tokenize: only the first 48 tokens are kept, or as many as asked") {
  std::string text;
  for (int i = 0; i < 60; ++i) text += fmt::format("w{} ", i);  // "w" + to_string trips a GCC 12 false -Wstringop-overflow
  const Tokens tokens = tg::tokenize(text);
  REQUIRE(tokens.size() == 48);
  CHECK(tokens.front() == "w0");
  CHECK(tokens.back() == "w47");
  CHECK(tg::tokenize(text, 3) == Tokens{"w0", "w1", "w2"});
  CHECK_THROWS_WITH_AS(tg::tokenize(text, 0), "tokenize: max_tokens must be at least 1", tg::Error);
}

TEST_CASE("vocabulary: ids follow descending count, ties in byte order, after <pad> and <unk>") {
  const std::vector<std::string> texts = {"b a c", "A b", "c d", "a Zed", "zed"};
  const tg::Vocabulary vocab = tg::Vocabulary::build(views(texts));
  // counts: a 3, b 2, c 2, zed 2, d 1 (below min_count 2)
  REQUIRE(vocab.size() == 6);
  const Tokens expected = {"<pad>", "<unk>", "a", "b", "c", "zed"};
  const std::vector<std::size_t> counts = {0, 0, 3, 2, 2, 2};
  for (std::int64_t id = 0; id < 6; ++id) {
    CHECK(vocab.token(id) == expected[static_cast<std::size_t>(id)]);
    CHECK(vocab.count(id) == counts[static_cast<std::size_t>(id)]);
    CHECK(vocab.id(expected[static_cast<std::size_t>(id)]) == id);
  }
  CHECK(vocab.id("d") == tg::Vocabulary::kUnk);
  CHECK_FALSE(vocab.contains("d"));
}

TEST_CASE("vocabulary: min_count and max_size bound it") {
  const std::vector<std::string> texts = {"b a c", "a b", "c d", "a"};
  CHECK(tg::Vocabulary::build(views(texts), {.min_count = 1}).size() == 6);
  const tg::Vocabulary small = tg::Vocabulary::build(views(texts), {.min_count = 1, .max_size = 3});
  REQUIRE(small.size() == 3);
  CHECK(small.token(2) == "a");
  CHECK(tg::Vocabulary::build(views(texts), {.max_size = 2}).size() == 2);
  CHECK_THROWS_WITH_AS(tg::Vocabulary::build(views(texts), {.max_size = 1}),
                       "vocabulary: max_size must be 0 (no limit) or at least 2 (<pad> and <unk>)", tg::Error);
}

TEST_CASE("vocabulary: encode maps unknown tokens to <unk> and an empty text to one <unk>") {
  const std::vector<std::string> texts = {"good flight", "good crew", "flight"};
  const tg::Vocabulary vocab = tg::Vocabulary::build(views(texts));
  CHECK(vocab.encode("Good FLIGHT, bad crew!") == std::vector<std::int64_t>{3, 2, 1, 1});  // flight 2, good 3
  CHECK(vocab.encode("") == std::vector<std::int64_t>{tg::Vocabulary::kUnk});
  CHECK(vocab.encode(" @#! ") == std::vector<std::int64_t>{tg::Vocabulary::kUnk});
  CHECK(vocab.encode("good good good", 2).size() == 2);
  CHECK_THROWS_WITH_AS(vocab.token(4), "vocabulary: token id 4 out of range (size 4)", tg::Error);
  CHECK_THROWS_WITH_AS(vocab.count(-1), "vocabulary: token id -1 out of range (size 4)", tg::Error);
}

TEST_CASE("vocabulary: vocab.txt round-trips ids and tokens") {
  const std::vector<std::string> texts = {"x y z", "y z", "z", "x http://u"};
  const tg::Vocabulary vocab = tg::Vocabulary::build(views(texts), {.min_count = 1});
  const auto path = std::filesystem::temp_directory_path() / ("tg-test-vocab-" + std::to_string(getpid()) + ".txt");
  vocab.save(path);
  CHECK(tg::read_file(path) == "<pad>\n<unk>\nz\nx\ny\n<url>\n");
  const tg::Vocabulary loaded = tg::Vocabulary::load(path);
  std::filesystem::remove(path);
  REQUIRE(loaded.size() == vocab.size());
  for (std::int64_t id = 0; id < static_cast<std::int64_t>(vocab.size()); ++id) {
    CHECK(loaded.token(id) == vocab.token(id));
    CHECK(loaded.count(id) == 0);
  }
  CHECK(loaded.encode("z y q") == vocab.encode("z y q"));
  CHECK(tg::Vocabulary::parse("<pad>\r\n<unk>\r\nz\r\n", "crlf.txt").id("z") == 2);
  const tg::Vocabulary empty;
  CHECK(empty.size() == 2);
  CHECK(empty.encode("anything") == std::vector<std::int64_t>{tg::Vocabulary::kUnk});
}

TEST_CASE("vocabulary: a bad vocab.txt is refused with its file and line") {
  const auto refuses = [](const char* text, const char* message) {
    CHECK_THROWS_WITH_AS(tg::Vocabulary::parse(text, "vocab.txt"), message, tg::Error);
  };
  refuses("", "vocab.txt: empty file (expected <pad> and <unk> on the first two lines)");
  refuses("<pad>\n", "vocab.txt: only one line (the first two must be <pad> and <unk>)");
  refuses("the\n<unk>\n", "vocab.txt:1: expected \"<pad>\" on line 1, found \"the\"");
  refuses("<pad>\n\n", "vocab.txt:2: expected \"<unk>\" on line 2, found \"\"");
  refuses("<pad>\n<unk>\na\n\nb\n", "vocab.txt:4: empty token");
  refuses("<pad>\n<unk>\na\nb\na\n", "vocab.txt:5: duplicate token \"a\" (first on line 3)");
  refuses("<pad>\n<unk>\n<unk>\n", "vocab.txt:3: duplicate token \"<unk>\" (first on line 2)");
  refuses("<pad>\n<unk>\nx\n<pad>\n", "vocab.txt:4: duplicate token \"<pad>\" (first on line 1)");
  refuses("<pad>\n<unk>\nnew york\n", "vocab.txt:3: token \"new york\" contains whitespace or a control character");
  refuses("<pad>\n<unk>\ntab\tbed\n", "vocab.txt:3: token \"tab\\tbed\" contains whitespace or a control character");
  const auto missing = std::filesystem::path("/nonexistent-dir/vocab.txt");
  CHECK_THROWS_WITH_AS(tg::Vocabulary::load(missing), "/nonexistent-dir/vocab.txt: cannot open (No such file or directory)",
                       tg::Error);
}

TEST_CASE("vocabulary: built from the shared train.csv it equals the fixture exactly") {
  const auto train_csv = kShared / "data" / "airline-sentiment" / "train.csv";
  const auto fixture = kShared / "fixtures" / "train-vocab.tsv";
  if (!std::filesystem::exists(train_csv) || !std::filesystem::exists(fixture)) {
    MESSAGE("skipped: ../shared train.csv or train-vocab.tsv is absent");
    return;
  }
  const tg::Vocabulary vocab = tg::build_vocabulary(tg::load_labelled_csv(train_csv));
  std::ifstream in(fixture, std::ios::binary);
  std::string line;
  std::size_t entries = 0, mismatches = 0;
  while (std::getline(in, line)) {
    const Tokens parts = split(line, '\t');
    REQUIRE(parts.size() == 3);
    const std::int64_t id = std::stoll(parts[0]);
    const bool same = id < static_cast<std::int64_t>(vocab.size()) && vocab.token(id) == parts[1] &&
                      vocab.count(id) == std::stoull(parts[2]);
    if (!same && ++mismatches <= 5) FAIL_CHECK("fixture entry differs: " << line);
    ++entries;
  }
  CHECK(entries == 5788);
  CHECK(vocab.size() == entries);
  CHECK(mismatches == 0);
}
