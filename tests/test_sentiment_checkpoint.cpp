// Tests for models/checkpoint/sentiment_checkpoint: a saved model loads back predicting bit for bit
// the same with the same config; saving replaces an earlier checkpoint but refuses to
// replace anything else (more cases: test_file_ownership.cpp); every kind of damaged checkpoint is rejected naming its file.
#include <doctest/doctest.h>

#include <fstream>
#include <functional>

#include <xtensor/xbuilder.hpp>

#include "helpers.hpp"
#include "models/checkpoint/sentiment_checkpoint.hpp"
#include "models/data/synthetic_tweets.hpp"
#include "nn/npz.hpp"

namespace fs = std::filesystem;
using nlohmann::json;
using tg::test::listing;
using tg::test::ScratchDir;

namespace {

// A briefly trained tiny model, its vocabulary and what a program would save with it.
struct Trained {
  std::vector<std::string> texts;
  tg::Vocabulary vocab;
  std::unique_ptr<tg::SentimentClassifier<float>> model;
  tg::SentimentCheckpoint info;

  explicit Trained(std::uint64_t seed) : vocab(make(seed)) {
    std::vector<tg::LabelledText> rows;
    for (const std::string& text : texts) rows.push_back({text, int(rows.size() % 3)});
    const tg::EncodedData train = tg::encode_dataset({rows.begin(), rows.begin() + 90}, vocab);
    const tg::EncodedData valid = tg::encode_dataset({rows.begin() + 90, rows.end()}, vocab);
    info.model = {.vocab_size = vocab.size(), .embedding_dim = 8, .hidden_size = 8, .seed = seed};
    model = std::make_unique<tg::SentimentClassifier<float>>(info.model);
    info.train = {.lr = 1e-2, .batch_size = 32, .epochs = 2, .seed = seed};
    info.recipe = "canonical";
    info.history = tg::train_classifier(*model, train, valid, info.train);
    info.extra = {{"data", "synthetic"}, {"test_accuracy", 0.5}};
  }

  tg::Vocabulary make(std::uint64_t seed) {
    for (const tg::SyntheticTweet& t : tg::generate_tweets(120, seed)) texts.push_back(t.text);
    std::vector<std::string_view> views(texts.begin(), texts.begin() + 90);
    return tg::Vocabulary::build(views);
  }
};

const Trained& trained() {
  static const Trained t(3);
  return t;
}

std::vector<tg::Prediction> predict(tg::SentimentClassifier<float>& model, const tg::Vocabulary& vocab) {
  return tg::predict_texts(model, vocab, trained().texts);
}

std::string read_text(const fs::path& path) {
  std::ifstream in(path);
  return {std::istreambuf_iterator<char>(in), {}};
}

void write_text(const fs::path& path, const std::string& text) { std::ofstream(path) << text; }

void edit_config(const fs::path& dir, const std::function<void(json&)>& edit) {
  json config = json::parse(read_text(dir / "config.json"));
  edit(config);
  write_text(dir / "config.json", config.dump(2));
}

// A saved copy of trained() in a scratch directory, for the load-error tests to damage.
struct SavedCopy {
  ScratchDir scratch{"sentiment-ckpt"};
  fs::path dir = scratch.dir / "ckpt";
  SavedCopy() {
    const Trained& t = trained();
    tg::save_sentiment_checkpoint(dir, *t.model, t.vocab, t.info);
  }
  void check_rejected(const char* file, const char* detail) const {
    CHECK_THROWS_WITH_AS(tg::load_sentiment_checkpoint(dir), doctest::Contains((dir / file).string().c_str()),
                         tg::Error);
    CHECK_THROWS_WITH_AS(tg::load_sentiment_checkpoint(dir), doctest::Contains(detail), tg::Error);
  }
};

}  // namespace

