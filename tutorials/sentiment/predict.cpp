// `sentiment predict`: class probabilities for texts given as arguments or read one a
// line from stdin, with each word shaded by its attention weight (24-bit colour), or
// printed as word(α) without colour, or as one JSON object per text (JSON Lines).
#include <algorithm>
#include <iostream>

#include <fmt/format.h>

#include "sentiment.hpp"

namespace tg::cli {
namespace {

struct PredictArgs {
  std::string checkpoint;
  std::vector<std::string> texts;
  bool no_color = false, json = false;
};

nlohmann::json prediction_json(const std::string& text, const Prediction& p, const std::vector<std::string>& labels) {
  nlohmann::json probabilities = nlohmann::json::object();
  for (std::size_t c = 0; c < p.probabilities.size(); ++c) probabilities[labels.at(c)] = p.probabilities[c];
  return {{"text", text}, {"tokens", p.tokens}, {"known", p.known}, {"alpha", p.alpha},
          {"probabilities", probabilities}, {"label", labels.at(std::size_t(p.label))}};
}

void predict_one(LoadedSentimentModel& loaded, const std::string& text, const PredictArgs& args, bool colour) {
  const Prediction p = predict_texts(*loaded.model, loaded.vocab, {text}, loaded.info.max_tokens).front();
  if (args.json) fmt::print("{}\n", prediction_json(text, p, loaded.info.labels).dump());
  else fmt::print("{}\n{}\n", text, format_prediction(p, loaded.info.labels, colour));
  std::fflush(stdout);  // one answer per line read, for a program on the other end of a pipe
}

int run_predict(const PredictArgs& args) {
  LoadedSentimentModel loaded = load_model(args.checkpoint);
  const bool colour = !args.json && colour_enabled(args.no_color);
  if (!args.texts.empty()) {
    for (const std::string& text : args.texts) predict_one(loaded, text, args, colour);
    return 0;
  }
  std::string line;
  while (std::getline(std::cin, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t") != std::string::npos) predict_one(loaded, line, args, colour);
  }
  return 0;
}

}  // namespace

std::string format_prediction(const Prediction& p, const std::vector<std::string>& labels, bool colour) {
  std::string out = " ";
  for (std::size_t c = 0; c < p.probabilities.size(); ++c)
    out += fmt::format(" {} {:.3f}", labels.at(c), p.probabilities[c]);
  out += fmt::format("  {} {}\n ", colour ? "→" : "->", labels.at(std::size_t(p.label)));
  const double max_alpha = p.alpha.empty() ? 0 : *std::max_element(p.alpha.begin(), p.alpha.end());
  bool unknown = false;
  for (std::size_t t = 0; t < p.tokens.size() && t < p.alpha.size(); ++t) {
    const std::string word = p.known[t] ? p.tokens[t] : p.tokens[t] + "*";
    unknown = unknown || !p.known[t];
    out += " " + (colour ? shade(word, max_alpha > 0 ? p.alpha[t] / max_alpha : 0)
                         : fmt::format("{}({:.3f})", word, p.alpha[t]));
  }
  if (unknown) out += "\n  (* not in the vocabulary: the model read <unk>)";
  return out;
}

Subcommand add_predict_command(CLI::App& app) {
  auto args = std::make_shared<PredictArgs>();
  CLI::App* cmd = app.add_subcommand("predict", "classify texts and show where the model's attention went");
  cmd->add_option("--checkpoint", args->checkpoint, "a checkpoint directory written by train or compare")
      ->type_name("DIR")->required();
  cmd->add_option("texts", args->texts, "texts to classify; none: read one text a line from stdin")
      ->type_name("TEXT");
  cmd->add_flag("--no-color", args->no_color,
                "print word(α) instead of shading words (also when NO_COLOR is set or stdout is not a terminal)");
  cmd->add_flag("--json", args->json,
                "print one JSON object per text: tokens, known, alpha, probabilities, label");
  return {cmd, [args](int) { return run_predict(*args); }};
}

}  // namespace tg::cli
