// Lesson 4 — an LSTM cell unrolled over time, and backpropagation through time (BPTT).
// Teaches what one LSTM step computes (PyTorch's gates i, f, ĝ, o; nn/lstm.hpp) by writing
// it out with generic ops, then follows the gradient of a loss on the LAST state back
// through every step: it fades on the way (vanishing gradients), and it fades far less
// along the cell state's additive path c_t = f ⊙ c_{t−1} + i ⊙ ĝ than through a tanh RNN.
// Prints each step's gates and states, ‖dL/dx_t‖ ‖dL/dh_t‖ ‖dL/dc_t‖ next to the product of
// forget gates, one step's backward as `tensor | tape | by hand | finite diff | max diff`,
// and a 30-step tanh-RNN-vs-LSTM comparison; exits non-zero when a check fails.
// Run: ./04_lstm_bptt [--step] [--trace] [--dot cell.dot]
// Exercise: derive one step's backward yourself in tutorials/exercises/04_lstm_bptt.cpp, then
//   cmake --build build --target 04_lstm_bptt_exercise && build/04_lstm_bptt_exercise
#include <array>
#include <cmath>
#include <functional>
#include <random>
#include <vector>

#include <fmt/format.h>
#include <xtensor-blas/xlinalg.hpp>
#include <xtensor/xmath.hpp>
#include <xtensor/xview.hpp>

#include "autograd/autograd.hpp"
#include "exercise.hpp"
#include "lesson.hpp"
#include "nn/init.hpp"
#include "nn/lstm.hpp"

using tg::Array;
using Tensor = tg::Tensor<double>;
using Weights = tg::LSTMWeights<double>;

