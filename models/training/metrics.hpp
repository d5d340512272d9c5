// Classification metrics for the sentiment model (models/ layer, no autograd):
// accuracy, per-class precision/recall/F1, macro-F1 and the confusion matrix.
#pragma once
#include <cstddef>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace tg {

struct ClassMetrics {
  double precision = 0, recall = 0, f1 = 0;
  std::size_t support = 0;  // true examples of the class
};

struct Metrics {
  std::size_t count = 0;
  double accuracy = 0;
  double macro_f1 = 0;  // unweighted mean of the per-class F1
  std::vector<ClassMetrics> per_class;
  std::vector<std::vector<std::size_t>> confusion;  // [true class][predicted class]
};

// A class never predicted and never present scores 0 precision/recall/F1 (as
// scikit-learn's zero_division=0), so macro-F1 stays defined.
Metrics compute_metrics(const std::vector<int>& truth, const std::vector<int>& predicted, std::size_t classes);

// A plain-text report: accuracy, macro-F1, a per-class table and the confusion matrix.
std::string format_metrics(const Metrics& m, const std::vector<std::string>& class_names);

// The one JSON form of Metrics, used by config.json ("best_valid", "extra.test") and by
// `evaluate --json`: {"count", "accuracy", "macro_f1", "per_class": {label: {"precision",
// "recall", "f1", "support"}} in class order, "confusion": [true][predicted]}.
nlohmann::ordered_json metrics_json(const Metrics& m, const std::vector<std::string>& class_names);

}  // namespace tg
