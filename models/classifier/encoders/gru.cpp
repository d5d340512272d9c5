// The "gru" encoder: PyTorch's nn.GRU, one layer, one or two directions (nn/gru.hpp).
// Registered by its line in models/classifier/entries.def.
#include "models/classifier/registry.hpp"
#include "nn/gru.hpp"

namespace tg {
namespace {

template <class T>
std::unique_ptr<Encoder<T>> make_gru(const ClassifierConfig& c, std::mt19937_64& rng) {
  return std::make_unique<GRU<T>>(c.embedding_dim, c.hidden_size, rng, c.bidirectional);
}

std::uint64_t directions(const ClassifierConfig& c) { return c.bidirectional ? 2 : 1; }

// Floats per token and unit of H·directions, as the LSTM's (models/classifier/encoders/lstm.cpp): a
// GRU step makes about as many (B,H)-sized values as an LSTM step (3 gates, but b and the
// r ⊙ b_n product kept apart), so the LSTM's measured bounds are kept; tests/test_registry.cpp
// checks that the training bound holds what the tape holds.
constexpr std::uint64_t kRecordingPerH = 96, kLivePerH = 16;

}  // namespace

EncoderEntry gru_encoder() {
  return {
      .name = "gru",
      .description = "PyTorch's nn.GRU: gates r, z, n; --bidirectional for two directions (D = 2H)",
      .module_name = "gru",
      .settings = {},
      .make = {make_gru<float>, make_gru<double>},
      .output_size = [](const ClassifierConfig& c) { return directions(c) * c.hidden_size; },
      .parameter_count =
          [](const ClassifierConfig& c) {
            const std::uint64_t E = c.embedding_dim, H = c.hidden_size;
            return directions(c) * (3 * H * E + 3 * H * H + 2 * 3 * H);  // weight_ih, weight_hh, two biases
          },
      .activation_floats =
          [](const ClassifierConfig& c, std::size_t steps, bool recording) {
            return std::uint64_t{steps} * (recording ? kRecordingPerH : kLivePerH) * c.hidden_size * directions(c);
          },
      .default_training = {},
  };
}

}  // namespace tg
