// The options train, compare and demo share: where the data comes from (--train/--valid
// [--test] or one --split file) and every recipe setting as an override of
// --recipe's value. Turning parsed options into data splits and a Recipe.
#include <charconv>
#include <cmath>
#include <limits>

#include <fmt/format.h>

#include "models/data/csv.hpp"
#include "models/limits.hpp"
#include "models/classifier/registry.hpp"
#include "sentiment.hpp"

namespace tg::cli {

Cores& run_cores() {
  static Cores cores;
  return cores;
}

CLI::Validator threads_option() {
  const std::string expected = fmt::format("auto or a whole number from 1 to {}", kMaxThreads);
  return CLI::Validator(
      [=](std::string& text) -> std::string {
        return read_threads(text) ? std::string() : fmt::format("{} is not {}", text, expected);
      },
      "auto|N");
}

void add_data_options(CLI::App& cmd, DataArgs& args) {
  CLI::Option* split = cmd.add_option("--split", args.split,
                                      "one Kaggle-layout CSV (e.g. Tweets.csv) to split 80/10/10 into train, "
                                      "valid and test, stratified by label, instead of --train/--valid/--test")
                           ->type_name("FILE");
  cmd.add_option("--train", args.train, "training CSV (the vocabulary is built from it alone)")
      ->type_name("FILE")->excludes(split);
  cmd.add_option("--valid", args.valid, "validation CSV: picks the best epoch")->type_name("FILE")->excludes(split);
  cmd.add_option("--test", args.test, "test CSV, scored once after training")->type_name("FILE")->excludes(split);
  cmd.add_option("--split-seed", args.split_seed, "the seed of the --split shuffle")->check(any_count())
      ->capture_default_str();
  add_column_options(cmd, args.columns);
}

void add_column_options(CLI::App& cmd, Columns& columns) {
  cmd.add_option("--text-column", columns.text, "the CSV column holding the tweet")->capture_default_str();
  cmd.add_option("--label-column", columns.label, "the CSV column holding negative/neutral/positive")
      ->capture_default_str();
}

std::vector<LabelledText> load_rows(const std::string& path, const Columns& columns) {
  return load_labelled_csv(path, columns.text, columns.label);
}

namespace {

// A file name for config.json: a name that is not UTF-8 (Linux allows any bytes) would
// make the checkpoint's JSON unwritable after an epoch of training; its invalid bytes
// become U+FFFD instead (the name is only a record of where the data came from).
std::string json_text(const std::string& name) { return replace_invalid_utf8(name); }

}  // namespace

DataSplits load_splits(const DataArgs& args) {
  DataSplits out;
  const auto load = [&](const std::string& path) { return load_rows(path, args.columns); };
  if (!args.split.empty()) {
    DatasetSplit parts = split_dataset(load(args.split), args.split_seed, 0.1, 0.1);
    out.train = std::move(parts.train);
    out.valid = std::move(parts.valid);
    out.test = std::move(parts.test);
    out.files = {{"split", json_text(args.split)}, {"split_seed", args.split_seed}, {"fractions", "80/10/10"}};
    out.description = fmt::format("{} train, {} valid and {} test tweets: a stratified 80/10/10 split of {} (seed {})",
                                  out.train.size(), out.valid.size(), out.test.size(), args.split, args.split_seed);
    return out;
  }
  if (args.train.empty() || args.valid.empty())
    throw UsageError("give both --train FILE and --valid FILE, or --split FILE");
  out.train = load(args.train);
  out.valid = load(args.valid);
  out.files = {{"train", json_text(args.train)}, {"valid", json_text(args.valid)}};
  out.description = fmt::format("{} train tweets ({}), {} valid ({})", out.train.size(), args.train,
                                out.valid.size(), args.valid);
  if (!args.test.empty()) {
    out.test = load(args.test);
    out.files["test"] = json_text(args.test);
    out.description += fmt::format(", {} test ({})", out.test.size(), args.test);
  }
  return out;
}

// Note [Numeric options]
// CLI11's own checks let through what its conversion mangles: "-1" for an unsigned
// option wraps to 2^64 − 1, "18446744073709551616" is clamped to 2^64 − 1, "nan" passes
// NonNegativeNumber, and CLI::Range prints DBL_MAX as 309 digits and integer bounds as
// "0.000000". These two validators read the text themselves (std::from_chars: no sign
// accepted where none is meant, overflow detected), so every numeric option is checked
// once, at parsing (exit 2, before any setup is printed), with a readable range.
CLI::Validator count_in(std::uint64_t low, std::uint64_t high) {
  const std::string range = high == std::numeric_limits<std::uint64_t>::max()
                                ? fmt::format("a whole number ≥ {}", low)
                                : fmt::format("a whole number from {} to {}", low, high);
  return CLI::Validator(
      [=](std::string& text) -> std::string {
        std::uint64_t value = 0;
        const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
        if (error != std::errc() || end != text.data() + text.size() || value < low || value > high)
          return fmt::format("{} is not {}", text, range);
        return {};
      },
      range);
}

CLI::Validator number_in(double low, double high) {
  const std::string range = std::isinf(high) ? fmt::format("a number ≥ {:g}", low)
                                             : fmt::format("a number from {:g} to {:g}", low, high);
  return CLI::Validator(
      [=](std::string& text) -> std::string {
        double value = 0;
        const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
        if (error != std::errc() || end != text.data() + text.size() || !std::isfinite(value) || value < low ||
            value > high)
          return fmt::format("{} is not {}", text, range);
        return {};
      },
      range);
}


// The encoders and poolings on offer are the registries' (models/classifier/registry.hpp), read when
// the options are declared: a program's own entries, registered as it starts, are there too.
CLI::Validator encoder_validator() { return CLI::IsMember(encoder_names()); }
CLI::Validator pooling_validator() { return CLI::IsMember(pooling_names()); }

namespace {
template <class Entry>
std::string entry_lines(const std::vector<std::string>& names, const Entry& (*lookup)(std::string_view)) {
  std::string out;
  for (const std::string& name : names) out += fmt::format("\n  {}: {}", name, lookup(name).description);
  return out;
}
}  // namespace

std::string encoder_help() { return entry_lines(encoder_names(), encoder_entry); }
std::string pooling_help() { return entry_lines(pooling_names(), pooling_entry); }

void add_recipe_options(CLI::App& cmd, RecipeArgs& args) {
  cmd.add_option("--recipe", args.recipe,
                 "canonical: the reference settings (Adam 2e-3, batch 64, 8 epochs, clip 5, E=100, H=128); "
                 "default: the project's tuned ones; the options below override either")
      ->check(CLI::IsMember({"canonical", "default"}))->capture_default_str();
  cmd.add_option("--epochs", args.epochs, "passes over the training split")->check(count_in(1, kMaxEpochs));
  cmd.add_option("--lr", args.lr, "Adam's learning rate")->check(number_in(0, INFINITY));
  // Note [Resource limits] (models/limits.hpp): every size is bounded here, at parsing.
  const auto up_to = [](std::size_t limit) { return count_in(1, limit); };
  cmd.add_option("--batch-size", args.batch_size, "tweets per optimiser step")->check(up_to(kMaxBatchSize));
  cmd.add_option("--clip", args.clip, "max gradient L2 norm (0: no clipping)")->check(number_in(0, INFINITY));
  cmd.add_option("--schedule", args.schedule, "learning-rate schedule: constant or cosine")
      ->check(CLI::IsMember({"constant", "cosine"}));
  cmd.add_option("--warmup", args.warmup, "the first fraction of all steps ramps the learning rate up linearly")
      ->check(number_in(0, 0.9));
  cmd.add_option("--weight-decay", args.weight_decay, "L2 weight decay")->check(number_in(0, INFINITY));
  cmd.add_flag("--decoupled-decay", args.decoupled_decay, "AdamW-style decoupled weight decay");
  cmd.add_option("--patience", args.patience, "stop after this many epochs without a better validation score")
      ->check(count_in(0, kMaxEpochs));
  cmd.add_option("--pad-to", args.pad_to, "pad every batch to this length (0: to its longest tweet)")
      ->check(count_in(0, kMaxSequenceLength));
  cmd.add_option("--hidden", args.hidden, "the recurrent encoders' hidden size H")->check(up_to(kMaxWidth));
  cmd.add_option("--embedding", args.embedding, "embedding size E")->check(up_to(kMaxWidth));
  cmd.add_option("--subwords", args.subwords,
                 "rows of the hashed character 3-5-gram table added to each word's embedding (0: none)")
      ->check(count_in(0, kMaxSubwordBuckets));
  cmd.add_option("--word-vectors", args.word_vectors,
                 "pretrained word vectors to start the word embedding from: a GloVe-format text file (a word, then "
                 "E numbers, a line; e.g. glove.6B.100d.txt), E equal to --embedding; the default recipe then "
                 "trains 5 epochs unless --epochs says otherwise")
      ->type_name("FILE");
  cmd.add_flag("--bidirectional", args.bidirectional, "a bidirectional recurrent encoder (pooled vector 2H)");
  cmd.add_option("--encoder-setting", args.encoder_settings,
                 "NAME=VALUE: one of the encoder's own settings (repeatable; checked against the encoder)")
      ->delimiter(',')->type_name("NAME=VALUE");
  cmd.add_option("--embedding-dropout", args.embedding_dropout, "dropout on the embedded tokens")
      ->check(number_in(0, 0.95));
  cmd.add_option("--state-dropout", args.state_dropout, "dropout on the pooled vector, before the classifier")
      ->check(number_in(0, 0.95));
  cmd.add_option("--word-dropout", args.word_dropout,
                 "each real token of a training batch becomes <unk> with this probability")
      ->check(number_in(0, 0.95));
  cmd.add_option("--label-smoothing", args.label_smoothing,
                 "ε: train towards (1 − ε)·one-hot + ε/3 instead of the one-hot label")
      ->check(number_in(0, 0.95));
  cmd.add_option("--ema", args.ema,
                 "decay of a moving average of the weights that validation scores and the checkpoint keeps "
                 "(0: off; e.g. 0.995)")
      ->check(number_in(0, 0.9999));
  cmd.add_option("--min-count", args.min_count, "a training token seen fewer times is <unk>")
      ->check(any_count())->capture_default_str();
  cmd.add_option("--max-tokens", args.max_tokens, "tokens kept per tweet")->check(up_to(kMaxSequenceLength))
      ->capture_default_str();
  cmd.add_flag("--check-finite", args.check_finite,
               "anomaly mode: stop at the first op that makes a NaN or infinity, naming it (slower)");
}

namespace {

// The largest training batch these options can make, B × (pad_to or max_tokens), must fit
// Note [Resource limits] before any model is allocated; the parameter count waits for the
// vocabulary (the classifier's constructor checks it).
void check_batch_fits(const Recipe& r, const RecipeArgs& args) {
  const std::size_t steps = r.train.pad_to ? r.train.pad_to : args.max_tokens;
  try {
    check_batch_memory(r.model, r.train.batch_size, steps, true);
  } catch (const Error& e) {
    throw UsageError(fmt::format("{}; lower --batch-size, --max-tokens (or --pad-to), --hidden or --embedding",
                                 e.what()));
  }
}

}  // namespace

Recipe make_recipe(const RecipeArgs& args, const std::string& encoder, const std::string& pooling,
                   std::uint64_t seed) {
  Recipe r = named_recipe(args.recipe, pooling, seed, encoder);
  for (const std::string& setting : args.encoder_settings) {
    const std::size_t eq = setting.find('=');
    std::size_t used = 0;
    double value = 0;
    try {
      if (eq != std::string::npos) value = std::stod(setting.substr(eq + 1), &used);
    } catch (const std::exception&) {
    }
    if (eq == std::string::npos || eq == 0 || used == 0 || eq + 1 + used != setting.size())
      throw UsageError(fmt::format("--encoder-setting: \"{}\" is not NAME=NUMBER", setting));
    r.model.encoder_settings[setting.substr(0, eq)] = value;
  }
  try {
    check_encoder_settings(encoder_entry(encoder), r.model);
  } catch (const Error& e) {
    throw UsageError(fmt::format("--encoder-setting: {}", e.what()));
  }
  const auto apply = [](auto& target, const auto& override) {
    if (override) target = *override;
  };
  // Started from pretrained word vectors, the default recipe's LSTM was best after 5 epochs
  // of its cosine schedule: better than 10, on each of 10 held-out seeds (docs/accuracy.md).
  if (args.word_vectors && args.recipe == "default") r.train.epochs = kDefaultEpochsWithWordVectors;
  apply(r.train.epochs, args.epochs);
  apply(r.train.lr, args.lr);
  apply(r.train.batch_size, args.batch_size);
  apply(r.train.clip_norm, args.clip);
  apply(r.train.schedule, args.schedule);
  apply(r.train.warmup, args.warmup);
  apply(r.train.weight_decay, args.weight_decay);
  apply(r.train.patience, args.patience);
  apply(r.train.pad_to, args.pad_to);
  apply(r.model.hidden_size, args.hidden);
  apply(r.model.embedding_dim, args.embedding);
  apply(r.model.subword_buckets, args.subwords);
  apply(r.model.embedding_dropout, args.embedding_dropout);
  apply(r.model.state_dropout, args.state_dropout);
  apply(r.train.word_dropout, args.word_dropout);
  apply(r.train.label_smoothing, args.label_smoothing);
  apply(r.train.ema, args.ema);
  r.train.decoupled_decay = r.train.decoupled_decay || args.decoupled_decay;
  r.train.check_finite = r.train.check_finite || args.check_finite;
  r.model.bidirectional = r.model.bidirectional || args.bidirectional;
  check_batch_fits(r, args);
  return r;
}

}  // namespace tg::cli
