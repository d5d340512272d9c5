// Fuzzes the checkpoint loader: bytes that start like a .npy file go to parse_npy
// (nn/npy) and are converted to every element type; anything else goes to
// read_npz_bytes (nn/npz) and then load_state_dict into a tiny sentiment model, as
// load_sentiment_checkpoint does with weights.npz. Either the bytes load, or they
// are refused naming the file.
#include "fuzz_common.hpp"
#include "models/classifier/classifier.hpp"
#include "nn/checkpoint.hpp"
#include "nn/npz.hpp"

namespace {

using tg::fuzz::require;
constexpr const char* kSource = "fuzz-weights.npz";
constexpr std::string_view kNpyMagic = "\x93NUMPY";

// The model the seed corpus's weights.npz files were saved from (make_corpus.cpp).
tg::SentimentClassifier<float>& tiny_model() {
  static tg::SentimentClassifier<float> model(
      {.vocab_size = 6, .embedding_dim = 3, .hidden_size = 2, .pooling = "attention", .seed = 1});
  return model;
}

void check_npy(std::span<const std::byte> bytes) {
  const tg::NpyArray array = tg::parse_npy(bytes, kSource);
  require(tg::parse_npy(tg::serialize_npy(array), kSource) == array, "an array survives serialize_npy");
  tg::fuzz::accepts(kSource, [&] { array.as<float>(kSource); });
  tg::fuzz::accepts(kSource, [&] { array.as<double>(kSource); });
  tg::fuzz::accepts(kSource, [&] { array.as<std::int64_t>(kSource); });
  tg::fuzz::accepts(kSource, [&] { array.as<std::int32_t>(kSource); });
  tg::fuzz::accepts(kSource, [&] { array.as<bool>(kSource); });
}

void check_npz(std::span<const std::byte> bytes) {
  const tg::NpzContents arrays = tg::read_npz_bytes(bytes, kSource);
  tg::load_state_dict(tiny_model(), arrays, kSource);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::byte> bytes = tg::fuzz::as_bytes(data, size);
  if (tg::fuzz::as_text(data, size).starts_with(kNpyMagic))
    tg::fuzz::accepts(kSource, [&] { check_npy(bytes); });
  else
    tg::fuzz::accepts(kSource, [&] { check_npz(bytes); });
  return 0;
}
