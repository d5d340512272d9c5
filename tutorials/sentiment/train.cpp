// `sentiment train`: one model from a recipe on --train/--valid (or a --split file),
// with live progress and a per-epoch table; saves the best epoch's checkpoint and, with
// a test split, scores it there (the test metrics go into config.json's "extra").
#include <fmt/format.h>

#include "progress.hpp"
#include "sentiment.hpp"

namespace tg::cli {
namespace {

struct TrainArgs {
  DataArgs data;
  RecipeArgs recipe;
  std::string pooling = "attention";
  std::uint64_t seed = 1;
  std::string out;
  std::size_t log_every = 0;
};

int run_train(const TrainArgs& args) {
  check_checkpoint_destination(args.out);
  const DataSplits splits = load_splits(args.data);
  const PreparedData data = prepare_data(splits, args.recipe);
  Recipe recipe = make_recipe(args.recipe, parse_pooling(args.pooling), args.seed);
  recipe.model.vocab_size = data.vocab.size();
  print_setup(splits, recipe);

  TrainingProgress progress({.live = stdout_is_terminal(), .log_every = args.log_every, .label = {}});
  progress.print_table_header();
  TrainedModel trained = train_model(recipe, data, progress.callbacks());
  progress.clear_line();
  if (trained.history.interrupted) {
    fmt::print(stderr, "sentiment: interrupted after {} complete epoch(s); no checkpoint written{}\n",
               trained.history.epochs.size(), std::filesystem::exists(args.out) ? " (the one at --out is untouched)" : "");
    return kExitInterrupted;
  }
  const TrainingHistory& h = trained.history;
  fmt::print("\nbest epoch {} of {}: valid accuracy {:.4f}, macro-F1 {:.4f}\n", h.best_epoch, h.epochs.size(),
             h.best_valid.accuracy, h.best_valid.macro_f1);

  nlohmann::json extra = {{"data", splits.files}};
  if (!data.test.ids.empty()) {
    const Evaluation test = evaluate_classifier(*trained.model, data.test);
    fmt::print("\ntest split ({} tweets), best epoch's weights:\n{}", test.metrics.count,
               format_metrics(test.metrics, label_names()));
    extra["test"] = metrics_json(test.metrics);
    extra["test"]["loss"] = test.loss;
  }
  save_sentiment_checkpoint(args.out, *trained.model, data.vocab, checkpoint_info(trained, args.recipe, extra));
  fmt::print("\nsaved the checkpoint to {}/ (weights.npz, vocab.txt, config.json)\n", args.out);
  fmt::print("try: sentiment predict --checkpoint {} \"@united lost my bag again\"\n", args.out);
  return 0;
}

}  // namespace

Subcommand add_train_command(CLI::App& app) {
  auto args = std::make_shared<TrainArgs>();
  CLI::App* cmd = app.add_subcommand("train", "train one model and save its best epoch as a checkpoint directory");
  add_data_options(*cmd, args->data);
  cmd->add_option("--pooling", args->pooling, "how the LSTM states become one vector: last, attention or mean")
      ->check(pooling_validator())->capture_default_str();
  cmd->add_option("--seed", args->seed, "initial weights, dropout and batch order")->capture_default_str();
  cmd->add_option("--out", args->out, "the checkpoint directory to write (replaced only if it is a checkpoint)")
      ->type_name("DIR")->required();
  cmd->add_option("--log-every", args->log_every,
                  "when stdout is not a terminal, also print a progress line every N batches (0: per epoch only)")
      ->capture_default_str();
  add_recipe_options(*cmd, args->recipe);
  return {cmd, [args] { return run_train(*args); }};
}

}  // namespace tg::cli
