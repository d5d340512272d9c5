// Fuzzes the word-vector reader (models/data/word_vectors, parse_word_vectors behind
// read_word_vectors: the same line handling, from memory): any bytes either give vectors
// of a width within the limits, one finite row per distinct vocabulary word found, or are
// refused naming the file.
#include <set>
#include <string>

#include "fuzz_common.hpp"
#include "models/data/word_vectors.hpp"
#include "models/limits.hpp"

namespace {

using tg::fuzz::require;
constexpr const char* kSource = "fuzz-vectors.txt";

// Words the dictionary and the seeds use, so that inputs reach the rows.
const tg::Vocabulary& vocab() {
  static const tg::Vocabulary v = tg::Vocabulary::parse("<pad>\n<unk>\nthe\ngood\nbad\nflight\n<url>\n", "vocab");
  return v;
}

void check(const tg::WordVectors& v) {
  require(v.dim >= 1 && v.dim <= tg::kMaxWidth, "1 <= E <= kMaxWidth");
  require(!v.ids.empty() && v.ids.size() <= v.lines, "some words found, no more than the lines");
  require(v.rows.dimension() == 2 && v.rows.shape(0) == v.ids.size() && v.rows.shape(1) == v.dim, "rows (found, E)");
  std::set<std::int64_t> distinct;
  for (const std::int64_t id : v.ids) {
    require(id >= 2 && std::size_t(id) < vocab().size(), "ids of words, not <pad> or <unk>");
    require(distinct.insert(id).second, "each word once");
  }
  for (const float x : v.rows) require(std::isfinite(x), "every number finite");
  tg::Array<float> table = xt::zeros<float>({vocab().size(), v.dim});
  tg::copy_word_vectors(v, table);
  for (std::size_t r = 0; r < v.ids.size(); ++r)
    for (std::size_t e = 0; e < v.dim; ++e)
      require(table(std::size_t(v.ids[r]), e) == v.rows(r, e), "copied into the word's row");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  tg::fuzz::accepts(kSource, [&] { check(tg::parse_word_vectors(tg::fuzz::as_text(data, size), vocab(), kSource)); });
  return 0;
}
