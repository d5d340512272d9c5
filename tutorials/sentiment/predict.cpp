// `sentiment predict`: class probabilities for texts given as arguments or read one a
// line from stdin, with each word shaded by its attention weight (24-bit colour), or
// printed as word(α) without colour, or as one JSON object per text (JSON Lines).
// --explain adds, per word, α beside gradient × input and leave-one-out occlusion
// (models/explain.hpp): a table in the terminal, an "explanation" object in JSON.
#include <algorithm>
#include <iostream>

#include <fmt/format.h>

#include "models/data/csv.hpp"
#include "models/explain.hpp"
#include "models/limits.hpp"
#include "sentiment.hpp"

namespace tg::cli {
namespace {

// One line of `in` into `line` (without its '\n'); false at the end. A line longer than
// kMaxTextBytes (Note [Input size limits]) is refused naming it: /dev/zero or a binary
// file on stdin costs 16 MiB, not all the memory there is.
bool read_text_line(std::istream& in, std::string& line, std::size_t number) {
  line.clear();
  std::streambuf& buffer = *in.rdbuf();
  for (int c = buffer.sbumpc(); c != std::char_traits<char>::eof(); c = buffer.sbumpc()) {
    if (c == '\n') return true;
    if (line.size() == kMaxTextBytes)
      throw Error(fmt::format("stdin line {}: longer than {}, more than a text can be (see Note [Input size "
                              "limits] in models/limits.hpp)", number, format_bytes(kMaxTextBytes)));
    line += static_cast<char>(c);
  }
  return !line.empty();
}

struct PredictArgs {
  std::string checkpoint;
  std::vector<std::string> texts;
  bool no_color = false, json = false, explain = false;
};

nlohmann::json prediction_json(const std::string& text, const Prediction& p, const std::vector<std::string>& labels) {
  nlohmann::json probabilities = nlohmann::json::object();
  for (std::size_t c = 0; c < p.probabilities.size(); ++c) probabilities[labels.at(c)] = p.probabilities[c];
  return {{"text", text}, {"tokens", p.tokens}, {"known", p.known}, {"alpha", p.alpha},
          {"probabilities", probabilities}, {"label", labels.at(std::size_t(p.label))}};
}

// The "explanation" member of --json --explain: alpha is null when the pooling does not
// learn it (alpha_note says so); saliency and occlusion are changes in p(label).
nlohmann::json explanation_json(const Explanation& e, const std::vector<std::string>& labels) {
  return {{"score", fmt::format("p({})", labels.at(std::size_t(e.label)))},
          {"alpha", e.alpha ? nlohmann::json(*e.alpha) : nlohmann::json(nullptr)},
          {"alpha_note", e.alpha_note},
          {"saliency", e.saliency},
          {"occlusion", e.occlusion}};
}

// `where`: "stdin line 7" or "argument 2", for the warning about a text that is not UTF-8.
void predict_one(LoadedSentimentModel& loaded, const std::string& text, const PredictArgs& args, bool colour,
                 const std::string& where) {
  const Prediction p = predict_ensemble(loaded.members(), loaded.vocab, {text}, loaded.info.max_tokens).front();
  std::optional<Explanation> explained;
  if (args.explain) explained = explain_text(*loaded.model, loaded.vocab, text, loaded.info.max_tokens);
  const auto as_json = [&](const std::string& shown) {
    nlohmann::json j = prediction_json(shown, p, loaded.info.labels);
    if (explained) j["explanation"] = explanation_json(*explained, loaded.info.labels);
    return j.dump();
  };
  // JSON holds only UTF-8: a text that is not gets U+FFFD for each bad byte, a warning
  // naming it, and the stream goes on (the tokens, ASCII only, are unaffected).
  if (const std::size_t bad = invalid_utf8_at(text); args.json && bad != std::string::npos) {
    fmt::print(stderr, "sentiment: warning: {}: not valid UTF-8 (byte {}, 0x{:02x}); each invalid byte is "
               "U+FFFD in its \"text\"\n", where, bad + 1, static_cast<unsigned char>(text[bad]));
    std::fflush(stderr);
    fmt::print("{}\n", as_json(replace_invalid_utf8(text)));
  } else if (args.json) fmt::print("{}\n", as_json(text));
  else {
    fmt::print("{}\n{}\n", text, format_prediction(p, loaded.info.labels, colour));
    if (explained) fmt::print("{}", format_explanation(*explained, loaded.info.labels));
  }
  std::fflush(stdout);  // one answer per line read, for a program on the other end of a pipe
}

int run_predict(const PredictArgs& args) {
  LoadedSentimentModel loaded = load_model(args.checkpoint);
  const bool colour = !args.json && colour_enabled(args.no_color);
  if (!args.texts.empty()) {
    for (std::size_t i = 0; i < args.texts.size(); ++i)
      predict_one(loaded, args.texts[i], args, colour, fmt::format("argument {}", i + 1));
    return 0;
  }
  std::string line;
  for (std::size_t number = 1; read_text_line(std::cin, line, number); ++number) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t") != std::string::npos)
      predict_one(loaded, line, args, colour, fmt::format("stdin line {}", number));
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

// One line per word: α, gradient × input and leave-one-out occlusion, then what they mean.
// Plain text (no colour), so that it reads the same in a terminal, a pipe and a test.
std::string format_explanation(const Explanation& e, const std::vector<std::string>& labels) {
  const std::string score = fmt::format("p({})", labels.at(std::size_t(e.label)));
  std::string out = fmt::format("  {:<20} {:>7} {:>12} {:>14}\n", "word", "α", "grad×input", "leave-one-out");
  for (std::size_t t = 0; t < e.tokens.size() && t < e.saliency.size(); ++t) {
    std::string word = e.known[t] ? e.tokens[t] : e.tokens[t] + "*";
    if (word.size() > 20) word = word.substr(0, 19) + "~";
    out += fmt::format("  {:<20} {:>7} {:>+12.4f} {:>+14.4f}\n", word,
                       e.alpha ? fmt::format("{:.3f}", (*e.alpha)[t]) : "-", e.saliency[t], e.occlusion[t]);
  }
  out += fmt::format("  ({}.\n"
                     "   grad×input: Σ_e x·∂{}/∂x per word, the first-order effect of zeroing its embedding;\n"
                     "   leave-one-out: {} minus {} without the word. > 0: the word supports the label,\n"
                     "   < 0: it argues against it.)\n",
                     e.alpha_note, score, score, score);
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
  cmd->add_flag("--explain", args->explain,
                "per word, α beside gradient × input saliency and leave-one-out occlusion (with --json: an "
                "\"explanation\" object: score, alpha (null when the pooling does not learn it), alpha_note, "
                "saliency, occlusion)");
  return {cmd, [args] { return run_predict(*args); }};
}

}  // namespace tg::cli
