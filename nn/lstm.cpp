// LSTM layer (see lstm.hpp): the recurrence composed from matmul, slice, sigmoid, tanh
// and where; the tape differentiates it like any other graph. The reference schedule
// (run_masked) comes first; the fast path (the packed schedule, the kept transposes)
// follows forward(), after the line "The fast path".
#include "nn/lstm.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>
#include <memory>
#include <numeric>
#include <tuple>
#include <type_traits>
#include <vector>

#include <fmt/format.h>
#include <xtensor/xadapt.hpp>
#include <xtensor/xmath.hpp>
#include <xtensor/xview.hpp>
#include <xsimd/xsimd.hpp>

#include "autograd/fast/gemm.hpp"
#include "autograd/fast/kernels.hpp"
#include "nn/init.hpp"

namespace tg {

// The reference schedule: the equations of lstm.hpp as written, every row at every step.
template <class T>
typename LSTM<T>::Run LSTM<T>::run_masked(const LSTMWeights<T>& w, const Tensor<T>& x, const Mask& mask,
                                          bool reverse) const {
  const std::size_t B = x.shape()[0], steps = x.shape()[1], E = input_size, H = hidden_size;
  // The input half of z for every step at once: one (B·T,E)·(E,4H) gemm, both biases added here.
  const Tensor<T> x_proj = reshape(matmul(reshape(x, {B * steps, E}), transpose(w.weight_ih)) + (w.bias_ih + w.bias_hh),
                                   {B, steps, 4 * H});
  const Tensor<T> w_hh_t = transpose(w.weight_hh);  // (H,4H)
  const Tensor<T> zero(Array<T>(T(0)));
  Tensor<T> h(Array<T>(xt::zeros<T>({B, H}))), c = h;
  std::vector<Tensor<T>> outputs(steps);
  for (std::size_t k = 0; k < steps; ++k) {
    const std::size_t t = reverse ? steps - 1 - k : k;
    const Mask real = xt::view(mask, xt::all(), xt::range(t, t + 1));  // (B,1)
    // z = x_t W_ihᵀ + b_ih + h W_hhᵀ + b_hh: all four gates in one gemm
    const Tensor<T> z = select(x_proj, 1, t) + matmul(h, w_hh_t);
    // i = σ(z₀)  f = σ(z₁)  ĝ = tanh(z₂)  o = σ(z₃)
    const Tensor<T> i = sigmoid(slice(z, 1, 0, H)), f = sigmoid(slice(z, 1, H, 2 * H));
    const Tensor<T> g = tanh(slice(z, 1, 2 * H, 3 * H)), o = sigmoid(slice(z, 1, 3 * H, 4 * H));
    // c' = f ⊙ c + i ⊙ ĝ      h' = o ⊙ tanh(c')
    const Tensor<T> c_next = f * c + i * g;
    const Tensor<T> h_next = o * tanh(c_next);
    // Padding: (h, c) carried unchanged, the output exactly 0.
    c = tg::where(real, c_next, c);  // tg::, or ADL on Mask finds xt::where
    h = tg::where(real, h_next, h);
    outputs[t] = tg::where(real, h_next, zero);
  }
  return {stack(outputs, 1), h, c};
}

template <class T>
LSTMOutput<T> LSTM<T>::forward(const Tensor<T>& x, const Mask& mask) const {
  if (x.dim() != 3 || x.shape()[2] != input_size || x.shape()[0] == 0 || x.shape()[1] == 0)
    throw Error(fmt::format("LSTM({}, {}): input {} is not (B,T,{}) with B, T ≥ 1", input_size, hidden_size,
                            shape_str(x.shape()), input_size));
  if (mask.dimension() != 2 || mask.shape()[0] != x.shape()[0] || mask.shape()[1] != x.shape()[1])
    throw Error(fmt::format("LSTM({}, {}): mask {} does not match input {}", input_size, hidden_size,
                            shape_str(mask.shape()), shape_str(x.shape())));
  // The fast path (below) when the mask allows it; it gives the reference's values and gradients.
  // Anomaly mode (Tape::check_finite) runs the reference: its ops name the first value to
  // overflow, which the fused recurrence keeps inside (σ and tanh saturate at ±∞).
  const Tape<T>* tape = active_tape<T>();
  const bool fast = packed && !(tape && tape->check_finite);
  std::optional<PackedLayout> layout = fast ? packed_layout(mask) : std::nullopt;
  if (layout && layout->offset.back() == 0) layout.reset();  // nothing real: the masked schedule gives zeros
  auto run = [&](const LSTMWeights<T>& w, bool reverse) {
    return layout ? run_packed(w, x, *layout, reverse) : run_masked(w, x, mask, reverse);
  };
  const Run fwd = run(forward_weights, false);
  if (!bidirectional) return {fwd.states, stack<T>({fwd.h}, 0), stack<T>({fwd.c}, 0)};
  const Run rev = run(reverse_weights, true);
  return {concat<T>({fwd.states, rev.states}, 2), stack<T>({fwd.h, rev.h}, 0), stack<T>({fwd.c, rev.c}, 0)};
}

template <class T>
LSTMOutput<T> LSTM<T>::forward(const Tensor<T>& x, const Ids& lengths) const {
  if (x.dim() != 3 || lengths.dimension() != 1 || lengths.size() != x.shape()[0])
    throw Error(fmt::format("LSTM({}, {}): lengths {} do not match input {}", input_size, hidden_size,
                            shape_str(lengths.shape()), shape_str(x.shape())));
  return forward(x, sequence_mask(lengths, x.shape()[1]));
}

template <class T>
LSTM<T>::LSTM(std::size_t input, std::size_t hidden, std::mt19937_64& rng, bool bi)
    : input_size(input), hidden_size(hidden), bidirectional(bi) {
  if (input == 0 || hidden == 0) throw Error(fmt::format("LSTM({}, {}): sizes must be positive", input, hidden));
  forward_weights = make_weights("", rng);
  if (bidirectional) reverse_weights = make_weights("_reverse", rng);
}

// Registered in PyTorch's state_dict order, so named_parameters() lists them as it does.
template <class T>
LSTMWeights<T> LSTM<T>::make_weights(const std::string& suffix, std::mt19937_64& rng) {
  const double bound = 1.0 / std::sqrt(static_cast<double>(hidden_size));
  const std::size_t E = input_size, H = hidden_size;
  LSTMWeights<T> w;
  w.weight_ih = this->register_parameter("weight_ih_l0" + suffix, uniform_init<T>({4 * H, E}, bound, rng));
  w.weight_hh = this->register_parameter("weight_hh_l0" + suffix, uniform_init<T>({4 * H, H}, bound, rng));
  w.bias_ih = this->register_parameter("bias_ih_l0" + suffix, uniform_init<T>({4 * H}, bound, rng));
  w.bias_hh = this->register_parameter("bias_hh_l0" + suffix, uniform_init<T>({4 * H}, bound, rng));
  return w;
}

Mask sequence_mask(const Ids& lengths, std::size_t steps) {
  if (lengths.dimension() != 1)
    throw Error("sequence_mask: lengths must be 1-D, got " + shape_str(lengths.shape()));
  Mask mask = xt::zeros<bool>({lengths.size(), steps});
  for (std::size_t b = 0; b < lengths.size(); ++b) {
    if (lengths(b) < 0 || static_cast<std::size_t>(lengths(b)) > steps)
      throw Error(fmt::format("sequence_mask: length {} of sequence {} is not in [0,{}]", lengths(b), b, steps));
    for (std::size_t t = 0; t < static_cast<std::size_t>(lengths(b)); ++t) mask(b, t) = true;
  }
  return mask;
}

// ==== The fast path ============================================================
// The packed schedule and the kept weight panels (lstm.hpp). Same equations, run as
// one op over all steps (Note [Fused LSTM recurrence]).
// tests/test_lstm.cpp checks it against run_masked in value and gradient.

std::optional<PackedLayout> packed_layout(const Mask& mask) {
  const std::size_t B = mask.shape()[0], steps = mask.shape()[1];
  std::vector<std::size_t> lengths(B);
  for (std::size_t b = 0; b < B; ++b) {
    while (lengths[b] < steps && mask(b, lengths[b])) ++lengths[b];
    for (std::size_t t = lengths[b]; t < steps; ++t)
      if (mask(b, t)) return std::nullopt;  // a hole: only the masked schedule handles it
  }
  std::vector<std::size_t> order(B);  // sorted row → batch row, longest first
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](auto a, auto b) { return lengths[a] > lengths[b]; });
  PackedLayout p{B, steps, std::vector<std::size_t>(steps), {0}, {}, xt::zeros<std::int64_t>({B, steps}),
                 xt::zeros<std::int64_t>({B}), xt::zeros<std::int64_t>({B})};
  std::vector<std::int64_t> source;
  for (std::size_t t = 0; t < steps; ++t) {
    while (p.active[t] < B && lengths[order[p.active[t]]] > t) {
      const std::size_t b = order[p.active[t]++];
      p.unpack(b, t) = static_cast<std::int64_t>(source.size()) + 1;
      if (t == 0) p.first(b) = p.unpack(b, t);
      if (t + 1 == lengths[b]) p.last(b) = p.unpack(b, t);
      source.push_back(static_cast<std::int64_t>(b * steps + t));
    }
    p.offset.push_back(source.size());
  }
  p.source = xt::adapt(source, {source.size()});
  return p;
}

