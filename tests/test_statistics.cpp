// Seed statistics (models/training/statistics.hpp) against cases worked out by hand.
#include <doctest/doctest.h>

#include "autograd/error.hpp"
#include "models/training/statistics.hpp"

TEST_CASE("statistics: the Student-t 95% quantile matches the printed tables") {
  // t(0.975; ν) from any statistics table (e.g. NIST/SEMATECH e-Handbook, 1.3.6.7.2).
  CHECK(tg::student_t_95(1) == doctest::Approx(12.706).epsilon(1e-4));
  CHECK(tg::student_t_95(2) == doctest::Approx(4.303).epsilon(1e-4));
  CHECK(tg::student_t_95(4) == doctest::Approx(2.7764).epsilon(1e-4));
  CHECK(tg::student_t_95(30) == doctest::Approx(2.042).epsilon(1e-4));
  CHECK_THROWS_AS(tg::student_t_95(0), tg::Error);
}

TEST_CASE("statistics: a paired 95% interval matches a hand-computed case that holds zero") {
  // a − b = d = (0.02, 0.01, 0.01): d̄ = 0.04/3 = 0.013333;
  // Σ(d − d̄)² = (0.006667)² + 2·(0.003333)² = 6.6667e-5, s = √(6.6667e-5 / 2) = 0.0057735,
  // se = s/√3 = 0.0033333, t(0.975; 2) = 4.3027, half-width 0.014342:
  // [−0.0010089, 0.027676], which holds 0.
  const tg::PairedDifference d = tg::paired_difference({0.80, 0.81, 0.79}, {0.78, 0.80, 0.78});
  CHECK(d.n == 3);
  CHECK(d.mean == doctest::Approx(0.0133333).epsilon(1e-5));
  CHECK(d.std == doctest::Approx(0.0057735).epsilon(1e-5));
  CHECK(d.standard_error == doctest::Approx(0.0033333).epsilon(1e-5));
  CHECK(d.t_quantile == doctest::Approx(4.302653).epsilon(1e-6));
  CHECK(d.low == doctest::Approx(-0.0010089).epsilon(1e-4));
  CHECK(d.high == doctest::Approx(0.0276755).epsilon(1e-5));
  CHECK_FALSE(d.distinguishable());
  CHECK(d.contains(0.0));
}

TEST_CASE("statistics: a paired 95% interval matches a hand-computed case that excludes zero") {
  // d = (1, 2, 3, 4, 5): d̄ = 3, s = √(10/4) = 1.5811, se = s/√5 = 0.70711,
  // t(0.975; 4) = 2.7764, half-width 1.9632: [1.0368, 4.9632].
  const tg::PairedDifference d = tg::paired_difference({11, 12, 13, 14, 15}, {10, 10, 10, 10, 10});
  CHECK(d.low == doctest::Approx(1.036757).epsilon(1e-5));
  CHECK(d.high == doctest::Approx(4.963243).epsilon(1e-5));
  CHECK(d.distinguishable());
  CHECK_FALSE(d.contains(0.5));
}

TEST_CASE("statistics: a pairing needs two values on each side, as many on both") {
  CHECK_THROWS_AS(tg::paired_difference({0.8}, {0.7}), tg::Error);
  CHECK_THROWS_AS(tg::paired_difference({0.8, 0.9}, {0.7}), tg::Error);
  const tg::MeanStd one = tg::mean_std({0.5});
  CHECK(one.mean == 0.5);
  CHECK(one.std == 0.0);
}
