// Lesson 9 — optimisers by hand. Backward gives a gradient; an optimiser turns it into a
// step. On three numbers and a quadratic loss, SGD, momentum and Adam are written out by
// hand (Adam's bias correction step by step), then AdamW's decoupled decay against L2 in
// the loss; every step is checked against nn/optim (tg::SGD, tg::Adam), which follows
// PyTorch. Then a tanh RNN whose gradient explodes at a cliff, tg::clip_grad_norm taming
// it (the norms printed), and the cosine learning-rate schedule of `sentiment train`.
// Run: ./09_optimisers [--step]
// Exercise: derive the update rules yourself in tutorials/exercises/09_optimisers.cpp, then
//   cmake --build build --target 09_optimisers_exercise && build/09_optimisers_exercise
#include <cmath>
#include <numbers>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "autograd/autograd.hpp"
#include "exercise.hpp"
#include "lesson.hpp"
#include "nn/optim.hpp"

using tg::Array;
using Tensor = tg::Tensor<double>;

namespace {

// ---- the update rules by hand: one function per link, on plain arrays ----
// (the exercise: the same signatures in tutorials/exercises/09_optimisers.cpp)
#ifdef TG_EXERCISE_FILE
#include TG_EXERCISE_FILE
#else
// SGD: p ← p − lr·g.
Array<double> sgd_step(const Array<double>& w, const Array<double>& g, double lr) { return w - lr * g; }

// Momentum (PyTorch's form, no dampening): buf ← μ·buf + g, then an SGD step along buf. The
// buffer starts at 0, so the first step is plain SGD; buf is a running sum of past gradients,
// each one step older worth μ less.
Array<double> momentum_buffer(const Array<double>& buf, const Array<double>& g, double mu) { return mu * buf + g; }

// L2 in the loss: loss + ½λ‖w‖² adds λw to the gradient (Adam's weight_decay does just that).
Array<double> l2_gradient(const Array<double>& g, const Array<double>& w, double lambda) { return g + lambda * w; }

// AdamW's decoupled decay: shrink w itself, before (and apart from) the Adam step.
Array<double> decoupled_decay(const Array<double>& w, double lr, double lambda) { return w * (1 - lr * lambda); }

// Adam's running means: m ← β₁ m + (1 − β₁) g and v ← β₂ v + (1 − β₂) g², both this one.
Array<double> adam_moment(const Array<double>& average, const Array<double>& x, double beta) {
  return beta * average + (1 - beta) * x;
}

// Bias correction: the average starts at 0, so after t steps it carries only 1 − βᵗ of the
// weight a steady x would give it; dividing by 1 − βᵗ undoes that.
Array<double> bias_correct(const Array<double>& average, double beta, int t) {
  return average / (1 - std::pow(beta, t));
}

// The step Adam subtracts: lr · m̂ / (√v̂ + ε), about lr in size whatever the gradient's scale.
Array<double> adam_update(const Array<double>& m_hat, const Array<double>& v_hat, double lr, double eps) {
  return lr * m_hat / (xt::sqrt(v_hat) + eps);
}

// Gradient clipping by the global norm: every gradient × min(1, max_norm / (‖g‖ + 1e-6)),
// ‖g‖ taken over all parameters together (the 1e-6 is PyTorch's, against ‖g‖ = 0).
double clip_scale(double norm, double max_norm) { return std::min(1.0, max_norm / (norm + 1e-6)); }

// Cosine annealing: step k of K (0-based) gets lr·½(1 + cos(πk/K)), from lr down towards 0.
double cosine_lr(double lr, std::size_t k, std::size_t K) {
  return lr * 0.5 * (1 + std::cos(std::numbers::pi * double(k) / double(K)));
}
#endif

// One Adam(W) step from the links above, everything kept so the lesson can print it, as
// torch.optim.Adam at its t-th step:
//   w ← decoupled_decay(w)            (AdamW)     g ← l2_gradient(g, w)     (Adam's weight_decay)
//   m ← adam_moment(m, g, β₁)         v ← adam_moment(v, g², β₂)
//   m̂ = bias_correct(m, β₁, t)        v̂ = bias_correct(v, β₂, t)
//   w ← w − adam_update(m̂, v̂)
struct AdamSettings {
  double lr = 0.1, beta1 = 0.9, beta2 = 0.999, eps = 1e-8, weight_decay = 0;
  bool decoupled = false;
};
struct AdamState {
  Array<double> m = xt::zeros<double>({3}), v = xt::zeros<double>({3});
  int t = 0;
};
struct AdamTrace {
  Array<double> g, m_hat, v_hat, update, w;
};
AdamTrace adam_by_hand(const Array<double>& w_in, const Array<double>& grad, AdamState& s, const AdamSettings& o) {
  AdamTrace r;
  const bool l2 = o.weight_decay != 0 && !o.decoupled;
  const Array<double> w = o.decoupled ? decoupled_decay(w_in, o.lr, o.weight_decay) : w_in;
  r.g = l2 ? l2_gradient(grad, w_in, o.weight_decay) : grad;
  const int t = s.t + 1;
  const Array<double> m = adam_moment(s.m, r.g, o.beta1), v = adam_moment(s.v, r.g * r.g, o.beta2);
  r.m_hat = bias_correct(m, o.beta1, t);
  r.v_hat = bias_correct(v, o.beta2, t);
  r.update = adam_update(r.m_hat, r.v_hat, o.lr, o.eps);
  r.w = w - r.update;
  s.m = m;  // the state advances only once the whole step has been derived
  s.v = v;
  s.t = t;
  return r;
}

// ---- the problem: three numbers and a quadratic ----

// loss = Σ_i ½ c_i (w_i − target_i)², so g_i = c_i (w_i − target_i). c = (1, 10, 0): one
// gentle direction, one ten times steeper, and one the loss does not see at all (only
// weight decay moves it).
const Array<double> w0 = {0.5, 0.5, 0.8}, target = {2.0, -1.0, 0.0}, curvature = {1.0, 10.0, 0.0};

double quadratic(const Array<double>& w) {
  return xt::sum(0.5 * curvature * (w - target) * (w - target))();
}
Array<double> quadratic_grad(const Array<double>& w) { return curvature * (w - target); }

// The same loss on the tape (plus ½λ‖w‖² when l2 > 0), and its backward: fills w.grad().
void backward_on_tape(Tensor& w, double l2 = 0) {
  tg::Tape<double> tape;
  const Tensor diff = w - Tensor(target);
  Tensor loss = tg::sum(Tensor(Array<double>(0.5 * curvature)) * diff * diff);
  if (l2 > 0) loss = loss + tg::sum(w * w) * (0.5 * l2);
  tape.backward(loss);
}

std::string vec(const Array<double>& a, int precision = 6) {
  std::string s = "(";
  for (std::size_t i = 0; i < a.size(); ++i) s += fmt::format("{}{:.{}f}", i ? ", " : "", a(i) + 0.0, precision);
  return s + ")";
}

// Runs `steps` optimiser steps from w0 next to the hand-written rule, grading each step's w
// against nn/optim's and printing it.
template <class Optimiser, class HandStep>
Array<double> race(tg::Grader& grade, const std::string& name, Optimiser make, HandStep hand, int steps,
                   double l2_in_loss = 0, bool print = true) {
  Tensor w(w0, true, "w");
  auto opt = make(w);
  Array<double> mine = w0;
  for (int k = 1; k <= steps; ++k) {
    opt.zero_grad();
    backward_on_tape(w, l2_in_loss);
    opt.step();
    mine = grade(fmt::format("{} step {}", name, k), [&] { return hand(mine, quadratic_grad(mine), k); }, w.value());
    if (print) fmt::print("    step {}  w = {}   loss {:.6f}\n", k, vec(mine), quadratic(mine));
  }
  return mine;
}

// ---- the exploding RNN: one tanh unit, Pascanu et al. 2013's picture ----

// h_t = tanh(w·h_{t−1} + u·x_t + b), h_0 = 0, x = (0.01, 0, 0, …): a tiny push that the
// recurrence multiplies by w(1 − h²) each step. loss = ½(h_T − y)².
struct Rnn {
  Tensor w, u, b;
  std::size_t steps;
  double y = -0.5;