template <class T>
Tensor<T> first_rows(const Tensor<T>& state, std::size_t n) {
  const std::size_t rows = state.shape()[0];
  if (n == rows) return state;
  if (n < rows) return slice(state, 0, 0, n);
  return concat<T>({state, Tensor<T>(Array<T>(xt::zeros<T>({n - rows, state.shape()[1]})))}, 0);
}
template Tensor<float> first_rows(const Tensor<float>&, std::size_t);
template Tensor<double> first_rows(const Tensor<double>&, std::size_t);

// Note [Fused LSTM recurrence]
// ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
// The packed schedule's whole layer as one recorded op, "lstm_recurrence": given the
// packed input rows x (N,E), W_ih (4H,E), the biases b_ih and b_hh (4H; b is their sum,
// made inside) and W_hh (4H,H), it computes the input half of z for every row at once,
// z = x W_ihᵀ (one gemm), into one (N,4H) buffer, runs the steps of lstm.hpp's equations
// in place there, and writes each step's h and c straight into packed buffers — no
// per-step op, slice or copy.
// Rows of step t are offset[t] … offset[t]+active[t]; its first m rows continue the
// sequences of the step before (m = that step's active count, at most active[t]; the rest
// start from h = c = 0). Per step, with zₖ the columns kH..(k+1)H of z:
//   z += h_prev · W_hhᵀ   (first m rows; W_hhᵀ as panels, Note [Transposed weights])
//   then row by row, in one pass (lstm_cell_row): z += b,
//   i = σ(z₀)  f = σ(z₁)  ĝ = tanh(z₂)  o = σ(z₃)    c' = f ⊙ c + i ⊙ ĝ    h' = o ⊙ tanh c'
// Backward runs the steps the other way. dh' and dc' are the output's gradient at the
// step's rows plus what the next step sent back; then
//   dc' += dh' ⊙ o ⊙ (1 − tanh² c')
//   dz₀ = dc' ⊙ ĝ ⊙ i(1 − i)   dz₁ = dc' ⊙ c ⊙ f(1 − f)   dz₂ = dc' ⊙ i ⊙ (1 − ĝ²)
//   dz₃ = dh' ⊙ tanh c' ⊙ o(1 − o)
//   sent back to the step before (first m rows):  dc = dc' ⊙ f,  dh = dz · W_hh
// and after the loop, once for all steps: dx = dz W_ih, dW_ih = dzᵀ x, db = Σ_rows dz,
// dW_hh = dzᵀ H_prev (H_prev: each row's h before its step, 0 for a sequence's first).
// The result is (2(1+N), H): 1+N rows of h, then 1+N of c, the first of each zero
// (padding reads it). tests/test_lstm.cpp checks the packed schedule against run_masked
// in value and gradient, and by central differences.
namespace {
// The row functions below run f(j, V{}) for each whole SIMD batch V of columns from j,
// then f(j, T{}) for the last H mod V::size columns one at a time; load_at and store_at
// read and write either a batch (U = V) or one value (U = T) at p, unaligned (not
// xsimd's load and store, which ADL would find for a batch: they want aligned memory).
template <class T, class F>
void for_columns(std::size_t H, F f) {
  using V = xsimd::batch<T>;
  std::size_t j = 0;
  for (; j + V::size <= H; j += V::size) f(j, V{});
  for (; j < H; ++j) f(j, T{});
}
template <class U, class T>
U load_at(const T* p) {
  if constexpr (std::is_same_v<U, T>) return *p; else return U::load_unaligned(p);
}
template <class U, class T>
void store_at(T* p, U v) {
  if constexpr (std::is_same_v<U, T>) *p = v; else v.store_unaligned(p);
}

// One row of a step, after z's gemms: the bias b added, then
//   i = σ(z₀)  f = σ(z₁)  ĝ = tanh(z₂)  o = σ(z₃)    c' = f ⊙ c + i ⊙ ĝ    h' = o ⊙ tanh c'
// in one pass over the row (c = 0 when c_prev is null: the sequence's first step). i, f, ĝ,
// o replace z in place, for backward.
template <class T>
void lstm_cell_row(T* z, const T* b, const T* c_prev, T* c, T* tanh_c, T* h, std::size_t H) {
  for_columns<T>(H, [&](std::size_t j, auto width) {
    using U = decltype(width);
    using std::exp, std::tanh;  // for T; ADL finds xsimd's for V
    const auto gate = [&](std::size_t k) { return load_at<U>(z + k * H + j) + load_at<U>(b + k * H + j); };
    const auto sigmoid = [](U v) { return U(1) / (U(1) + exp(-v)); };
    const U i = sigmoid(gate(0)), f = sigmoid(gate(1)), g = tanh(gate(2)), o = sigmoid(gate(3));
    const U c_next = c_prev ? f * load_at<U>(c_prev + j) + i * g : i * g, t = tanh(c_next);
    store_at(z + j, i), store_at(z + H + j, f), store_at(z + 2 * H + j, g), store_at(z + 3 * H + j, o);
    store_at(c + j, c_next), store_at(tanh_c + j, t), store_at(h + j, o * t);
  });
}

// One row of a step's backward, the Note's equations in one pass: dh' and dc' are the
// output's gradient (dh_out, dc_out) plus, when `sent`, what the next step sent back in dh
// and dc; dz is written, and dc = dc' ⊙ f over dc for the step before (dz₁ = 0 when
// c_prev is null: the sequence's first step).
template <class T>
void lstm_cell_row_backward(const T* gates, const T* tanh_c, const T* c_prev, const T* dh_out, const T* dc_out,
                            bool sent, const T* dh, T* dc, T* dz, std::size_t H) {
  for_columns<T>(H, [&](std::size_t j, auto width) {
    using U = decltype(width);
    const U one(1), i = load_at<U>(gates + j), f = load_at<U>(gates + H + j), g = load_at<U>(gates + 2 * H + j),
                o = load_at<U>(gates + 3 * H + j), t = load_at<U>(tanh_c + j);
    const U dh_j = sent ? load_at<U>(dh_out + j) + load_at<U>(dh + j) : load_at<U>(dh_out + j);
    const U dc_in = sent ? load_at<U>(dc_out + j) + load_at<U>(dc + j) : load_at<U>(dc_out + j);
    const U dc_j = dc_in + dh_j * o * (one - t * t);
    store_at(dz + j, dc_j * g * (i * (one - i)));
    store_at(dz + H + j, c_prev ? dc_j * load_at<U>(c_prev + j) * (f * (one - f)) : U(0));
    store_at(dz + 2 * H + j, dc_j * i * (one - g * g));
    store_at(dz + 3 * H + j, dh_j * t * (o * (one - o)));
    store_at(dc + j, dc_j * f);
  });
}

// w_ih_t and w_hh_t, when given, are W_ihᵀ and W_hhᵀ kept by evaluation as panels (Note
// [Transposed weights]); otherwise the input product reads W_ih and the steps W_hhᵀ made
// here. The op's inputs, and so its gradients, are the same either way.
template <class T>
Tensor<T> lstm_recurrence(const Tensor<T>& x, const Tensor<T>& w_ih, const fast::Panels<T>* w_ih_t,
                          const Tensor<T>& b_ih, const Tensor<T>& b_hh, const Tensor<T>& w_hh,
                          const fast::Panels<T>* w_hh_t, const PackedLayout& p, bool reverse) {
  const std::size_t N = x.shape()[0], E = x.shape()[1], G = w_ih.shape()[0], H = G / 4;
  // The steps in the order the recurrence visits them, each with its rows.
  struct Step {
    std::size_t row, n;   // its rows: row … row + n − 1
    std::size_t prev, m;  // the step before's first row, and how many of its sequences continue here
  };
  std::vector<Step> order;
  for (std::size_t k = 0; k < p.steps; ++k) {
    const std::size_t t = reverse ? p.steps - 1 - k : k, n = p.active[t];
    if (n == 0) continue;
    order.push_back(order.empty() ? Step{p.offset[t], n, 0, 0}
                                  : Step{p.offset[t], n, order.back().row, std::min(n, order.back().n)});
  }

  auto gates = std::make_shared<Array<T>>(Array<T>::from_shape({N, G}));  // z, then i, f, ĝ, o
  if (w_ih_t)
    fast::gemm(x.value().data(), E, *w_ih_t, gates->data(), N, T(0));
  else
    fast::gemm(x.value().data(), E, false, w_ih.value().data(), E, true, gates->data(), N, G, E, T(0));
  const fast::Panels<T> made = w_hh_t ? fast::Panels<T>() : fast::to_panels(w_hh.value().data(), H, true, H, G);
  const fast::Panels<T>& step_weights = w_hh_t ? *w_hh_t : made;  // W_hhᵀ (H,4H)
  auto tanh_c = std::make_shared<Array<T>>(Array<T>::from_shape({N, H}));  // tanh c' per row
  Array<T> out = Array<T>::from_shape({2 * (N + 1), H});  // every row but the two padding rows is written below
  std::fill_n(out.data(), H, T(0));
  std::fill_n(out.data() + (N + 1) * H, H, T(0));
  T* const hs = out.data() + H;            // packed row r's h at hs + r·H
  T* const cs = out.data() + (N + 2) * H;  // and its c at cs + r·H
  const Array<T> bias = fast::zip_same(b_ih.value(), b_hh.value(), std::plus<T>());  // b = b_ih + b_hh
  const T* const b = bias.data();
  for (const auto& [row, n, prev_row, m] : order) {
    T* z = gates->data() + row * G;
    if (m > 0) fast::gemm(hs + prev_row * H, H, step_weights, z, m, T(1));
    for (std::size_t r = 0; r < n; ++r)
      lstm_cell_row(z + r * G, b, r < m ? cs + (prev_row + r) * H : nullptr, cs + (row + r) * H,
                    tanh_c->data() + (row + r) * H, hs + (row + r) * H, H);
  }

  return record<T>("lstm_recurrence", std::move(out), {x, w_ih, b_ih, b_hh, w_hh},
                   [gates, tanh_c, order, N, G, H](const BackwardContext<T>& ctx) {
    const T* const hs = ctx.result().data() + H;
    const T* const cs = ctx.result().data() + (N + 2) * H;
    const T* const dhs = ctx.grad().data() + H;
    const T* const dcs = ctx.grad().data() + (N + 2) * H;
    const Array<T>& w_hh = ctx.input(4);  // (4H,H): dz · W_hh reads it in place
    Array<T> dz = Array<T>::from_shape({N, G});
    Array<T> h_prev = xt::zeros<T>({N, H});
    std::size_t rows = 0;
    for (const Step& step : order) rows = std::max(rows, step.n);
    Array<T> dh_next = xt::zeros<T>({rows, H}), dc_next = xt::zeros<T>({rows, H});  // sent back by the next step
    std::size_t sent = 0;  // rows of dh_next, dc_next the next step filled
    for (auto step = order.rbegin(); step != order.rend(); ++step) {
      const auto [row, n, prev_row, m] = *step;
      for (std::size_t r = 0; r < n; ++r)
        lstm_cell_row_backward(gates->data() + (row + r) * G, tanh_c->data() + (row + r) * H,
                               r < m ? cs + (prev_row + r) * H : nullptr, dhs + (row + r) * H, dcs + (row + r) * H,
                               r < sent, dh_next.data() + r * H, dc_next.data() + r * H, dz.data() + (row + r) * G, H);
      if (m > 0) {  // dh = dz · W_hh for the rows that continue; h_prev for d W_hh
        fast::gemm(dz.data() + row * G, G, false, w_hh.data(), H, false, dh_next.data(), m, H, G, T(0));
        std::copy_n(hs + prev_row * H, m * H, h_prev.data() + row * H);
      }
      sent = m;
    }
    if (ctx.needs_grad(0)) fast::accumulate_product(ctx, 0, dz, false, ctx.input(1), false);
    if (ctx.needs_grad(1)) fast::accumulate_product(ctx, 1, dz, true, ctx.input(0), false);
    if (ctx.needs_grad(2) || ctx.needs_grad(3)) {  // d b_ih = d b_hh = Σ_rows dz
      Array<T> db = xt::zeros<T>({G});
      for (std::size_t r = 0; r < N; ++r)
        for (std::size_t j = 0; j < G; ++j) db.data()[j] += dz.data()[r * G + j];
      if (ctx.needs_grad(2)) ctx.accumulate(2, db);
      if (ctx.needs_grad(3)) ctx.accumulate(3, std::move(db));
    }
    if (ctx.needs_grad(4)) fast::accumulate_product(ctx, 4, dz, true, h_prev, false);  // d W_hh = dzᵀ H_prev
  });
}
}  // namespace