TEST_CASE("sentiment checkpoint: a round trip predicts bit for bit the same and keeps the config") {
  const Trained& t = trained();
  ScratchDir scratch{"sentiment-ckpt"};
  tg::save_sentiment_checkpoint(scratch.dir / "ckpt", *t.model, t.vocab, t.info);
  CHECK(listing(scratch.dir) == std::vector<std::string>{"ckpt"});
  CHECK(listing(scratch.dir / "ckpt") ==
        std::vector<std::string>{"SHA256SUMS", "config.json", "vocab.txt", "weights.npz"});

  tg::LoadedSentimentModel loaded = tg::load_sentiment_checkpoint(scratch.dir / "ckpt");
  CHECK_FALSE(loaded.model->training());
  const std::vector<tg::Prediction> before = predict(*t.model, t.vocab), after = predict(*loaded.model, loaded.vocab);
  REQUIRE(before.size() == after.size());
  for (std::size_t i = 0; i < before.size(); ++i) {
    CHECK(after[i].probabilities == before[i].probabilities);
    CHECK(after[i].alpha == before[i].alpha);
    CHECK(after[i].tokens == before[i].tokens);
  }
  const tg::SentimentCheckpoint& info = loaded.info;
  CHECK(info.model.vocab_size == t.vocab.size());
  CHECK(info.model.hidden_size == 8);
  CHECK(info.model.pooling == "attention");
  CHECK(info.model.seed == 3);
  CHECK(info.recipe == "canonical");
  CHECK(info.train.lr == 1e-2);
  CHECK(info.labels == std::vector<std::string>{"negative", "neutral", "positive"});
  CHECK(info.history.epochs.size() == 2);
  CHECK(info.history.epochs[1].valid_loss == t.info.history.epochs[1].valid_loss);
  CHECK(info.history.best_epoch == t.info.history.best_epoch);
  CHECK(info.history.best_valid.confusion == t.info.history.best_valid.confusion);
  CHECK(info.extra == t.info.extra);
  // Saving what was loaded writes the same config.json, byte for byte.
  tg::save_sentiment_checkpoint(scratch.dir / "again", *loaded.model, loaded.vocab, loaded.info);
  CHECK(read_text(scratch.dir / "again" / "config.json") == read_text(scratch.dir / "ckpt" / "config.json"));
}

TEST_CASE("sentiment checkpoint: best_valid has metrics_json's one form, and the older per_class array still loads") {
  const Trained& t = trained();
  ScratchDir scratch{"sentiment-ckpt-metrics"};
  tg::save_sentiment_checkpoint(scratch.dir / "ckpt", *t.model, t.vocab, t.info);
  const fs::path config = scratch.dir / "ckpt" / "config.json";
  json root = json::parse(read_text(config));
  const json per_class = root["best_valid"]["per_class"];
  REQUIRE(per_class.is_object());
  CHECK(per_class.size() == 3);
  CHECK(per_class["neutral"]["support"] == t.info.history.best_valid.per_class[1].support);
  CHECK(json(tg::metrics_json(t.info.history.best_valid, {"negative", "neutral", "positive"})) == root["best_valid"]);
  // What checkpoints held before: an array of {"label", …} in class order.
  json old = json::array();
  for (const std::string label : {"negative", "neutral", "positive"}) {
    json k = per_class[label];
    k["label"] = label;
    old.push_back(k);
  }
  root["best_valid"]["per_class"] = old;
  std::ofstream(config) << root.dump();
  const tg::LoadedSentimentModel loaded = tg::load_sentiment_checkpoint(scratch.dir / "ckpt");
  const tg::Metrics& m = loaded.info.history.best_valid;
  REQUIRE(m.per_class.size() == 3);
  for (std::size_t c = 0; c < 3; ++c) {
    CHECK(m.per_class[c].f1 == t.info.history.best_valid.per_class[c].f1);
    CHECK(m.per_class[c].support == t.info.history.best_valid.per_class[c].support);
  }
}

TEST_CASE("sentiment checkpoint: saving over a checkpoint replaces it and leaves nothing beside it") {
  const Trained& t = trained();
  const Trained other(4);
  ScratchDir scratch{"sentiment-ckpt"};
  const fs::path dir = scratch.dir / "ckpt/";  // a trailing separator names the same directory
  tg::save_sentiment_checkpoint(dir, *t.model, t.vocab, t.info);
  tg::save_sentiment_checkpoint(dir, *other.model, other.vocab, other.info);
  CHECK(listing(scratch.dir) == std::vector<std::string>{"ckpt"});
  tg::LoadedSentimentModel loaded = tg::load_sentiment_checkpoint(dir);
  CHECK(loaded.info.model.seed == 4);
  CHECK(predict(*loaded.model, loaded.vocab)[0].probabilities ==
        predict(*other.model, other.vocab)[0].probabilities);
}

