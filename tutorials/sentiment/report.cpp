// `sentiment report`: evaluates a checkpoint on a labelled CSV, picks tweets to show
// (the most confident right and wrong ones, taking turns over the true classes) and
// writes the HTML page atomically, so a failed run leaves no half-written report. It
// replaces only a report it wrote: the page's last line is a seal holding the SHA-256 of
// the lines above (nn/file_ownership.hpp), checked before any work is done.
#include <algorithm>
#include <map>

#include <fmt/format.h>

#include "nn/atomic_file.hpp"
#include "nn/file_ownership.hpp"
#include "report.hpp"

namespace tg::cli {
namespace {

constexpr std::string_view kSealOpen = "<!-- written by tapegrad's sentiment report; SHA-256 of the lines above: ";
constexpr std::string_view kSealClose = " -->";
constexpr std::size_t kMaxReportBytes = std::size_t(1) << 30;  // a report is kilobytes; any larger file is not one

double confidence(const ReportExample& e) { return e.prediction.probabilities.at(std::size_t(e.prediction.label)); }

// Up to `count` examples, most confident first within each true class, the classes
// taking turns so that one class cannot fill the page.
std::vector<ReportExample> pick(std::vector<ReportExample> candidates, std::size_t count) {
  std::stable_sort(candidates.begin(), candidates.end(),
                   [](const ReportExample& a, const ReportExample& b) { return confidence(a) > confidence(b); });
  std::map<int, std::vector<const ReportExample*>> by_class;
  for (const ReportExample& e : candidates) by_class[e.truth].push_back(&e);
  std::vector<ReportExample> out;
  for (std::size_t rank = 0; out.size() < count && out.size() < candidates.size(); ++rank)
    for (const auto& [_, group] : by_class)
      if (rank < group.size() && out.size() < count) out.push_back(*group[rank]);
  return out;
}

}  // namespace

void check_report_destination(const std::filesystem::path& out) {
  check_file_destination(out.string());
  if (std::filesystem::exists(std::filesystem::symlink_status(out)) &&
      !has_valid_seal(out, kSealOpen, kSealClose, kMaxReportBytes))
    throw Error(fmt::format("{}: exists and is not a report written by sentiment (or was changed since); refusing to "
                            "overwrite it (move it away, or choose another --out)", out.string()));
}

Metrics write_report(const ReportArgs& args) {
  check_report_destination(args.out);
  LoadedSentimentModel loaded = load_model(args.checkpoint);
  const std::vector<LabelledText> rows = load_rows(args.data, args.columns);
  std::vector<std::string> texts;
  for (const LabelledText& row : rows) texts.push_back(row.text);
  const std::vector<Prediction> predictions =
      predict_ensemble(loaded.members(), loaded.vocab, texts, loaded.info.max_tokens, run_cores().for_evaluation());

  ReportData report{args.checkpoint + ensemble_note(loaded), args.data, loaded.info, loaded.vocab.size(), {}, {}, {}, 0, 0};
  std::vector<int> truth, predicted;
  std::vector<ReportExample> correct, wrong;
  for (std::size_t i = 0; i < rows.size(); ++i) {
    truth.push_back(rows[i].label);
    predicted.push_back(predictions[i].label);
    const bool flipped = args.flipped_rows.contains(i);
    report.flipped += flipped;
    report.flipped_wrong += flipped && rows[i].label != predictions[i].label;
    (rows[i].label == predictions[i].label ? correct : wrong)
        .push_back({rows[i].text, rows[i].label, predictions[i], std::nullopt, flipped});
  }
  report.metrics = compute_metrics(truth, predicted, loaded.info.model.classes);
  report.correct = pick(std::move(correct), args.examples);
  report.wrong = pick(std::move(wrong), args.examples);
  // The first few of each kind also get gradient × input and leave-one-out beside α
  // (models/explain.hpp): a backward and T forwards each, so not every example.
  constexpr std::size_t kExplained = 3;
  for (auto* examples : {&report.correct, &report.wrong})
    for (std::size_t i = 0; i < examples->size() && i < kExplained; ++i)
      (*examples)[i].explanation =
          explain_text(*loaded.model, loaded.vocab, (*examples)[i].text, loaded.info.max_tokens);
  write_file_atomically(args.out, seal_text(render_report_html(report), kSealOpen, kSealClose));
  return report.metrics;
}

Subcommand add_report_command(CLI::App& app) {
  auto args = std::make_shared<ReportArgs>();
  CLI::App* cmd = app.add_subcommand("report", "write one self-contained HTML page: settings, metrics, training "
                                               "curves, confusion matrix and attention heatmaps");
  cmd->add_option("--checkpoint", args->checkpoint, "a checkpoint directory written by train or compare")
      ->type_name("DIR")->required();
  cmd->add_option("--data", args->data, "a labelled Kaggle-layout CSV to evaluate on and take tweets from")
      ->type_name("FILE")->required();
  cmd->add_option("--out", args->out, "the HTML file to write")->type_name("FILE")->capture_default_str();
  cmd->add_option("--examples", args->examples, "tweets shown of each kind (right, wrong)")
      ->check(count_in(0, 10000))->capture_default_str();
  add_column_options(*cmd, args->columns);
  return {cmd, [args] {
            const Metrics m = write_report(*args);
            fmt::print("wrote {} ({} tweets, accuracy {:.4f}, macro-F1 {:.4f})\n", args->out, m.count, m.accuracy,
                       m.macro_f1);
            return 0;
          }};
}

}  // namespace tg::cli
