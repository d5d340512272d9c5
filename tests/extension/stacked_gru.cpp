// An encoder added from outside the library: this one file is the whole extension.
//
// tests/CMakeLists.txt builds `sentiment_extended` from the sentiment program's own
// sources (tutorials/sentiment/*.cpp, unedited) plus this file, and
// tests/extension/run_extension.cmake then trains, saves, loads, evaluates, predicts and
// reports with `--encoder stacked_gru` through that program's command line. Nothing in
// models/, nn/ or tutorials/ knows about it; the registrar at the bottom is its one
// registration line (docs/extending.md, "From outside the library").
//
// The encoder: two GRU layers, the second reading the first's states, as PyTorch's
// nn.GRU(num_layers=2) (without its dropout between layers). Both reuse nn/gru.hpp, so it
// has the GRU's packed-sequence semantics and exactly-zero states at padding, which is
// what lets the second layer read the first's output as it stands.
// Legend: B batch, T time, E embedding, H hidden, D = H or 2H.
#include "models/classifier/registry.hpp"
#include "nn/gru.hpp"

namespace {

template <class T>
class StackedGRU : public tg::Encoder<T> {
 public:
  StackedGRU(std::size_t input, std::size_t hidden, bool bidirectional, std::mt19937_64& rng)
      : lower(input, hidden, rng, bidirectional), upper(lower.output_size(), hidden, rng, bidirectional) {
    this->register_module("lower", lower);  // stacked_gru.lower.weight_ih_l0, …
    this->register_module("upper", upper);
  }
  // x (B,T,E) → (B,T,D) → (B,T,D)
  tg::Tensor<T> encode(const tg::Tensor<T>& x, const tg::Mask& mask) const override {
    return upper.encode(lower.encode(x, mask), mask);
  }
  std::size_t output_size() const override { return upper.output_size(); }
  bool reversed_half() const override { return upper.reversed_half(); }

  tg::GRU<T> lower, upper;
};

template <class T>
std::unique_ptr<tg::Encoder<T>> make_stacked_gru(const tg::ClassifierConfig& c, std::mt19937_64& rng) {
  return std::make_unique<StackedGRU<T>>(c.embedding_dim, c.hidden_size, c.bidirectional, rng);
}

std::uint64_t directions(const tg::ClassifierConfig& c) { return c.bidirectional ? 2 : 1; }

tg::EncoderEntry stacked_gru_encoder() {
  return {
      .name = "stacked_gru",
      .description = "two GRU layers, the second reading the first (tests/extension/stacked_gru.cpp)",
      .module_name = "stacked_gru",
      .settings = {},
      .make = {make_stacked_gru<float>, make_stacked_gru<double>},
      .output_size = [](const tg::ClassifierConfig& c) { return directions(c) * c.hidden_size; },
      .parameter_count =
          [](const tg::ClassifierConfig& c) {
            const std::uint64_t E = c.embedding_dim, H = c.hidden_size, D = directions(c) * H;
            const auto gru = [&](std::uint64_t in) { return directions(c) * (3 * H * in + 3 * H * H + 2 * 3 * H); };
            return gru(E) + gru(D);
          },
      // Twice the GRU's bound (models/classifier/encoders/gru.cpp): two layers of the same size.
      .activation_floats =
          [](const tg::ClassifierConfig& c, std::size_t steps, bool recording) {
            return 2 * std::uint64_t{steps} * (recording ? 96 : 16) * c.hidden_size * directions(c);
          },
      .default_training = {},
  };
}

}  // namespace

// The one registration line.
static const tg::EncoderRegistrar registered(stacked_gru_encoder());
