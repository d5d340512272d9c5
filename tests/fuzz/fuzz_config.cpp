// Fuzzes the checkpoint config loader (models/checkpoint/sentiment_checkpoint
// parse_sentiment_config, behind load_sentiment_checkpoint): any bytes either give a
// checkpoint description within its documented bounds or are refused naming the
// file. A small enough model is then built from it, as loading would.
#include "fuzz_common.hpp"
#include "models/limits.hpp"
#include "models/checkpoint/sentiment_checkpoint.hpp"

namespace {

using tg::fuzz::require;
constexpr const char* kSource = "fuzz-config.json";

void check(const tg::SentimentCheckpoint& info) {
  require(info.labels.size() == 3 && info.model.classes == 3, "three labels, three classes");
  require(info.max_tokens >= 1 && info.max_tokens <= tg::kMaxSequenceLength, "max_tokens within the limit");
  require(info.model.embedding_dim >= 1 && info.model.hidden_size >= 1, "sizes at least 1");
  require(info.model.embedding_dropout >= 0 && info.model.embedding_dropout < 1, "dropout in [0, 1)");
  const tg::ClassifierConfig& m = info.model;
  if (m.vocab_size <= 64 && m.embedding_dim <= 16 && m.hidden_size <= 16)  // bounded memory and time
    tg::fuzz::accepts("classifier", [&] { tg::SentimentClassifier<float> model(m); });
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  tg::fuzz::accepts(kSource, [&] { check(tg::parse_sentiment_config(tg::fuzz::as_text(data, size), kSource)); });
  return 0;
}
