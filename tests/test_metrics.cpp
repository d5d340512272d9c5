// Metrics against a confusion matrix worked out by hand.
#include <doctest/doctest.h>

#include "autograd/error.hpp"
#include "models/training/metrics.hpp"

TEST_CASE("metrics: accuracy, per-class F1 and macro-F1 match a hand-worked example") {
  // truth     0 0 0 1 1 2
  // predicted 0 0 1 1 2 2
  // confusion [[2,1,0],[0,1,1],[0,0,1]]
  // class 0: P 2/2, R 2/3, F1 0.8;  class 1: P 1/2, R 1/2, F1 0.5;  class 2: P 1/2, R 1, F1 2/3
  const auto m = tg::compute_metrics({0, 0, 0, 1, 1, 2}, {0, 0, 1, 1, 2, 2}, 3);
  CHECK(m.accuracy == doctest::Approx(4.0 / 6));
  CHECK(m.confusion == std::vector<std::vector<std::size_t>>{{2, 1, 0}, {0, 1, 1}, {0, 0, 1}});
  CHECK(m.per_class[0].f1 == doctest::Approx(0.8));
  CHECK(m.per_class[1].f1 == doctest::Approx(0.5));
  CHECK(m.per_class[2].f1 == doctest::Approx(2.0 / 3));
  CHECK(m.macro_f1 == doctest::Approx((0.8 + 0.5 + 2.0 / 3) / 3));
  CHECK(m.per_class[0].support == 3);
  const std::string text = tg::format_metrics(m, {"negative", "neutral", "positive"});
  CHECK(text.find("accuracy 0.6667") != std::string::npos);
  CHECK(text.find("positive") != std::string::npos);
}

TEST_CASE("metrics: a class never predicted nor present scores zero, not NaN") {
  const auto m = tg::compute_metrics({0, 0}, {0, 0}, 3);
  CHECK(m.per_class[1].f1 == 0.0);
  CHECK(m.macro_f1 == doctest::Approx(1.0 / 3));
}

TEST_CASE("metrics: mismatched lengths and out-of-range classes are errors") {
  CHECK_THROWS_WITH_AS(tg::compute_metrics({0}, {0, 1}, 3), "metrics: 1 labels but 2 predictions", tg::Error);
  CHECK_THROWS_AS(tg::compute_metrics({0}, {3}, 3), tg::Error);
}
