// Tests for models/data/batch.hpp: shapes, padding, masks and lengths of a batch; epoch
// order (in order, or shuffled and reproducible); refusal of absurd sizes.
#include <doctest/doctest.h>

#include <algorithm>
#include <numeric>
#include <vector>

#include <xtensor/xarray.hpp>

#include "autograd/error.hpp"
#include "models/data/batch.hpp"

namespace {

using Sequences = std::vector<std::vector<std::int64_t>>;

const Sequences kSequences = {{5, 6, 7}, {8}, {9, 10, 11, 12, 13}, {14, 15}, {16}};
const std::vector<std::int64_t> kLabels = {0, 1, 2, 1, 0};

std::vector<std::size_t> rows_of(const std::vector<tg::Batch>& batches) {
  std::vector<std::size_t> rows;
  for (const tg::Batch& batch : batches) rows.insert(rows.end(), batch.rows.begin(), batch.rows.end());
  return rows;
}

}  // namespace

TEST_CASE("batch: right-padded ids, lengths, mask and labels, T is the longest sequence") {
  const std::vector<std::size_t> rows = {0, 1, 3};
  const tg::Batch batch = tg::make_batch(kSequences, kLabels, rows);
  CHECK(tg::shape_str(batch.ids.shape()) == "(3,3)");
  CHECK(batch.ids == tg::Ids{{5, 6, 7}, {8, 0, 0}, {14, 15, 0}});
  CHECK(batch.mask == tg::Mask{{true, true, true}, {true, false, false}, {true, true, false}});
  CHECK(batch.lengths == tg::Ids{3, 1, 2});
  CHECK(batch.labels == tg::Ids{0, 1, 1});
  CHECK(batch.rows == rows);
}

TEST_CASE("batch: a fixed pad_to sets T whatever the batch holds") {
  const std::vector<std::size_t> rows = {1, 4};
  const tg::Batch batch = tg::make_batch(kSequences, kLabels, rows, 6);
  CHECK(tg::shape_str(batch.ids.shape()) == "(2,6)");
  CHECK(tg::shape_str(batch.mask.shape()) == "(2,6)");
  CHECK(batch.ids == tg::Ids{{8, 0, 0, 0, 0, 0}, {16, 0, 0, 0, 0, 0}});
  CHECK(batch.lengths == tg::Ids{1, 1});
  const std::vector<std::size_t> too_long = {2};
  CHECK_THROWS_WITH_AS(tg::make_batch(kSequences, kLabels, too_long, 4),
                       "batch: sequence 2 has 5 tokens, over the limit of 4 (pad_to)", tg::Error);
}

TEST_CASE("batcher: in order, batches of the given size and the last partial batch kept") {
  const tg::Batcher batcher(kSequences, kLabels, {.batch_size = 2, .shuffle = false});
  CHECK(batcher.num_batches() == 3);
  const std::vector<tg::Batch> batches = batcher.epoch(0);
  REQUIRE(batches.size() == 3);
  CHECK(batches[0].rows == std::vector<std::size_t>{0, 1});
  CHECK(batches[1].rows == std::vector<std::size_t>{2, 3});
  CHECK(batches[2].rows == std::vector<std::size_t>{4});
  CHECK(tg::shape_str(batches[1].ids.shape()) == "(2,5)");
  CHECK(tg::shape_str(batches[2].ids.shape()) == "(1,1)");
  CHECK(rows_of(batcher.epoch(3)) == rows_of(batches));
}

TEST_CASE("batcher: a shuffled epoch covers every row once, fixed by seed and epoch") {
  Sequences sequences;
  std::vector<std::int64_t> labels;
  for (std::int64_t i = 0; i < 103; ++i) {
    sequences.push_back(std::vector<std::int64_t>(static_cast<std::size_t>(i % 7 + 1), i + 2));
    labels.push_back(i % 3);
  }
  const tg::Batcher batcher(sequences, labels, {.batch_size = 10, .seed = 4});
  const std::vector<tg::Batch> epoch0 = batcher.epoch(0);
  CHECK(epoch0.size() == 11);
  CHECK(epoch0.back().rows.size() == 3);
  std::vector<std::size_t> rows = rows_of(epoch0);
  CHECK(rows == batcher.order(0));
  CHECK(rows == rows_of(tg::Batcher(sequences, labels, {.batch_size = 10, .seed = 4}).epoch(0)));
  CHECK(rows != batcher.order(1));
  CHECK(rows != tg::Batcher(sequences, labels, {.batch_size = 10, .seed = 5}).order(0));
  for (const tg::Batch& batch : epoch0)  // each row's data travels with its index
    for (std::size_t b = 0; b < batch.rows.size(); ++b) {
      CHECK(batch.ids(b, 0) == static_cast<std::int64_t>(batch.rows[b]) + 2);
      CHECK(batch.labels(b) == labels[batch.rows[b]]);
    }
  std::sort(rows.begin(), rows.end());
  std::vector<std::size_t> identity(103);
  std::iota(identity.begin(), identity.end(), std::size_t{0});
  CHECK(rows == identity);
}

TEST_CASE("batcher: absurd sizes and malformed data are refused with a clear message") {
  CHECK_THROWS_WITH_AS(tg::Batcher(kSequences, kLabels, {.batch_size = 0}),
                       "batch: batch size 0 must be between 1 and 65536", tg::Error);
  CHECK_THROWS_WITH_AS(tg::Batcher(kSequences, kLabels, {.batch_size = 65'537}),
                       "batch: batch size 65537 must be between 1 and 65536", tg::Error);
  CHECK_THROWS_WITH_AS(tg::Batcher(kSequences, kLabels, {.pad_to = 10'001}),
                       "batch: pad_to 10001 is over the limit of 10000 tokens", tg::Error);
  CHECK_THROWS_WITH_AS(tg::Batcher(Sequences{{1}, std::vector<std::int64_t>(10'001, 3)}, {0, 1}),
                       "batch: sequence 1 has 10001 tokens, over the limit of 10000", tg::Error);
  CHECK_THROWS_WITH_AS(tg::Batcher(Sequences{{1}, {}}, {0, 1}),
                       "batch: sequence 1 is empty (encode an empty text as <unk>)", tg::Error);
  CHECK_THROWS_WITH_AS(tg::Batcher(kSequences, {0, 1}), "batch: 5 sequences but 2 labels", tg::Error);
  CHECK_THROWS_WITH_AS(tg::Batcher(Sequences{{1, -2}}, {0}), "batch: sequence 0 holds a negative token id", tg::Error);
  CHECK_THROWS_WITH_AS(tg::Batcher(Sequences{{1}}, {-1}), "batch: row 0 has the negative label -1", tg::Error);
  CHECK_THROWS_WITH_AS(tg::Batcher(Sequences{}, {}), "batch: no sequences to batch", tg::Error);
  const std::vector<std::size_t> outside = {5};
  CHECK_THROWS_WITH_AS(tg::make_batch(kSequences, kLabels, outside), "batch: row 5 out of range (5 sequences)",
                       tg::Error);
}
