// gradcheck: compares the tape's gradients with central finite differences over
// every element of every tensor given, in double precision (Note [Two scalar types]).
// The loss is Σ f() ⊙ R with a fixed random R, never plain Σ f(): the gradient of
// Σ softmax(x) is zero whatever the backward says, so plain sums hide errors.
#pragma once
#include <functional>
#include <string>
#include <vector>

#include "autograd/tape.hpp"

namespace tg {

struct GradcheckOptions {
  double eps = 1e-6;    // central differences: truncation O(eps²), rounding O(1e-16/eps)
  double atol = 1e-7;
  double rtol = 1e-5;   // |analytic − numeric| must be ≤ atol + rtol·max(|analytic|, |numeric|)
  std::uint64_t seed = 7;  // of the upstream gradient R
  std::size_t max_reported = 10;
};

struct GradcheckMismatch {
  std::string input;                // the tensor's name, or "input k"
  std::vector<std::size_t> index;   // multi-index of the element
  double analytic = 0, numeric = 0, error = 0;
};

struct GradcheckReport {
  bool ok = true;
  std::size_t elements_checked = 0;
  double max_error = 0;
  std::vector<GradcheckMismatch> mismatches;  // the first max_reported failures
  std::string str() const;                    // one line per mismatch, or "ok: …"
};

// f builds its output from `wrt` (leaf tensors: inputs or a layer's parameters),
// which gradcheck perturbs in place and restores.
GradcheckReport gradcheck(const std::function<Tensor<double>()>& f, std::vector<Tensor<double>> wrt,
                          const GradcheckOptions& options = {});

}  // namespace tg
