// `sentiment train`: one model from a recipe on --train/--valid (or a --split file),
// with live progress and a per-epoch table; saves the checkpoint at every new best epoch
// (so Ctrl-C or a crash leaves the best complete one) and, with a test split, scores the
// best epoch there at the end (the test metrics go into config.json's "extra").
#include <fmt/format.h>

#include "progress.hpp"
#include "sentiment.hpp"

namespace tg::cli {
namespace {

struct TrainArgs {
  DataArgs data;
  RecipeArgs recipe;
  std::string encoder = ClassifierConfig{}.encoder, pooling = ClassifierConfig{}.pooling;
  std::uint64_t seed = 1;
  std::string out;
  std::size_t log_every = 0;
  std::size_t ensemble = 1;  // members, seeds seed..seed+ensemble−1 (Note [Ensemble checkpoints])
};

// Saves a trained model to --out, replacing what is there atomically.
using Saver = std::function<void(const TrainedModel&)>;

// What --out holds once training was interrupted: the best complete epoch, saved when it
// was reached and now marked "interrupted" (Note [Checkpoints during training]).
int report_interruption(const TrainArgs& args, const TrainedModel& trained, const Saver& save) {
  const TrainingHistory& h = trained.history;
  if (h.best_epoch == 0) {
    fmt::print(stderr, "sentiment: interrupted before the first epoch finished; no checkpoint written{}\n",
               std::filesystem::exists(args.out) ? fmt::format(" ({} is untouched)", args.out) : "");
    return kExitInterrupted;
  }
  save(trained);  // the same weights, saved again to record the interruption
  fmt::print(stderr, "sentiment: interrupted after {} complete epoch(s) of {}; the checkpoint at {}/ holds epoch {} "
             "(valid accuracy {:.4f}), the best of them\n", h.epochs.size(), trained.recipe.train.epochs, args.out,
             h.best_epoch, h.best_valid.accuracy);
  return kExitInterrupted;
}

// --ensemble N: N models, seeds seed..seed+N−1, trained one after the other on the same
// data, each picking its best epoch on --valid; saved once at the end as one ensemble
// checkpoint (Note [Ensemble checkpoints]). Interrupted, it saves the members finished so far.
int run_train_ensemble(const TrainArgs& args) {
  check_checkpoint_destination(args.out);
  const DataSplits splits = load_splits(args.data);
  const PreparedData data = prepare_data(splits, args.recipe);
  std::vector<TrainedModel> members;
  std::vector<SentimentCheckpoint> infos;
  const nlohmann::json extra = data_extra(splits, data);
  bool interrupted = false;
  for (std::size_t k = 0; k < args.ensemble && !interrupted; ++k) {
    Recipe recipe = make_recipe(args.recipe, args.encoder, args.pooling, args.seed + k);
    recipe.model.vocab_size = data.vocab.size();
    fmt::print("member {} of {}\n", k + 1, args.ensemble);
    if (k == 0) print_setup(splits, data, recipe);
    TrainingProgress progress({.live = stdout_is_terminal(), .log_every = args.log_every, .label = {}});
    progress.print_table_header();
    TrainedModel trained = train_model(recipe, data, progress.callbacks());
    progress.clear_line();
    interrupted = trained.history.interrupted;
    if (interrupted) break;  // a member that did not finish is left out
    const TrainingHistory& h = trained.history;
    fmt::print("member {} (seed {}): best epoch {} of {}: valid accuracy {:.4f}, macro-F1 {:.4f}\n\n", k + 1,
               args.seed + k, h.best_epoch, h.epochs.size(), h.best_valid.accuracy, h.best_valid.macro_f1);
    infos.push_back(checkpoint_info(trained, args.recipe, extra));
    members.push_back(std::move(trained));
  }
  if (members.empty()) {
    fmt::print(stderr, "sentiment: interrupted before the first member finished; no checkpoint written\n");
    return kExitInterrupted;
  }
  Ensemble models;
  std::vector<const SentimentClassifier<float>*> saved;
  for (const TrainedModel& m : members) {
    models.push_back(m.model.get());
    saved.push_back(m.model.get());
  }
  nlohmann::json ensemble_extra = extra;
  const Evaluation valid = evaluate_ensemble(models, data.valid, 256, run_cores().for_evaluation());
  fmt::print("ensemble of {} (mean of the members' probabilities) on the validation split:\n{}", members.size(),
             format_metrics(valid.metrics, label_names()));
  ensemble_extra["valid"] = metrics_json(valid.metrics, label_names());
  if (!data.test.ids.empty()) {
    const Evaluation test = evaluate_ensemble(models, data.test, 256, run_cores().for_evaluation());
    fmt::print("\nensemble on the test split ({} tweets):\n{}", test.metrics.count,
               format_metrics(test.metrics, label_names()));
    ensemble_extra["test"] = metrics_json(test.metrics, label_names());
  }
  save_sentiment_ensemble(args.out, saved, data.vocab, infos, ensemble_extra);
  fmt::print("\nsaved the ensemble of {} to {}/ (ensemble.json, member-1/ … member-{}/)\n", members.size(), args.out,
             members.size());
  if (interrupted) {
    fmt::print(stderr, "sentiment: interrupted; the ensemble at {}/ holds the {} member(s) that finished\n", args.out,
               members.size());
    return kExitInterrupted;
  }
  fmt::print("try: sentiment predict --checkpoint {} \"@united lost my bag again\"\n", args.out);
  return 0;
}

int run_train(const TrainArgs& args) {
  if (args.ensemble > 1) return run_train_ensemble(args);
  check_checkpoint_destination(args.out);
  const DataSplits splits = load_splits(args.data);
  const PreparedData data = prepare_data(splits, args.recipe);
  Recipe recipe = make_recipe(args.recipe, args.encoder, args.pooling, args.seed);
  recipe.model.vocab_size = data.vocab.size();
  print_setup(splits, data, recipe);

  nlohmann::json extra = data_extra(splits, data);
  std::size_t saved_epoch = 0;
  const Saver save = [&](const TrainedModel& trained) {
    save_sentiment_checkpoint(args.out, *trained.model, data.vocab, checkpoint_info(trained, args.recipe, extra));
    saved_epoch = trained.history.best_epoch;
  };
  TrainingProgress progress({.live = stdout_is_terminal(), .log_every = args.log_every, .label = {}});
  progress.print_table_header();
  TrainedModel trained;
  try {
    trained = train_model(recipe, data, progress.callbacks(), save);
  } catch (const Error& e) {
    if (saved_epoch == 0) throw;
    throw Error(fmt::format("{} (the checkpoint at {}/ holds epoch {}, the best before this)", e.what(), args.out,
                            saved_epoch));
  }
  progress.clear_line();
  if (trained.history.interrupted) return report_interruption(args, trained, save);
  const TrainingHistory& h = trained.history;
  fmt::print("\nbest epoch {} of {}: valid accuracy {:.4f}, macro-F1 {:.4f}\n", h.best_epoch, h.epochs.size(),
             h.best_valid.accuracy, h.best_valid.macro_f1);

  if (!data.test.ids.empty()) {
    const Evaluation test = evaluate_classifier(*trained.model, data.test, 256, run_cores().for_evaluation());
    fmt::print("\ntest split ({} tweets), best epoch's weights:\n{}", test.metrics.count,
               format_metrics(test.metrics, label_names()));
    extra["test"] = metrics_json(test.metrics, label_names());
    extra["test"]["loss"] = test.loss;
  }
  save(trained);
  fmt::print("\nsaved the checkpoint to {}/ (weights.npz, vocab.txt, config.json)\n", args.out);
  fmt::print("try: sentiment predict --checkpoint {} \"@united lost my bag again\"\n", args.out);
  return 0;
}

}  // namespace

Subcommand add_train_command(CLI::App& app) {
  auto args = std::make_shared<TrainArgs>();
  CLI::App* cmd = app.add_subcommand("train", "train one model and save its best epoch as a checkpoint directory");
  add_data_options(*cmd, args->data);
  cmd->add_option("--encoder", args->encoder, "the layer that reads the embedded tokens:" + encoder_help())
      ->check(encoder_validator())->capture_default_str();
  cmd->add_option("--pooling", args->pooling, "how the encoder's states become one vector:" + pooling_help())
      ->check(pooling_validator())->capture_default_str();
  cmd->add_option("--seed", args->seed, "initial weights, dropout and batch order")->check(any_count())
      ->capture_default_str();
  cmd->add_option("--out", args->out, "the checkpoint directory, rewritten at each new best epoch (replaced only if it is a checkpoint)")
      ->type_name("DIR")->required();
  cmd->add_option("--log-every", args->log_every,
                  "when stdout is not a terminal, also print a progress line every N batches (0: per epoch only)")
      ->check(any_count())->capture_default_str();
  cmd->add_option("--ensemble", args->ensemble,
                  fmt::format("train N models (seeds --seed … --seed+N−1) and save them as one ensemble checkpoint "
                              "whose answer is the mean of their probabilities (1: one model; at most {})",
                              kMaxEnsembleMembers))
      ->type_name("N")->check(count_in(1, kMaxEnsembleMembers))->capture_default_str();
  add_recipe_options(*cmd, args->recipe);
  return {cmd, [args] { return run_train(*args); }};
}

}  // namespace tg::cli
