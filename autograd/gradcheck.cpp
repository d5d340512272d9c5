// Central-difference gradient checking (see gradcheck.hpp).
#include "autograd/gradcheck.hpp"

#include <cmath>
#include <random>

#include <fmt/format.h>

#include "autograd/ops.hpp"
#include "autograd/random.hpp"

namespace tg {

namespace {
std::vector<std::size_t> unravel(std::size_t flat, const Shape& shape) {
  std::vector<std::size_t> index(shape.size());
  for (std::size_t a = shape.size(); a-- > 0;) {
    index[a] = flat % shape[a];
    flat /= shape[a];
  }
  return index;
}

double weighted_sum(const Array<double>& y, const Array<double>& r) {
  double total = 0;
  for (std::size_t i = 0; i < y.size(); ++i) total += y.data()[i] * r.data()[i];
  return total;
}

// Σ f() ⊙ R without recording: one side of a central difference.
double probe(const std::function<Tensor<double>()>& f, const Array<double>& r) {
  NoGrad<double> no_grad;
  return weighted_sum(f().value(), r);
}
}  // namespace

std::string GradcheckReport::str() const {
  if (ok) return fmt::format("ok: {} elements, max error {:.3g}", elements_checked, max_error);
  std::string out = fmt::format("gradcheck failed ({} elements checked, max error {:.3g}):", elements_checked, max_error);
  for (const auto& m : mismatches)
    out += fmt::format("\n  {} at {}: analytic {:.10g}, numeric {:.10g}, error {:.3g}", m.input,
                       shape_str(m.index), m.analytic, m.numeric, m.error);
  return out;
}

GradcheckReport gradcheck(const std::function<Tensor<double>()>& f, std::vector<Tensor<double>> wrt,
                          const GradcheckOptions& options) {
  for (std::size_t k = 0; k < wrt.size(); ++k)
    if (!wrt[k].requires_grad())
      throw Error(fmt::format("gradcheck: input {} is not a leaf that requires a gradient", k));

  // The fixed upstream gradient R, uniform in [-1, 1].
  Array<double> r;
  {
    NoGrad<double> no_grad;
    r = xt::empty<double>(f().shape());
  }
  std::mt19937_64 rng(options.seed);
  for (double& v : r) v = 2 * uniform01(rng) - 1;

  // Analytic: the tape's gradients of sum(f() * R).
  std::vector<Array<double>> analytic;
  {
    for (auto& x : wrt) x.zero_grad();
    Tape<double> tape;
    tape.backward(sum(mul(f(), Tensor<double>(r))));
    for (auto& x : wrt) analytic.push_back(x.grad());
  }

  GradcheckReport report;
  for (std::size_t k = 0; k < wrt.size(); ++k) {
    Array<double>& value = wrt[k].mutable_value();
    const Shape shape(value.shape().begin(), value.shape().end());
    for (std::size_t j = 0; j < value.size(); ++j) {
      const double saved = value.data()[j];
      value.data()[j] = saved + options.eps;
      const double plus = probe(f, r);
      value.data()[j] = saved - options.eps;
      const double minus = probe(f, r);
      value.data()[j] = saved;
      const double numeric = (plus - minus) / (2 * options.eps);
      const double a = analytic[k].data()[j], error = std::abs(a - numeric);
      ++report.elements_checked;
      report.max_error = std::max(report.max_error, error);
      if (error <= options.atol + options.rtol * std::max(std::abs(a), std::abs(numeric))) continue;
      report.ok = false;
      if (report.mismatches.size() < options.max_reported) {
        std::string name = wrt[k].name().empty() ? fmt::format("input {}", k) : wrt[k].name();
        report.mismatches.push_back({name, unravel(j, shape), a, numeric, error});
      }
    }
  }
  return report;
}

}  // namespace tg
