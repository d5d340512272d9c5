// The `sentiment` program's own interface (tutorials/, above models/): the pieces its
// subcommands share — the data and recipe options, training with progress and Ctrl-C,
// checkpoint helpers, terminal and file helpers — and one registration function per
// subcommand. main.cpp wires them into one CLI11 app.
#pragma once
#include <atomic>
#include <filesystem>
#include <functional>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "autograd/error.hpp"
#include "models/explain.hpp"
#include "models/classifier/registry.hpp"
#include "models/checkpoint/sentiment_checkpoint.hpp"
#include "models/data/word_vectors.hpp"
#include "models/training/trainer.hpp"

namespace tg::cli {

// Exit statuses: 2 for a command line that makes no sense, 130 (128 + SIGINT) when
// the user stopped training, 1 for every other failure.
inline constexpr int kExitFailure = 1;
inline constexpr int kExitUsage = 2;
inline constexpr int kExitInterrupted = 130;

// A command-line mistake found after parsing (e.g. --train without --valid).
struct UsageError : Error {
  using Error::Error;
};

// ---- subcommands (each in its own file) ------------------------------------------

struct Subcommand {
  CLI::App* cli;
  // Reads the options CLI11 has parsed and returns the exit status.
  std::function<int()> run;
};

// --threads, which every subcommand takes (docs/cli.md): how many cores this run may keep
// busy. main sets it from the option before the command runs; training (train_model) and
// every evaluation take their threads from it (models/training/parallel_forward.hpp, Cores).
Cores& run_cores();
// The validator of --threads: auto, or 1 to 64.
CLI::Validator threads_option();
Subcommand add_train_command(CLI::App& app);
Subcommand add_compare_command(CLI::App& app);
Subcommand add_evaluate_command(CLI::App& app);
Subcommand add_predict_command(CLI::App& app);
Subcommand add_report_command(CLI::App& app);
Subcommand add_baseline_command(CLI::App& app);
Subcommand add_demo_command(CLI::App& app);

// ---- options shared by train, compare and demo (options.cpp) -----------------------

// The CSV columns to read (Kaggle's names by default).
struct Columns {
  std::string text = "text", label = "airline_sentiment";
};
void add_column_options(CLI::App& cmd, Columns& columns);
std::vector<LabelledText> load_rows(const std::string& path, const Columns& columns);

struct DataArgs {
  std::string train, valid, test, split;
  std::uint64_t split_seed = 1;
  Columns columns;
};
void add_data_options(CLI::App& cmd, DataArgs& args);

struct DataSplits {
  std::vector<LabelledText> train, valid, test;  // test may be empty
  nlohmann::json files;                          // where they came from, for config.json
  std::string description;                       // the same, for people
};
DataSplits load_splits(const DataArgs& args);  // throws UsageError for a wrong combination

// Every recipe setting as an optional override; unset ones keep the recipe's value.
struct RecipeArgs {
  std::string recipe = "default";
  std::optional<std::size_t> epochs, batch_size, hidden, embedding, patience, pad_to, subwords;
  std::optional<double> lr, clip, embedding_dropout, state_dropout, weight_decay, warmup;
  std::optional<double> word_dropout, label_smoothing, ema;
  std::optional<std::string> schedule;
  bool bidirectional = false, decoupled_decay = false, check_finite = false;
  std::size_t min_count = 2, max_tokens = kMaxTokens;
  std::vector<std::string> encoder_settings;  // --encoder-setting NAME=VALUE
  std::optional<std::string> word_vectors;    // --word-vectors FILE
};
void add_recipe_options(CLI::App& cmd, RecipeArgs& args);
inline constexpr std::size_t kDefaultEpochsWithWordVectors = 5;
// The recipe for one encoder and pooling (registered names, models/classifier/registry.hpp).
Recipe make_recipe(const RecipeArgs& args, const std::string& encoder, const std::string& pooling,
                   std::uint64_t seed);
// Accept the registered names; their help lists them from the registries.
CLI::Validator encoder_validator();
CLI::Validator pooling_validator();
// Every numeric option's check (Note [Numeric options], options.cpp): digits only, no
// sign, no overflow, within [low, high]; a finite number (no nan, no inf) within [low, high].
CLI::Validator count_in(std::uint64_t low, std::uint64_t high);
CLI::Validator number_in(double low, double high);
inline CLI::Validator any_count() { return count_in(0, std::numeric_limits<std::uint64_t>::max()); }
std::string encoder_help();  // "lstm: PyTorch's nn.LSTM …; gru: …", one entry a line
std::string pooling_help();

// ---- training (training.cpp) -------------------------------------------------------

// Set by SIGINT/SIGTERM once install_stop_handlers() ran; a second signal kills.
const std::atomic<bool>& install_stop_handlers();

struct PreparedData {
  Vocabulary vocab;  // from the training split only
  EncodedData train, valid, test;
  std::optional<WordVectors> vectors;  // --word-vectors: the vocabulary's rows found there
};
PreparedData prepare_data(const DataSplits& splits, const RecipeArgs& args);

struct TrainedModel {
  Recipe recipe;
  std::unique_ptr<SentimentClassifier<float>> model;
  TrainingHistory history;
};
// `recipe.model.vocab_size` is set from the data; stops on the stop flag. `on_best`, when
// given, sees the model at each new best epoch, its history so far included (the moment
// to save it: see TrainCallbacks::on_best); an exception from it ends training.
TrainedModel train_model(Recipe recipe, const PreparedData& data, TrainCallbacks callbacks,
                         const std::function<void(const TrainedModel&)>& on_best = {});

// The checkpoint description of a trained model (its recipe, history, vocabulary settings).
SentimentCheckpoint checkpoint_info(const TrainedModel& trained, const RecipeArgs& args, nlohmann::json extra);

// A checkpoint whose labels are the data pipeline's (negative, neutral, positive). Notes
// on stderr when it comes from a run that was interrupted or never finished.
LoadedSentimentModel load_model(const std::filesystem::path& dir);

// "" for one model; " (an ensemble of 3: mean of their probabilities, α the mean of theirs)".
std::string ensemble_note(const LoadedSentimentModel& loaded);

std::vector<std::string> label_names();  // kSentimentLabels as strings

// "attention pooling, E=100, H=128, 1 direction, 52,131 parameters" and the training settings.
std::string describe_model(const SentimentClassifier<float>& model);
std::string describe_training(const Recipe& recipe);
// Prints the data sizes and sources, the word vectors, the model and the training settings.
void print_setup(const DataSplits& splits, const PreparedData& data, const Recipe& recipe);
// config.json's "extra" of a model trained on this data: the files, the word vectors.
nlohmann::json data_extra(const DataSplits& splits, const PreparedData& data);

std::string format_duration(double seconds);  // "0:42", "1:05:09"

// ---- pieces the demo reuses ------------------------------------------------------

// compare.cpp: every encoder × pooling trained with seeds 1..seeds on the same data.
struct Variant {
  std::string encoder, pooling;
  std::string label;  // the pooling's name, or "encoder+pooling" when encoders are compared too
};
struct ComparisonRun {
  Variant variant;
  std::uint64_t seed;
  TrainingHistory history;
  std::optional<Metrics> test;  // when the data has a test split
};
struct Comparison {
  std::vector<Variant> variants;
  std::vector<ComparisonRun> runs;
  std::vector<TrainedModel> best;  // per variant (same order): its best seed's model
  bool interrupted = false;
  // The best model of the first variant with that pooling; throws when none has it.
  const TrainedModel& best_with_pooling(const std::string& pooling) const;
};
// Every encoder with every pooling, in the order given.
std::vector<Variant> make_variants(const std::vector<std::string>& encoders, const std::vector<std::string>& poolings);
// `on_run`, when given, is called after each completed run with its variant's best model
// so far and the number of seeds done for that variant (the moment to save it).
Comparison run_comparison(const RecipeArgs& args, const std::vector<Variant>& variants, std::size_t seeds,
                          const PreparedData& data,
                          const std::function<void(const TrainedModel& best, const Variant& variant,
                                                   std::size_t seeds_done)>& on_run = {});
void print_comparison(const Comparison& comparison);

// predict.cpp: the class probabilities and the words shaded by attention (or word(α)).
std::string format_prediction(const Prediction& p, const std::vector<std::string>& labels, bool colour);
// --explain: per word α (or "-"), gradient × input and leave-one-out, one line each.
std::string format_explanation(const Explanation& e, const std::vector<std::string>& labels);

// report.cpp: evaluates a checkpoint on a labelled CSV and writes the HTML report.
// check_report_destination refuses, before any work, an `out` that is not absent or a
// report sentiment wrote (and left unchanged: its last line is a seal holding its SHA-256);
// write_report checks it first too.
struct ReportArgs {
  std::string checkpoint, data, out = "report.html";
  Columns columns;
  std::size_t examples = 6;  // correct and wrong ones each
  // Data rows (0-based, in file order) whose labels are wrong on purpose: the demo's
  // generated label noise (SyntheticTweet::flipped). The page marks them; a user's own
  // data has none, and `sentiment report` never sets it.
  std::set<std::size_t> flipped_rows;
};
void check_report_destination(const std::filesystem::path& out);
Metrics write_report(const ReportArgs& args);

// ---- terminal and files (terminal.cpp) -------------------------------------------

bool stdout_is_terminal();
// 24-bit colour on stdout: a terminal, NO_COLOR unset or empty, and not disabled by a flag.
bool colour_enabled(bool no_color_flag);
// "\x1b[48;2;R;G;B;38;2;0;0;0m" + text + reset: background shaded by weight in [0, 1].
std::string shade(const std::string& text, double weight);
// (Files are written through tg::write_file_atomically, nn/atomic_file.hpp: the one writer.)

}  // namespace tg::cli
