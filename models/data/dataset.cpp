// Labelled CSV in and out, the portable seeded shuffle, and the stratified split.
#include "models/data/dataset.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>
#include <random>

#include <fmt/format.h>

#include "autograd/error.hpp"
#include "models/data/csv.hpp"

namespace tg {
namespace {

// Note [A portable shuffle]
// std::shuffle and std::uniform_int_distribution are implementation-defined: libstdc++,
// libc++ and MSVC turn the same engine output into different orders, so a seed would
// not name the same split or batch order everywhere. std::mt19937_64's output sequence
// is fixed by the standard, so we draw from it directly: an unbiased bounded draw by
// rejection, and Fisher-Yates on top.

// A uniform draw from [0, n), n > 0: values below 2^64 mod n are rejected so that the
// accepted range is a whole number of copies of [0, n).
std::uint64_t draw_below(std::mt19937_64& rng, std::uint64_t n) {
  const std::uint64_t threshold = (0 - n) % n;
  while (true) {
    const std::uint64_t x = rng();
    if (x >= threshold) return x % n;
  }
}

void shuffle_in_place(std::vector<std::size_t>& values, std::mt19937_64& rng) {
  for (std::size_t i = values.size(); i > 1; --i) std::swap(values[i - 1], values[draw_below(rng, i)]);
}

std::string label_choices() {
  std::string out;
  for (std::size_t i = 0; i < kSentimentLabels.size(); ++i)
    out += std::string(i == 0 ? "" : i + 1 == kSentimentLabels.size() ? " or " : ", ") +
           std::string(kSentimentLabels[i]);
  return out;
}

std::size_t rows_for(double fraction, std::size_t n, const char* name) {
  if (!std::isfinite(fraction) || fraction < 0 || fraction >= 1)
    throw Error(fmt::format("split_dataset: {} must be in [0, 1), got {}", name, fraction));
  return static_cast<std::size_t>(std::llround(static_cast<double>(n) * fraction));
}

// Row indices in an order whose every prefix holds each label in about its overall
// proportion: rows are shuffled within their label, and the r-th of a label's n_c rows
// is placed at (r + 1/2) / n_c along the line (ties by label). Exact integer keys.
std::vector<std::size_t> stratified_order(const std::vector<LabelledText>& rows, std::uint64_t seed) {
  std::map<int, std::vector<std::size_t>> by_label;
  for (std::size_t i = 0; i < rows.size(); ++i) by_label[rows[i].label].push_back(i);
  struct Slot {
    std::uint64_t rank, count;
    int label;
    std::size_t row;
  };
  std::vector<Slot> slots;
  std::mt19937_64 rng(seed);
  for (auto& [label, members] : by_label) {
    shuffle_in_place(members, rng);
    for (std::size_t r = 0; r < members.size(); ++r) slots.push_back({r, members.size(), label, members[r]});
  }
  std::sort(slots.begin(), slots.end(), [](const Slot& a, const Slot& b) {
    const std::uint64_t left = (2 * a.rank + 1) * b.count, right = (2 * b.rank + 1) * a.count;
    return left != right ? left < right : a.label < b.label;
  });
  std::vector<std::size_t> order;
  for (const Slot& slot : slots) order.push_back(slot.row);
  return order;
}

std::vector<LabelledText> pick(const std::vector<LabelledText>& rows, std::vector<std::size_t> indices) {
  std::sort(indices.begin(), indices.end());  // back to file order
  std::vector<LabelledText> out;
  out.reserve(indices.size());
  for (std::size_t i : indices) out.push_back(rows[i]);
  return out;
}

}  // namespace

int sentiment_label(std::string_view name) {
  const auto found = std::find(kSentimentLabels.begin(), kSentimentLabels.end(), name);
  return found == kSentimentLabels.end() ? -1 : static_cast<int>(found - kSentimentLabels.begin());
}

std::vector<LabelledText> parse_labelled_csv(std::string_view csv, const std::string& source,
                                             std::string_view text_column, std::string_view label_column) {
  CsvTable table = parse_csv(csv, source);
  const std::size_t text_at = table.column(text_column);
  const std::size_t label_at = table.column(label_column);
  std::vector<LabelledText> rows;
  rows.reserve(table.rows.size());
  for (CsvRow& row : table.rows) {
    const int label = sentiment_label(row.fields[label_at]);
    if (label < 0)
      throw Error(fmt::format("{}:{}: unknown label {} in column {} (expected {})", source, row.line,
                              quote_for_message(row.fields[label_at]), quote_for_message(label_column), label_choices()));
    rows.push_back({std::move(row.fields[text_at]), label, row.line});
  }
  return rows;
}

std::vector<LabelledText> load_labelled_csv(const std::filesystem::path& path, std::string_view text_column,
                                            std::string_view label_column) {
  return parse_labelled_csv(read_file(path), path.string(), text_column, label_column);
}

std::string format_labelled_csv(const std::vector<LabelledText>& rows) {
  std::string out = "airline_sentiment,text\r\n";
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const LabelledText& row = rows[i];
    if (row.label < 0 || static_cast<std::size_t>(row.label) >= kSentimentLabels.size())
      throw Error(fmt::format("write_labelled_csv: row {} has label {} (expected 0 to {})", i, row.label,
                              kSentimentLabels.size() - 1));
    out += kSentimentLabels[static_cast<std::size_t>(row.label)];
    out += ",\"";
    for (char c : row.text) out += c == '"' ? std::string_view("\"\"") : std::string_view(&c, 1);
    out += "\"\r\n";
  }
  return out;
}

void write_labelled_csv(const std::filesystem::path& path, const std::vector<LabelledText>& rows) {
  write_file(path, format_labelled_csv(rows));
}

Vocabulary build_vocabulary(const std::vector<LabelledText>& train, const VocabOptions& options) {
  std::vector<std::string_view> texts;
  texts.reserve(train.size());
  for (const LabelledText& row : train) texts.push_back(row.text);
  return Vocabulary::build(texts, options);
}

std::vector<std::size_t> shuffled_indices(std::size_t n, std::uint64_t seed) {
  std::vector<std::size_t> order(n);
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::mt19937_64 rng(seed);
  shuffle_in_place(order, rng);
  return order;
}

DatasetSplit split_dataset(const std::vector<LabelledText>& rows, std::uint64_t seed, double valid_fraction,
                           double test_fraction) {
  const std::size_t n = rows.size();
  const std::size_t n_valid = rows_for(valid_fraction, n, "valid_fraction");
  const std::size_t n_test = rows_for(test_fraction, n, "test_fraction");
  if (n_valid + n_test >= n)
    throw Error(fmt::format("split_dataset: {} valid + {} test rows leave no training row out of {}", n_valid,
                            n_test, n));
  const std::vector<std::size_t> order = stratified_order(rows, seed);
  const auto part = [&](std::size_t from, std::size_t to) {
    return pick(rows, std::vector<std::size_t>(order.begin() + static_cast<std::ptrdiff_t>(from),
                                               order.begin() + static_cast<std::ptrdiff_t>(to)));
  };
  return {part(n_valid + n_test, n), part(0, n_valid), part(n_valid, n_valid + n_test)};
}

}  // namespace tg