namespace {
// Legend: E input size, H hidden size, T steps; every tensor has a batch of one, B = 1.
constexpr std::size_t E = 2, H = 3, T = 6, T_LONG = 30;

// One step's intermediates, as in nn/lstm.hpp: z (1,4H), the others (1,H).
struct Cell {
  Tensor z, i, f, g, o, c, h;
};

// z = x_t W_ihᵀ + (b_ih + b_hh) + h_{t−1} W_hhᵀ  (1,4H): four blocks of H columns. The sum
// has tg::LSTM's terms; the layer's gemms add them in another order, so the two agree to
// rounding (1e-14), not bit for bit (step 3 checks it).
Cell lstm_cell(const Weights& w, const Tensor& x, const Tensor& h_prev, const Tensor& c_prev, std::size_t t) {
  const Tensor z = tg::matmul(x, tg::transpose(w.weight_ih)) + (w.bias_ih + w.bias_hh) +
                   tg::matmul(h_prev, tg::transpose(w.weight_hh));
  Cell s{z,
         tg::sigmoid(tg::slice(z, 1, 0, H)),         // input gate   i = σ(z₀)
         tg::sigmoid(tg::slice(z, 1, H, 2 * H)),     // forget gate  f = σ(z₁)
         tg::tanh(tg::slice(z, 1, 2 * H, 3 * H)),    // candidate    ĝ = tanh(z₂)
         tg::sigmoid(tg::slice(z, 1, 3 * H, 4 * H)), // output gate  o = σ(z₃)
         {}, {}};
  s.c = s.f * c_prev + s.i * s.g;  // c_t = f ⊙ c_{t−1} + i ⊙ ĝ   — the additive path
  s.h = s.o * tg::tanh(s.c);       // h_t = o ⊙ tanh c_t
  for (auto [part, name] : {std::pair{&s.z, "z"}, {&s.i, "i"}, {&s.f, "f"}, {&s.g, "ĝ"}, {&s.o, "o"}, {&s.c, "c"}, {&s.h, "h"}})
    part->set_name(fmt::format("{}_{}", name, t));
  return s;
}

Tensor zero_state() { return Tensor(Array<double>(xt::zeros<double>({std::size_t{1}, H}))); }

// The recurrence from h₀ = c₀ = 0; cells[t−1] is step t.
std::vector<Cell> unroll(const Weights& w, const std::vector<Tensor>& xs) {
  std::vector<Cell> cells;
  Tensor h = zero_state(), c = zero_state();
  for (std::size_t t = 0; t < xs.size(); ++t) {
    cells.push_back(lstm_cell(w, xs[t], h, c, t + 1));
    h = cells.back().h;
    c = cells.back().c;
  }
  return cells;
}

// The loss reads only the last state: L = Σ_j r_j h_T,j with a fixed r (1,H).
Tensor readout(const Tensor& h, const Tensor& r) { return tg::sum(h * r); }

// Leaves x_1 … x_n, each (1,E), uniform in [−1, 1).
std::vector<Tensor> make_inputs(std::size_t n, std::mt19937_64& rng) {
  std::vector<Tensor> xs;
  for (std::size_t t = 1; t <= n; ++t)
    xs.emplace_back(tg::uniform_init<double>({1, E}, 1.0, rng), true, fmt::format("x_{}", t));
  return xs;
}

Array<double> value_of(const Tensor& t) { return t.value(); }
double l2(const Array<double>& a) { return std::sqrt(xt::sum(a * a)()); }

std::string vec(const Array<double>& a) {
  std::string out = "[";
  for (std::size_t k = 0; k < a.size(); ++k) out += fmt::format("{}{:+.4f}", k ? " " : "", a.data()[k]);
  return out + "]";
}

// ---- one step's backward by hand: one function per link, each undoing one forward line ----
// (the exercise: the same signatures in tutorials/exercises/04_lstm_bptt.cpp)
// dh is dL/dh_t from everything after step t; every array is (1,H) except z's (1,4H).
#ifdef TG_EXERCISE_FILE
#include TG_EXERCISE_FILE
#else
// c_t is used twice: in h_t = o_t ⊙ tanh c_t, and in c_{t+1} = f_{t+1} ⊙ c_t + …, so
//   dc_t = dh_t ⊙ o_t ⊙ (1 − tanh² c_t) + dc_{t+1} ⊙ f_{t+1}     (dc_{t+1} = 0 at t = T)
Array<double> dc_by_hand(const Array<double>& dh, const Array<double>& o, const Array<double>& c,
                         const Array<double>& dc_next, const Array<double>& f_next) {
  const Array<double> tanh_c = xt::tanh(c);
  return dh * o * (1 - tanh_c * tanh_c) + dc_next * f_next;
}

// h_t = o ⊙ tanh c_t  →  do = dh ⊙ tanh c_t
Array<double> do_by_hand(const Array<double>& dh, const Array<double>& c) { return dh * xt::tanh(c); }

// c_t = f ⊙ c_{t−1} + i ⊙ ĝ  →  di = dc ⊙ ĝ,  df = dc ⊙ c_{t−1},  dĝ = dc ⊙ i
Array<double> di_by_hand(const Array<double>& dc, const Array<double>& g) { return dc * g; }
Array<double> df_by_hand(const Array<double>& dc, const Array<double>& c_prev) { return dc * c_prev; }
Array<double> dg_by_hand(const Array<double>& dc, const Array<double>& i) { return dc * i; }

// i = σ(z₀), f = σ(z₁), ĝ = tanh(z₂), o = σ(z₃), with σ' = σ(1 − σ) and tanh' = 1 − tanh²;
// dz is the four blocks side by side, (1,4H).
Array<double> dz_by_hand(const Array<double>& di, const Array<double>& df, const Array<double>& dg,
                         const Array<double>& d_o, const Array<double>& i, const Array<double>& f,
                         const Array<double>& g, const Array<double>& o) {
  const Array<double> dz_i = di * i * (1 - i), dz_f = df * f * (1 - f), dz_g = dg * (1 - g * g),
                      dz_o = d_o * o * (1 - o);
  return xt::concatenate(xt::xtuple(dz_i, dz_f, dz_g, dz_o), 1);
}

// z = x_t W_ihᵀ + b + h_{t−1} W_hhᵀ  →  dx_t = dz W_ih (1,E),  dh_{t−1} = dz W_hh (1,H)
Array<double> dx_by_hand(const Array<double>& dz, const Array<double>& W_ih) { return xt::linalg::dot(dz, W_ih); }
Array<double> dh_prev_by_hand(const Array<double>& dz, const Array<double>& W_hh) {
  return xt::linalg::dot(dz, W_hh);
}
#endif

// One step's backward, the links in order: what BPTT repeats T times.
// dh: dL/dh_t from everything after step t; dc_next, f_next: dL/dc_{t+1} and f_{t+1} (0 at t = T).
struct CellGrad {
  Array<double> dc, dx, dh_prev;
};
CellGrad cell_backward(const Weights& w, const Cell& s, const Array<double>& c_prev, const Array<double>& dh,
                       const Array<double>& dc_next, const Array<double>& f_next) {
  const Array<double>&i = s.i.value(), &f = s.f.value(), &g = s.g.value(), &o = s.o.value(), &c = s.c.value();
  const Array<double> dc = dc_by_hand(dh, o, c, dc_next, f_next);
  const Array<double> dz = dz_by_hand(di_by_hand(dc, g), df_by_hand(dc, c_prev), dg_by_hand(dc, i),
                                      do_by_hand(dh, c), i, f, g, o);
  return {dc, dx_by_hand(dz, w.weight_ih.value()), dh_prev_by_hand(dz, w.weight_hh.value())};
}

// What the tape hands each step of an LSTM, L = r · h_T (index t−1 holds step t).
struct Profile {
  std::vector<double> dx, dh, dc;  // ‖dL/dx_t‖, ‖dL/dh_t‖, ‖dL/dc_t‖
  std::vector<Array<double>> forget_product;  // Π_{s=t+1..T} f_s (1,H); ones at t = T
  std::vector<double> forget_mean;            // its mean over the H units
  std::vector<double> cell_path;              // ‖dL/dc_T ⊙ Π_{s>t} f_s‖: the additive path alone
};

Profile profile(const std::vector<Cell>& cells, const std::vector<Tensor>& xs) {
  const std::size_t n = cells.size();
  Profile p{std::vector<double>(n), std::vector<double>(n), std::vector<double>(n),
            std::vector<Array<double>>(n), std::vector<double>(n), std::vector<double>(n)};
  Array<double> product = xt::ones<double>({std::size_t{1}, H});
  for (std::size_t k = n; k-- > 0;) {
    p.dx[k] = l2(xs[k].grad());
    p.dh[k] = l2(cells[k].h.grad());
    p.dc[k] = l2(cells[k].c.grad());
    p.forget_product[k] = product;
    p.forget_mean[k] = xt::mean(product)();
    p.cell_path[k] = l2(cells[n - 1].c.grad() * product);
    product = product * cells[k].f.value();
  }
  return p;
}

// The profile of L = r · h_T on a tape of its own.
Profile lstm_profile(const Weights& w, const std::vector<Tensor>& xs, const Tensor& r) {
  for (Tensor x : xs) x.zero_grad();
  tg::Tape<double> tape;
  const std::vector<Cell> cells = unroll(w, xs);
  tape.backward(readout(cells.back().h, r));
  return profile(cells, xs);
}

// ‖dL/dx_t‖ for a plain tanh RNN, h_t = tanh(x_t Wᵀ + h_{t−1} Uᵀ + b), L = r · h_T.
std::vector<double> rnn_input_gradients(const Tensor& W, const Tensor& U, const Tensor& b,
                                        const std::vector<Tensor>& xs, const Tensor& r) {
  for (Tensor x : xs) x.zero_grad();
  tg::Tape<double> tape;
  Tensor h = zero_state();
  for (const Tensor& x : xs) h = tg::tanh(tg::matmul(x, tg::transpose(W)) + tg::matmul(h, tg::transpose(U)) + b);
  tape.backward(readout(h, r));
  std::vector<double> out;
  for (const Tensor& x : xs) out.push_back(l2(x.grad()));
  return out;
}
}  // namespace

