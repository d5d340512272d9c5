// Classification metrics (see metrics.hpp).
#include "models/training/metrics.hpp"

#include <fmt/format.h>

#include "autograd/error.hpp"

namespace tg {

namespace {
double ratio(std::size_t a, std::size_t b) { return b == 0 ? 0.0 : static_cast<double>(a) / static_cast<double>(b); }
}  // namespace

Metrics compute_metrics(const std::vector<int>& truth, const std::vector<int>& predicted, std::size_t classes) {
  if (truth.size() != predicted.size())
    throw Error(fmt::format("metrics: {} labels but {} predictions", truth.size(), predicted.size()));
  Metrics m;
  m.count = truth.size();
  m.confusion.assign(classes, std::vector<std::size_t>(classes, 0));
  std::size_t correct = 0;
  for (std::size_t i = 0; i < truth.size(); ++i) {
    if (truth[i] < 0 || predicted[i] < 0 || static_cast<std::size_t>(truth[i]) >= classes ||
        static_cast<std::size_t>(predicted[i]) >= classes)
      throw Error(fmt::format("metrics: class {} or {} at row {} is not in [0,{})", truth[i], predicted[i], i, classes));
    ++m.confusion[truth[i]][predicted[i]];
    correct += truth[i] == predicted[i];
  }
  m.accuracy = ratio(correct, m.count);
  for (std::size_t c = 0; c < classes; ++c) {
    std::size_t predicted_c = 0, actual_c = 0;
    for (std::size_t k = 0; k < classes; ++k) {
      predicted_c += m.confusion[k][c];
      actual_c += m.confusion[c][k];
    }
    ClassMetrics cm;
    cm.support = actual_c;
    cm.precision = ratio(m.confusion[c][c], predicted_c);
    cm.recall = ratio(m.confusion[c][c], actual_c);
    cm.f1 = cm.precision + cm.recall > 0 ? 2 * cm.precision * cm.recall / (cm.precision + cm.recall) : 0.0;
    m.macro_f1 += cm.f1 / static_cast<double>(classes);
    m.per_class.push_back(cm);
  }
  return m;
}

std::string format_metrics(const Metrics& m, const std::vector<std::string>& names) {
  std::string out = fmt::format("accuracy {:.4f}   macro-F1 {:.4f}   ({} examples)\n\n", m.accuracy, m.macro_f1, m.count);
  out += fmt::format("{:<10} {:>9} {:>9} {:>9} {:>9}\n", "class", "precision", "recall", "F1", "support");
  for (std::size_t c = 0; c < m.per_class.size(); ++c) {
    const auto& cm = m.per_class[c];
    out += fmt::format("{:<10} {:>9.4f} {:>9.4f} {:>9.4f} {:>9}\n", names.at(c), cm.precision, cm.recall, cm.f1, cm.support);
  }
  out += fmt::format("\nconfusion (rows: true, columns: predicted)\n{:<10}", "");
  for (const auto& n : names) out += fmt::format(" {:>9}", n);
  for (std::size_t r = 0; r < m.confusion.size(); ++r) {
    out += fmt::format("\n{:<10}", names.at(r));
    for (std::size_t v : m.confusion[r]) out += fmt::format(" {:>9}", v);
  }
  return out + "\n";
}

nlohmann::ordered_json metrics_json(const Metrics& m, const std::vector<std::string>& class_names) {
  nlohmann::ordered_json per_class = nlohmann::ordered_json::object();
  for (std::size_t c = 0; c < m.per_class.size(); ++c) {
    const ClassMetrics& k = m.per_class[c];
    const std::string name = c < class_names.size() ? class_names[c] : std::to_string(c);
    per_class[name] = {{"precision", k.precision}, {"recall", k.recall}, {"f1", k.f1}, {"support", k.support}};
  }
  return {{"count", m.count}, {"accuracy", m.accuracy}, {"macro_f1", m.macro_f1}, {"per_class", per_class},
          {"confusion", m.confusion}};
}

}  // namespace tg
