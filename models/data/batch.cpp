// Padding sequences into (B,T) arrays, and the per-epoch batch order.
#include "models/data/batch.hpp"

#include <algorithm>
#include <numeric>

#include <fmt/format.h>
#include <xtensor/xbuilder.hpp>

#include "autograd/error.hpp"
#include "models/data/dataset.hpp"

namespace tg {
namespace {

void check_pad_to(std::size_t pad_to) {
  if (pad_to > kMaxSequenceLength)
    throw Error(fmt::format("batch: pad_to {} is over the limit of {} tokens", pad_to, kMaxSequenceLength));
}

void check_sequence(const std::vector<std::int64_t>& sequence, std::size_t row, std::size_t pad_to) {
  const std::size_t limit = pad_to ? pad_to : kMaxSequenceLength;
  if (sequence.empty()) throw Error(fmt::format("batch: sequence {} is empty (encode an empty text as <unk>)", row));
  if (sequence.size() > limit)
    throw Error(fmt::format("batch: sequence {} has {} tokens, over the limit of {}{}", row, sequence.size(), limit,
                            pad_to ? " (pad_to)" : ""));
  if (std::any_of(sequence.begin(), sequence.end(), [](std::int64_t id) { return id < 0; }))
    throw Error(fmt::format("batch: sequence {} holds a negative token id", row));
}

void check_sizes(std::size_t sequences, std::size_t labels) {
  if (sequences != labels)
    throw Error(fmt::format("batch: {} sequences but {} labels", sequences, labels));
}

// A distinct, well-mixed seed per epoch (the splitmix64 finaliser), so that epoch
// orders are independent of each other yet fixed by (seed, epoch).
std::uint64_t epoch_seed(std::uint64_t seed, std::size_t epoch) {
  std::uint64_t z = seed + 0x9E3779B97F4A7C15ULL * (static_cast<std::uint64_t>(epoch) + 1);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

}  // namespace

Ids drop_tokens(const Batch& batch, double p, std::int64_t replacement, std::mt19937_64& rng, Ids* subwords) {
  if (!(p >= 0 && p < 1)) throw Error(fmt::format("drop_tokens: p = {} (expected a fraction from 0 to below 1)", p));
  if (subwords && (subwords->dimension() != 3 || subwords->shape()[0] != batch.ids.shape()[0] ||
                   subwords->shape()[1] != batch.ids.shape()[1]))
    throw Error(fmt::format("drop_tokens: subword bags {} do not fit ids {}", shape_str(subwords->shape()),
                            shape_str(batch.ids.shape())));
  Ids ids = batch.ids;
  std::bernoulli_distribution drop(p);
  for (std::size_t i = 0; i < ids.size(); ++i)
    if (batch.mask.flat(i) && drop(rng)) {
      ids.flat(i) = replacement;
      if (subwords) {
        const std::size_t K = subwords->shape()[2];
        std::fill_n(subwords->data() + i * K, K, std::int64_t{0});
      }
    }
  return ids;
}

Batch make_batch(const std::vector<std::vector<std::int64_t>>& sequences, const std::vector<std::int64_t>& labels,
                 std::span<const std::size_t> rows, std::size_t pad_to) {
  check_sizes(sequences.size(), labels.size());
  check_pad_to(pad_to);
  if (rows.empty()) throw Error("batch: no rows to batch");
  if (rows.size() > kMaxBatchSize)
    throw Error(fmt::format("batch: {} rows, over the limit of {}", rows.size(), kMaxBatchSize));
  std::size_t longest = 0;
  for (std::size_t row : rows) {
    if (row >= sequences.size())
      throw Error(fmt::format("batch: row {} out of range ({} sequences)", row, sequences.size()));
    check_sequence(sequences[row], row, pad_to);
    longest = std::max(longest, sequences[row].size());
  }
  const std::size_t B = rows.size(), T = pad_to ? pad_to : longest;

  Batch batch{xt::zeros<std::int64_t>({B, T}), xt::zeros<std::int64_t>({B}), xt::zeros<bool>({B, T}),
              xt::zeros<std::int64_t>({B}), {rows.begin(), rows.end()}};
  for (std::size_t b = 0; b < B; ++b) {
    const std::vector<std::int64_t>& sequence = sequences[rows[b]];
    for (std::size_t t = 0; t < sequence.size(); ++t) {
      batch.ids(b, t) = sequence[t];
      batch.mask(b, t) = true;
    }
    batch.lengths(b) = static_cast<std::int64_t>(sequence.size());
    batch.labels(b) = labels[rows[b]];
  }
  return batch;
}

Batcher::Batcher(std::vector<std::vector<std::int64_t>> sequences, std::vector<std::int64_t> labels,
                 const BatchOptions& options)
    : sequences_(std::move(sequences)), labels_(std::move(labels)), options_(options) {
  if (options_.batch_size == 0 || options_.batch_size > kMaxBatchSize)
    throw Error(fmt::format("batch: batch size {} must be between 1 and {}", options_.batch_size, kMaxBatchSize));
  check_pad_to(options_.pad_to);
  check_sizes(sequences_.size(), labels_.size());
  if (sequences_.empty()) throw Error("batch: no sequences to batch");
  for (std::size_t row = 0; row < sequences_.size(); ++row) {
    check_sequence(sequences_[row], row, options_.pad_to);
    if (labels_[row] < 0) throw Error(fmt::format("batch: row {} has the negative label {}", row, labels_[row]));
  }
}

std::size_t Batcher::num_batches() const {
  return (sequences_.size() + options_.batch_size - 1) / options_.batch_size;
}

std::vector<std::size_t> Batcher::order(std::size_t epoch) const {
  if (options_.shuffle) return shuffled_indices(sequences_.size(), epoch_seed(options_.seed, epoch));
  std::vector<std::size_t> rows(sequences_.size());
  std::iota(rows.begin(), rows.end(), std::size_t{0});
  return rows;
}

std::vector<Batch> Batcher::epoch(std::size_t epoch) const {
  const std::vector<std::size_t> rows = order(epoch);
  std::vector<Batch> batches;
  batches.reserve(num_batches());
  for (std::size_t start = 0; start < rows.size(); start += options_.batch_size) {
    const std::size_t size = std::min(options_.batch_size, rows.size() - start);
    batches.push_back(make_batch(sequences_, labels_, std::span(rows).subspan(start, size), options_.pad_to));
  }
  return batches;
}

}  // namespace tg
