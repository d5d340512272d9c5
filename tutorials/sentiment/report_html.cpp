// The HTML report page (see report.hpp): one file with its CSS inline and its charts
// as inline SVG, so it opens offline and can be mailed around. Every piece of text from
// the data or the checkpoint goes through html_escape.
#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "report.hpp"

namespace tg::cli {
namespace {

constexpr std::string_view kStyle = R"(
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; max-width: 980px; margin: 2em auto;
       padding: 0 1em; color: #222; line-height: 1.45; }
h1 { margin-bottom: 0.2em; } h2 { margin-top: 1.6em; border-bottom: 1px solid #ddd; }
.meta { color: #666; }
table { border-collapse: collapse; margin: 0.6em 0; }
th, td { border: 1px solid #ddd; padding: 0.25em 0.7em; text-align: right; }
th { background: #f3f3f3; } td.name, th.name { text-align: left; }
.cards { display: flex; gap: 1em; flex-wrap: wrap; }
.card { border: 1px solid #ddd; border-radius: 6px; padding: 0.5em 1em; }
.card b { display: block; font-size: 1.6em; }
.charts { display: flex; gap: 1em; flex-wrap: wrap; }
.chart-title { font-weight: bold; font-size: 14px; } .tick { font-size: 11px; fill: #444; }
.example { border: 1px solid #ddd; border-radius: 6px; padding: 0.5em 0.8em; margin: 0.6em 0; }
.example .labels { font-size: 0.9em; color: #444; }
.example .ok { color: #2a8a2a; font-weight: bold; } .example .bad { color: #c0392b; font-weight: bold; }
.flipped { color: #7a5c00; background: #fff3c4; padding: 0 .3em; }
.tokens { margin: 0.4em 0; font-size: 1.1em; }
.tokens span { padding: 0.1em 0.2em; margin: 0 0.05em; border-radius: 3px; }
.tokens span.unk { text-decoration: underline dotted; }
.raw { color: #777; font-size: 0.85em; }
table.explain { font-size: 0.95em; } table.explain td { border: none; padding: 0.15em 0.2em; text-align: left; }
table.explain th { background: none; border: none; text-align: left; font-weight: normal; color: #555;
                   white-space: nowrap; padding-right: 0.8em; }
pre { background: #f6f6f6; padding: 0.6em; overflow-x: auto; }
)";

std::string row(std::string_view name, const std::string& value) {
  return fmt::format("<tr><td class=\"name\">{}</td><td>{}</td></tr>\n", html_escape(name), html_escape(value));
}

std::string cards(const ReportData& r) {
  const auto card = [](std::string_view label, const std::string& value) {
    return fmt::format("<div class=\"card\">{}<b>{}</b></div>", label, value);
  };
  return "<div class=\"cards\">" + card("tweets", std::to_string(r.metrics.count)) +
         card("accuracy", fmt::format("{:.4f}", r.metrics.accuracy)) +
         card("macro-F1", fmt::format("{:.4f}", r.metrics.macro_f1)) +
         card("best epoch (valid accuracy)",
              fmt::format("{} ({:.4f})", r.info.history.best_epoch, r.info.history.best_valid.accuracy)) +
         "</div>\n";
}

std::string per_class_table(const ReportData& r) {
  std::string out = "<table><tr><th class=\"name\">class</th><th>precision</th><th>recall</th><th>F1</th>"
                    "<th>support</th></tr>\n";
  for (std::size_t c = 0; c < r.metrics.per_class.size(); ++c) {
    const ClassMetrics& m = r.metrics.per_class[c];
    out += fmt::format("<tr><td class=\"name\">{}</td><td>{:.4f}</td><td>{:.4f}</td><td>{:.4f}</td><td>{}</td></tr>\n",
                       html_escape(r.info.labels.at(c)), m.precision, m.recall, m.f1, m.support);
  }
  return out + "</table>\n";
}

// Rows are true classes, columns predicted ones; a cell is shaded by its share of its row.
std::string confusion_table(const ReportData& r) {
  std::string out = "<table><tr><th class=\"name\">true \\ predicted</th>";
  for (const std::string& label : r.info.labels) out += "<th>" + html_escape(label) + "</th>";
  out += "</tr>\n";
  for (std::size_t t = 0; t < r.metrics.confusion.size(); ++t) {
    const auto& counts = r.metrics.confusion[t];
    std::size_t total = 0;
    for (std::size_t n : counts) total += n;
    out += "<tr><th class=\"name\">" + html_escape(r.info.labels.at(t)) + "</th>";
    for (std::size_t p = 0; p < counts.size(); ++p)
      out += fmt::format("<td style=\"background: rgba({}, {:.3f})\">{}</td>", t == p ? "44, 160, 44" : "214, 39, 40",
                         total ? 0.6 * double(counts[p]) / double(total) : 0.0, counts[p]);
    out += "</tr>\n";
  }
  return out + "</table>\n";
}

std::string training_charts(const TrainingHistory& h) {
  if (h.epochs.empty()) return "<p>This checkpoint holds no training history.</p>\n";
  ChartSeries train_loss{"train loss", {}, ""}, valid_loss{"valid loss", {}, "6 4"};
  ChartSeries train_acc{"train accuracy", {}, ""}, valid_acc{"valid accuracy", {}, "6 4"},
      valid_f1{"valid macro-F1", {}, "2 3"};
  for (const EpochRecord& e : h.epochs) {
    train_loss.values.push_back(e.train_loss);
    valid_loss.values.push_back(e.valid_loss);
    train_acc.values.push_back(e.train_accuracy);
    valid_acc.values.push_back(e.valid_accuracy);
    valid_f1.values.push_back(e.valid_macro_f1);
  }
  return "<div class=\"charts\">" + svg_line_chart("Loss (mean cross-entropy)", {train_loss, valid_loss}, h.best_epoch) +
         svg_line_chart("Accuracy", {train_acc, valid_acc, valid_f1}, h.best_epoch) + "</div>\n";
}

// One row of words shaded by a signed score: green where the word supports the predicted
// label, purple where it argues against it, opacity |v| / max |v| over the tweet.
std::string signed_row(std::string_view name, const Explanation& e, const std::vector<double>& values) {
  double largest = 0;
  for (const double v : values) largest = std::max(largest, std::abs(v));
  std::string out = fmt::format("<tr><th>{}</th>", name);
  for (std::size_t t = 0; t < e.tokens.size() && t < values.size(); ++t)
    out += fmt::format("<td style=\"background: rgba({}, {:.3f})\" title=\"{:+.4f}\">{}</td>",
                       values[t] >= 0 ? "44, 160, 44" : "148, 103, 189",
                       largest > 0 ? std::abs(values[t]) / largest : 0.0, values[t], html_escape(e.tokens[t]));
  return out + "</tr>\n";
}

// α, gradient × input and leave-one-out, one row each, word under word.
std::string explanation_html(const Explanation& e, const std::vector<std::string>& labels) {
  std::string out = "<table class=\"explain\">\n";
  if (e.alpha) {
    const double max_alpha = *std::max_element(e.alpha->begin(), e.alpha->end());
    out += "<tr><th>&alpha; (attention)</th>";
    for (std::size_t t = 0; t < e.tokens.size() && t < e.alpha->size(); ++t)
      out += fmt::format("<td style=\"background: rgba(245, 130, 30, {:.3f})\" title=\"&alpha; = {:.4f}\">{}</td>",
                         max_alpha > 0 ? (*e.alpha)[t] / max_alpha : 0.0, (*e.alpha)[t], html_escape(e.tokens[t]));
    out += "</tr>\n";
  } else {
    out += fmt::format("<tr><th>&alpha;</th><td colspan=\"{}\">{}</td></tr>\n", e.tokens.size(),
                       html_escape(e.alpha_note));
  }
  const std::string score = html_escape(fmt::format("p({})", labels.at(std::size_t(e.label))));
  out += signed_row(fmt::format("gradient &times; input of {}", score), e, e.saliency);
  out += signed_row(fmt::format("leave-one-out change in {}", score), e, e.occlusion);
  return out + "</table>\n";
}

// Each word's background: the same orange at opacity α / max α, as in the article's Fig. 4.
std::string example_html(const ReportExample& e, const std::vector<std::string>& labels) {
  const Prediction& p = e.prediction;
  const bool right = e.truth == p.label;
  std::string probabilities;
  for (std::size_t c = 0; c < p.probabilities.size(); ++c)
    probabilities += fmt::format("{}{} {:.3f}", c ? " · " : "", html_escape(labels.at(c)), p.probabilities[c]);
  std::string out = fmt::format(
      "<div class=\"example\"><div class=\"labels\"><span class=\"{}\">{}</span> true <b>{}</b>, predicted <b>{}</b>"
      " &mdash; {}</div>\n<div class=\"tokens\">",
      right ? "ok" : "bad", right ? "&#10003;" : "&#10007;", html_escape(labels.at(std::size_t(e.truth))),
      html_escape(labels.at(std::size_t(p.label))), probabilities);
  if (e.flipped)
    out.insert(out.find("</div>\n"), right ? " <span class=\"flipped\">label flipped on purpose (label noise): the "
                                               "model learned the noise here</span>"
                                             : " <span class=\"flipped\">label flipped on purpose (label noise): the "
                                               "words say otherwise, so this is not a model error</span>");
  const double max_alpha = p.alpha.empty() ? 0 : *std::max_element(p.alpha.begin(), p.alpha.end());
  for (std::size_t t = 0; t < p.tokens.size() && t < p.alpha.size(); ++t)
    out += fmt::format("<span{} style=\"background: rgba(245, 130, 30, {:.3f})\" title=\"&alpha; = {:.4f}{}\">{}</span> ",
                       p.known[t] ? "" : " class=\"unk\"", max_alpha > 0 ? p.alpha[t] / max_alpha : 0.0, p.alpha[t],
                       p.known[t] ? "" : " (not in the vocabulary: read as &lt;unk&gt;)", html_escape(p.tokens[t]));
  out += "</div>\n";
  if (e.explanation) out += explanation_html(*e.explanation, labels);
  return out + "<div class=\"raw\">" + html_escape(e.text) + "</div></div>\n";
}

std::string examples_html(const ReportData& r) {
  std::string out =
      "<p>Each word's background is shaded by its attention weight &alpha; relative to the tweet's largest "
      "(hover for the value). Words are shown as the tokenizer read them; dotted ones were not in the "
      "vocabulary. With last-state pooling all weight sits on the last word; with mean pooling it is spread "
      "evenly.</p>\n<p>Is attention an explanation? For the first three tweets of each kind, two other "
      "answers to &ldquo;which words decided this?&rdquo; sit under &alpha;, word under word: gradient "
      "&times; input (the first-order change in the predicted class's probability if the word's embedding "
      "were zeroed) and leave-one-out (the actual change when the word is removed and the model re-run). "
      "Green: the word supports the predicted label; purple: it argues against it. Where they disagree "
      "with &alpha;, &alpha; marked where the model looked, not what decided (lesson 10, "
      "<code>tutorials/10_explanation.cpp</code>).</p>\n";
  out += fmt::format("<h3>Classified correctly ({} most confident, taking turns over the classes)</h3>\n",
                     r.correct.size());
  for (const ReportExample& e : r.correct) out += example_html(e, r.info.labels);
  out += fmt::format("<h3>Classified wrongly ({} most confident)</h3>\n", r.wrong.size());
  if (r.flipped > 0)
    out += fmt::format("<p>The generator of this data flipped {} of its labels on purpose (label noise, so that no "
                       "model can reach 100%); {} of those tweets were classified &ldquo;wrongly&rdquo;, i.e. as "
                       "their words say. They are marked <span class=\"flipped\">label flipped</span> "
                       "wherever they appear.</p>\n", r.flipped, r.flipped_wrong);
  if (r.wrong.empty()) out += "<p>None: every tweet was classified correctly.</p>\n";
  for (const ReportExample& e : r.wrong) out += example_html(e, r.info.labels);
  return out;
}

std::string settings_html(const ReportData& r) {
  const ClassifierConfig& m = r.info.model;
  const TrainOptions& t = r.info.train;
  std::string out = "<table>\n";
  out += row("encoder", m.encoder) + row("pooling", m.pooling) + row("vocabulary", std::to_string(r.vocab_size)) +
         row("embedding E", std::to_string(m.embedding_dim)) +
         row("subword buckets", m.subword_buckets > 0 ? std::to_string(m.subword_buckets) : "none") +
         row("hidden H", std::to_string(m.hidden_size)) +
         row("bidirectional", m.bidirectional ? "yes" : "no") +
         row("dropout (embedding / state)", fmt::format("{} / {}", m.embedding_dropout, m.state_dropout)) +
         row("recipe", r.info.recipe) + row("learning rate", fmt::format("{}", t.lr)) +
         row("batch size", std::to_string(t.batch_size)) + row("epochs", std::to_string(t.epochs)) +
         row("gradient clipping", fmt::format("{}", t.clip_norm)) +
         row("schedule", t.warmup > 0 ? fmt::format("{} after a {:g} warm-up", t.schedule, t.warmup) : t.schedule) +
         row("weight decay", fmt::format("{}{}", t.weight_decay, t.decoupled_decay ? " (decoupled)" : "")) +
         row("word dropout / label smoothing / weight EMA",
             fmt::format("{} / {} / {}", t.word_dropout, t.label_smoothing, t.ema)) +
         row("seed", std::to_string(t.seed)) + row("max tokens", std::to_string(r.info.max_tokens)) +
         row("vocabulary min count", std::to_string(r.info.min_count));
  out += "</table>\n";
  if (!r.info.extra.is_null()) out += "<p>Also stored in config.json:</p><pre>" + html_escape(r.info.extra.dump(2)) + "</pre>\n";
  return out;
}

}  // namespace

std::string html_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string render_report_html(const ReportData& r) {
  std::string out = "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
                    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n";
  out += fmt::format("<title>Sentiment report: {}</title>\n<style>{}</style>\n</head>\n<body>\n",
                     html_escape(r.checkpoint), kStyle);
  out += fmt::format("<h1>Sentiment model report</h1>\n<p class=\"meta\">Checkpoint <code>{}</code> ({} pooling) "
                     "evaluated on <code>{}</code>.</p>\n",
                     html_escape(r.checkpoint), r.info.model.pooling, html_escape(r.data));
  out += "<h2>Metrics</h2>\n" + cards(r) + per_class_table(r);
  out += "<h2>Confusion matrix</h2>\n" + confusion_table(r);
  out += "<h2>Training curves</h2>\n" + training_charts(r.info.history);
  out += "<h2>Attention</h2>\n" + examples_html(r);
  out += "<h2>Settings</h2>\n" + settings_html(r);
  return out + "</body>\n</html>\n";
}

}  // namespace tg::cli
