// The encoder and pooling registries (models/classifier/registry.hpp): unknown names get one line
// listing the known ones; a config.json from before the registries loads as the LSTM;
// every registered encoder × pooling builds by name, trains a step and round-trips a
// checkpoint; each entry's parameter count is its layer's and its activation estimate
// bounds what the tape holds; and a layer defined in this file registers with one line
// each and is usable by name, the whole way through a checkpoint.
#include <doctest/doctest.h>

#include <fstream>

#include <xtensor/xview.hpp>

#include "helpers.hpp"
#include "models/limits.hpp"
#include "models/classifier/registry.hpp"
#include "models/checkpoint/sentiment_checkpoint.hpp"
#include "models/data/synthetic_tweets.hpp"
#include "nn/linear.hpp"

namespace fs = std::filesystem;
using nlohmann::json;
using tg::test::ScratchDir;

// ---- a layer of our own, each registered by one line --------------------------------
namespace {

// An encoder with no recurrence: each position on its own, y_t = tanh(W x_t + b), 0 at padding.
template <class T>
class TanhEncoder : public tg::Encoder<T> {
 public:
  TanhEncoder(std::size_t input, std::size_t hidden, std::mt19937_64& rng) : proj(input, hidden, rng) {
    this->register_module("proj", proj);
  }
  tg::Tensor<T> encode(const tg::Tensor<T>& x, const tg::Mask& mask) const override {
    tg::Mask real = mask;
    real.reshape({mask.shape()[0], mask.shape()[1], 1});
    return tg::where(real, tanh(proj.forward(x)), tg::Tensor<T>(tg::Array<T>(T(0))));
  }
  std::size_t output_size() const override { return proj.out_features; }
  tg::Linear<T> proj;
};

// A pooling with no parameters: the state at position 0, α one-hot there.
template <class T>
class FirstStatePooling : public tg::Pooling<T> {
 public:
  tg::Pooled<T> forward(const tg::Tensor<T>& states, const tg::Mask& mask) const override {
    tg::Array<T> alpha = xt::zeros<T>({mask.shape()[0], mask.shape()[1]});
    for (std::size_t b = 0; b < mask.shape()[0]; ++b) alpha(b, 0) = mask(b, 0) ? T(1) : T(0);
    return {select(states, 1, 0), tg::Tensor<T>(alpha)};
  }
};

tg::EncoderEntry tanh_encoder() {
  return {.name = "test-tanh",
          .description = "tanh(W x_t + b) at each position (tests/test_registry.cpp)",
          .module_name = "tanh",
          .make = {[](const tg::ClassifierConfig& c, std::mt19937_64& rng) -> std::unique_ptr<tg::Encoder<float>> {
                     return std::make_unique<TanhEncoder<float>>(c.embedding_dim, c.hidden_size, rng);
                   },
                   [](const tg::ClassifierConfig& c, std::mt19937_64& rng) -> std::unique_ptr<tg::Encoder<double>> {
                     return std::make_unique<TanhEncoder<double>>(c.embedding_dim, c.hidden_size, rng);
                   }},
          .output_size = [](const tg::ClassifierConfig& c) { return c.hidden_size; },
          .parameter_count =
              [](const tg::ClassifierConfig& c) { return std::uint64_t{c.hidden_size} * (c.embedding_dim + 1); },
          .activation_floats = [](const tg::ClassifierConfig& c, std::size_t steps,
                                  bool) { return std::uint64_t{steps} * 48 * c.hidden_size; }};
}

tg::PoolingEntry first_pooling() {
  return {.name = "test-first",
          .description = "the state at position 0 (tests/test_registry.cpp)",
          .make = {[](const tg::ClassifierConfig&, std::size_t, bool, std::mt19937_64&)
                       -> std::unique_ptr<tg::Pooling<float>> { return std::make_unique<FirstStatePooling<float>>(); },
                   [](const tg::ClassifierConfig&, std::size_t, bool, std::mt19937_64&)
                       -> std::unique_ptr<tg::Pooling<double>> { return std::make_unique<FirstStatePooling<double>>(); }},
          .parameter_count = [](std::size_t) { return std::uint64_t{0}; },
          .activation_floats = [](std::size_t, std::size_t, bool) { return std::uint64_t{0}; }};
}

}  // namespace

