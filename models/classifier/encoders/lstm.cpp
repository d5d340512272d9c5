// The "lstm" encoder: PyTorch's nn.LSTM, one layer, one or two directions (nn/lstm.hpp).
// Registered by its line in models/classifier/entries.def.
#include "models/classifier/registry.hpp"
#include "nn/lstm.hpp"

namespace tg {
namespace {

template <class T>
std::unique_ptr<Encoder<T>> make_lstm(const ClassifierConfig& c, std::mt19937_64& rng) {
  return std::make_unique<LSTM<T>>(c.embedding_dim, c.hidden_size, rng, c.bidirectional);
}

std::uint64_t directions(const ClassifierConfig& c) { return c.bidirectional ? 2 : 1; }

// Floats per token and unit of H·directions that a forward pass holds: recording, every
// op's value stays on the tape and gets a gradient of the same size (the LSTM makes ~30
// (B,H)-sized values per step and direction); not recording, only the input projection
// (4H) and the states are alive at once. Measured: peak resident memory of `sentiment
// train` and `evaluate` minus that of a tiny model, on tweets of T tokens or more, for
// B·T from 64×48 to 512×100, E 16–300, H 32–512, one and two directions, every pooling:
// training held 50–75 floats per unit of H·directions per token, evaluation about 12.
// The constants are those, rounded up (the poolings' share is inside them).
constexpr std::uint64_t kRecordingPerH = 96, kLivePerH = 16;

}  // namespace

EncoderEntry lstm_encoder() {
  return {
      .name = "lstm",
      .description = "PyTorch's nn.LSTM: gates i, f, g, o; --bidirectional for two directions (D = 2H)",
      .module_name = "lstm",
      .settings = {},
      .make = {make_lstm<float>, make_lstm<double>},
      .output_size = [](const ClassifierConfig& c) { return directions(c) * c.hidden_size; },
      .parameter_count =
          [](const ClassifierConfig& c) {
            const std::uint64_t E = c.embedding_dim, H = c.hidden_size;
            return directions(c) * (4 * H * E + 4 * H * H + 2 * 4 * H);  // weight_ih, weight_hh, two biases
          },
      .activation_floats =
          [](const ClassifierConfig& c, std::size_t steps, bool recording) {
            return std::uint64_t{steps} * (recording ? kRecordingPerH : kLivePerH) * c.hidden_size * directions(c);
          },
      .default_training = {},
  };
}

}  // namespace tg