  Tensor forward() const {
    Tensor hidden(Array<double>{0.0});
    for (std::size_t t = 0; t < steps; ++t)
      hidden = tg::tanh(w * hidden + u * Tensor(Array<double>{t == 0 ? 0.01 : 0.0}) + b);
    return hidden;
  }
  Tensor loss() const {
    const Tensor e = forward() - y;
    return tg::sum(e * e) * 0.5;
  }
  std::vector<Tensor> params() const { return {w, u, b}; }
};

Rnn make_rnn(std::size_t steps) {
  return {Tensor(Array<double>{1.5}, true, "w"), Tensor(Array<double>{1.0}, true, "u"),
          Tensor(Array<double>{0.0}, true, "b"), steps};
}

double grad_norm(const std::vector<Tensor>& ps) {
  double sum = 0;
  for (const auto& p : ps) sum += xt::sum(p.grad() * p.grad())();
  return std::sqrt(sum);
}

// SGD on the RNN, with or without clipping; returns the final loss.
double train_rnn(tg::Lesson& lesson, tg::Grader& grade, double max_norm, int steps, double lr) {
  Rnn rnn = make_rnn(12);
  tg::SGD<double> opt(rnn.params(), {.lr = lr});
  double loss = 0;
  bool clip_ok = true;
  for (int k = 0; k < steps; ++k) {
    opt.zero_grad();
    {
      tg::Tape<double> tape;
      const Tensor l = rnn.loss();
      loss = l.item();
      tape.backward(l);
    }
    const double norm = grad_norm(rnn.params());
    double after = norm;
    if (max_norm > 0) {
      const double before = rnn.b.grad()(0);
      const double returned = tg::clip_grad_norm(rnn.params(), max_norm);
      after = grad_norm(rnn.params());
      clip_ok = clip_ok && std::abs(returned - norm) <= 1e-12 * norm;  // it returns the norm before
      if (k == 0) grade("clip scale", [&] { return clip_scale(norm, max_norm); }, rnn.b.grad()(0) / before);
    }
    if (k < 8 || k == steps - 1)
      fmt::print("    step {:>2}  loss {:.6f}  h_T {:+.4f}  ‖g‖ {:>9.4f} → {:>7.4f}   w {:+.4f}  b {:+.4f}\n", k,
                 loss, rnn.forward().item(), norm, after, rnn.w.item(), rnn.b.item());
    else if (k == 8)
      fmt::print("    …\n");
    opt.step();
  }
  if (max_norm > 0) lesson.check("clip_grad_norm returns ‖g‖ before clipping, every step", clip_ok ? 0 : 1, 0, 0);
  return loss;
}

}  // namespace

