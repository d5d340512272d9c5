// Fuzzes weights.npz as load_parameters reads it: the zip container checked against
// what the model expects BEFORE any member is inflated (Note [Bounded .npz reading],
// nn/npz.hpp): every member's name must be a parameter and its declared size within
// the largest .npy of that parameter's shape; the file itself within their sum. Either
// the bytes load into a tiny sentiment model or they are refused naming the file. And
// the check only refuses: whatever the bounded read accepts, the unbounded read
// (read_npz_bytes without limits) reads equal, each member within its limit.
#include "fuzz_common.hpp"
#include "models/classifier/classifier.hpp"
#include "nn/checkpoint.hpp"
#include "nn/npz.hpp"

namespace {

using tg::fuzz::require;
constexpr const char* kSource = "fuzz-weights.npz";

// The model the seed corpus's weights.npz files were saved from (make_corpus.cpp).
tg::SentimentClassifier<float>& tiny_model() {
  static tg::SentimentClassifier<float> model(
      {.vocab_size = 6, .embedding_dim = 3, .hidden_size = 2, .pooling = "attention", .seed = 1});
  return model;
}

void check_weights(std::span<const std::byte> bytes) {
  const tg::NpzLimits limits = tg::parameter_limits(tiny_model());
  const tg::NpzContents arrays = tg::read_npz_bytes(bytes, kSource, limits);
  require(tg::read_npz_bytes(bytes, kSource) == arrays, "the bounded read agrees with the unbounded one");
  for (const auto& [key, array] : arrays)
    require(limits.max_member_bytes.contains(key) && array.data.size() <= limits.max_member_bytes.at(key),
            "every member accepted is expected and within its limit");
  tg::load_state_dict(tiny_model(), arrays, kSource);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  tg::fuzz::accepts(kSource, [&] { check_weights(tg::fuzz::as_bytes(data, size)); });
  return 0;
}
