// The out-of-the-box run (`sentiment` with no arguments, or `sentiment demo`): writes
// the built-in tweets as CSV files, compares the poolings on them with a recipe small
// enough to finish in well under a minute on 2 cores, saves the best attention model,
// writes its HTML report, shows a few predictions and says what to try next. Its folder
// holds only what it wrote, each file listed in SHA256SUMS: a rerun replaces those, and
// refuses (before any work) a folder holding anything else (nn/file_ownership.hpp).
#include <chrono>
#include <set>

#include <fmt/format.h>

#include "models/data/synthetic_tweets.hpp"
#include "nn/file_ownership.hpp"
#include "sentiment.hpp"

namespace tg::cli {
namespace {

namespace fs = std::filesystem;

constexpr std::uint64_t kDataSeed = 2024;

// What the demo writes into --out; model/ is a checkpoint, checked as one.
const OwnedLayout kDemoLayout{"the demo's folder", {"train.csv", "valid.csv", "test.csv", "report.html"}, {"model"}};

struct DemoArgs {
  std::string out = "sentiment-demo";
  bool quick = false;
};

struct DemoSizes {
  std::size_t train, valid, test, seeds, epochs;
};

// The default recipe shrunk (E, H, epochs) to fit the time budget, and without word
// dropout: in 5 short epochs on generated tweets it cost attention 0.06 of valid accuracy
// (0.829 against 0.887). --quick shrinks it further, to a smoke test of the whole path
// that finishes in seconds.
RecipeArgs demo_recipe(const DemoSizes& sizes, bool quick) {
  RecipeArgs r;
  r.epochs = sizes.epochs;
  r.embedding = quick ? 8 : 32;
  r.hidden = quick ? 8 : 16;
  r.batch_size = 32;
  r.lr = 1e-2;
  r.word_dropout = 0;
  r.subwords = 0;  // the generated tweets spell every word one way
  return r;
}

void heading(int step, const std::string& title) { fmt::print("\n== Step {}: {} ==\n", step, title); }

struct BuiltinData {
  DataSplits splits;
  std::set<std::size_t> test_flipped;  // test rows whose labels the generator flipped (label noise)
};

BuiltinData write_builtin_data(const fs::path& out, const DemoSizes& n) {
  // The everyday phrase set, so that the model answers a user's own plain sentences.
  const std::vector<SyntheticTweet> tweets =
      generate_tweets(n.train + n.valid + n.test, kDataSeed, everyday_synthetic_options());
  const auto part = [&](std::size_t from, std::size_t count) {
    return std::vector<SyntheticTweet>(tweets.begin() + std::ptrdiff_t(from), tweets.begin() + std::ptrdiff_t(from + count));
  };
  DataArgs data;
  data.train = (out / "train.csv").string();
  data.valid = (out / "valid.csv").string();
  data.test = (out / "test.csv").string();
  write_synthetic_csv(data.train, part(0, n.train));
  write_synthetic_csv(data.valid, part(n.train, n.valid));
  write_synthetic_csv(data.test, part(n.train + n.valid, n.test));
  record_owned_files(out, {"train.csv", "valid.csv", "test.csv"});
  fmt::print("wrote {} ({} tweets), {} ({}) and {} ({}): generated airline tweets, seed {}\n", data.train, n.train,
             data.valid, n.valid, data.test, n.test, kDataSeed);
  fmt::print("Each is airline chatter around one phrase that carries its sentiment, built from these families:\n");
  for (const std::string_view family : everyday_phrase_families()) fmt::print("  - {}\n", family);
  BuiltinData built{load_splits(data), {}};  // read back as any user's CSV would be
  for (std::size_t i = 0; i < n.test; ++i)
    if (tweets[n.train + n.valid + i].flipped) built.test_flipped.insert(i);
  return built;
}

void show_predictions(const TrainedModel& best, const PreparedData& data, std::size_t max_tokens) {
  const std::vector<std::string> texts = {
      "@united the crew was so rude, and now i am flying from Boston to Chicago on friday with my wife",
      "@JetBlue not bad at all, the flight takes about three hours and we board at 6pm from gate b12",
      "@SouthwestAir is there a delay on flight 161 out of Dallas?",
      "bad", "the crew was bad but the food was great"};
  const bool colour = colour_enabled(false);
  const std::vector<Prediction> predictions = predict_texts(*best.model, data.vocab, texts, max_tokens, run_cores().for_evaluation());
  for (std::size_t i = 0; i < texts.size(); ++i)
    fmt::print("{}\n{}\n", texts[i], format_prediction(predictions[i], label_names(), colour));
}

int run_demo(const DemoArgs& args) {
  const auto start = std::chrono::steady_clock::now();
  const DemoSizes sizes = args.quick ? DemoSizes{300, 100, 100, 1, 2} : DemoSizes{3000, 600, 600, 3, 5};
  const fs::path out = args.out, model_dir = out / "model", report = out / "report.html";
  // Everything the demo will write, checked before it writes anything.
  if (out.empty()) throw Error("--out is empty: name the demo's folder");
  check_owned_directory(out, kDemoLayout, "move it away, or choose another --out");
  check_can_create(out);
  check_checkpoint_destination(model_dir);
  if (fs::exists(fs::symlink_status(report))) check_report_destination(report);
  fs::create_directories(out);

  heading(1, "the built-in data set");
  const BuiltinData builtin = write_builtin_data(out, sizes);
  const DataSplits& splits = builtin.splits;
  const RecipeArgs recipe = demo_recipe(sizes, args.quick);
  const PreparedData data = prepare_data(splits, recipe);

  const std::vector<Variant> variants = make_variants({ClassifierConfig{}.encoder}, pooling_names());
  heading(2, fmt::format("compare the poolings: {} ({} seed{})", pooling_list(), sizes.seeds,
                         sizes.seeds > 1 ? "s" : ""));
  fmt::print("The default recipe made small for the demo (E={}, H={}, {} epochs, batch {}, lr {}), so that all {} "
             "runs take well under a minute.\nThe same at full size (the default recipe; minutes, not seconds): "
             "sentiment compare --train {} --valid {} --test {}\n\n",
             *recipe.embedding, *recipe.hidden, *recipe.epochs, *recipe.batch_size, *recipe.lr, variants.size() * sizes.seeds,
             splits.files["train"].get<std::string>(), splits.files["valid"].get<std::string>(),
             splits.files["test"].get<std::string>());
  const Comparison comparison =
      run_comparison(recipe, variants, sizes.seeds, data);
  if (comparison.interrupted) {
    fmt::print(stderr, "sentiment: interrupted; the demo stopped (its CSV files stay in {}/)\n", out.string());
    return kExitInterrupted;
  }
  print_comparison(comparison);

  heading(3, "save the best attention model and write its report");
  const TrainedModel& best = comparison.best_with_pooling("attention");
  nlohmann::json extra = data_extra(splits, data);
  extra["demo"] = true;
  extra["test"] = metrics_json(evaluate_classifier(*best.model, data.test, 256, run_cores().for_evaluation()).metrics, label_names());
  save_sentiment_checkpoint(model_dir, *best.model, data.vocab, checkpoint_info(best, recipe, extra));
  fmt::print("saved the checkpoint (seed {}) to {}/\n", best.recipe.train.seed, model_dir.string());
  ReportArgs report_args;
  report_args.checkpoint = model_dir.string();
  report_args.data = splits.files["test"].get<std::string>();
  report_args.out = report.string();
  report_args.flipped_rows = builtin.test_flipped;  // the page marks them as label noise, not model errors
  const Metrics tested = write_report(report_args);
  record_owned_files(out, {"report.html"});
  fmt::print("wrote {}: test accuracy {:.4f}, macro-F1 {:.4f} on {} tweets ({} of whose labels were flipped on purpose: "
             "the page marks them)\n", report.string(), tested.accuracy, tested.macro_f1, tested.count,
             builtin.test_flipped.size());

  heading(4, "predictions, each word shaded by its attention weight");
  show_predictions(best, data, recipe.max_tokens);

  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  fmt::print("\nWhat this model knows: {} generated airline tweets built from the phrase families of step 1; it has "
             "never seen a real tweet, so sarcasm, slang and words outside those families are beyond it.\n",
             sizes.train);
  fmt::print("Done in {:.1f} s. Open {} in a browser. Next, try:\n", seconds, report.string());
  fmt::print("  sentiment predict --checkpoint {} \"the flight was late and the staff were rude\"\n",
             model_dir.string());
  fmt::print("  sentiment evaluate --checkpoint {} --data {}\n", model_dir.string(), splits.files["test"].get<std::string>());
  fmt::print("  sentiment train --train {} --valid {} --pooling last --out my-model\n",
             splits.files["train"].get<std::string>(), splits.files["valid"].get<std::string>());
  fmt::print("  sentiment compare --split Tweets.csv   (the real Kaggle data; slower)\n");
  return 0;
}

}  // namespace

Subcommand add_demo_command(CLI::App& app) {
  auto args = std::make_shared<DemoArgs>();
  CLI::App* cmd = app.add_subcommand("demo", "the out-of-the-box run (also what `sentiment` alone does): built-in "
                                             "data, the pooling comparison, a report and predictions");
  cmd->add_option("--out", args->out, "the directory for the CSV files, the model and the report")
      ->type_name("DIR")->capture_default_str();
  cmd->add_flag("--quick", args->quick, "a tiny version that runs in seconds (a smoke test; its numbers mean nothing)");
  return {cmd, [args] { return run_demo(*args); }};
}

}  // namespace tg::cli
