// Seed statistics for `sentiment compare`: mean ± std and the paired Student-t interval.
// The t quantile is Boost.Math's (libboost-dev, header-only), not a hand-written series.
#include "models/training/statistics.hpp"

#include <cmath>

#include <boost/math/distributions/students_t.hpp>
#include <fmt/format.h>

#include "autograd/error.hpp"

namespace tg {

MeanStd mean_std(const std::vector<double>& xs) {
  MeanStd out;
  if (xs.empty()) return out;
  for (double x : xs) out.mean += x / double(xs.size());
  for (double x : xs) out.std += (x - out.mean) * (x - out.mean);
  out.std = xs.size() > 1 ? std::sqrt(out.std / double(xs.size() - 1)) : 0;
  return out;
}

double student_t_95(std::size_t degrees) {
  if (degrees < 1) throw Error("student_t_95: needs at least 1 degree of freedom");
  return boost::math::quantile(boost::math::students_t_distribution<double>(double(degrees)), 0.975);
}

PairedDifference paired_difference(const std::vector<double>& a, const std::vector<double>& b) {
  if (a.size() != b.size())
    throw Error(fmt::format("paired_difference: {} values against {}: pairs need one of each", a.size(), b.size()));
  if (a.size() < 2) throw Error("paired_difference: needs at least 2 pairs (seeds) for an interval");
  std::vector<double> d(a.size());
  for (std::size_t i = 0; i < a.size(); ++i) d[i] = a[i] - b[i];
  const MeanStd m = mean_std(d);
  PairedDifference out;
  out.n = d.size();
  out.mean = m.mean;
  out.std = m.std;
  out.standard_error = m.std / std::sqrt(double(out.n));
  out.t_quantile = student_t_95(out.n - 1);
  out.low = out.mean - out.t_quantile * out.standard_error;
  out.high = out.mean + out.t_quantile * out.standard_error;
  return out;
}

}  // namespace tg
