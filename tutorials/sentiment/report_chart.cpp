// Inline SVG line charts for the HTML report: training curves per epoch, drawn by hand
// (a few lines, axes and labels) because the page must not load a charting library.
#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "models/training/chart_axis.hpp"
#include "report.hpp"

namespace tg::cli {
namespace {

constexpr double kWidth = 440, kHeight = 260;
constexpr double kLeft = 56, kRight = kWidth - 16, kTop = 56, kBottom = kHeight - 40;
constexpr const char* kColours[] = {"#1f77b4", "#d62728", "#2ca02c", "#9467bd"};

struct Scale {
  ChartAxis axis;  // the value axis: limits, ticks and labels (models/training/chart_axis.hpp)
  std::size_t epochs;
  double x(std::size_t epoch) const {  // epoch is 1-based
    return epochs <= 1 ? (kLeft + kRight) / 2 : kLeft + (kRight - kLeft) * double(epoch - 1) / double(epochs - 1);
  }
  double y(double v) const { return kBottom - (kBottom - kTop) * axis.fraction(v); }
};

Scale make_scale(const std::vector<ChartSeries>& series) {
  std::vector<double> values;
  std::size_t epochs = 0;
  for (const ChartSeries& s : series) {
    epochs = std::max(epochs, s.values.size());
    values.insert(values.end(), s.values.begin(), s.values.end());
  }
  return {chart_axis(values), epochs};
}

std::string axes(const Scale& s) {
  std::string out = fmt::format(R"(<rect x="{}" y="{}" width="{}" height="{}" fill="#fafafa" stroke="#999"/>)", kLeft,
                                kTop, kRight - kLeft, kBottom - kTop);
  for (std::size_t i = 0; i < s.axis.ticks.size(); ++i)  // at most kMaxChartTicks: Note [Bounded chart ticks]
    out += fmt::format(R"(<line x1="{0}" y1="{1:.1f}" x2="{2}" y2="{1:.1f}" stroke="#e3e3e3"/>)"
                       R"(<text x="{3}" y="{4:.1f}" text-anchor="end" class="tick">{5}</text>)",
                       kLeft, s.y(s.axis.ticks[i]), kRight, kLeft - 6, s.y(s.axis.ticks[i]) + 4, s.axis.labels[i]);
  const std::size_t every = std::max<std::size_t>(1, (s.epochs + 9) / 10);
  for (std::size_t e = 1; e <= s.epochs; e += every)
    out += fmt::format(R"(<text x="{:.1f}" y="{}" text-anchor="middle" class="tick">{}</text>)", s.x(e), kBottom + 16,
                       e);
  out += fmt::format(R"(<text x="{}" y="{}" text-anchor="middle" class="tick">epoch</text>)", (kLeft + kRight) / 2,
                     kBottom + 32);
  return out;
}

std::string dash(const ChartSeries& series) {
  return series.dash.empty() ? "" : fmt::format(R"( stroke-dasharray="{}")", series.dash);
}

std::string line(const ChartSeries& series, const char* colour, const Scale& s) {
  std::string points, dots;
  for (std::size_t i = 0; i < series.values.size(); ++i) {
    const double v = series.values[i];
    if (!std::isfinite(v)) continue;
    points += fmt::format("{:.1f},{:.1f} ", s.x(i + 1), s.y(v));
    dots += fmt::format(R"(<circle cx="{:.1f}" cy="{:.1f}" r="3" fill="{}"><title>{}, epoch {}: {:.4f}</title></circle>)",
                        s.x(i + 1), s.y(v), colour, html_escape(series.name), i + 1, v);
  }
  return fmt::format(R"(<polyline fill="none" stroke="{}" stroke-width="2"{} points="{}"/>)", colour,
                     dash(series), points) + dots;
}

std::string legend(const std::vector<ChartSeries>& series) {
  std::string out;
  double x = kLeft;
  for (std::size_t i = 0; i < series.size(); ++i) {
    const char* colour = kColours[i % std::size(kColours)];
    out += fmt::format(R"(<line x1="{0}" y1="34" x2="{1}" y2="34" stroke="{2}" stroke-width="2"{3}/>)"
                       R"(<text x="{4}" y="38" class="tick">{5}</text>)",
                       x, x + 22, colour, dash(series[i]), x + 27,
                       html_escape(series[i].name));
    x += 36 + 6.0 * double(series[i].name.size());
  }
  return out;
}

}  // namespace

std::string svg_line_chart(const std::string& title, const std::vector<ChartSeries>& series,
                           std::size_t marked_epoch) {
  const Scale s = make_scale(series);
  std::string out = fmt::format(R"(<svg class="chart" viewBox="0 0 {0} {1}" width="{0}" height="{1}" role="img" )"
                                R"(aria-label="{2}"><text x="{3}" y="18" class="chart-title">{2}</text>)",
                                kWidth, kHeight, html_escape(title), kLeft);
  out += axes(s);
  if (marked_epoch >= 1 && marked_epoch <= s.epochs) {
    const double x = s.x(marked_epoch);
    const bool label_left = x > kRight - 40;  // above the frame (clear of the curves), inside the picture
    out += fmt::format(R"(<line x1="{0:.1f}" y1="{1}" x2="{0:.1f}" y2="{2}" stroke="#777" stroke-dasharray="2 3"/>)"
                       R"(<text x="{3:.1f}" y="{4}" text-anchor="{5}" class="tick">best</text>)",
                       x, kTop, kBottom, label_left ? x - 4 : x + 4, kTop - 4, label_left ? "end" : "start");
  }
  for (std::size_t i = 0; i < series.size(); ++i) out += line(series[i], kColours[i % std::size(kColours)], s);
  return out + legend(series) + "</svg>";
}

}  // namespace tg::cli
