// LSTM layer (see lstm.hpp): the recurrence composed from matmul, slice, sigmoid, tanh
// and where; the tape differentiates it like any other graph. The reference schedule
// (run_masked) comes first; the fast path (the packed schedule, the kept transposes)
// follows forward(), after the line "The fast path".
#include "nn/lstm.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>
#include <numeric>
#include <tuple>

#include <fmt/format.h>
#include <xtensor/xadapt.hpp>
#include <xtensor/xmath.hpp>
#include <xtensor/xnoalias.hpp>
#include <xtensor/xview.hpp>

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
  std::optional<PackedLayout> layout = packed ? packed_layout(mask) : std::nullopt;
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
// The packed schedule and the kept transposed weights (lstm.hpp). Same equations; the
// step's pointwise half is two fused ops (Note [Fused LSTM step]), the rest generic ops.
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
  PackedLayout p{B, steps, std::vector<std::size_t>(steps), {0}, {}, xt::zeros<std::int64_t>({B * steps}),
                 xt::zeros<std::int64_t>({B}), xt::zeros<std::int64_t>({B})};
  std::vector<std::int64_t> source;
  for (std::size_t t = 0; t < steps; ++t) {
    while (p.active[t] < B && lengths[order[p.active[t]]] > t) {
      const std::size_t b = order[p.active[t]++];
      p.unpack(b * steps + t) = static_cast<std::int64_t>(source.size()) + 1;
      if (t == 0) p.first(b) = p.unpack(b * steps);
      if (t + 1 == lengths[b]) p.last(b) = p.unpack(b * steps + t);
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

// Note [Fused LSTM step]
// ~~~~~~~~~~~~~~~~~~~~~~
// The packed schedule's pointwise half of a step, as two recorded ops instead of eleven
// (four slices of z, three sigmoids, two tanh, three products and a sum), with the same
// equations as run_masked (zₖ: the columns kH..(k+1)H of z):
//   i = σ(z₀)  f = σ(z₁)  ĝ = tanh(z₂)  o = σ(z₃)
//   c' = f ⊙ c + i ⊙ ĝ                 op "lstm_cell_state" (z, c)
//     dz₀ += dc' ⊙ ĝ ⊙ i(1 − i)   dz₁ += dc' ⊙ c ⊙ f(1 − f)   dz₂ += dc' ⊙ i ⊙ (1 − ĝ²)
//     dc  += dc' ⊙ f
//   h' = o ⊙ tanh c'                   op "lstm_cell_output" (z, c')
//     dz₃ += dh' ⊙ tanh c' ⊙ o(1 − o)   dc' += dh' ⊙ o ⊙ (1 − tanh² c')
// The gates are computed once, by the same xtensor functions as the reference (σ over all
// of z, then tanh over the ĝ block), and shared by both ops' backward. c undefined: c = 0.
// tests/test_lstm.cpp checks the packed schedule against run_masked in value and gradient.
namespace {
template <class T>
std::pair<Tensor<T>, Tensor<T>> lstm_step(const Tensor<T>& z, const Tensor<T>& c) {
  const std::size_t n = z.shape()[0], H = z.shape()[1] / 4, G = 4 * H;
  // The gates, row r at gates->data() + r·G: i, f, ĝ, o, each H wide.
  auto gates = std::make_shared<Array<T>>(Array<T>::from_shape({n, G}));
  xt::noalias(*gates) = T(1) / (T(1) + xt::exp(-z.value()));
  const fast::AxisRange g_block = fast::axis_range(z.shape(), 1, 2 * H, 3 * H);
  Array<T> candidate = Array<T>::from_shape({n, H});
  fast::copy_range_out(z.value().data(), candidate.data(), g_block);
  xt::noalias(candidate) = xt::tanh(candidate);
  fast::copy_range_in(gates->data(), candidate.data(), g_block);

  // c' = f ⊙ c + i ⊙ ĝ   (c undefined: c' = i ⊙ ĝ)
  const bool carried = c.defined();
  Array<T> c_value = Array<T>::from_shape({n, H});
  for (std::size_t r = 0; r < n; ++r) {
    const T* a = gates->data() + r * G;
    T* out = c_value.data() + r * H;
    for (std::size_t j = 0; j < H; ++j) out[j] = a[j] * a[2 * H + j];
    if (carried)
      for (std::size_t j = 0; j < H; ++j) out[j] += a[H + j] * c.value().data()[r * H + j];
  }
  const auto state_backward = [gates, n, H, G, carried](const BackwardContext<T>& ctx) {
    if (ctx.needs_grad(0)) {
      Array<T> dz = Array<T>::from_shape({n, G});
      for (std::size_t r = 0; r < n; ++r) {
        const T *a = gates->data() + r * G, *d = ctx.grad().data() + r * H;
        const T* prev = carried ? ctx.input(1).data() + r * H : nullptr;
        T* out = dz.data() + r * G;
        for (std::size_t j = 0; j < H; ++j) {
          const T i = a[j], f = a[H + j], g = a[2 * H + j];
          out[j] = d[j] * g * (i * (T(1) - i));
          out[H + j] = carried ? d[j] * prev[j] * (f * (T(1) - f)) : T(0);
          out[2 * H + j] = d[j] * i * (T(1) - g * g);
          out[3 * H + j] = T(0);  // o is lstm_cell_output's
        }
      }
      ctx.accumulate(0, std::move(dz));
    }
    if (carried && ctx.needs_grad(1)) {
      Array<T> dc = Array<T>::from_shape({n, H});
      for (std::size_t r = 0; r < n; ++r)
        for (std::size_t j = 0; j < H; ++j) dc.data()[r * H + j] = ctx.grad().data()[r * H + j] * gates->data()[r * G + H + j];
      ctx.accumulate(1, std::move(dc));
    }
  };
  const Tensor<T> c_next = carried ? record<T>("lstm_cell_state", std::move(c_value), {z, c}, state_backward)
                                   : record<T>("lstm_cell_state", std::move(c_value), {z}, state_backward);

  // h' = o ⊙ tanh c'
  auto tanh_c = std::make_shared<Array<T>>(xt::tanh(c_next.value()));
  Array<T> h_value = Array<T>::from_shape({n, H});
  for (std::size_t r = 0; r < n; ++r)
    for (std::size_t j = 0; j < H; ++j)
      h_value.data()[r * H + j] = gates->data()[r * G + 3 * H + j] * tanh_c->data()[r * H + j];
  const Tensor<T> h_next = record<T>("lstm_cell_output", std::move(h_value), {z, c_next},
                                     [gates, tanh_c, n, H, G](const BackwardContext<T>& ctx) {
    const bool to_z = ctx.needs_grad(0), to_c = ctx.needs_grad(1);
    Array<T> dz = to_z ? Array<T>(xt::zeros<T>({n, G})) : Array<T>();  // i, f, ĝ are lstm_cell_state's
    Array<T> dc = to_c ? Array<T>(Array<T>::from_shape({n, H})) : Array<T>();
    for (std::size_t r = 0; r < n; ++r) {
      const T *o = gates->data() + r * G + 3 * H, *t = tanh_c->data() + r * H, *d = ctx.grad().data() + r * H;
      for (std::size_t j = 0; j < H; ++j) {
        if (to_z) dz.data()[r * G + 3 * H + j] = d[j] * t[j] * (o[j] * (T(1) - o[j]));
        if (to_c) dc.data()[r * H + j] = d[j] * o[j] * (T(1) - t[j] * t[j]);
      }
    }
    if (to_z) ctx.accumulate(0, std::move(dz));
    if (to_c) ctx.accumulate(1, std::move(dc));
  });
  return {h_next, c_next};
}
}  // namespace

template <class T>
typename LSTM<T>::Run LSTM<T>::run_packed(const LSTMWeights<T>& w, const Tensor<T>& x, const PackedLayout& p,
                                          bool reverse) const {
  const std::size_t B = p.batch, steps = p.steps, E = input_size, H = hidden_size;
  // The input half of z for every real position at once: one (N,E)·(E,4H) gemm.
  const Tensor<T> x_rows = gather(reshape(x, {B * steps, E}), p.source), bias = w.bias_ih + w.bias_hh;
  const Tensor<T> x_proj = linear(x_rows, w.weight_ih, bias);
  const Tensor<T> w_hh_t = transposed(w.weight_hh);  // Note [Transposed weights]
  Tensor<T> h, c;  // the running sequences' state; undefined (zero) before the first step
  // Each step's states, in time order after a zero row: padded positions read row 0.
  const Tensor<T> zero_row(Array<T>(xt::zeros<T>({std::size_t(1), H})));
  std::vector<Tensor<T>> hs, cs;
  for (std::size_t k = 0; k < steps; ++k) {
    const std::size_t t = reverse ? steps - 1 - k : k, n = p.active[t];
    if (n == 0) continue;
    Tensor<T> z = slice(x_proj, 0, p.offset[t], p.offset[t + 1]);
    if (h.defined()) z = addmm(std::move(z), first_rows(h, n), w_hh_t);  // h = 0 adds nothing
    std::tie(h, c) = lstm_step(z, h.defined() ? first_rows(c, n) : Tensor<T>());  // Note [Fused LSTM step]
    hs.push_back(h);
    cs.push_back(c);
  }
  if (reverse) {  // packed rows go in time order
    std::reverse(hs.begin(), hs.end());
    std::reverse(cs.begin(), cs.end());
  }
  hs.insert(hs.begin(), zero_row);
  cs.insert(cs.begin(), zero_row);
  const Tensor<T> packed_h = concat(hs, 0), packed_c = concat(cs, 0);  // (1+N, H)
  const Ids& final_rows = reverse ? p.first : p.last;
  return {reshape(gather(packed_h, p.unpack), {B, steps, H}), gather(packed_h, final_rows),
          gather(packed_c, final_rows)};
}

template <class T>
Tensor<T> LSTM<T>::transposed(const Tensor<T>& weight) const {
  if (active_tape<T>()) return transpose(weight);  // recorded: the gradient flows back through it
  const std::lock_guard lock(transposed_mutex_);
  auto copy = std::find_if(transposed_.begin(), transposed_.end(),
                           [&](const TransposedCopy& c) { return c.source == weight.node_ptr(); });
  if (copy == transposed_.end()) copy = transposed_.insert(transposed_.end(), {weight.node_ptr(), {}, {}});
  const Array<T>& now = weight.value();
  const bool same = shapes_equal(copy->source_value.shape(), now.shape()) &&
                    std::memcmp(copy->source_value.data(), now.data(), now.size() * sizeof(T)) == 0;
  if (!same || !copy->value.defined()) *copy = {weight.node_ptr(), now, transpose(weight)};
  return copy->value;
}

template class LSTM<float>;
template class LSTM<double>;

}  // namespace tg
