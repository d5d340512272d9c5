// Hashed character n-grams of tokens (see subwords.hpp, Note [Subword features]).
#include "models/data/subwords.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "autograd/error.hpp"
#include "models/data/text.hpp"

namespace tg {
namespace {

std::uint32_t fnv1a(std::string_view bytes) {
  std::uint32_t h = 2166136261u;
  for (const char c : bytes) h = (h ^ static_cast<unsigned char>(c)) * 16777619u;
  return h;
}

}  // namespace

std::vector<std::int64_t> subword_ids(std::string_view token, std::size_t buckets) {
  if (buckets == 0 || buckets > kMaxSubwordBuckets)
    throw Error(fmt::format("subwords: {} buckets (expected 1 to {})", buckets, kMaxSubwordBuckets));
  std::vector<std::int64_t> ids;
  if (token.empty() || token == kUrlToken || token == kUnkToken || token == kPadToken) return ids;
  std::string word(1, '<');
  word.append(token.substr(0, kSubwordCharacters)).push_back('>');
  for (std::size_t n = kSubwordMinN; n <= kSubwordMaxN; ++n)
    for (std::size_t at = 0; at + n <= word.size(); ++at)
      ids.push_back(1 + std::int64_t(fnv1a(std::string_view(word).substr(at, n)) % buckets));
  return ids;
}

Ids subword_bags(const std::vector<std::vector<std::string>>& tokens, std::size_t steps, std::size_t buckets) {
  std::vector<std::vector<std::vector<std::int64_t>>> ids(tokens.size());
  std::size_t K = 1;
  for (std::size_t b = 0; b < tokens.size(); ++b) {
    if (tokens[b].size() > steps)
      throw Error(fmt::format("subwords: row {} has {} tokens, more than the batch's {} steps", b, tokens[b].size(),
                              steps));
    for (const std::string& token : tokens[b]) {
      ids[b].push_back(subword_ids(token, buckets));
      K = std::max(K, ids[b].back().size());
    }
  }
  Ids bags = xt::zeros<std::int64_t>({tokens.size(), steps, K});
  for (std::size_t b = 0; b < ids.size(); ++b)
    for (std::size_t t = 0; t < ids[b].size(); ++t) std::copy(ids[b][t].begin(), ids[b][t].end(), &bags(b, t, 0));
  return bags;
}

Ids batch_subword_bags(const Batch& batch, std::span<const std::string> texts, std::size_t buckets) {
  std::vector<std::vector<std::string>> tokens;
  for (std::size_t b = 0; b < batch.rows.size(); ++b) {
    if (batch.rows[b] >= texts.size())
      throw Error(fmt::format("subwords: row {} out of range ({} texts)", batch.rows[b], texts.size()));
    const auto length = std::size_t(batch.lengths(b));
    tokens.push_back(tokenize(texts[batch.rows[b]], length));
    if (tokens.back().empty()) tokens.back().emplace_back(kUnkToken);  // as Vocabulary::encode
    if (tokens.back().size() != length)
      throw Error(fmt::format("subwords: text {} has {} tokens, its ids {}", batch.rows[b], tokens.back().size(),
                              length));
  }
  return subword_bags(tokens, batch.ids.shape()[1], buckets);
}

}  // namespace tg
