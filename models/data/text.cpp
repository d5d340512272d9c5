// The tokenizer (one forward scan over the bytes) and the vocabulary: building it
// from training texts, encoding, and reading and writing vocab.txt.
#include "models/data/text.hpp"

#include <algorithm>
#include <utility>

#include <fmt/format.h>

#include "autograd/error.hpp"
#include "models/data/csv.hpp"

namespace tg {
namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; }

char ascii_lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

bool is_token_char(char c) {
  c = ascii_lower(c);
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '\'';
}

bool starts_with_nocase(std::string_view text, std::size_t at, std::string_view prefix) {
  if (text.size() - at < prefix.size()) return false;
  for (std::size_t k = 0; k < prefix.size(); ++k)
    if (ascii_lower(text[at + k]) != prefix[k]) return false;
  return true;
}

bool url_starts(std::string_view text, std::size_t at) {
  return starts_with_nocase(text, at, "http://") || starts_with_nocase(text, at, "https://");
}

void check_max_tokens(std::size_t max_tokens) {
  if (max_tokens == 0) throw Error("tokenize: max_tokens must be at least 1");
}

// Splits vocab.txt content into lines: one trailing line break ends the last line
// rather than starting an empty one, and a CR before the LF is dropped.
std::vector<std::string_view> vocab_lines(std::string_view text) {
  std::vector<std::string_view> lines;
  std::size_t start = 0;
  while (start < text.size()) {
    const std::size_t end = std::min(text.find('\n', start), text.size());
    std::string_view line = text.substr(start, end - start);
    if (line.ends_with('\r')) line.remove_suffix(1);
    lines.push_back(line);
    start = end + 1;
  }
  return lines;
}

bool has_space_or_control(std::string_view token) {
  return std::any_of(token.begin(), token.end(),
                     [](char c) { return static_cast<unsigned char>(c) <= 0x20 || c == 0x7F; });
}

}  // namespace

std::vector<std::string> tokenize(std::string_view text, std::size_t max_tokens) {
  check_max_tokens(max_tokens);
  std::vector<std::string> tokens;
  std::size_t i = 0;
  while (i < text.size() && tokens.size() < max_tokens) {
    if (url_starts(text, i)) {
      while (i < text.size() && !is_space(text[i])) ++i;
      tokens.emplace_back(kUrlToken);
    } else if (is_token_char(text[i])) {
      std::string& token = tokens.emplace_back();
      // A URL glued to a word ("seehttp://x") still starts a URL, as in the reference.
      for (; i < text.size() && is_token_char(text[i]) && !url_starts(text, i); ++i) token += ascii_lower(text[i]);
    } else {
      ++i;
    }
  }
  return tokens;
}

Vocabulary::Vocabulary() {
  append(std::string(kPadToken), 0);
  append(std::string(kUnkToken), 0);
}

Vocabulary Vocabulary::build(std::span<const std::string_view> texts, const VocabOptions& options) {
  if (options.max_size == 1)
    throw Error("vocabulary: max_size must be 0 (no limit) or at least 2 (<pad> and <unk>)");
  std::unordered_map<std::string, std::size_t, Hash, std::equal_to<>> counts;
  for (std::string_view text : texts)
    for (std::string& token : tokenize(text, options.max_tokens)) ++counts[std::move(token)];

  std::vector<std::pair<std::string, std::size_t>> kept;
  for (auto& [token, count] : counts)
    if (count >= options.min_count) kept.emplace_back(token, count);
  std::sort(kept.begin(), kept.end(), [](const auto& a, const auto& b) {
    return a.second != b.second ? a.second > b.second : a.first < b.first;  // std::string: byte order
  });
  if (options.max_size != 0) kept.resize(std::min(kept.size(), options.max_size - Vocabulary::kSpecialTokens));

  Vocabulary vocab;
  for (auto& [token, count] : kept) vocab.append(std::move(token), count);
  return vocab;
}

Vocabulary Vocabulary::parse(std::string_view text, const std::string& source) {
  const std::vector<std::string_view> lines = vocab_lines(skip_bom(text));
  if (lines.empty()) throw Error(source + ": empty file (expected <pad> and <unk> on the first two lines)");
  if (lines.size() < 2) throw Error(source + ": only one line (the first two must be <pad> and <unk>)");
  Vocabulary vocab;
  for (std::size_t n = 1; n <= lines.size(); ++n) {
    const std::string_view token = lines[n - 1];
    const auto fail = [&](const std::string& what) { throw Error(fmt::format("{}:{}: {}", source, n, what)); };
    if (n <= 2) {  // <pad> and <unk>: already in `vocab`, checked for their place
      const std::string_view expected = n == 1 ? kPadToken : kUnkToken;
      if (token != expected)
        fail(fmt::format("expected \"{}\" on line {}, found {}", expected, n, quote_for_message(token)));
      continue;
    }
    if (token.empty()) fail("empty token");
    if (has_space_or_control(token))
      fail(fmt::format("token {} contains whitespace or a control character", quote_for_message(token)));
    if (const auto seen = vocab.ids_.find(token); seen != vocab.ids_.end())
      fail(fmt::format("duplicate token {} (first on line {})", quote_for_message(token), seen->second + 1));
    vocab.append(std::string(token), 0);
  }
  return vocab;
}

Vocabulary Vocabulary::load(const std::filesystem::path& path, std::size_t max_size) {
  // Every token came out of a training file, so the vocabulary is no larger than one.
  return parse(read_lines(path, max_size + 1, kMaxDataFileBytes, "vocabulary"), path.string());
}

void Vocabulary::save(const std::filesystem::path& path) const {
  std::string text;
  for (const std::string& token : tokens_) text += token + '\n';
  write_file(path, text);
}

std::vector<std::int64_t> Vocabulary::encode(std::string_view text, std::size_t max_tokens) const {
  std::vector<std::int64_t> ids;
  for (const std::string& token : tokenize(text, max_tokens)) ids.push_back(id(token));
  if (ids.empty()) ids.push_back(kUnk);
  return ids;
}

std::int64_t Vocabulary::id(std::string_view token) const {
  const auto found = ids_.find(token);
  return found == ids_.end() ? kUnk : found->second;
}

bool Vocabulary::contains(std::string_view token) const { return ids_.find(token) != ids_.end(); }

const std::string& Vocabulary::token(std::int64_t id) const { return tokens_[checked(id)]; }

std::size_t Vocabulary::count(std::int64_t id) const { return counts_[checked(id)]; }

void Vocabulary::append(std::string token, std::size_t count) {
  ids_.emplace(token, static_cast<std::int64_t>(tokens_.size()));
  tokens_.push_back(std::move(token));
  counts_.push_back(count);
}

std::size_t Vocabulary::checked(std::int64_t id) const {
  if (id < 0 || static_cast<std::uint64_t>(id) >= tokens_.size())
    throw Error(fmt::format("vocabulary: token id {} out of range (size {})", id, tokens_.size()));
  return static_cast<std::size_t>(id);
}

}  // namespace tg
