// Fuzzes the tokenizer (models/data/text tokenize) and the vocabulary built from and
// encoding the same text. The first byte is max_tokens (0 must be refused), the rest
// the text; each of its lines is one training text for Vocabulary::build.
#include <algorithm>
#include <string>
#include <vector>

#include "fuzz_common.hpp"
#include "models/data/text.hpp"

namespace {

using tg::fuzz::require;

bool is_canonical_token(const std::string& token) {
  if (token == tg::kUrlToken) return true;
  return !token.empty() && std::all_of(token.begin(), token.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '\'';
  });
}

std::vector<std::string_view> lines_of(std::string_view text) {
  std::vector<std::string_view> lines;
  for (std::size_t start = 0; start <= text.size();) {
    const std::size_t end = std::min(text.find('\n', start), text.size());
    lines.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return lines;
}

void check(std::string_view text, std::size_t max_tokens) {
  const std::vector<std::string> tokens = tg::tokenize(text, max_tokens);
  require(tokens.size() <= max_tokens, "at most max_tokens tokens");
  for (const std::string& token : tokens) require(is_canonical_token(token), "tokens are [a-z0-9']+ or <url>");

  // No token spans a line break, so with min_count 1 the vocabulary of the lines
  // holds every token of the whole text, and encode finds each.
  const std::vector<std::string_view> lines = lines_of(text);
  const tg::Vocabulary vocab = tg::Vocabulary::build(lines, {.min_count = 1, .max_tokens = max_tokens});
  const std::vector<std::int64_t> ids = vocab.encode(text, max_tokens);
  require(ids.size() == std::max<std::size_t>(tokens.size(), 1), "encode gives one id a token, never none");
  if (tokens.empty()) require(ids[0] == tg::Vocabulary::kUnk, "a text without tokens is one <unk>");
  for (std::size_t i = 0; i < tokens.size(); ++i)
    require(ids[i] >= 2 && vocab.token(ids[i]) == tokens[i], "every token of a training text has its own id");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::size_t max_tokens = data[0];
  const std::string_view text = tg::fuzz::as_text(data + 1, size - 1);
  const bool accepted = tg::fuzz::accepts("tokenize", [&] { check(text, max_tokens); });
  require(accepted == (max_tokens > 0), "only max_tokens 0 is refused");
  return 0;
}
