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

// Floats per token and unit of H·directions that a forward pass holds: recording, the
// tape keeps the fused recurrence's gates (4H), tanh c' (H), its output h and c (2H) and
// their gradients, plus the states' gather; not recording, only the gates and the states
// are alive at once. Measured as peak resident memory of `sentiment train` minus that of a
// tiny model (H = 8) on tweets of 48 tokens or more: B·T 512×48, E 16, H 256, two
// directions held 17 floats per unit of H·directions per token in training (922 against
// 72 MB); before the fused recurrence, 50–75 (B·T from 64×48 to 512×100, E 16–300,
// H 32–512, every pooling), and evaluation about 12. The constants are those, rounded up
// with room to spare (the poolings' share is inside them); 40 while the packed schedule
// and attention pooling still reshaped (copied) the inputs and states they gather from, 32
// while the tape also held W_hhᵀ and its gradient (tests/test_limits.cpp keeps the
// estimate within 3× of what small models' tapes hold).
constexpr std::uint64_t kRecordingPerH = 24, kLivePerH = 16;

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