// The one line each: nothing else in the library or the program is edited.
static const tg::EncoderRegistrar registered_tanh(tanh_encoder());
static const tg::PoolingRegistrar registered_first(first_pooling());

// ---- helpers --------------------------------------------------------------------------
namespace {

struct TinyData {
  std::vector<std::string> texts;
  tg::Vocabulary vocab;
  tg::EncodedData train, valid;
};

const TinyData& tiny_data() {
  static const TinyData d = [] {
    TinyData d;
    std::vector<tg::LabelledText> rows;
    for (const tg::SyntheticTweet& t : tg::generate_tweets(60, 5)) {
      d.texts.push_back(t.text);
      rows.push_back({t.text, t.label});
    }
    std::vector<std::string_view> views(d.texts.begin(), d.texts.begin() + 40);
    d.vocab = tg::Vocabulary::build(views);
    d.train = tg::encode_dataset({rows.begin(), rows.begin() + 40}, d.vocab);
    d.valid = tg::encode_dataset({rows.begin() + 40, rows.end()}, d.vocab);
    return d;
  }();
  return d;
}

tg::ClassifierConfig tiny_config(const std::string& encoder, const std::string& pooling, bool bidirectional = false) {
  return {.vocab_size = tiny_data().vocab.size(), .embedding_dim = 6, .hidden_size = 5, .encoder = encoder,
          .pooling = pooling, .bidirectional = bidirectional, .seed = 2};
}

// One epoch of one batch, saved and loaded back: the loaded model predicts the same.
void train_save_load(const tg::ClassifierConfig& config) {
  const TinyData& d = tiny_data();
  tg::SentimentClassifier<float> model(config);
  tg::SentimentCheckpoint info;
  info.train = {.lr = 1e-2, .batch_size = 64, .epochs = 1, .seed = 1};
  info.recipe = "canonical";
  info.history = tg::train_classifier(model, d.train, d.valid, info.train);
  REQUIRE(info.history.epochs.size() == 1);
  CHECK(std::isfinite(info.history.epochs[0].train_loss));
  ScratchDir scratch("registry");
  tg::save_sentiment_checkpoint(scratch.dir / "model", model, d.vocab, info);
  tg::LoadedSentimentModel loaded = tg::load_sentiment_checkpoint(scratch.dir / "model");
  CHECK(loaded.info.model.encoder == config.encoder);
  CHECK(loaded.info.model.pooling == config.pooling);
  model.train(false);
  const auto want = tg::predict_texts(model, d.vocab, d.texts);
  const auto got = tg::predict_texts(*loaded.model, loaded.vocab, d.texts);
  REQUIRE(want.size() == got.size());
  for (std::size_t i = 0; i < want.size(); ++i) {
    CHECK(want[i].probabilities == got[i].probabilities);
    CHECK(want[i].alpha == got[i].alpha);
  }
}

std::uint64_t counted_parameters(const tg::Module<float>& m) {
  std::uint64_t n = 0;
  for (const auto& [_, p] : m.named_parameters()) n += p.size();
  return n;
}

// Floats the tape holds after one training step's forward and backward (values and gradients).
std::uint64_t tape_floats(const tg::ClassifierConfig& config, std::size_t B, std::size_t T) {
  tg::SentimentClassifier<float> model(config);
  tg::Ids ids = xt::ones<std::int64_t>({B, T});
  tg::Mask mask = xt::ones<bool>({B, T});
  for (std::size_t b = 0; b < B; ++b)
    for (std::size_t t = T - b % T; t < T; ++t) mask(b, t) = false, ids(b, t) = 0;
  tg::Tape<float> tape;
  tape.backward(tg::cross_entropy(model.forward(ids, mask).logits, tg::Ids(xt::zeros<std::int64_t>({B}))));
  std::uint64_t floats = 0;
  for (const auto& node : tape.nodes())
    if (node->op != std::string_view("leaf")) floats += node->value.size() + (node->has_grad ? node->grad.size() : 0);
  return floats;
}

}  // namespace

TEST_CASE("registry: the built-in entries are there, in order, with their descriptions") {
  const std::vector<std::string> encoders = tg::encoder_names(), poolings = tg::pooling_names();
  REQUIRE(encoders.size() >= 2);
  CHECK(encoders[0] == "lstm");
  CHECK(encoders[1] == "gru");
  REQUIRE(poolings.size() >= 3);
  CHECK(std::vector<std::string>(poolings.begin(), poolings.begin() + 3) ==
        std::vector<std::string>{"last", "attention", "mean"});
  for (const std::string& name : encoders) CHECK_FALSE(tg::encoder_entry(name).description.empty());
  for (const std::string& name : poolings) CHECK_FALSE(tg::pooling_entry(name).description.empty());
}

