// The "transformer" encoder: learned positions + L pre-LN layers of PyTorch's
// nn.TransformerEncoderLayer(norm_first=True, activation='relu') + a final LayerNorm
// (nn/transformer.hpp, docs/transformer-encoder.md). Registered by its line in
// models/classifier/entries.def. Its width d is the embedding size E.
#include "models/classifier/registry.hpp"
#include "nn/transformer.hpp"

namespace tg {
namespace {

TransformerSettings settings_of(const ClassifierConfig& c) {
  return {.d_model = c.embedding_dim,
          .heads = std::size_t(encoder_setting(c, "heads")),
          .feedforward = std::size_t(encoder_setting(c, "feedforward")),
          .layers = std::size_t(encoder_setting(c, "layers")),
          .max_positions = std::size_t(encoder_setting(c, "max_positions")),
          .dropout = encoder_setting(c, "dropout")};
}

template <class T>
std::unique_ptr<Encoder<T>> make_transformer(const ClassifierConfig& c, std::mt19937_64& rng) {
  return std::make_unique<TransformerEncoder<T>>(settings_of(c), rng);
}

// Floats per token (docs/transformer-encoder.md, measured by bench_transformer): without
// dropout a layer leaves 32 d-sized, 3 F-sized and 5 (h·T)-sized values on the tape; with
// dropout its four dropouts add an output and a kept scale each (on A, after attention,
// inside and after the feed-forward block), rounded up here to 36 d, 6 F and 8 h·T. Each
// value gets a gradient when recording; the positions' add and the final LayerNorm a few
// more of d. tests/test_registry.cpp checks the bound against what a tape holds.
std::uint64_t per_token(const TransformerSettings& s, std::uint64_t steps, bool recording) {
  const std::uint64_t d = s.d_model, F = s.feedforward, h = s.heads;
  if (!recording) return 8 * d + 2 * F + 3 * h * steps;
  const std::uint64_t layer = s.dropout > 0 ? 36 * d + 6 * F + 8 * h * steps : 32 * d + 3 * F + 5 * h * steps;
  return 2 * (s.layers * layer + 4 * d);
}

}  // namespace

EncoderEntry transformer_encoder() {
  return {
      .name = "transformer",
      .description = "Transformer encoder: learned positions, pre-LN self-attention layers (D = E)",
      // Empty prefix: the encoder's names are PyTorch's state_dict names as they stand
      // ("position.weight", "transformer.layers.0.…"): Module::register_module adds no
      // prefix for an empty name.
      .module_name = "",
      .settings = {
          {"heads", "attention heads h; must divide the embedding size E", 2, 1, 64, true},
          {"feedforward", "feed-forward width F", 256, 1, 65536, true},
          {"layers", "encoder layers L", 1, 1, 16, true},
          {"max_positions", "learned positions P: the longest sequence it takes", 512, 1, 10000, true},
          {"dropout", "dropout on attention weights and both residual branches (training only)", 0.1, 0, 0.9, false},
      },
      .make = {make_transformer<float>, make_transformer<double>},
      .output_size = [](const ClassifierConfig& c) { return c.embedding_dim; },
      .parameter_count =
          [](const ClassifierConfig& c) {
            const TransformerSettings s = settings_of(c);
            const std::uint64_t d = s.d_model, F = s.feedforward;
            return s.max_positions * d + s.layers * (4 * d * d + 2 * d * F + 9 * d + F) + 2 * d;
          },
      .activation_floats =
          [](const ClassifierConfig& c, std::size_t steps, bool recording) {
            return std::uint64_t{steps} * per_token(settings_of(c), steps, recording);
          },
      // Attention trained from scratch wants a gentler start than an LSTM: Adam's first
      // steps, with a full learning rate and unsettled second moments, push the softmax
      // scores into saturation. So the `default` recipe ramps the learning rate up over
      // the first tenth of training, to a peak of 1e-3 (docs/accuracy.md: tuned on a
      // held-out part of the training split).
      .default_training = {.lr = 1e-3, .warmup = 0.1},
  };
}

}  // namespace tg
