// Tests for ensemble checkpoints (Note [Ensemble checkpoints], sentiment_checkpoint.hpp):
// a saved ensemble loads back predicting bit for bit the same, its answer is the mean of
// its members', an ensemble of one is that model, a single-model checkpoint still loads as
// one, and a missing or damaged member is refused naming its file.
#include <doctest/doctest.h>

#include <fstream>

#include "helpers.hpp"
#include "synthetic_split.hpp"
#include "models/checkpoint/sentiment_checkpoint.hpp"
#include "models/data/synthetic_tweets.hpp"

namespace fs = std::filesystem;
using tg::test::listing;
using tg::test::ScratchDir;

namespace {

// Three tiny models (seeds 1–3) briefly trained on the same synthetic tweets and vocabulary.
struct Members {
  tg::test::SyntheticSplit split{5};
  const std::vector<std::string>& texts = split.texts;
  const tg::Vocabulary& vocab = split.vocab;
  std::vector<std::unique_ptr<tg::SentimentClassifier<float>>> models;
  std::vector<tg::SentimentCheckpoint> infos;

  Members() {
    for (std::uint64_t seed = 1; seed <= 3; ++seed) {
      tg::SentimentCheckpoint info;
      info.model = {.vocab_size = vocab.size(), .embedding_dim = 8, .hidden_size = 8, .seed = seed};
      info.train = {.lr = 1e-2, .batch_size = 32, .epochs = 2, .seed = seed};
      info.recipe = "canonical";
      models.push_back(std::make_unique<tg::SentimentClassifier<float>>(info.model));
      info.history = tg::train_classifier(*models.back(), split.train, split.valid, info.train);
      infos.push_back(info);
    }
  }
  std::vector<const tg::SentimentClassifier<float>*> saved() const {
    std::vector<const tg::SentimentClassifier<float>*> out;
    for (const auto& m : models) out.push_back(m.get());
    return out;
  }
  tg::Ensemble ensemble() const {
    tg::Ensemble out;
    for (const auto& m : models) out.push_back(m.get());
    return out;
  }
};

const Members& members() {
  static const Members m;
  return m;
}

struct SavedEnsemble {
  ScratchDir scratch{"ensemble-ckpt"};
  fs::path dir = scratch.dir / "ens";
  SavedEnsemble() {
    const Members& m = members();
    tg::save_sentiment_ensemble(dir, m.saved(), m.vocab, m.infos, {{"note", "test"}});
  }
};

}  // namespace

TEST_CASE("ensemble checkpoint: a round trip predicts bit for bit the same as the ensemble that was saved") {
  const Members& m = members();
  const SavedEnsemble saved;
  CHECK(listing(saved.dir) ==
        std::vector<std::string>{"SHA256SUMS", "ensemble.json", "member-1", "member-2", "member-3"});
  CHECK(listing(saved.dir / "member-2") ==
        std::vector<std::string>{"SHA256SUMS", "config.json", "vocab.txt", "weights.npz"});

  const tg::LoadedSentimentModel loaded = tg::load_sentiment_checkpoint(saved.dir);
  REQUIRE(loaded.members().size() == 3);
  CHECK(loaded.ensemble["members"] == 3);
  CHECK(loaded.ensemble["extra"]["note"] == "test");
  CHECK(loaded.members()[2]->config().seed == 3);
  const std::vector<tg::Prediction> before = tg::predict_ensemble(m.ensemble(), m.vocab, m.texts),
                                    after = tg::predict_ensemble(loaded.members(), loaded.vocab, m.texts);
  REQUIRE(before.size() == after.size());
  for (std::size_t i = 0; i < before.size(); ++i) {
    CHECK(after[i].probabilities == before[i].probabilities);
    CHECK(after[i].alpha == before[i].alpha);
    CHECK(after[i].label == before[i].label);
  }
  // Saving an ensemble over it again replaces it (the layout is ours); so does a single model.
  tg::save_sentiment_ensemble(saved.dir, {m.models[0].get(), m.models[1].get()}, m.vocab, {m.infos[0], m.infos[1]}, {});
  CHECK(listing(saved.dir) == std::vector<std::string>{"SHA256SUMS", "ensemble.json", "member-1", "member-2"});
  tg::save_sentiment_checkpoint(saved.dir, *m.models[0], m.vocab, m.infos[0]);
  CHECK(listing(saved.dir) == std::vector<std::string>{"SHA256SUMS", "config.json", "vocab.txt", "weights.npz"});
  const tg::LoadedSentimentModel single = tg::load_sentiment_checkpoint(saved.dir);
  CHECK(single.members().size() == 1);
  CHECK(single.ensemble.is_null());
}