int main(int argc, char** argv) {
  tg::Lesson lesson("Lesson 4: an LSTM cell unrolled over time, and backprop through time",
                    "an LSTM cell unrolled by hand, backprop through time, vanishing gradients: RNN vs LSTM");
  if (auto code = lesson.parse(argc, argv)) return *code;
  std::mt19937_64 rng(4);

  // Step 1: tg::LSTM's weights (PyTorch's init, uniform ±1/√H) are the weights of our cell.
  lesson.step("the weights: four gates stacked in blocks of H rows (i, f, ĝ, o)");
  tg::LSTM<double> lstm(E, H, rng);
  const Weights& w = lstm.forward_weights;
  fmt::print("{}", lstm.summary());
  const Array<double> bias = w.bias_ih.value() + w.bias_hh.value();
  for (std::size_t k = 0; k < 4; ++k)
    fmt::print("  gate {}  rows {:>2}–{:<2} of W_ih (4H,E) and W_hh (4H,H); b_ih + b_hh = {}\n",
               std::array{"i", "f", "ĝ", "o"}[k], k * H, (k + 1) * H - 1,
               vec(xt::view(bias, xt::range(k * H, (k + 1) * H))));
  std::vector<Tensor> xs = make_inputs(T, rng);
  const Tensor r(tg::uniform_init<double>({1, H}, 1.0, rng), false, "r");
  fmt::print("  inputs x_1 … x_{} (1,E) uniform in [−1,1)\n  the loss reads h_{} only: L = Σ r ⊙ h_{}, r = {}\n", T,
             T, T, vec(r.value()));

  // Step 2: the cell written out with generic ops, step by step, on the tape.
  lesson.step(fmt::format("the unrolled forward: T = {} steps of the same cell", T));
  tg::Tape<double> tape;
  lesson.attach(tape);
  const std::vector<Cell> cells = unroll(w, xs);
  for (std::size_t t = 1; t <= T; ++t) {
    const Cell& s = cells[t - 1];
    fmt::print("  t={}  x {}\n", t, vec(xs[t - 1].value()));
    fmt::print("       i {}  f {}\n       ĝ {}  o {}\n", vec(s.i.value()), vec(s.f.value()), vec(s.g.value()),
               vec(s.o.value()));
    fmt::print("       c {}  h {}\n", vec(s.c.value()), vec(s.h.value()));
  }
  fmt::print("  the tape now holds {} nodes (leaves included) for {} steps\n", tape.size(), T);

  // Step 3: tg::LSTM runs the same recurrence (all input projections in one gemm, then a loop
  // over the steps, each computing only the sequences still running: its packed schedule).
  lesson.step("the same weights through tg::LSTM (nn/lstm.hpp)");
  const Tensor x_seq = tg::stack(xs, 1);  // (1,T,E)
  const tg::LSTMOutput<double> out = lstm.forward(x_seq, tg::Ids{static_cast<int64_t>(T)});
  std::vector<Tensor> hs;
  for (const Cell& s : cells) hs.push_back(s.h);
  const Tensor unrolled = tg::stack(hs, 1);  // (1,T,H)
  fmt::print("  tg::LSTM states {}\n  unrolled states {}\n", tg::summarize(out.states.value()),
             tg::summarize(unrolled.value()));
  // Not bit for bit: the layer adds the biases inside its gemms (tg::linear), which
  // rounds in another order than the unrolled x·W_ihᵀ + h·W_hhᵀ + b.
  lesson.check("every h_t of the unrolled cell equals tg::LSTM's (to rounding)", out.states.value(),
               unrolled.value(), 1e-14);
  lesson.check("c_T equals tg::LSTM's c_n (to rounding)", value_of(tg::select(out.c_n, 0, 0)),
               cells.back().c.value(), 1e-14);

  // Step 4: before trusting the tape's gradients, check them on a short sequence.
  lesson.step("gradcheck of the unrolled cell (3 steps, w.r.t. x_t and all four weights)");
  {
    // Fresh leaves with the same values, so the lesson's own leaves keep no gradcheck gradients.
    auto leaf = [](const Tensor& t) { return Tensor(t.value(), true, t.name()); };
    const Weights copy{leaf(w.weight_ih), leaf(w.weight_hh), leaf(w.bias_ih), leaf(w.bias_hh)};
    const std::vector<Tensor> short_xs{leaf(xs[0]), leaf(xs[1]), leaf(xs[2])};
    auto states = [&] {
      std::vector<Tensor> h;
      for (const Cell& s : unroll(copy, short_xs)) h.push_back(s.h);
      return tg::stack(h, 1);  // (1,3,H): every h_t, so every path through the recurrence is checked
    };
    const tg::GradcheckReport report = tg::gradcheck(
        states, {short_xs[0], short_xs[1], short_xs[2], copy.weight_ih, copy.weight_hh, copy.bias_ih, copy.bias_hh});
    fmt::print("  {}\n", report.str());
    lesson.check("gradcheck: tape vs central differences, every element", report.ok ? report.max_error : INFINITY, 0,
                 1e-7);
  }

  // Step 5: backward from L = r · h_T. Every earlier step gets its gradient only through
  // the recurrence, so its size says how much step t can still learn from this loss.
  lesson.step("backprop through time: how much gradient reaches each step");
  const Tensor loss = readout(cells.back().h, r);
  tape.backward(loss);
  fmt::print("  L = {:.6f}\n", loss.item());
  const Profile p = profile(cells, xs);
  fmt::print("   t | ‖dL/dx_t‖ | ‖dL/dh_t‖ | ‖dL/dc_t‖ | Π f_s for s > t            | ‖dL/dc_T ⊙ Π f‖\n");
  for (std::size_t t = T; t >= 1; --t)
    fmt::print("  {:>2} | {:9.3e} | {:9.3e} | {:9.3e} | {} | {:9.3e}\n", t, p.dx[t - 1], p.dh[t - 1], p.dc[t - 1],
               vec(p.forget_product[t - 1]), p.cell_path[t - 1]);
  fmt::print("  Each step back multiplies the cell-state gradient by that step's forget gate (and adds\n"
             "  what arrives through h): the last column is the additive path alone.\n");

  // Step 6: the last step's backward by hand, every gradient from forward values only.
  lesson.step(fmt::format("step {} backward by hand: dL/dc_{} = dL/dc_{} ⊙ f_{} + (the path through h_{})", T, T - 1, T,
                          T, T - 1));
  const Cell &last = cells[T - 1], &prev = cells[T - 2];
  tg::Grader grade(lesson, 1e-15);
  const std::string sT = std::to_string(T), sP = std::to_string(T - 1);
  const Array<double> no_next = xt::zeros<double>({std::size_t{1}, H});  // nothing after step T
  const Array<double>&i = last.i.value(), &f = last.f.value(), &g = last.g.value(), &o = last.o.value(),
                     &c = last.c.value(), &c_before = prev.c.value();
  // The loss reads h_T directly: dL/dh_T = r.
  const Array<double> dc =
      grade("dc_" + sT, [&] { return dc_by_hand(r.value(), o, c, no_next, no_next); }, last.c.grad());
  const Array<double> d_o = grade("do_" + sT, [&] { return do_by_hand(r.value(), c); }, last.o.grad());
  const Array<double> di = grade("di_" + sT, [&] { return di_by_hand(dc, g); }, last.i.grad());
  const Array<double> df = grade("df_" + sT, [&] { return df_by_hand(dc, c_before); }, last.f.grad());
  const Array<double> dg = grade("dĝ_" + sT, [&] { return dg_by_hand(dc, i); }, last.g.grad());
  const Array<double> dz = grade("dz_" + sT, [&] { return dz_by_hand(di, df, dg, d_o, i, f, g, o); }, last.z.grad());
  const Array<double> dx = grade("dx_" + sT, [&] { return dx_by_hand(dz, w.weight_ih.value()); }, xs[T - 1].grad());
  const Array<double> dh_prev =
      grade("dh_" + sP, [&] { return dh_prev_by_hand(dz, w.weight_hh.value()); }, prev.h.grad());
  // Step T−1's dc link again, now with both uses of c_{T−1}: h_{T−1}, and c_T through f_T.
  const Array<double> dc_prev =
      grade("dc_" + sP, [&] { return dc_by_hand(dh_prev, prev.o.value(), c_before, dc, f); }, prev.c.grad());
  grade.finish();
  const Array<double> tanh_c_prev = xt::tanh(c_before);
  auto show = [](const std::string& name, const Array<double>& v, const char* note) {
    fmt::print("  {:<32} = {}{}\n", name, vec(v), note);
  };
  show(fmt::format("dL/dc_{} ⊙ f_{}", T, T), Array<double>(dc * f), "   (the additive path)");
  show(fmt::format("dL/dh_{0} ⊙ o_{0} ⊙ (1 − tanh² c_{0})", T - 1),
       Array<double>(dh_prev * prev.o.value() * (1 - tanh_c_prev * tanh_c_prev)), "   (the path through h)");
  show(fmt::format("dL/dc_{}, their sum", T - 1), dc_prev, "");
  // Finite differences need a leaf to nudge: rerun step T from copies of its inputs.
  Tensor c_last(last.c.value(), true, "c_" + sT), h_prev(prev.h.value(), true, "h_" + sP),
      c_prev(prev.c.value(), true, "c_" + sP);
  const Tensor o_last(last.o.value()), o_prev(prev.o.value()), c_prev_fixed(prev.c.value());
  auto loss_of_c_last = [&] { return readout(o_last * tg::tanh(c_last), r).item(); };
  auto loss_of_h_prev = [&] { return readout(lstm_cell(w, xs[T - 1], h_prev, c_prev_fixed, T).h, r).item(); };
  auto loss_of_c_prev = [&] {
    return readout(lstm_cell(w, xs[T - 1], o_prev * tg::tanh(c_prev), c_prev, T).h, r).item();
  };
  auto loss_of_xs = [&] { return readout(unroll(w, xs).back().h, r).item(); };
  lesson.gradient_table({{"c_" + sT, last.c.grad(), dc, tg::finite_diff(loss_of_c_last, c_last)},
                         {"x_" + sT, xs[T - 1].grad(), dx, tg::finite_diff(loss_of_xs, xs[T - 1])},
                         {"h_" + sP, prev.h.grad(), dh_prev, tg::finite_diff(loss_of_h_prev, h_prev)},
                         {"c_" + sP, prev.c.grad(), dc_prev, tg::finite_diff(loss_of_c_prev, c_prev)}},
                        1e-8);

  // Step 7: BPTT is that one step's backward, run T times from the last step to the first.
  lesson.step("BPTT by hand: the same step backward, T times");
  try {
    Array<double> dh = r.value(), dc_next = no_next, f_next = no_next;
    double worst = 0;
    for (std::size_t t = T; t >= 1; --t) {
      const Array<double> c_prev_t = t > 1 ? value_of(cells[t - 2].c) : value_of(zero_state());
      const CellGrad step = cell_backward(w, cells[t - 1], c_prev_t, dh, dc_next, f_next);
      worst = std::max({worst, xt::amax(xt::abs(step.dc - cells[t - 1].c.grad()))(),
                        xt::amax(xt::abs(step.dx - xs[t - 1].grad()))()});
      fmt::print("  t={}  dL/dc_t {}  dL/dx_t {}\n", t, vec(step.dc), vec(step.dx));
      dh = step.dh_prev;
      dc_next = step.dc;
      f_next = cells[t - 1].f.value();
    }
    fmt::print("  largest difference from the tape: {:.1e}\n", worst);
    lesson.check(fmt::format("dL/dc_t and dL/dx_t by hand equal the tape's for t = {}…1", T), worst, 0, 1e-12);
  } catch (const tg::NotYetWritten&) {  // exercise mode: this step runs every link of step 6
    lesson.check("BPTT by hand: needs every link of step 6 written", INFINITY, 0, 0);
  }

  // Step 8: the same sizes over 30 steps. A tanh RNN's only way back is
  //   dh_{t−1} = (dh_t ⊙ (1 − h_t²)) U        a matrix and a squashing derivative per step;
  // the LSTM's cell state also has dc_{t−1} = dc_t ⊙ f_t: no matrix, no tanh', just f.
  // Gers et al. (2000) and Jozefowicz et al. (2015) start f near 1 by raising its bias; the
  // third run does that (+2).
  lesson.step(fmt::format("vanishing gradients: tanh RNN vs LSTM over T = {}", T_LONG));
  const std::vector<Tensor> long_xs = make_inputs(T_LONG, rng);
  const double bound = 1 / std::sqrt(double(H));  // nn.RNN's init, as nn.LSTM's
  const Tensor W(tg::uniform_init<double>({H, E}, bound, rng), true, "W"),
      U(tg::uniform_init<double>({H, H}, bound, rng), true, "U"),
      b(tg::uniform_init<double>({H}, bound, rng), true, "b");
  const std::vector<double> rnn = rnn_input_gradients(W, U, b, long_xs, r);
  Array<double> raised_bias = w.bias_ih.value();
  xt::view(raised_bias, xt::range(H, 2 * H)) += 2.0;
  const Weights raised{w.weight_ih, w.weight_hh, Tensor(raised_bias, true, "bias_ih_l0 (f block +2)"), w.bias_hh};
  const Profile lp = lstm_profile(w, long_xs, r), lr = lstm_profile(raised, long_xs, r);
  fmt::print("       tanh RNN  | LSTM as initialised (f ≈ {:.2f})      | LSTM, forget bias +2 (f ≈ {:.2f})\n",
             std::pow(lp.forget_mean[0], 1.0 / (T_LONG - 1)), std::pow(lr.forget_mean[0], 1.0 / (T_LONG - 1)));
  fmt::print("   t | ‖dL/dx_t‖ | ‖dL/dx_t‖ ‖dL/dc_t‖  mean Π f    | ‖dL/dx_t‖ ‖dL/dc_t‖  mean Π f\n");
  for (std::size_t t = T_LONG; t >= 1; --t)  // the last five steps, then every fifth: a screenful
    if (t + 5 > T_LONG || t % 5 == 0 || t == 1)
      fmt::print("  {:>2} | {:9.2e} | {:9.2e} {:9.2e} {:9.2e}    | {:9.2e} {:9.2e} {:9.2e}\n", t, rnn[t - 1],
                 lp.dx[t - 1], lp.dc[t - 1], lp.forget_mean[t - 1], lr.dx[t - 1], lr.dc[t - 1],
                 lr.forget_mean[t - 1]);

  // Step 9: the table in two numbers per model: the share of the gradient that reaches x_1,
  // and the average factor per step back, (‖dL/dx_1‖ / ‖dL/dx_T‖)^(1/(T−1)).
  lesson.step("how fast each one fades");
  auto per_step = [](const std::vector<double>& d) { return std::pow(d.front() / d.back(), 1.0 / (d.size() - 1)); };
  fmt::print("  ‖dL/dx_1‖ / ‖dL/dx_{}‖:  RNN {:.1e}   LSTM {:.1e}   LSTM forget bias +2 {:.1e}\n", T_LONG,
             rnn.front() / rnn.back(), lp.dx.front() / lp.dx.back(), lr.dx.front() / lr.dx.back());
  fmt::print("  per step back, on average:  RNN ×{:.3f}   LSTM ×{:.3f}   LSTM forget bias +2 ×{:.3f}\n",
             per_step(rnn), per_step(lp.dx), per_step(lr.dx));
  fmt::print("  The RNN's gradient is a product of {} Jacobians diag(1 − h_t²) U, each shrinking it.\n"
             "  The LSTM's cell gradient fades like Π f, which the network itself sets through its\n"
             "  forget gate; and it fades slower still, since the path through h feeds the cell at\n"
             "  every step (with bias +2: ‖dL/dc_1‖ = {:.2f} while mean Π f = {:.2f}).\n",
             T_LONG - 1, lr.dc.front(), lr.forget_mean.front());
  lesson.check("the RNN passes x_1 under 1% of the gradient share the LSTM passes",
               (rnn.front() / rnn.back()) / (lp.dx.front() / lp.dx.back()), 0, 0.01);
  lesson.check("forget bias +2 brings x_1 over 100× the gradient of the default init",
               lp.dx.front() / lr.dx.front(), 0, 0.01);

  // --dot: one cell step, from leaves holding h_{T−1}, c_{T−1}, to the loss.
  {
    tg::Tape<double> dot_tape;
    const Tensor step_loss = readout(lstm_cell(w, xs[T - 1], h_prev, c_prev, T).h, r);
    dot_tape.backward(step_loss);
    lesson.write_dot(step_loss);
  }
  return lesson.finish();
}
