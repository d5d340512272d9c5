// Seed statistics for `sentiment compare` (models/ layer, no autograd): mean ± sample
// standard deviation of a set of runs, and the paired difference of two settings trained
// on the same seeds with its 95% Student-t confidence interval.
#pragma once
#include <string>
#include <vector>

namespace tg {

struct MeanStd {
  double mean = 0, std = 0;  // std: the sample standard deviation (n − 1); 0 for one value
};
MeanStd mean_std(const std::vector<double>& xs);

// The paired difference d_i = a_i − b_i of two settings run with the same seeds i = 1..n:
//   mean  d̄ = Σ d_i / n,   s = sqrt(Σ (d_i − d̄)² / (n − 1)),   se = s / √n
//   95% interval  d̄ ± t(0.975; n − 1) · se
// Pairing removes what a seed does to both runs (data order, initialisation), so it is
// tighter than comparing the two means with their own spreads. Needs n ≥ 2.
struct PairedDifference {
  std::size_t n = 0;
  double mean = 0, std = 0, standard_error = 0;
  double t_quantile = 0;  // t(0.975; n − 1)
  double low = 0, high = 0;
  // The interval excludes 0: the difference is distinguishable from zero at 95%.
  bool distinguishable() const { return low > 0 || high < 0; }
  bool contains(double value) const { return low <= value && value <= high; }
};
// Throws tg::Error when a and b differ in length or hold fewer than 2 pairs.
PairedDifference paired_difference(const std::vector<double>& a, const std::vector<double>& b);

// The two-sided 95% quantile of Student's t with `degrees` degrees of freedom (≥ 1),
// t(0.975; degrees): 12.706 for 1, 2.776 for 4 (Boost.Math's students_t).
double student_t_95(std::size_t degrees);

}  // namespace tg