int main(int argc, char** argv) {
  tg::Lesson lesson("Lesson 9: optimisers by hand",
                    "SGD, momentum, Adam with its bias correction, AdamW against L2, clipping, the cosine schedule");
  if (auto code = lesson.parse(argc, argv)) return *code;

  // Step 1: the problem and its gradient, by hand and on the tape.
  lesson.step("three numbers, loss = Σ ½ c_i (w_i − target_i)², c = (1, 10, 0)");
  fmt::print("  w0 = {}   target = {}   c = {}\n", vec(w0, 2), vec(target, 2), vec(curvature, 0));
  Tensor w(w0, true, "w");
  backward_on_tape(w);
  fmt::print("  loss(w0) = {:.6f}   g = c ⊙ (w − target) = {}\n", quadratic(w0), vec(quadratic_grad(w0)));
  lesson.check("g = c ⊙ (w − target) is the tape's w.grad()", w.grad(), quadratic_grad(w0), 1e-15);
  // Each update rule below is graded against nn/optim right after it is derived.
  tg::Grader grade(lesson, 1e-12);

  // Step 2: SGD. The steep direction (c = 10) moves 10× faster.
  lesson.step("SGD: w ← w − lr·g  (lr = 0.06), against tg::SGD");
  const double lr = 0.06;
  const Array<double> w_sgd = race(
      grade, "SGD", [&](Tensor& p) { return tg::SGD<double>({p}, {.lr = lr}); },
      [&](const Array<double>& p, const Array<double>& g, int) { return sgd_step(p, g, lr); }, 3);
  fmt::print("  w_1 (c = 10) keeps 40% of its distance to −1 a step; w_0 (c = 1) closes only 6%\n"
             "  of its distance to 2.\n");

  // Step 3: momentum. Gradients that keep their sign add up.
  lesson.step("momentum: buf ← μ·buf + g, w ← w − lr·buf  (lr = 0.06, μ = 0.9), against tg::SGD");
  Array<double> buf = xt::zeros<double>({3});
  const Array<double> w_momentum = race(
      grade, "momentum", [&](Tensor& p) { return tg::SGD<double>({p}, {.lr = lr, .momentum = 0.9}); },
      [&](const Array<double>& p, const Array<double>& g, int) {
        buf = momentum_buffer(buf, g, 0.9);
        return sgd_step(p, buf, lr);
      },
      3);
  fmt::print("  After 3 steps w_0 = {:.6f} (SGD: {:.6f}): the gentle direction gathers speed;\n"
             "  w_1 = {:.6f} has overshot its target −1 (SGD: {:.6f}).\n",
             w_momentum(0), w_sgd(0), w_momentum(1), w_sgd(1));

  // Step 4: Adam, one step at a time, with its bias correction in the open.
  lesson.step("Adam (lr = 0.1, β₁ = 0.9, β₂ = 0.999, ε = 1e-8): bias correction, step by step");
  const AdamSettings adam{.lr = 0.1};
  {
    // At t = 1 the moments are m = (1 − β₁)g and v = (1 − β₂)g², so the corrected ones are
    // exactly g and g²: a reference that needs no optimiser.
    const Array<double> g0 = quadratic_grad(w0), zero = xt::zeros<double>({3});
    grade("m_hat at t=1 = g", [&] { return bias_correct(adam_moment(zero, g0, adam.beta1), adam.beta1, 1); }, g0);
    grade("v_hat at t=1 = g²",
          [&] { return bias_correct(adam_moment(zero, g0 * g0, adam.beta2), adam.beta2, 1); }, g0 * g0);
    Tensor p(w0, true, "w");
    tg::Adam<double> opt({p}, {.lr = adam.lr});
    AdamState state;
    Array<double> mine = w0;
    std::vector<std::string> rows;
    for (int k = 1; k <= 4; ++k) {
      opt.zero_grad();
      backward_on_tape(p);
      opt.step();
      AdamTrace s;
      mine = grade(fmt::format("Adam step {}", k), [&] {
        s = adam_by_hand(mine, quadratic_grad(mine), state, adam);
        return s.w;
      }, p.value());
      for (std::size_t i = 0; i < 2 && s.w.size() == 3; ++i)
        rows.push_back(fmt::format("  {:>2}  {:>6.4f}  {:>8.6f}  {:>4}  {:>9.4f}  {:>9.4f}  {:>9.4f}  {:>9.4f}"
                                   "  {:>9.6f}",
                                   i ? "" : std::to_string(k), 1 - std::pow(adam.beta1, k),
                                   1 - std::pow(adam.beta2, k), fmt::format("w_{}", i), s.g(i), state.m(i),
                                   s.m_hat(i), s.v_hat(i), s.update(i)));
    }
    fmt::print("  {:>2}  {:>6}  {:>8}  {:>4}  {:>9}  {:>9}  {:>9}  {:>9}  {:>9}\n", "t", "1−β₁ᵗ", "1−β₂ᵗ", "", "g",
               "m", "m̂", "v̂", "lr·m̂/√v̂");
    for (const auto& row : rows) fmt::print("{}\n", row);
    fmt::print("  After 4 steps w = {}\n", vec(mine));
    const double g = g0(0);
    const double uncorrected = std::abs(adam.lr * (1 - adam.beta1) * g / (std::sqrt((1 - adam.beta2) * g * g)));
    fmt::print("  At t = 1, m̂ = g and v̂ = g²: every parameter moves lr·sign(g) = ±0.1, whatever |g|.\n"
               "  Uncorrected, m = 0.1·g and √v = 0.0316·|g| would make it lr·0.1/0.0316 = {:.6f},\n"
               "  3.16× too far. As t grows, 1−β₁ᵗ and 1−β₂ᵗ tend to 1 and the correction fades.\n",
               uncorrected);
  }

  // Step 5: weight decay. With L2 in the loss (or Adam's weight_decay, the same thing), λw
  // joins g in the moments and is divided by √v̂ with it; AdamW shrinks w directly.
  lesson.step("AdamW's decoupled decay against L2 in the loss (λ = 0.1, lr = 0.1)");
  const double lambda = 0.1;
  {
    Tensor p(w0, true, "w");
    backward_on_tape(p, lambda);
    grade("L2 gradient", [&] { return l2_gradient(quadratic_grad(w0), w0, lambda); }, p.grad());
    // A parameter whose gradient is 0 (not absent): AdamW's step is the decay alone.
    Tensor still(w0, true, "w");
    still.mutable_grad() = xt::zeros<double>({3});
    tg::Adam<double> opt({still}, {.lr = 0.1, .weight_decay = lambda, .decoupled_weight_decay = true});
    opt.step();
    grade("AdamW decay", [&] { return decoupled_decay(w0, 0.1, lambda); }, still.value());
  }
  AdamState l2_state, again, decoupled_state;
  const AdamSettings l2{.lr = 0.1, .weight_decay = lambda};
  const AdamSettings decoupled{.lr = 0.1, .weight_decay = lambda, .decoupled = true};
  fmt::print("  L2 in the loss: loss + ½λ‖w‖², plain tg::Adam\n");
  const Array<double> w_l2 = race(
      grade, "L2", [&](Tensor& p) { return tg::Adam<double>({p}, {.lr = 0.1}); },
      [&](const Array<double>& p, const Array<double>& g, int) { return adam_by_hand(p, g, l2_state, l2).w; }, 3,
      lambda);
  fmt::print("  tg::Adam(weight_decay = λ) on the loss alone: the same three steps (it is L2)\n");
  race(grade, "Adam(λ)", [&](Tensor& p) { return tg::Adam<double>({p}, {.lr = 0.1, .weight_decay = lambda}); },
       [&](const Array<double>& p, const Array<double>& g, int) { return adam_by_hand(p, g, again, l2).w; }, 3, 0,
       false);
  fmt::print("  AdamW: w ← w(1 − lr·λ), then Adam on the loss alone\n");
  const Array<double> w_adamw = race(
      grade, "AdamW",
      [&](Tensor& p) {
        return tg::Adam<double>({p}, {.lr = 0.1, .weight_decay = lambda, .decoupled_weight_decay = true});
      },
      [&](const Array<double>& p, const Array<double>& g, int) {
        return adam_by_hand(p, g, decoupled_state, decoupled).w;
      },
      3);
  fmt::print("  w_2 feels no loss, only the decay. L2 takes it {:.6f} → {:.6f}: lr per step, as Adam\n"
             "  divides λw by its own size. AdamW takes it {:.6f} → {:.6f}: ×(1 − lr·λ) = ×0.99 per step.\n"
             "  On w_1, whose gradient is ~300× λw, L2's decay is drowned in g; AdamW's is the same 1%.\n",
             w0(2), w_l2(2), w0(2), w_adamw(2));
  lesson.check("AdamW shrinks w_2 by exactly 0.99³", w_adamw(2), w0(2) * std::pow(0.99, 3), 1e-15);

  // Step 6: a gradient that explodes. Near h = 0 each step back multiplies by w(1 − h²) ≈ 1.5,
  // until tanh saturates and the factor collapses: a cliff in the loss.
  lesson.step("exploding gradients in a tanh RNN: h_t = tanh(w·h_{t−1} + u·x_t + b)");
  fmt::print("  one unit, w = 1.5, u = 1, b = 0, x = (0.01, 0, 0, …), loss = ½(h_T + 0.5)²\n");
  fmt::print("  {:>3}  {:>9}  {:>10}\n", "T", "h_T", "‖g‖");
  for (std::size_t steps : {2, 4, 6, 8, 10, 12, 14, 16, 20}) {
    Rnn rnn = make_rnn(steps);
    tg::Tape<double> tape;
    const Tensor l = rnn.loss();
    tape.backward(l);
    fmt::print("  {:>3}  {:>+9.4f}  {:>10.4f}\n", steps, rnn.forward().item(), grad_norm(rnn.params()));
  }
  {
    Rnn rnn = make_rnn(12);
    {
      tg::Tape<double> tape;
      tape.backward(rnn.loss());
    }
    // |db| ≈ 106: central differences carry ~1e-8 of it in rounding and curvature.
    auto loss = [&] { return rnn.loss().item(); };
    lesson.check("T = 12: the tape's dw = central differences", rnn.w.grad(), tg::finite_diff(loss, rnn.w), 1e-5);
    lesson.check("T = 12: the tape's du = central differences", rnn.u.grad(), tg::finite_diff(loss, rnn.u), 1e-5);
    lesson.check("T = 12: the tape's db = central differences", rnn.b.grad(), tg::finite_diff(loss, rnn.b), 1e-5);
  }

  // Step 7: SGD with lr = 0.1 on T = 12, without and with clipping.
  lesson.step("SGD at the cliff (T = 12, lr = 0.1), without and with clip_grad_norm(max_norm = 1)");
  fmt::print("  without clipping:\n");
  const double unclipped = train_rnn(lesson, grade, 0, 15, 0.1);
  fmt::print("  with tg::clip_grad_norm(params, 1):\n");
  const double clipped = train_rnn(lesson, grade, 1.0, 15, 0.1);
  fmt::print("  Unclipped, one step of lr·‖g‖ ≈ 10.6 throws b to −10.6: tanh saturates, the gradient is 0\n"
             "  and training is stuck at {:.6f}. Clipped, every step is at most lr·1 = 0.1: {:.6f}.\n",
             unclipped, clipped);
  lesson.check("clipping ends lower than no clipping", clipped < unclipped ? 0 : 1, 0, 0);

  // Step 8: a learning-rate schedule.
  lesson.step("a learning-rate schedule: cosine annealing, as `sentiment train --schedule cosine`");
  fmt::print("  models/trainer.cpp's scheduled_lr (not exported; here by hand): lr·½(1 + cos(πk/K))\n");
  const std::size_t K = 8;
  Array<double> by_hand = xt::zeros<double>({K}), half_angle = xt::zeros<double>({K});
  for (std::size_t k = 0; k < K; ++k)  // ½(1 + cos 2θ) = cos²θ
    half_angle(k) = adam.lr * std::pow(std::cos(std::numbers::pi * double(k) / double(2 * K)), 2);
  const Array<double> schedule = grade("cosine lr", [&] {
    for (std::size_t k = 0; k < K; ++k) by_hand(k) = cosine_lr(adam.lr, k, K);
    return by_hand;
  }, half_angle);
  Tensor p(w0, true, "w");
  tg::Adam<double> opt({p}, {.lr = adam.lr});
  AdamState state;
  Array<double> mine = w0;
  double worst = 0;
  for (std::size_t k = 0; k < K; ++k) {
    opt.set_lr(schedule(k));
    opt.zero_grad();
    backward_on_tape(p);
    opt.step();
    AdamSettings o = adam;
    o.lr = schedule(k);
    try {
      mine = adam_by_hand(mine, quadratic_grad(mine), state, o).w;
    } catch (const tg::NotYetWritten&) {  // exercise mode: graded above, carry on with nn/optim
      mine = p.value();
    }
    worst = std::max(worst, double(xt::amax(xt::abs(p.value() - mine))()));
    fmt::print("    k {}  lr {:.6f}  w = {}   loss {:.6f}\n", k, schedule(k), vec(p.value()), quadratic(p.value()));
  }
  lesson.check("Adam with set_lr(cosine_lr) by hand = nn/optim", worst, 0.0, 1e-14);
  fmt::print("  Big steps early, small ones late: Adam's steps are about lr each, so a schedule\n"
             "  is how its last steps get small enough to settle.\n");

  grade.finish();
  return lesson.finish();
}
