// Tests for models/limits (Note [Resource limits]): the parameter count is the model's
// exactly, the activation estimate bounds what the tape really holds, the flagship fits
// far inside every limit, and a size over a limit is refused — by the classifier's
// constructor and forward pass, and by the batcher — before anything of that size exists.
#include <doctest/doctest.h>

#include <xtensor/xbuilder.hpp>

#include "autograd/tape.hpp"
#include "models/data/batch.hpp"
#include "models/classifier/classifier.hpp"
#include "models/limits.hpp"
#include "models/training/trainer.hpp"

namespace {

std::uint64_t counted_parameters(const tg::SentimentClassifier<float>& model) {
  std::uint64_t n = 0;
  for (const auto& [_, p] : model.named_parameters()) n += p.size();
  return n;
}

// Floats held by the tape after one forward and backward pass over a (B,T) batch:
// every recorded value and gradient, the parameters' own excepted.
std::uint64_t tape_floats(const tg::ClassifierConfig& config, std::size_t B, std::size_t T) {
  tg::SentimentClassifier<float> model(config);
  model.train();
  tg::Ids ids = xt::ones<std::int64_t>({B, T});
  tg::Mask mask = xt::ones<bool>({B, T});
  for (std::size_t b = 0; b < B; ++b)  // ragged lengths, as real batches are
    for (std::size_t t = T - b % T; t < T; ++t) mask(b, t) = false, ids(b, t) = 0;
  tg::Tape<float> tape;
  const tg::Tensor<float> loss = tg::cross_entropy(model.forward(ids, mask).logits, tg::Ids(xt::zeros<std::int64_t>({B})));
  tape.backward(loss);
  std::uint64_t floats = 0;
  for (const auto& node : tape.nodes())
    if (node->op != std::string_view("leaf")) floats += node->value.size() + (node->has_grad ? node->grad.size() : 0);
  return floats;
}

}  // namespace

TEST_CASE("limits: the parameter count is the model's exactly, for every pooling and direction") {
  for (const char* pooling : {"last", "attention", "mean"})
    for (bool bidirectional : {false, true}) {
      CAPTURE(pooling);
      CAPTURE(bidirectional);
      const tg::ClassifierConfig config{.vocab_size = 37, .embedding_dim = 5, .hidden_size = 7, .classes = 3,
                                        .pooling = pooling, .bidirectional = bidirectional};
      CHECK(tg::classifier_parameter_count(config) == counted_parameters(tg::SentimentClassifier<float>(config)));
    }
}

TEST_CASE("limits: the training estimate bounds what the tape holds, within a factor of three") {
  struct Case {
    std::size_t E, H, B, T;
    bool bidirectional;
    const char* pooling;
  };
  for (const Case& c : {Case{8, 8, 4, 6, false, "last"}, Case{16, 8, 8, 12, true, "attention"},
                        Case{4, 24, 6, 10, true, "mean"}, Case{32, 16, 16, 20, false, "attention"}}) {
    CAPTURE(c.E);
    CAPTURE(c.H);
    CAPTURE(c.bidirectional);
    const tg::ClassifierConfig config{.vocab_size = 10, .embedding_dim = c.E, .hidden_size = c.H,
                                      .pooling = c.pooling, .bidirectional = c.bidirectional};
    const std::uint64_t held = tape_floats(config, c.B, c.T) * sizeof(float);
    const std::uint64_t estimate = tg::batch_activation_bytes(config, c.B, c.T, true);
    CAPTURE(held);
    CAPTURE(estimate);
    CHECK(held <= estimate);
    CHECK(3 * held >= estimate);
  }
}

TEST_CASE("limits: the flagship recipes fit ten times inside every limit (eight: the default's evaluation batch)") {
  for (const std::string name : {"canonical", "default"}) {
    CAPTURE(name);
    tg::Recipe recipe = tg::named_recipe(name, "attention", 1);
    recipe.model.vocab_size = 5'788;  // the shared training split's vocabulary
    CHECK(10 * tg::classifier_parameter_count(recipe.model) <= tg::kMaxParameters);
    CHECK(10 * tg::batch_activation_bytes(recipe.model, recipe.train.batch_size, tg::kMaxTokens, true) <=
          tg::kMaxBatchBytes);
    // Evaluation batches are 256 tweets. With subwords (the default recipe) the estimate
    // counts the worst case, every position a distinct bag of kMaxSubwordsPerToken ids
    // (each tweet's tokens all different, one of them 20 characters long): 8 times inside.
    const std::uint64_t margin = recipe.model.subword_buckets > 0 ? 8 : 10;
    CHECK(margin * tg::batch_activation_bytes(recipe.model, 256, tg::kMaxTokens, false) <= tg::kMaxBatchBytes);
    CHECK_NOTHROW(tg::check_classifier_size(recipe.model));
  }
}