TEST_CASE("ensemble: its answer is the mean of the members' probabilities and α") {
  const Members& m = members();
  const std::vector<std::string> texts(m.texts.begin(), m.texts.begin() + 5);
  const std::vector<tg::Prediction> mean = tg::predict_ensemble(m.ensemble(), m.vocab, texts);
  std::vector<std::vector<tg::Prediction>> each;
  for (const auto& model : m.models) each.push_back(tg::predict_texts(*model, m.vocab, texts));
  for (std::size_t i = 0; i < texts.size(); ++i) {
    for (std::size_t c = 0; c < 3; ++c)
      CHECK(mean[i].probabilities[c] == doctest::Approx((each[0][i].probabilities[c] + each[1][i].probabilities[c] +
                                                         each[2][i].probabilities[c]) / 3).epsilon(1e-6));
    for (std::size_t t = 0; t < mean[i].alpha.size(); ++t)
      CHECK(mean[i].alpha[t] ==
            doctest::Approx((each[0][i].alpha[t] + each[1][i].alpha[t] + each[2][i].alpha[t]) / 3).epsilon(1e-6));
  }
}

TEST_CASE("ensemble of one: exactly the single model's predictions and evaluation") {
  const Members& m = members();
  tg::SentimentClassifier<float>& model = *m.models[0];
  const std::vector<tg::Prediction> one = tg::predict_ensemble({&model}, m.vocab, m.texts),
                                    single = tg::predict_texts(model, m.vocab, m.texts);
  for (std::size_t i = 0; i < one.size(); ++i) {
    CHECK(one[i].probabilities == single[i].probabilities);
    CHECK(one[i].alpha == single[i].alpha);
  }
  std::vector<tg::LabelledText> rows;
  for (const std::string& text : m.texts) rows.push_back({text, int(rows.size() % 3)});
  const tg::EncodedData data = tg::encode_dataset(rows, m.vocab);
  const tg::Evaluation a = tg::evaluate_ensemble({&model}, data), b = tg::evaluate_classifier(model, data);
  CHECK(a.predicted == b.predicted);
  CHECK(a.loss == b.loss);
  // Three members: the evaluation agrees with predict_ensemble's labels.
  const tg::Evaluation three = tg::evaluate_ensemble(m.ensemble(), data);
  const std::vector<tg::Prediction> predicted = tg::predict_ensemble(m.ensemble(), m.vocab, m.texts);
  for (std::size_t i = 0; i < predicted.size(); ++i) CHECK(three.predicted[i] == predicted[i].label);
}

TEST_CASE("ensemble checkpoint: a missing or damaged member is refused naming its file") {
  const auto error_after = [](const std::function<void(const fs::path&)>& damage) {
    const SavedEnsemble saved;
    damage(saved.dir);
    return std::pair{tg::test::error_of([&] { tg::load_sentiment_checkpoint(saved.dir); }), saved.dir};
  };
  {
    const auto [error, dir] = error_after([](const fs::path& d) { fs::remove_all(d / "member-3"); });
    CHECK(error.find((dir / "member-3" / "config.json").string()) != std::string::npos);
  }
  {
    const auto [error, dir] = error_after([](const fs::path& d) { fs::remove(d / "member-2" / "weights.npz"); });
    CHECK(error.find((dir / "member-2" / "weights.npz").string()) != std::string::npos);
  }
  {
    const auto [error, dir] = error_after([](const fs::path& d) {
      std::ofstream(d / "member-2" / "weights.npz", std::ios::binary | std::ios::trunc) << "PK damaged";
    });
    CHECK(error.find((dir / "member-2" / "weights.npz").string()) != std::string::npos);
  }
  {
    const auto [error, dir] = error_after([](const fs::path& d) {
      std::ofstream(d / "member-3" / "vocab.txt", std::ios::app) << "zzzextra\n";
    });
    CHECK(error.find((dir / "member-3" / "vocab.txt").string()) != std::string::npos);
  }
  {
    const auto [error, dir] = error_after([](const fs::path& d) {
      std::ofstream(d / "ensemble.json", std::ios::trunc) << R"({"format": "tapegrad sentiment ensemble", )"
                                                             R"("version": 1, "members": 0})";
    });
    CHECK(error.find((dir / "ensemble.json").string()) != std::string::npos);
    CHECK(error.find("\"members\"") != std::string::npos);
  }
}

TEST_CASE("ensemble checkpoint: a stranger's file inside a member makes saving over it refuse, naming it") {
  const Members& m = members();
  const SavedEnsemble saved;
  std::ofstream(saved.dir / "member-1" / "notes.txt") << "mine";
  const std::string error =
      tg::test::error_of([&] { tg::save_sentiment_checkpoint(saved.dir, *m.models[0], m.vocab, m.infos[0]); });
  CHECK(error.find("notes.txt") != std::string::npos);
  CHECK(fs::exists(saved.dir / "member-1" / "notes.txt"));
}
