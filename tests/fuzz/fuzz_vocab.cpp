// Fuzzes the vocabulary loader (models/data/text Vocabulary::parse, behind
// Vocabulary::load): any bytes either give a vocabulary whose ids and tokens map to
// each other and which survives its own vocab.txt format, or are refused naming the file.
#include <string>

#include "fuzz_common.hpp"
#include "models/data/text.hpp"

namespace {

using tg::fuzz::require;
constexpr const char* kSource = "fuzz-vocab.txt";

void check(const tg::Vocabulary& vocab) {
  require(vocab.size() >= 2 && vocab.token(tg::Vocabulary::kPad) == tg::kPadToken &&
              vocab.token(tg::Vocabulary::kUnk) == tg::kUnkToken,
          "ids 0 and 1 are <pad> and <unk>");
  std::string saved;  // what Vocabulary::save writes
  for (std::size_t i = 0; i < vocab.size(); ++i) {
    const std::string& token = vocab.token(std::int64_t(i));
    require(vocab.id(token) == std::int64_t(i), "id(token(i)) == i");
    saved += token + '\n';
  }
  const tg::Vocabulary again = tg::Vocabulary::parse(saved, kSource);
  require(again.size() == vocab.size(), "a saved vocabulary reads back whole");
  for (std::size_t i = 0; i < vocab.size(); ++i)
    require(again.token(std::int64_t(i)) == vocab.token(std::int64_t(i)), "a saved vocabulary reads back in order");
  for (std::int64_t id : vocab.encode(saved)) require(id >= 0 && std::size_t(id) < vocab.size(), "ids in range");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  tg::fuzz::accepts(kSource, [&] { check(tg::Vocabulary::parse(tg::fuzz::as_text(data, size), kSource)); });
  return 0;
}
