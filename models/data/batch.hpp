// Padded mini-batches of token-id sequences (models/ layer, no autograd): the
// integer arrays the sentiment model reads, and the epoch order they come in.
// Legend: B batch, T time (the longest sequence in the batch, or a fixed pad_to).
#pragma once
#include <cstddef>
#include <cstdint>
#include <random>
#include <span>
#include <vector>

#include "autograd/array.hpp"
#include "models/limits.hpp"  // kMaxBatchSize, kMaxSequenceLength

namespace tg {

struct Batch {
  Ids ids;                        // (B,T) token ids, right-padded with 0 (<pad>)
  Ids lengths;                    // (B) real tokens per sequence, each >= 1
  Mask mask;                      // (B,T) true at real positions
  Ids labels;                     // (B) class ids
  std::vector<std::size_t> rows;  // (B) indices of the sequences in the dataset
};

struct BatchOptions {
  std::size_t batch_size = 64;
  bool shuffle = true;     // a new seeded order every epoch; false: dataset order
  std::uint64_t seed = 0;
  std::size_t pad_to = 0;  // 0: T = the longest sequence in each batch; else T = pad_to
};

// One batch of the sequences at `rows`. Every sequence must be non-empty and, when
// pad_to is set, no longer than pad_to.
Batch make_batch(const std::vector<std::vector<std::int64_t>>& sequences, const std::vector<std::int64_t>& labels,
                 std::span<const std::size_t> rows, std::size_t pad_to = 0);

// The batch's ids with each real token (mask true) replaced by `replacement` with
// probability p; padding is never touched (word dropout, models/training/trainer.cpp).
// Given the batch's subword bags (B,T,K), it also empties the bags of the dropped tokens.
Ids drop_tokens(const Batch& batch, double p, std::int64_t replacement, std::mt19937_64& rng,
                Ids* subwords = nullptr);

// The batches of a dataset, epoch by epoch. It keeps its own copy of the data, and
// checks it all once: sizes and lengths in range, ids and labels not negative.
class Batcher {
 public:
  Batcher(std::vector<std::vector<std::int64_t>> sequences, std::vector<std::int64_t> labels,
          const BatchOptions& options = {});

  std::size_t num_rows() const { return sequences_.size(); }
  std::size_t num_batches() const;  // per epoch; the last batch may be smaller
  // The row order of an epoch: a function of (seed, epoch) only, so a resumed run
  // sees the same order as an uninterrupted one.
  std::vector<std::size_t> order(std::size_t epoch) const;
  // Every batch of an epoch, in order; the last partial batch is kept.
  std::vector<Batch> epoch(std::size_t epoch) const;

 private:
  std::vector<std::vector<std::int64_t>> sequences_;
  std::vector<std::int64_t> labels_;
  BatchOptions options_;
};

}  // namespace tg
