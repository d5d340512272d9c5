// The value axis of a line chart (the HTML report's training curves): limits on round
// numbers, a handful of ticks and their labels, for any finite values whatever their
// size. A pure function of the values, so tests and tests/fuzz/fuzz_chart reach it.
#pragma once
#include <cstddef>
#include <span>
#include <string>
#include <vector>

namespace tg {

// Note [Bounded chart ticks]
// Ticks used to be drawn by `for (v = lo; v <= hi; v += step)`. With a loss of 1e20 in
// a checkpoint's history the step came out as 1e-3, and 1e20 + 1e-3 == 1e20: the loop
// never ended and its output grew until memory ran out. Now the step is at least a
// billionth of the largest value (far above a double's 2^-52 spacing, so every tick is
// a distinct number), the tick count is computed once as an integer and capped at
// kMaxChartTicks, and the tick values are lo + i·step. Values beyond ±kChartValueLimit
// are drawn at that limit, so hi − lo and hi + step stay finite.
inline constexpr std::size_t kMaxChartTicks = 12;
inline constexpr double kChartValueLimit = 1e300;

struct ChartAxis {
  double lo = 0, hi = 1, step = 0.25;  // hi > lo, step > 0, all finite
  std::vector<double> ticks;           // lo, lo + step, …, hi: 2 to kMaxChartTicks values
  std::vector<std::string> labels;     // one per tick, as few digits as tell them apart

  // The chart's vertical position of `v` as a fraction: 0 at lo, 1 at hi (clamped).
  double fraction(double v) const;
};

// Limits on multiples of a round step (1, 2 or 5 × 10^k) giving 3 to 6 ticks over the
// finite values (NaN and infinities are skipped; none at all gives 0 to 1).
ChartAxis chart_axis(std::span<const double> values);

}  // namespace tg