template <class T>
typename LSTM<T>::Run LSTM<T>::run_packed(const LSTMWeights<T>& w, const Tensor<T>& x, const PackedLayout& p,
                                          bool reverse) const {
  // The real positions' inputs, packed: (N,E), step by step in time order.
  const Tensor<T> x_rows = gather(x, p.source);  // x (B,T,E) read as (B·T,E) rows
  // Note [Fused LSTM recurrence]: (2(1+N), H), the packed h rows, then the packed c rows.
  Tensor<T> packed;
  if (active_tape<T>()) {  // recorded: the gradient reaches W_ih and W_hh
    packed = lstm_recurrence<T>(x_rows, w.weight_ih, nullptr, w.bias_ih, w.bias_hh, w.weight_hh, nullptr, p, reverse);
  } else {  // Note [Transposed weights]
    const auto w_ih_t = kept_transpose(w.weight_ih), w_hh_t = kept_transpose(w.weight_hh);
    packed = lstm_recurrence(x_rows, w.weight_ih, w_ih_t.get(), w.bias_ih, w.bias_hh, w.weight_hh, w_hh_t.get(), p,
                             reverse);
  }
  const Ids& final_rows = reverse ? p.first : p.last;
  const Ids final_c_rows = final_rows + std::int64_t(p.offset.back() + 1);
  return {gather(packed, p.unpack), gather(packed, final_rows), gather(packed, final_c_rows)};  // states (B,T,H)
}

template <class T>
std::shared_ptr<const fast::Panels<T>> LSTM<T>::kept_transpose(const Tensor<T>& weight) const {
  const std::lock_guard lock(kept_mutex_);
  auto kept = std::find_if(kept_.begin(), kept_.end(),
                           [&](const KeptTranspose& c) { return c.source == weight.node_ptr(); });
  if (kept == kept_.end()) kept = kept_.insert(kept_.end(), {weight.node_ptr(), {}, {}});
  const Array<T>& now = weight.value();
  const bool same = kept->panels && shapes_equal(kept->source_value.shape(), now.shape()) &&
                    std::memcmp(kept->source_value.data(), now.data(), now.size() * sizeof(T)) == 0;
  if (!same) {
    const std::size_t rows = now.shape()[0], cols = now.shape()[1];  // W (rows, cols): Wᵀ is (cols, rows)
    *kept = {weight.node_ptr(), now,
             std::make_shared<const fast::Panels<T>>(fast::to_panels(now.data(), cols, true, cols, rows))};
  }
  return kept->panels;
}

template class LSTM<float>;
template class LSTM<double>;

}  // namespace tg
