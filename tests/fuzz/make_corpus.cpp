// Writes the generated part of the seed corpora (tests/fuzz/corpus/<target>/gen-*)
// from the synthetic tweet generator and a tiny untrained model, never from real
// data: `make_corpus <corpus dir>`. Run by hand when a format changes; its output is
// committed beside the hand-made seeds.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "models/data/dataset.hpp"
#include "models/checkpoint/sentiment_checkpoint.hpp"
#include "models/data/synthetic_tweets.hpp"
#include "nn/npz.hpp"

namespace fs = std::filesystem;

namespace {

void write(const fs::path& path, std::string_view bytes) {
  fs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary).write(bytes.data(), std::streamsize(bytes.size()));
}

void write(const fs::path& path, const std::vector<std::byte>& bytes) {
  write(path, std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
}

std::string read(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

std::vector<tg::LabelledText> labelled(const std::vector<tg::SyntheticTweet>& tweets) {
  std::vector<tg::LabelledText> rows;
  for (const tg::SyntheticTweet& t : tweets) rows.push_back({t.text, t.label});
  return rows;
}

// A history and metrics as training would leave them, so every config field is seeded.
tg::TrainingHistory sample_history() {
  tg::TrainingHistory h;
  h.epochs = {{1, 1.05, 0.41, 1.01, 0.45, 0.33, 0.8, 1e-3}, {2, 0.93, 0.55, 0.97, 0.5, 0.41, 0.7, 5e-4}};
  h.best_epoch = 2;
  h.best_valid = {20, 0.5, 0.41, {{0.5, 0.6, 0.545, 10}, {0.3, 0.2, 0.24, 5}, {0.6, 0.6, 0.6, 5}},
                  {{6, 2, 2}, {3, 1, 1}, {1, 1, 3}}};
  return h;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: make_corpus <corpus dir>\n");
    return 2;
  }
  const fs::path out = argv[1];
  const std::vector<tg::SyntheticTweet> tweets = tg::generate_tweets(24, 7);

  write(out / "csv/gen-synthetic.csv", tg::format_labelled_csv(labelled(tweets)));
  for (std::size_t i = 0; i < 6; ++i)  // first byte: max_tokens
    write(out / fmt::format("tokenizer/gen-tweet-{}", i), std::string(1, char(i == 0 ? 48 : 3 + i)) + tweets[i].text);

  std::vector<std::string_view> texts;
  for (const tg::SyntheticTweet& t : tweets) texts.push_back(t.text);
  const tg::Vocabulary vocab = tg::Vocabulary::build(texts, {.min_count = 2});
  const fs::path scratch = fs::temp_directory_path() / "tapegrad-make-corpus";
  fs::remove_all(scratch);
  fs::create_directories(scratch);
  vocab.save(scratch / "vocab.txt");
  write(out / "vocab/gen-synthetic.txt", read(scratch / "vocab.txt"));

  // The tiny model fuzz_npz.cpp loads into, saved whole as a checkpoint.
  tg::SentimentCheckpoint info;
  info.model = {.vocab_size = 6, .embedding_dim = 3, .hidden_size = 2, .pooling = "attention", .seed = 1};
  info.recipe = "canonical";
  info.history = sample_history();
  info.extra = {{"data", "synthetic"}};
  const tg::SentimentClassifier<float> model(info.model);
  const std::vector<std::string_view> six{"late again", "great crew"};
  const tg::Vocabulary tiny = tg::Vocabulary::build(six, {.min_count = 1});
  tg::save_sentiment_checkpoint(scratch / "ckpt", model, tiny, info);
  write(out / "config/gen-config.json", read(scratch / "ckpt/config.json"));
  write(out / "vocab/gen-tiny.txt", read(scratch / "ckpt/vocab.txt"));
  write(out / "npz/gen-weights.npz", read(scratch / "ckpt/weights.npz"));

  // Single .npy files of every dtype, a 0-d array, an empty one and a Fortran-order one.
  const tg::NpzContents weights = tg::read_npz((scratch / "ckpt/weights.npz").string());
  write(out / "npz/gen-f4.npy", tg::serialize_npy(weights.at("classifier.weight")));
  write(out / "npz/gen-f8.npy", tg::serialize_npy(tg::to_npy<double>(tg::Array<double>{{1.5, -2}, {0, 3}})));
  write(out / "npz/gen-i8.npy", tg::serialize_npy(tg::to_npy<std::int64_t>(tg::Array<std::int64_t>{1, 2, 3})));
  write(out / "npz/gen-i4.npy", tg::serialize_npy(tg::to_npy<std::int32_t>(tg::Array<std::int32_t>(7))));
  write(out / "npz/gen-b1.npy", tg::serialize_npy(tg::to_npy<bool>(tg::Array<bool>{true, false})));
  write(out / "npz/gen-empty.npy", tg::serialize_npy(tg::to_npy<float>(tg::Array<float>::from_shape({0, 3}))));
  std::string fortran = read(out / "npz/gen-f8.npy");
  fortran.replace(fortran.find("False"), 5, "True ");
  write(out / "npz/gen-fortran.npy", fortran);
  // An .npz of the arrays above (an extra key for load_state_dict to refuse).
  tg::write_npz((scratch / "mixed.npz").string(), {{"b", weights.at("classifier.bias")}, {"x", tg::to_npy<bool>(tg::Array<bool>{true})}});
  write(out / "npz/gen-mixed.npz", read(scratch / "mixed.npz"));
  tg::write_npz((scratch / "empty.npz").string(), {});
  write(out / "npz/gen-empty.npz", read(scratch / "empty.npz"));
  fs::remove_all(scratch);
  return 0;
}
