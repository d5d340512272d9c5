// A chart's value axis (see chart_axis.hpp and Note [Bounded chart ticks]).
#include "models/training/chart_axis.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

namespace tg {
namespace {

// Below this a tick label in plain decimals gets long; above it, scientific notation.
constexpr double kPlainLabelLimit = 1e9;

std::string tick_label(double v, double step, double largest) {
  if (largest < kPlainLabelLimit) {
    const int decimals = std::max(0, int(-std::floor(std::log10(step) + 1e-9)));
    return fmt::format("{:.{}f}", v, decimals);
  }
  // 1.000000001e+20 next to 1.000000002e+20: the digits down to the step's.
  const int digits = std::clamp(int(std::floor(std::log10(largest)) - std::floor(std::log10(step))), 0, 17);
  return fmt::format("{:.{}e}", v, digits);
}

}  // namespace

double ChartAxis::fraction(double v) const { return std::clamp((v - lo) / (hi - lo), 0.0, 1.0); }

ChartAxis chart_axis(std::span<const double> values) {
  double lo = INFINITY, hi = -INFINITY;
  for (double v : values)
    if (std::isfinite(v)) {
      v = std::clamp(v, -kChartValueLimit, kChartValueLimit);
      lo = std::min(lo, v), hi = std::max(hi, v);
    }
  if (!(lo <= hi)) lo = 0, hi = 1;
  const double largest = std::max(std::abs(lo), std::abs(hi));
  // A quarter of the range, but never below 1e-3 (flat curves) nor a billionth of the
  // values themselves (1e20 + 1e-3 == 1e20: Note [Bounded chart ticks]).
  const double raw = std::max({(hi - lo) / 4, 1e-3, largest * 1e-9});
  const double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
  ChartAxis a;
  a.step = magnitude * (raw <= magnitude ? 1 : raw <= 2 * magnitude ? 2 : raw <= 5 * magnitude ? 5 : 10);
  a.lo = std::floor(lo / a.step) * a.step;
  if (a.lo > lo) a.lo -= a.step;  // a quotient rounded up to a whole number: one step lower
  // Whole steps from a.lo to above hi: the top tick always lies above the curves. At most
  // 4 + 3 (step ≥ a quarter of the range), so the cap only guards the arithmetic.
  auto intervals = static_cast<long long>(std::ceil((hi - a.lo) / a.step));
  if (a.lo + double(intervals) * a.step <= hi) ++intervals;
  intervals = std::clamp<long long>(intervals, 1, kMaxChartTicks - 1);
  a.hi = a.lo + double(intervals) * a.step;
  const double label_scale = std::max({std::abs(a.lo), std::abs(a.hi), largest});
  for (long long i = 0; i <= intervals; ++i) {
    a.ticks.push_back(a.lo + double(i) * a.step);
    a.labels.push_back(tick_label(a.ticks.back(), a.step, label_scale));
  }
  return a;
}

}  // namespace tg
