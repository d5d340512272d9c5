// Text to token ids for the sentiment model (models/ layer, no autograd): the
// canonical tokenizer and the vocabulary built from the training split, saved and
// loaded as vocab.txt (one token a line, line number - 1 = id).
#pragma once
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "models/limits.hpp"

namespace tg {

// The canonical recipe's tokens per tweet: a default, not a limit (that is
// kMaxSequenceLength, Note [Resource limits] in models/limits.hpp).
inline constexpr std::size_t kMaxTokens = 48;
inline constexpr std::string_view kPadToken = "<pad>";
inline constexpr std::string_view kUnkToken = "<unk>";
inline constexpr std::string_view kUrlToken = "<url>";

// The canonical recipe (the reference PyTorch script's, pinned by
// tests/test_text.cpp against ../shared/fixtures/tokenizer-cases.tsv):
//  - every URL, `http://` or `https://` in any case and wherever it starts, up to the
//    next ASCII whitespace, becomes the token <url>;
//  - elsewhere a token is a maximal run of [A-Za-z0-9'], lowercased (ASCII only);
//    every other byte, non-ASCII ones included, separates tokens ("café" -> "caf");
//  - only the first `max_tokens` tokens are kept (at least 1).
std::vector<std::string> tokenize(std::string_view text, std::size_t max_tokens = kMaxTokens);

struct VocabOptions {
  std::size_t min_count = 2;           // a token seen fewer times in training is <unk>
  std::size_t max_size = 0;            // 0: no limit; else at most this many ids, <pad> and <unk> included
  std::size_t max_tokens = kMaxTokens;  // tokens counted per text, as the model will see them
};

class Vocabulary {
 public:
  static constexpr std::int64_t kPad = 0;
  static constexpr std::int64_t kUnk = 1;
  static constexpr std::size_t kSpecialTokens = 2;  // <pad> and <unk>, ids 0 and 1

  Vocabulary();  // just <pad> and <unk>

  // Ids by descending training count, ties in byte order, after <pad> and <unk>.
  static Vocabulary build(std::span<const std::string_view> texts, const VocabOptions& options = {});
  // Reads vocab.txt; errors name the file and line (see parse()).
  // Reads no further than line max_size + 1 (Note [Input size limits]): a file with more
  // lines gives a vocabulary of max_size + 1 tokens, which the caller refuses, at the
  // cost of those lines only; a 10-million-line file is not read whole.
  static Vocabulary load(const std::filesystem::path& path, std::size_t max_size = kMaxVocabulary);
  // vocab.txt content: the first two lines <pad> and <unk>, then one token a line,
  // no empty, duplicate or whitespace-holding token; LF or CRLF. `source` names it.
  static Vocabulary parse(std::string_view text, const std::string& source);
  void save(const std::filesystem::path& path) const;

  // Token ids of `text`, at most `max_tokens`; unknown tokens are kUnk, and a text
  // with no token at all is one kUnk, so no sequence is ever empty.
  std::vector<std::int64_t> encode(std::string_view text, std::size_t max_tokens = kMaxTokens) const;
  std::int64_t id(std::string_view token) const;  // kUnk when absent
  bool contains(std::string_view token) const;
  const std::string& token(std::int64_t id) const;  // throws when out of range
  // How often the token was seen when the vocabulary was built; 0 for <pad>, <unk>
  // and every token of a loaded vocabulary (vocab.txt holds no counts).
  std::size_t count(std::int64_t id) const;
  std::size_t size() const { return tokens_.size(); }
  std::size_t word_count() const { return size() - kSpecialTokens; }  // <pad> and <unk> not counted

 private:
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };

  void append(std::string token, std::size_t count);
  std::size_t checked(std::int64_t id) const;

  std::vector<std::string> tokens_;
  std::vector<std::size_t> counts_;
  std::unordered_map<std::string, std::int64_t, Hash, std::equal_to<>> ids_;
};

}  // namespace tg
