// A user-defined op outside the library: softplus, written with tg::record exactly
// as the engine's own ops are, then checked against central differences by
// tg::gradcheck. Built by tests/downstream/run_downstream.cmake against an installed
// tapegrad; exits non-zero when a check fails.
#include <cmath>
#include <cstdio>

#include <xtensor/xmath.hpp>

#include "autograd/autograd.hpp"

// softplus: result = ln(1 + eˣ) = max(x, 0) + ln(1 + e^−|x|)   (the second form never overflows)
//   dx += grad ⊙ σ(x)
template <class T>
tg::Tensor<T> softplus(const tg::Tensor<T>& x) {
  tg::Array<T> value = xt::maximum(x.value(), T(0)) + xt::log1p(xt::exp(-xt::abs(x.value())));
  return tg::record<T>("softplus", std::move(value), {x}, [](const tg::BackwardContext<T>& c) {
    c.accumulate(0, c.grad() / (T(1) + xt::exp(-c.input(0))));
  });
}

int main() {
  int failures = 0;

  // softplus(0) = ln 2, and softplus(100) = 100 without overflowing to ∞.
  const tg::Tensor<double> probe(tg::Array<double>{0.0, 100.0});
  const tg::Array<double> v = softplus(probe).value();
  if (std::abs(v(0) - std::log(2.0)) > 1e-15 || std::abs(v(1) - 100.0) > 1e-12) {
    std::printf("softplus values wrong: %.17g %.17g\n", v(0), v(1));
    ++failures;
  }

  // Alone, and composed with the library's own ops (matmul, tanh) so both backwards meet.
  tg::Tensor<double> x(tg::Array<double>{{-3.0, -0.7, 0.2}, {0.9, 1.6, 4.0}}, true, "x");
  tg::Tensor<double> w(tg::Array<double>{{0.5, -1.2}, {0.3, 0.8}, {-0.6, 0.1}}, true, "w");
  for (const auto& [name, f] : {std::pair<const char*, std::function<tg::Tensor<double>()>>{
                                    "softplus(x)", [&] { return softplus(x); }},
                                {"tanh(softplus(x)·w)", [&] { return tg::tanh(tg::matmul(softplus(x), w)); }}}) {
    const tg::GradcheckReport report = tg::gradcheck(f, {x, w});
    std::printf("%-22s %s\n", name, report.str().c_str());
    failures += !report.ok;
  }

  // Training runs in float: the library's float instantiations must link and agree.
  tg::Tensor<float> xf(tg::Array<float>{-1.0f, 0.5f, 2.0f}, true, "xf");
  tg::Tape<float> tape;
  tape.backward(tg::sum(softplus(xf)));
  for (std::size_t i = 0; i < 3; ++i) {
    const double want = 1 / (1 + std::exp(-static_cast<double>(xf.value()(i))));
    if (std::abs(xf.grad()(i) - want) > 1e-6) {
      std::printf("float gradient %zu: got %.9g, want %.9g\n", i, static_cast<double>(xf.grad()(i)), want);
      ++failures;
    }
  }

  std::printf(failures ? "FAILED: %d check(s)\n" : "custom op: all checks passed\n", failures);
  return failures ? 1 : 0;
}
