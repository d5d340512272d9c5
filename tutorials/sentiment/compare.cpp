// `sentiment compare`: the reference article's experiment — the same data and seeds
// for each pooling (last state, attention, mean), and for each encoder with --encoders —
// reported as mean ± std of validation accuracy and macro-F1 beside the article's numbers,
// then the paired per-seed differences with 95% intervals (Note [Paired differences]);
// --out keeps each one's best model, saved as runs finish so that Ctrl-C loses only the
// run in progress.
#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "models/training/statistics.hpp"
#include "progress.hpp"
#include "sentiment.hpp"

namespace tg::cli {
namespace {

namespace fs = std::filesystem;

// The article's validation accuracies (Keras LSTMs, the Kaggle tweets, its own split).
std::string article_accuracy(const Variant& v) {
  if (v.encoder != "lstm") return "-";
  return v.pooling == "last" ? "0.7831" : v.pooling == "attention" ? "0.7875" : "-";
}

std::string cell(const MeanStd& m) { return fmt::format("{:.4f} ± {:.4f}", m.mean, m.std); }

void print_run(const ComparisonRun& run, const TrainingHistory& h, double seconds) {
  fmt::print("{:<10} {:>4}  {:>4}/{:<4}  {:>9.4f}  {:>8.4f}", run.variant.label, run.seed, h.best_epoch,
             h.epochs.size(), h.best_valid.accuracy, h.best_valid.macro_f1);
  if (run.test) fmt::print("  {:>8.4f}  {:>7.4f}", run.test->accuracy, run.test->macro_f1);
  fmt::print("  {:>6.1f}s\n", seconds);
  std::fflush(stdout);
}

struct CompareArgs {
  DataArgs data;
  RecipeArgs recipe;
  std::size_t seeds = 5;  // enough for a paired t interval with 4 degrees of freedom
  std::vector<std::string> encoders{ClassifierConfig{}.encoder};
  std::vector<std::string> poolings = pooling_names();
  std::string out;
  bool has_out = false;  // --out given (possibly as "", which is refused)
};

// With --out, each variant's best model so far is saved to DIR/<label>/ after every
// completed run, so an interruption keeps what had finished (saving is atomic).
int run_compare(const CompareArgs& args) {
  if (args.encoders.empty()) throw UsageError("--encoders names no encoder");
  if (args.poolings.empty()) throw UsageError("--poolings names no pooling");
  const std::vector<Variant> variants = make_variants(args.encoders, args.poolings);
  if (args.has_out && args.out.empty()) throw Error("--out is empty: name a directory for the checkpoints");
  if (args.has_out)
    for (const Variant& v : variants) check_checkpoint_destination(fs::path(args.out) / v.label);
  const DataSplits splits = load_splits(args.data);
  const PreparedData data = prepare_data(splits, args.recipe);
  Recipe first = make_recipe(args.recipe, variants.front().encoder, variants.front().pooling, 1);
  first.model.vocab_size = data.vocab.size();
  print_setup(splits, data, first);

  std::vector<std::string> saved;  // "DIR/<label>/ (best of N seeds)", one per variant saved
  const auto save = [&](const TrainedModel& best, const Variant& variant, std::size_t seeds_done) {
    if (!args.has_out) return;
    const std::string& pooling = variant.label;
    const fs::path dir = fs::path(args.out) / pooling;
    nlohmann::json extra = data_extra(splits, data);
    extra["compare"] = {{"seeds", args.seeds}, {"seeds_done", seeds_done}};
    if (!data.test.ids.empty())
      extra["test"] = metrics_json(evaluate_classifier(*best.model, data.test, 256, run_cores().for_evaluation()).metrics, label_names());
    save_sentiment_checkpoint(dir, *best.model, data.vocab, checkpoint_info(best, args.recipe, extra));
    const std::string line = fmt::format("{}/ (the best {} model of seeds 1..{}: seed {})", dir.string(), pooling,
                                         seeds_done, best.recipe.train.seed);
    if (seeds_done == 1) saved.push_back(line);
    else saved.back() = line;
  };
  const Comparison comparison = run_comparison(args.recipe, variants, args.seeds, data, save);
  if (comparison.interrupted) {
    fmt::print(stderr, "sentiment: interrupted; {}\n",
               saved.empty() ? "no run had finished, nothing saved"
                             : fmt::format("saved from the finished runs: {}", fmt::join(saved, ", ")));
    return kExitInterrupted;
  }
  print_comparison(comparison);
  for (const std::string& line : saved) fmt::print("saved {}\n", line);
  return 0;
}

}  // namespace

std::vector<Variant> make_variants(const std::vector<std::string>& encoders, const std::vector<std::string>& poolings) {
  std::vector<Variant> out;
  for (const std::string& encoder : encoders)
    for (const std::string& pooling : poolings)
      out.push_back({encoder, pooling, encoders.size() > 1 ? fmt::format("{}+{}", encoder, pooling) : pooling});
  return out;
}

const TrainedModel& Comparison::best_with_pooling(const std::string& pooling) const {
  for (std::size_t i = 0; i < variants.size() && i < best.size(); ++i)
    if (variants[i].pooling == pooling) return best[i];
  throw Error(fmt::format("compare: no {} pooling was trained", pooling));
}

Comparison run_comparison(const RecipeArgs& args, const std::vector<Variant>& variants, std::size_t seeds,
                          const PreparedData& data,
                          const std::function<void(const TrainedModel& best, const Variant& variant,
                                                   std::size_t seeds_done)>& on_run) {
  Comparison c{variants, {}, {}, false};
  const bool with_test = !data.test.ids.empty();
  fmt::print("{:<10} {:>4}  {:>9}  {:>9}  {:>8}{}  {:>7}\n", variants.front().label == variants.front().pooling ? "pooling" : "model",
             "seed", "best ep.", "valid acc", "valid F1", with_test ? "  test acc  test F1" : "", "time");
  for (const Variant& variant : variants) {
    std::optional<TrainedModel> best;
    for (std::uint64_t seed = 1; seed <= seeds; ++seed) {
      TrainingProgress progress({.live = stdout_is_terminal(), .epoch_table = false,
                                 .label = fmt::format("{} seed {}", variant.label, seed)});
      const auto start = std::chrono::steady_clock::now();
      TrainedModel trained =
          train_model(make_recipe(args, variant.encoder, variant.pooling, seed), data, progress.callbacks());
      progress.clear_line();
      if ((c.interrupted = trained.history.interrupted)) return c;
      ComparisonRun run{variant, seed, trained.history, std::nullopt};
      if (with_test) run.test = evaluate_classifier(*trained.model, data.test, 256, run_cores().for_evaluation()).metrics;
      print_run(run, trained.history, std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
      c.runs.push_back(std::move(run));
      if (!best || trained.history.best_valid.accuracy > best->history.best_valid.accuracy) best = std::move(trained);
      if (on_run) on_run(*best, variant, seed);
    }
    c.best.push_back(std::move(*best));
  }
  return c;
}

namespace {

// Each run's best validation accuracy for `variant`, in seed order (runs are stored so).
std::vector<double> accuracies(const Comparison& c, const Variant& variant) {
  std::vector<double> out;
  for (const ComparisonRun& run : c.runs)
    if (run.variant.label == variant.label) out.push_back(run.history.best_valid.accuracy);
  return out;
}

// Note [Paired differences]
// Every variant is trained with the same seeds 1..n, and a seed fixes the data order and
// the initialisation of both runs, so the honest comparison of two variants is of their
// per-seed differences d_i = a_i − b_i: mean, and a 95% Student-t interval with n − 1
// degrees of freedom (models/training/statistics.hpp). Variants that share an encoder or a
// pooling are compared, so one line changes one thing. The article's +0.0044 (attention −
// last, one Keras run each) is then set against the noise measured here: the half-width of
// the interval is the smallest difference these seeds could tell from zero.
void print_paired_differences(const Comparison& c) {
  const std::size_t seeds = c.variants.empty() ? 0 : c.runs.size() / c.variants.size();
  if (seeds < 2) return;
  fmt::print("\nPaired differences in validation accuracy over seeds 1..{} (each seed trains both sides),\n"
             "with 95% Student-t intervals ({} degrees of freedom):\n", seeds, seeds - 1);
  std::optional<PairedDifference> attention_last;
  for (std::size_t i = 0; i < c.variants.size(); ++i)
    for (std::size_t j = i + 1; j < c.variants.size(); ++j) {
      const Variant& a = c.variants[i];
      const Variant& b = c.variants[j];
      if (a.encoder != b.encoder && a.pooling != b.pooling) continue;
      // The article's direction: attention − last, whatever the order given.
      const bool swap = a.encoder == b.encoder && a.pooling == "last" && b.pooling == "attention";
      const Variant& first = swap ? b : a;
      const Variant& second = swap ? a : b;
      const PairedDifference d = paired_difference(accuracies(c, first), accuracies(c, second));
      fmt::print("{} - {}: {:+.4f}, 95% interval [{:+.4f}, {:+.4f}]: {}.\n", first.label, second.label, d.mean,
                 d.low, d.high,
                 d.distinguishable() ? "distinguishable from zero at 95%"
                                     : "not distinguishable from zero at 95% (the interval holds 0)");
      if (first.encoder == "lstm" && second.encoder == "lstm" && first.pooling == "attention" &&
          second.pooling == "last")
        attention_last = d;
    }
  if (!attention_last) return;
  const PairedDifference& d = *attention_last;
  const double article = 0.7875 - 0.7831;
  const double half_width = d.high - d.mean;
  fmt::print("The article's attention - last, 0.7875 - 0.7831 = {:+.4f}, is {} the seed noise measured here\n"
             "(a difference these {} seeds can tell from zero is at least ±{:.4f}), and {} this interval.\n",
             article, std::abs(article) < half_width ? "inside" : "outside", seeds, half_width,
             d.contains(article) ? "inside" : "outside");
}

}  // namespace

void print_comparison(const Comparison& c) {
  const bool with_test = !c.runs.empty() && c.runs.front().test.has_value();
  fmt::print("\n{:<10}  {:^17}  {:^17}{}  {}\n", "pooling", "valid accuracy", "valid macro-F1",
             with_test ? fmt::format("  {:^17}", "test accuracy") : "", "the article");
  for (const Variant& variant : c.variants) {
    std::vector<double> accuracy, f1, test;
    for (const ComparisonRun& run : c.runs) {
      if (run.variant.label != variant.label) continue;
      accuracy.push_back(run.history.best_valid.accuracy);
      f1.push_back(run.history.best_valid.macro_f1);
      if (run.test) test.push_back(run.test->accuracy);
    }
    fmt::print("{:<10}  {:>17}  {:>17}{}  {:>11}\n", variant.label, cell(mean_std(accuracy)), cell(mean_std(f1)),
               with_test ? fmt::format("  {:>17}", cell(mean_std(test))) : "", article_accuracy(variant));
  }
  const std::size_t seeds = c.variants.empty() ? 0 : c.runs.size() / c.variants.size();
  if (seeds > 1)
    fmt::print("mean ± sample standard deviation over seeds 1..{}, each at its best validation epoch.\n", seeds);
  else
    fmt::print("one seed, so no spread (± 0) and no paired interval: use --seeds 2 or more (the default is 5).\n");
  fmt::print("The article's numbers are Keras models on the Kaggle tweets with a different split:\n"
             "compare the ranking of the poolings, not the values.\n");
  print_paired_differences(c);
}

Subcommand add_compare_command(CLI::App& app) {
  auto args = std::make_shared<CompareArgs>();
  CLI::App* cmd = app.add_subcommand("compare", "train every pooling (and encoder) with the same seeds and compare "
                                                "them (the article's experiment)");
  add_data_options(*cmd, args->data);
  cmd->add_option("--seeds", args->seeds, "train each pooling with seeds 1..N")->check(count_in(1, 1000000))
      ->capture_default_str();
  cmd->add_option("--encoders", args->encoders, "the encoders to compare, comma-separated:" + encoder_help())
      ->delimiter(',')->check(encoder_validator())->capture_default_str();
  cmd->add_option("--poolings", args->poolings, "the poolings to compare, comma-separated:" + pooling_help())
      ->delimiter(',')->check(pooling_validator())->capture_default_str();
  CLI::Option* out = cmd->add_option("--out", args->out, "save each one's best model (over seeds) to DIR/<pooling>/ (with several "
                                      "encoders DIR/<encoder>+<pooling>/), updated as runs finish")
      ->type_name("DIR");
  add_recipe_options(*cmd, args->recipe);
  return {cmd, [args, out] {
            args->has_out = out->count() > 0;
            return run_compare(*args);
          }};
}

}  // namespace tg::cli
