// Transformer encoder benchmark (a program, not a test): the time of one training step of
// Embedding + positions → TransformerEncoder → attention pooling → Linear 3 on random
// tokens, in float, and what the tape holds per token and layer (for the resource limits'
// activation estimate, docs/transformer-encoder.md).
//
//   ./bench_transformer [--batch 64] [--steps 30] [--width 64] [--heads 2] [--feedforward 128]
//                       [--layers 1] [--vocab 5000] [--warmup 3] [--timed 20] [--seed 1]
//
// A step: forward under a tape, mean cross-entropy, backward, clip_grad_norm(5), Adam(2e-3).
// Every sequence has all T tokens (no padding), so each step does the same work.
#include <algorithm>
#include <chrono>
#include <iostream>
#include <random>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "autograd/autograd.hpp"
#include "nn/embedding.hpp"
#include "nn/linear.hpp"
#include "nn/optim.hpp"
#include "nn/pooling.hpp"
#include "nn/transformer.hpp"

namespace {

using Clock = std::chrono::steady_clock;

struct Model : tg::Module<float> {
  Model(std::size_t vocab, const tg::TransformerSettings& s, std::mt19937_64& rng)
      : embedding(vocab, s.d_model, rng), encoder(s, rng), attention(s.d_model, rng), classifier(s.d_model, 3, rng) {
    register_module("embedding", embedding);
    register_module("", encoder);
    register_module("attention", attention);
    register_module("classifier", classifier);
  }
  tg::Tensor<float> logits(const tg::Ids& ids, const tg::Mask& mask) const {
    return classifier.forward(attention.forward(encoder.encode(embedding.forward(ids), mask), mask).pooled);
  }
  tg::Embedding<float> embedding;
  tg::TransformerEncoder<float> encoder;
  tg::AttentionPooling<float> attention;
  tg::Linear<float> classifier;
};

// Floats in the values the tape holds after a forward of `x` through `layers` layers alone
// (the positions add and the final LayerNorm included).
std::size_t tape_floats(const tg::TransformerEncoder<float>& encoder, const tg::Tensor<float>& x, const tg::Mask& mask) {
  tg::Tape<float> tape;
  const tg::Tensor<float> y = encoder.encode(x, mask);
  std::size_t floats = 0;
  for (const auto& node : tape.nodes())
    if (node->op != std::string("leaf")) floats += node->value.size();
  return floats;
}

}  // namespace

int main(int argc, char** argv) {
  std::size_t batch = 64, steps = 30, vocab = 5000, warmup = 3, timed = 20;
  std::uint64_t seed = 1;
  tg::TransformerSettings s{.d_model = 64, .heads = 2, .feedforward = 128, .layers = 1, .max_positions = 256};
  CLI::App app("Transformer encoder: milliseconds per training step, and tape floats per token and layer");
  app.add_option("--batch", batch, "B");
  app.add_option("--steps", steps, "T, tokens per sequence");
  app.add_option("--width", s.d_model, "d");
  app.add_option("--heads", s.heads, "h");
  app.add_option("--feedforward", s.feedforward, "F");
  app.add_option("--layers", s.layers, "L");
  app.add_option("--vocab", vocab, "V");
  app.add_option("--warmup", warmup, "untimed steps first");
  app.add_option("--timed", timed, "timed steps");
  app.add_option("--seed", seed, "weights and tokens");
  CLI11_PARSE(app, argc, argv);
  s.max_positions = std::max(s.max_positions, steps);

  std::mt19937_64 rng(seed);
  Model model(vocab, s, rng);
  tg::Adam<float> adam(model.named_parameters(), {.lr = 2e-3});
  tg::Ids ids = tg::Ids::from_shape({batch, steps}), labels = tg::Ids::from_shape({batch});
  for (auto& id : ids) id = 1 + std::int64_t(rng() % (vocab - 1));
  for (auto& label : labels) label = std::int64_t(rng() % 3);
  const tg::Mask mask = xt::ones<bool>({batch, steps});

  std::vector<double> ms;
  for (std::size_t k = 0; k < warmup + timed; ++k) {
    const auto start = Clock::now();
    adam.zero_grad();
    {
      tg::Tape<float> tape;
      tape.retain_grads = false;  // as training runs
      tape.backward(tg::cross_entropy(model.logits(ids, mask), labels));
    }
    tg::clip_grad_norm(model.named_parameters(), 5.0);
    adam.step();
    if (k >= warmup) ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - start).count());
  }
  std::sort(ms.begin(), ms.end());

  // The tape's values per token and layer: a one-layer and a two-layer encoder of the same
  // shape differ by exactly one layer's share.
  const tg::Tensor<float> x(tg::Array<float>(xt::ones<float>({batch, steps, s.d_model})), true);
  tg::TransformerSettings one = s, two = s;
  one.layers = 1;
  two.layers = 2;
  std::mt19937_64 rng2(seed);
  const tg::TransformerEncoder<float> e1(one, rng2), e2(two, rng2);
  const double per_token_layer = double(tape_floats(e2, x, mask) - tape_floats(e1, x, mask)) / double(batch * steps);
  const double formula = 32.0 * s.d_model + 3.0 * s.feedforward + 5.0 * s.heads * steps;

  fmt::print("B={} T={} d={} heads={} F={} L={}: {:.2f} ms per training step (median of {}, min {:.2f}, max {:.2f})\n",
             batch, steps, s.d_model, s.heads, s.feedforward, s.layers, ms[ms.size() / 2], ms.size(), ms.front(),
             ms.back());
  fmt::print("tape values per token per layer: {:.0f} floats (32d + 3F + 5hT = {:.0f})\n", per_token_layer, formula);
  return 0;
}
