// GRU layer (see gru.hpp): the recurrence composed from linear, slice, sigmoid, tanh and
// where; the tape differentiates it like any other graph. The schedules follow the LSTM's
// (nn/lstm.cpp) step for step.
#include "nn/gru.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>
#include <xtensor/xview.hpp>

#include "nn/init.hpp"

namespace tg {

template <class T>
GRU<T>::GRU(std::size_t input, std::size_t hidden, std::mt19937_64& rng, bool bi)
    : input_size(input), hidden_size(hidden), bidirectional(bi) {
  if (input == 0 || hidden == 0) throw Error(fmt::format("GRU({}, {}): sizes must be positive", input, hidden));
  forward_weights = make_weights("", rng);
  if (bidirectional) reverse_weights = make_weights("_reverse", rng);
}

// Registered in PyTorch's state_dict order, so named_parameters() lists them as it does.
template <class T>
GRUWeights<T> GRU<T>::make_weights(const std::string& suffix, std::mt19937_64& rng) {
  const double bound = 1.0 / std::sqrt(static_cast<double>(hidden_size));
  const std::size_t E = input_size, H = hidden_size;
  GRUWeights<T> w;
  w.weight_ih = this->register_parameter("weight_ih_l0" + suffix, uniform_init<T>({3 * H, E}, bound, rng));
  w.weight_hh = this->register_parameter("weight_hh_l0" + suffix, uniform_init<T>({3 * H, H}, bound, rng));
  w.bias_ih = this->register_parameter("bias_ih_l0" + suffix, uniform_init<T>({3 * H}, bound, rng));
  w.bias_hh = this->register_parameter("bias_hh_l0" + suffix, uniform_init<T>({3 * H}, bound, rng));
  return w;
}

template <class T>
Tensor<T> GRU<T>::step(const GRUWeights<T>& w, const Tensor<T>& a, const Tensor<T>& h) const {
  const std::size_t H = hidden_size;
  const Tensor<T> b = linear(h, w.weight_hh, w.bias_hh);  // (rows,3H)
  const Tensor<T> r = sigmoid(slice(a, 1, 0, H) + slice(b, 1, 0, H));
  const Tensor<T> z = sigmoid(slice(a, 1, H, 2 * H) + slice(b, 1, H, 2 * H));
  const Tensor<T> n = tanh(slice(a, 1, 2 * H, 3 * H) + r * slice(b, 1, 2 * H, 3 * H));
  return (1 - z) * n + z * h;
}

template <class T>
typename GRU<T>::Run GRU<T>::run_masked(const GRUWeights<T>& w, const Tensor<T>& x, const Mask& mask,
                                        bool reverse) const {
  const std::size_t B = x.shape()[0], steps = x.shape()[1], E = input_size, H = hidden_size;
  // The input half for every step at once: one (B·T,E)·(E,3H) gemm.
  const Tensor<T> a = reshape(linear(reshape(x, {B * steps, E}), w.weight_ih, w.bias_ih), {B, steps, 3 * H});
  const Tensor<T> zero(Array<T>(T(0)));
  Tensor<T> h(Array<T>(xt::zeros<T>({B, H})));
  std::vector<Tensor<T>> outputs(steps);
  for (std::size_t k = 0; k < steps; ++k) {
    const std::size_t t = reverse ? steps - 1 - k : k;
    const Mask real = xt::view(mask, xt::all(), xt::range(t, t + 1));  // (B,1)
    const Tensor<T> h_next = step(w, select(a, 1, t), h);
    h = tg::where(real, h_next, h);  // tg::, or ADL on Mask finds xt::where
    outputs[t] = tg::where(real, h_next, zero);
  }
  return {stack(outputs, 1), h};
}

template <class T>
typename GRU<T>::Run GRU<T>::run_packed(const GRUWeights<T>& w, const Tensor<T>& x, const PackedLayout& p,
                                        bool reverse) const {
  const std::size_t steps = p.steps, H = hidden_size;
  // The input half for every real position at once: one (N,E)·(E,3H) gemm.
  const Tensor<T> a = linear(gather(x, p.source), w.weight_ih, w.bias_ih);  // x (B,T,E) read as (B·T,E) rows
  Tensor<T> h;  // the running sequences' state; undefined before the first step
  std::vector<Tensor<T>> hs;
  for (std::size_t k = 0; k < steps; ++k) {
    const std::size_t t = reverse ? steps - 1 - k : k, n = p.active[t];
    if (n == 0) continue;
    const Tensor<T> h_prev = h.defined() ? first_rows(h, n) : Tensor<T>(Array<T>(xt::zeros<T>({n, H})));
    h = step(w, slice(a, 0, p.offset[t], p.offset[t + 1]), h_prev);
    hs.push_back(h);
  }
  if (reverse) std::reverse(hs.begin(), hs.end());  // packed rows go in time order
  // Padded positions read row 0, a row of zeros.
  hs.insert(hs.begin(), Tensor<T>(Array<T>(xt::zeros<T>({std::size_t(1), H}))));
  const Tensor<T> packed_h = concat(hs, 0);  // (1+N, H)
  return {gather(packed_h, p.unpack), gather(packed_h, reverse ? p.first : p.last)};  // states (B,T,H)
}

template <class T>
GRUOutput<T> GRU<T>::forward(const Tensor<T>& x, const Mask& mask) const {
  if (x.dim() != 3 || x.shape()[2] != input_size || x.shape()[0] == 0 || x.shape()[1] == 0)
    throw Error(fmt::format("GRU({}, {}): input {} is not (B,T,{}) with B, T ≥ 1", input_size, hidden_size,
                            shape_str(x.shape()), input_size));
  if (mask.dimension() != 2 || mask.shape()[0] != x.shape()[0] || mask.shape()[1] != x.shape()[1])
    throw Error(fmt::format("GRU({}, {}): mask {} does not match input {}", input_size, hidden_size,
                            shape_str(mask.shape()), shape_str(x.shape())));
  std::optional<PackedLayout> layout = packed ? packed_layout(mask) : std::nullopt;
  if (layout && layout->offset.back() == 0) layout.reset();  // nothing real: the masked schedule gives zeros
  auto run = [&](const GRUWeights<T>& w, bool reverse) {
    return layout ? run_packed(w, x, *layout, reverse) : run_masked(w, x, mask, reverse);
  };
  const Run fwd = run(forward_weights, false);
  if (!bidirectional) return {fwd.states, stack<T>({fwd.h}, 0)};
  const Run rev = run(reverse_weights, true);
  return {concat<T>({fwd.states, rev.states}, 2), stack<T>({fwd.h, rev.h}, 0)};
}

template class GRU<float>;
template class GRU<double>;

}  // namespace tg
