// Labelled tweets (models/ layer, no autograd): loading them from a Kaggle-layout
// CSV by column name, writing them back in that layout, the seeded shuffle every
// random order in the pipeline uses, and a seeded train/valid/test split of one file.
#pragma once
#include <array>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "models/data/text.hpp"

namespace tg {

// Class ids are positions in this list: negative = 0, neutral = 1, positive = 2.
inline constexpr std::array<std::string_view, 3> kSentimentLabels = {"negative", "neutral", "positive"};

struct LabelledText {
  std::string text;
  int label = 0;          // an index into kSentimentLabels
  std::size_t line = 0;   // 1-based line of the record in its file (0 if it has none)
};

// The class id of a label name, or -1 when it is not one of kSentimentLabels.
int sentiment_label(std::string_view name);

std::vector<LabelledText> parse_labelled_csv(std::string_view csv, const std::string& source,
                                             std::string_view text_column = "text",
                                             std::string_view label_column = "airline_sentiment");
std::vector<LabelledText> load_labelled_csv(const std::filesystem::path& path,
                                            std::string_view text_column = "text",
                                            std::string_view label_column = "airline_sentiment");

// CSV text with the header `airline_sentiment,text` (RFC 4180, CRLF, quoted as needed):
// readable back by load_labelled_csv with its default column names, and by Kaggle tools.
std::string format_labelled_csv(const std::vector<LabelledText>& rows);
void write_labelled_csv(const std::filesystem::path& path, const std::vector<LabelledText>& rows);

// The training texts' vocabulary (call it on the training split only).
Vocabulary build_vocabulary(const std::vector<LabelledText>& train, const VocabOptions& options = {});

// 0 .. n-1 in a random order fixed by `seed`, the same on every platform
// (see Note [A portable shuffle] in dataset.cpp).
std::vector<std::size_t> shuffled_indices(std::size_t n, std::uint64_t seed);

struct DatasetSplit {
  std::vector<LabelledText> train, valid, test;  // each in file order
};

// A stratified split: every label is shared out in the same proportions, so each
// part keeps the file's class balance. valid gets round(n * valid_fraction) rows and
// test round(n * test_fraction), exactly; the fractions must lie in [0, 1) and leave
// train at least one row. Deterministic for a seed, on every platform.
DatasetSplit split_dataset(const std::vector<LabelledText>& rows, std::uint64_t seed, double valid_fraction,
                           double test_fraction);

}  // namespace tg
