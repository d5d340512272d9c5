// `sentiment evaluate`: a checkpoint scored on a labelled CSV — accuracy, per-class
// precision/recall/F1, macro-F1 and the confusion matrix, as text or one JSON object.
#include <fmt/format.h>

#include "models/data/csv.hpp"
#include "sentiment.hpp"

namespace tg::cli {
namespace {

struct EvaluateArgs {
  std::string checkpoint, data;
  Columns columns;
  bool json = false;
};

int run_evaluate(const EvaluateArgs& args) {
  LoadedSentimentModel loaded = load_model(args.checkpoint);
  const std::vector<LabelledText> rows = load_rows(args.data, args.columns);
  const Evaluation result = evaluate_ensemble(loaded.members(), encode_dataset(rows, loaded.vocab, loaded.info.max_tokens),
                                              256, run_cores().for_evaluation());
  if (args.json) {
    nlohmann::ordered_json out = metrics_json(result.metrics, loaded.info.labels);
    out["checkpoint"] = replace_invalid_utf8(args.checkpoint);  // JSON holds only UTF-8; Linux names may not be
    out["data"] = replace_invalid_utf8(args.data);
    out["labels"] = loaded.info.labels;
    out["loss"] = result.loss;
    out["members"] = loaded.members().size();
    fmt::print("{}\n", out.dump());
    return 0;
  }
  fmt::print("{}{} on {} ({} tweets): mean cross-entropy {:.4f}\n{}", args.checkpoint, ensemble_note(loaded),
             args.data, result.metrics.count, result.loss, format_metrics(result.metrics, loaded.info.labels));
  return 0;
}

}  // namespace

Subcommand add_evaluate_command(CLI::App& app) {
  auto args = std::make_shared<EvaluateArgs>();
  CLI::App* cmd = app.add_subcommand("evaluate", "score a checkpoint on a labelled CSV");
  cmd->add_option("--checkpoint", args->checkpoint, "a checkpoint directory written by train or compare")
      ->type_name("DIR")->required();
  cmd->add_option("--data", args->data, "a Kaggle-layout CSV with text and label columns")->type_name("FILE")
      ->required();
  add_column_options(*cmd, args->columns);
  cmd->add_flag("--json", args->json, "print one JSON object (metrics, confusion matrix, loss)");
  return {cmd, [args] { return run_evaluate(*args); }};
}

}  // namespace tg::cli
