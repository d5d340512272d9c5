// `sentiment baseline`: the linear reference row (models/baseline/bag_of_ngrams.hpp) —
// logistic regression on hashed word 1–2-grams, with the neural models' tokenizer and
// metrics, its weight decay and epochs chosen on a held-out part of the training split.
#include <fmt/format.h>

#include "models/baseline/bag_of_ngrams.hpp"
#include "sentiment.hpp"

namespace tg::cli {
namespace {

struct BaselineArgs {
  DataArgs data;
  BaselineOptions options;
};

int run_baseline(const BaselineArgs& args) {
  const DataSplits splits = load_splits(args.data);
  const BaselineOptions& o = args.options;
  fmt::print("data: {}\n", splits.description);
  fmt::print("baseline: logistic regression on word 1-2-grams hashed into {} rows, Adam lr {:g}, batch {}, "
             "seed {}\n", o.rows, o.lr, o.batch_size, o.seed);
  const BaselineResult result = train_baseline(splits.train, splits.valid, o);
  fmt::print("chosen on a held-out {:g}% of train (never on valid): weight decay {:g}, {} epochs "
             "(held-out accuracy {:.4f})\n", 100 * o.held_out, result.weight_decay, result.epochs,
             result.held_out_accuracy);
  fmt::print("valid: accuracy {:.4f}, macro-F1 {:.4f}\n", result.valid.accuracy, result.valid.macro_f1);
  if (!splits.test.empty()) {
    const Metrics test = evaluate_baseline(result.model, splits.test, o.rows);
    fmt::print("test: accuracy {:.4f}, macro-F1 {:.4f}\n", test.accuracy, test.macro_f1);
  }
  fmt::print("\nvalid in detail:\n{}", format_metrics(result.valid, label_names()));
  return 0;
}

}  // namespace

Subcommand add_baseline_command(CLI::App& app) {
  auto args = std::make_shared<BaselineArgs>();
  CLI::App* cmd = app.add_subcommand("baseline", "the linear reference: logistic regression on word 1-2-grams, "
                                                 "trained with tapegrad, scored like the neural models");
  add_data_options(*cmd, args->data);
  cmd->add_option("--epochs", args->options.epochs, "the most epochs; a held-out part of train picks how many")
      ->check(count_in(1, 1000))->capture_default_str();
  cmd->add_option("--seed", args->options.seed, "the seed of the held-out part and of the batch order")
      ->check(any_count())->capture_default_str();
  return {cmd, [args] { return run_baseline(*args); }};
}

}  // namespace tg::cli
