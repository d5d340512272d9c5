// The HTML report of the `sentiment` program: what report.cpp gathers (a checkpoint's
// settings and history, its metrics on a data file, chosen tweets with their attention)
// and the renderers that turn it into one self-contained page (no network resources).
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "sentiment.hpp"

namespace tg::cli {

struct ReportExample {
  std::string text;
  int truth = 0;
  Prediction prediction;
  std::optional<Explanation> explanation;  // α, gradient × input, leave-one-out (a few examples)
  bool flipped = false;  // its label was flipped on purpose (ReportArgs::flipped_rows)
};

struct ReportData {
  std::string checkpoint, data;
  SentimentCheckpoint info;
  std::size_t vocab_size = 0;
  Metrics metrics;
  std::vector<ReportExample> correct, wrong;
  std::size_t flipped = 0, flipped_wrong = 0;  // rows with flipped labels; of them, classified "wrongly"
};

std::string render_report_html(const ReportData& report);

// `text` safe inside HTML text and attribute values: & < > " ' escaped.
std::string html_escape(std::string_view text);

struct ChartSeries {
  std::string name;
  std::vector<double> values;  // one per epoch, epoch 1 first
  std::string dash;  // an SVG stroke-dasharray ("6 4"); empty: a solid line
};
// An inline <svg> line chart over epochs 1..n, with axes, ticks, a legend and a
// vertical marker at `marked_epoch` (0: none).
std::string svg_line_chart(const std::string& title, const std::vector<ChartSeries>& series,
                           std::size_t marked_epoch);

}  // namespace tg::cli
