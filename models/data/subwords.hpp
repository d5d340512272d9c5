// The subword features of the sentiment model (models/ layer, no autograd): each token's
// character n-grams, hashed to ids of an EmbeddingBag (nn/embedding_bag.hpp).
#pragma once
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "autograd/array.hpp"
#include "models/data/batch.hpp"
#include "models/limits.hpp"  // kSubwordCharacters, kMaxSubwordBuckets

namespace tg {

// Note [Subword features]
// Tweets misspell, shorten and run words together ("thx", "cancelled", "flightled",
// "jetbluerocks"), and a word seen fewer than min_count times in training is <unk> to the
// word embedding. fastText's answer (Bojanowski et al. 2017): a token is also the bag of
// its character n-grams, n = 3…5, of "<token>" — "<thx>" gives "<th", "thx", "hx>", "<thx",
// "thx>", "<thx>" — each hashed (32-bit FNV-1a) to one of `buckets` rows of a second
// table. The model adds the mean of those rows to the word's own embedding
// (SentimentClassifier::forward), so an unseen word still says something, and rare
// spellings of one word share rows. <url> and <unk> have no n-grams; a token longer than
// kSubwordCharacters contributes those of its first kSubwordCharacters characters (a
// 10,000-character run must not make a 30,000-id bag). Measured in docs/accuracy.md.
inline constexpr std::size_t kSubwordMinN = 3, kSubwordMaxN = 5;

// The token's n-gram ids, each in [1, buckets] (0 is the bags' padding), in order of n then
// position; none for <url>, <unk>, <pad>. buckets must be 1 … kMaxSubwordBuckets.
std::vector<std::int64_t> subword_ids(std::string_view token, std::size_t buckets);

// (B, steps, K) bags: row b, position t holds the ids of tokens[b][t], 0-padded to the
// longest bag (K ≥ 1); positions past a row's tokens are empty bags.
Ids subword_bags(const std::vector<std::vector<std::string>>& tokens, std::size_t steps, std::size_t buckets);

// The bags of a batch of texts: row b's tokens are those of texts[batch.rows[b]], as
// Vocabulary::encode made its ids (the first batch.lengths(b) tokens; a text with none is
// one <unk>). Throws when a text has fewer tokens than its row's length.
Ids batch_subword_bags(const Batch& batch, std::span<const std::string> texts, std::size_t buckets);

}  // namespace tg