TEST_CASE("limits: a classifier over a limit is refused by its constructor, naming the size") {
  tg::ClassifierConfig config{.vocab_size = 1'000'000'000, .embedding_dim = 100, .hidden_size = 60'000};
  CHECK_THROWS_WITH_AS(tg::SentimentClassifier<float>{config},
                       "classifier: vocabulary size 1000000000 is over the limit of 10000000", tg::Error);
  config.vocab_size = 1'000;
  CHECK_THROWS_WITH_AS(tg::SentimentClassifier<float>{config},
                       "classifier: hidden size 60000 is over the limit of 8192", tg::Error);
  config = {.vocab_size = 5'000'000, .embedding_dim = 4'096, .hidden_size = 128};
  CHECK_THROWS_WITH_AS(tg::SentimentClassifier<float>{config},
                       "classifier: vocabulary 5000000 × embedding 4096 with hidden size 128 makes 20482180739 "
                       "parameters (76 GiB of float32), over the limit of 100000000 (381 MiB)",
                       tg::Error);
  config = {.vocab_size = 100, .embedding_dim = 100, .hidden_size = 4'096, .bidirectional = true};
  CHECK_THROWS_WITH_AS(tg::SentimentClassifier<float>{config}, doctest::Contains("(bidirectional) makes"), tg::Error);
}

TEST_CASE("limits: forward refuses a training batch over the memory limit before any op runs") {
  const tg::ClassifierConfig config{.vocab_size = 10, .embedding_dim = 1, .hidden_size = 800,
                                    .pooling = "mean"};
  tg::SentimentClassifier<float> model(config);
  const std::size_t B = 64, T = 1000;  // 64,000 tokens × (8 + 24·800) floats: about 4.6 GiB recorded
  const tg::Ids ids = xt::ones<std::int64_t>({B, T});
  const tg::Mask mask = xt::ones<bool>({B, T});
  tg::Tape<float> tape;
  CHECK_THROWS_WITH_AS(model.forward(ids, mask),
                       "classifier: a batch of 64 × 1000 tokens with embedding 1 and hidden size 800 needs about "
                       "4.6 GiB to train on, over the limit of 4.0 GiB",
                       tg::Error);
  CHECK(tape.size() == 0);  // nothing was recorded: the check came first
  // Without a tape only the live tensors count: the same batch fits for evaluation.
  CHECK_NOTHROW(tg::check_batch_memory(config, B, T, false));
  CHECK_THROWS_WITH_AS(tg::check_batch_memory(config, B, tg::kMaxSequenceLength + 1, false),
                       "sequence length 10001 is over the limit of 10000", tg::Error);
}

TEST_CASE("limits: the batcher refuses batch sizes and lengths over the limits") {
  const std::vector<std::vector<std::int64_t>> sequences = {{1, 2}, {3}};
  const std::vector<std::int64_t> labels = {0, 1};
  CHECK_THROWS_WITH_AS(tg::Batcher(sequences, labels, {.batch_size = tg::kMaxBatchSize + 1}),
                       "batch: batch size 65537 must be between 1 and 65536", tg::Error);
  CHECK_THROWS_WITH_AS(tg::Batcher(sequences, labels, {.pad_to = tg::kMaxSequenceLength + 1}),
                       "batch: pad_to 10001 is over the limit of 10000 tokens", tg::Error);
  CHECK_NOTHROW(tg::Batcher(sequences, labels, {.batch_size = tg::kMaxBatchSize, .pad_to = tg::kMaxSequenceLength}));
}

TEST_CASE("limits: byte counts read as people write them") {
  CHECK(tg::format_bytes(512) == "512 bytes");
  CHECK(tg::format_bytes(1536) == "1.5 KiB");
  CHECK(tg::format_bytes(std::uint64_t{400} << 20) == "400 MiB");
  CHECK(tg::format_bytes(tg::kMaxBatchBytes) == "4.0 GiB");
}