TEST_CASE("registry: an unknown name is one line listing the known ones") {
  CHECK(tg::test::error_of([] { tg::encoder_entry("rnn"); }).find("unknown encoder \"rnn\" (known: lstm, gru") == 0);
  CHECK(tg::test::error_of([] { tg::pooling_entry("max"); }).find("unknown pooling \"max\" (known: last, attention, mean") ==
        0);
  const std::string built = tg::test::error_of([] { tg::SentimentClassifier<float> m(tiny_config("rnn", "attention")); });
  CHECK(built.find("classifier: unknown encoder \"rnn\" (known: lstm, gru") == 0);
  CHECK(built.find('\n') == std::string::npos);
  CHECK(tg::test::error_of([] { tg::register_encoder(tanh_encoder()); }).find("already registered") != std::string::npos);
  tg::ClassifierConfig config = tiny_config("lstm", "attention");
  config.encoder_settings["layers"] = 2;
  CHECK(tg::test::error_of([&] { tg::SentimentClassifier<float> m(config); }) ==
        "classifier: encoder \"lstm\" has no setting \"layers\" (it has none)");
}

TEST_CASE("registry: every entry's parameter count is its layer's, and its training estimate bounds the tape") {
  for (const std::string& encoder : tg::encoder_names())
    for (const std::string& pooling : tg::pooling_names())
      for (bool bidirectional : {false, true}) {
        CAPTURE(encoder);
        CAPTURE(pooling);
        CAPTURE(bidirectional);
        const tg::ClassifierConfig config = tiny_config(encoder, pooling, bidirectional);
        CHECK(tg::classifier_parameter_count(config) == counted_parameters(tg::SentimentClassifier<float>(config)));
        const std::uint64_t held = tape_floats(config, 6, 9) * sizeof(float);
        CHECK(held <= tg::batch_activation_bytes(config, 6, 9, true));
      }
}

TEST_CASE("registry: every registered encoder × pooling trains a step and round-trips a checkpoint") {
  for (const std::string& encoder : tg::encoder_names())
    for (const std::string& pooling : tg::pooling_names()) {
      CAPTURE(encoder);
      CAPTURE(pooling);
      train_save_load(tiny_config(encoder, pooling, encoder != "test-tanh"));
    }
}

TEST_CASE("registry: a config.json from before the registries (no encoder field) loads as the LSTM") {
  const TinyData& d = tiny_data();
  tg::SentimentClassifier<float> model(tiny_config("lstm", "attention"));
  tg::SentimentCheckpoint info;
  info.recipe = "canonical";
  ScratchDir scratch("registry-old");
  const fs::path dir = scratch.dir / "model";
  tg::save_sentiment_checkpoint(dir, model, d.vocab, info);
  json config;
  std::ifstream(dir / "config.json") >> config;
  config["model"].erase("encoder");
  config["model"].erase("encoder_settings");
  std::ofstream(dir / "config.json") << config.dump(2);
  const tg::LoadedSentimentModel loaded = tg::load_sentiment_checkpoint(dir);
  CHECK(loaded.info.model.encoder == "lstm");
  CHECK(loaded.model->named_parameters().front().first == "embedding.weight");
  CHECK(loaded.model->parameter("lstm.weight_ih_l0").size() == 4 * 5 * 6);

  config["model"]["encoder"] = "rnn";
  std::ofstream(dir / "config.json") << config.dump(2);
  const std::string error = tg::test::error_of([&] { tg::load_sentiment_checkpoint(dir); });
  CHECK(error.find("field \"model.encoder\": unknown encoder \"rnn\" (known: lstm, gru") != std::string::npos);
  CHECK(error.find('\n') == std::string::npos);
}

TEST_CASE("registry: a layer registered from a test file is usable by name, through a checkpoint") {
  CHECK(tg::encoder_entry("test-tanh").description.find("tests/test_registry.cpp") != std::string::npos);
  train_save_load(tiny_config("test-tanh", "test-first"));
  train_save_load(tiny_config("gru", "test-first", true));
}
