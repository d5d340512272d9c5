// The report chart's value axis (models/training/chart_axis.hpp): round limits and ticks for
// ordinary curves, and a bounded answer for any values at all (Note [Bounded chart ticks]).
#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <set>
#include <vector>

#include "models/training/chart_axis.hpp"

namespace {

// What every axis must be: finite limits in order, 2 to kMaxChartTicks distinct ticks
// from lo to hi in steps of `step`, one label each, all labels different.
void check_axis(const tg::ChartAxis& a) {
  REQUIRE(std::isfinite(a.lo));
  REQUIRE(std::isfinite(a.hi));
  REQUIRE(a.lo < a.hi);
  REQUIRE(a.step > 0);
  REQUIRE(a.ticks.size() >= 2);
  REQUIRE(a.ticks.size() <= tg::kMaxChartTicks);
  REQUIRE(a.labels.size() == a.ticks.size());
  CHECK(a.ticks.front() == a.lo);
  CHECK(a.ticks.back() == a.hi);
  for (std::size_t i = 1; i < a.ticks.size(); ++i) CHECK(a.ticks[i] > a.ticks[i - 1]);
  CHECK(std::set<std::string>(a.labels.begin(), a.labels.end()).size() == a.labels.size());
  for (const std::string& label : a.labels) CHECK(label.size() <= 24);
}

}  // namespace

TEST_CASE("chart axis: losses between 0.31 and 1.09 get limits 0.2 to 1.2 in steps of 0.2") {
  const std::vector<double> losses = {1.09, 0.74, 0.52, 0.31};
  const tg::ChartAxis a = tg::chart_axis(losses);
  check_axis(a);
  // raw step (1.09 − 0.31)/4 = 0.195 → 0.2; floor(0.31/0.2)·0.2 = 0.2; ceil(1.09/0.2)·0.2 = 1.2
  CHECK(a.step == doctest::Approx(0.2));
  CHECK(a.lo == doctest::Approx(0.2));
  CHECK(a.hi == doctest::Approx(1.2));
  CHECK(a.labels == std::vector<std::string>{"0.2", "0.4", "0.6", "0.8", "1.0", "1.2"});
  CHECK(a.fraction(0.2) == 0);
  CHECK(a.fraction(1.2) == doctest::Approx(1));
  CHECK(a.fraction(0.7) == doctest::Approx(0.5));
}

TEST_CASE("chart axis: a loss of 1e20 gives a few distinct ticks, not an endless loop (1e20 + 1e-3 == 1e20)") {
  for (const std::vector<double>& values : std::vector<std::vector<double>>{
           {1e20}, {1e20, 1e20}, {0.5, 1e20}, {-1e20, 1e20}, {1e300, 1e308}, {-1.7e308, 1.7e308},
           {std::numeric_limits<double>::max()}, {std::numeric_limits<double>::lowest(), 0.3},
           {1e-300, 2e-300}, {std::numeric_limits<double>::denorm_min()}, {0.69, 0.69, 0.69}}) {
    CAPTURE(values.front());
    CAPTURE(values.back());
    check_axis(tg::chart_axis(values));
  }
  const tg::ChartAxis a = tg::chart_axis(std::vector<double>{1e20});
  CHECK(a.lo <= 1e20);
  CHECK(a.hi > 1e20);
  CHECK(a.labels.front().find("e+20") != std::string::npos);
}

TEST_CASE("chart axis: NaN and infinities are skipped, and nothing finite gives 0 to 1") {
  const double nan = std::numeric_limits<double>::quiet_NaN(), inf = std::numeric_limits<double>::infinity();
  const tg::ChartAxis none = tg::chart_axis(std::vector<double>{nan, inf, -inf});
  check_axis(none);
  CHECK(none.lo == 0);
  CHECK(none.hi >= 1);
  check_axis(tg::chart_axis(std::vector<double>{}));
  const tg::ChartAxis some = tg::chart_axis(std::vector<double>{nan, 0.5, inf, 0.7});
  check_axis(some);
  CHECK(some.lo <= 0.5);
  CHECK(some.hi >= 0.7);
  CHECK(some.hi < 1);
}
