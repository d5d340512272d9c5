// Fuzzes the report chart's value axis (models/training/chart_axis.hpp): the input's bytes,
// 8 at a time, are the plotted values (any double: NaN, infinities, 1e308, denormals).
// chart_axis never throws; it must end (a hang is a finding: the old tick loop ran
// forever on 1e20) with the invariants of Note [Bounded chart ticks]: finite limits in
// order, 2 to kMaxChartTicks strictly increasing ticks from lo to hi, one label each,
// no two alike, each short.
#include <cmath>
#include <cstring>
#include <set>
#include <string>
#include <vector>

#include "fuzz_common.hpp"
#include "models/training/chart_axis.hpp"

using tg::fuzz::require;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::vector<double> values(size / sizeof(double));
  if (!values.empty()) std::memcpy(values.data(), data, values.size() * sizeof(double));
  const tg::ChartAxis a = tg::chart_axis(values);
  require(std::isfinite(a.lo) && std::isfinite(a.hi) && a.lo < a.hi, "finite limits, lo < hi");
  require(std::isfinite(a.step) && a.step > 0, "a finite step > 0");
  require(a.ticks.size() >= 2 && a.ticks.size() <= tg::kMaxChartTicks, "2 to kMaxChartTicks ticks");
  require(a.labels.size() == a.ticks.size(), "one label a tick");
  require(a.ticks.front() == a.lo && a.ticks.back() == a.hi, "ticks from lo to hi");
  for (std::size_t i = 1; i < a.ticks.size(); ++i) require(a.ticks[i] > a.ticks[i - 1], "increasing ticks");
  require(std::set<std::string>(a.labels.begin(), a.labels.end()).size() == a.labels.size(), "distinct labels");
  for (const std::string& label : a.labels) require(label.size() <= 24, "short labels");
  for (double v : values) {
    const double f = a.fraction(v);
    require(std::isnan(v) || (f >= 0 && f <= 1), "every value's position within the chart");
    if (std::isfinite(v) && std::abs(v) <= tg::kChartValueLimit)
      require(v >= a.lo && v <= a.hi, "every finite value between lo and hi");
  }
  return 0;
}