TEST_CASE("sentiment checkpoint: saving refuses to replace anything but a checkpoint or an empty directory") {
  const Trained& t = trained();
  ScratchDir scratch{"sentiment-ckpt"};
  const auto refused = [&](const fs::path& dir) {
    CHECK_THROWS_WITH_AS(tg::save_sentiment_checkpoint(dir, *t.model, t.vocab, t.info),
                         doctest::Contains("refusing to"), tg::Error);
  };
  SUBCASE("a directory of other files") {
    fs::create_directories(scratch.dir / "work");
    write_text(scratch.dir / "work" / "notes.txt", "keep me");
    refused(scratch.dir / "work");
    CHECK(read_text(scratch.dir / "work" / "notes.txt") == "keep me");
  }
  SUBCASE("a directory whose config.json is someone else's") {
    fs::create_directories(scratch.dir / "app");
    write_text(scratch.dir / "app" / "config.json", R"({"name": "app"})");
    refused(scratch.dir / "app");
    CHECK(listing(scratch.dir / "app") == std::vector<std::string>{"config.json"});
  }
  SUBCASE("a directory whose config.json has a format that is not a string") {
    // Regression (found writing tests/fuzz): nlohmann's value("format", "") threw its own
    // type_error here instead of the refusal.
    fs::create_directories(scratch.dir / "app");
    write_text(scratch.dir / "app" / "config.json", R"({"format": 1})");
    refused(scratch.dir / "app");
  }
  SUBCASE("a regular file") {
    write_text(scratch.dir / "model", "keep me");
    refused(scratch.dir / "model");
    CHECK(read_text(scratch.dir / "model") == "keep me");
  }
  SUBCASE("an empty directory is fine") {
    fs::create_directories(scratch.dir / "empty");
    tg::save_sentiment_checkpoint(scratch.dir / "empty", *t.model, t.vocab, t.info);
    CHECK(tg::load_sentiment_checkpoint(scratch.dir / "empty").info.recipe == "canonical");
  }
  CHECK(listing(scratch.dir).size() == 1);  // no temporary directory left behind
}

TEST_CASE("sentiment checkpoint: a vocabulary that does not fit the model is not saved") {
  const Trained& t = trained();
  const std::vector<std::string_view> texts{"late again"};
  const tg::Vocabulary small = tg::Vocabulary::build(texts, {.min_count = 1});
  ScratchDir scratch{"sentiment-ckpt"};
  CHECK_THROWS_WITH_AS(tg::save_sentiment_checkpoint(scratch.dir / "ckpt", *t.model, small, t.info),
                       doctest::Contains("embedding has"), tg::Error);
  CHECK(listing(scratch.dir).empty());
}

TEST_CASE("sentiment checkpoint: loading a damaged checkpoint names the file at fault") {
  SavedCopy saved;
  SUBCASE("no directory") {
    CHECK_THROWS_WITH_AS(tg::load_sentiment_checkpoint(saved.scratch.dir / "absent"),
                         doctest::Contains("absent: no such checkpoint directory"), tg::Error);
  }
  SUBCASE("no weights.npz") {
    fs::remove(saved.dir / "weights.npz");
    saved.check_rejected("weights.npz", "weights.npz");
  }
  SUBCASE("config.json is not JSON") {
    write_text(saved.dir / "config.json", "{\"model\": ");
    saved.check_rejected("config.json", "not valid JSON");
  }
  SUBCASE("config.json nested absurdly deep") {
    // Regression (tests/fuzz/fuzz_config): copying "extra" recursed once per level and
    // overflowed the stack.
    const std::size_t depth = 200000;
    std::string config = read_text(saved.dir / "config.json");
    const std::string extra = "\"extra\": {";
    REQUIRE(config.find(extra) != std::string::npos);
    config.insert(config.find(extra) + extra.size(), "\"deep\": " + std::string(depth, '[') + std::string(depth, ']') + ",");
    write_text(saved.dir / "config.json", config);
    saved.check_rejected("config.json", "nested deeper than 64 levels");
  }
  SUBCASE("two labels") {
    edit_config(saved.dir, [](json& c) { c["labels"] = {"negative", "positive"}; });
    saved.check_rejected("config.json", "field \"labels\": 2 labels");
  }
  SUBCASE("an unknown pooling") {
    edit_config(saved.dir, [](json& c) { c["model"]["pooling"] = "max"; });
    saved.check_rejected("config.json", "field \"model.pooling\": unknown pooling \"max\"");
  }
  SUBCASE("a negative size") {
    edit_config(saved.dir, [](json& c) { c["model"]["hidden_size"] = -8; });
    saved.check_rejected("config.json", "field \"model.hidden_size\": expected an integer");
  }
  SUBCASE("a missing field") {
    edit_config(saved.dir, [](json& c) { c["train"].erase("lr"); });
    saved.check_rejected("config.json", "missing field \"train.lr\"");
  }
  SUBCASE("a vocabulary of another size than the embedding") {
    write_text(saved.dir / "vocab.txt", read_text(saved.dir / "vocab.txt") + "zzqx\n");
    saved.check_rejected("vocab.txt", "config.json says model.vocab_size is");
  }
  SUBCASE("a mis-shaped weight") {
    const std::string path = (saved.dir / "weights.npz").string();
    tg::NpzContents weights = tg::read_npz(path);
    weights["classifier.weight"] = tg::to_npy<float>(xt::zeros<float>({2, 2}));
    tg::write_npz(path, weights);
    saved.check_rejected("weights.npz", "classifier.weight has shape (2,2)");
  }
}
