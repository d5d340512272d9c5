// Attention, last-state and mean pooling (see pooling.hpp): each builds its weights α
// (B,T) and hands them to one weighted sum, s = Σ_t α_t h_t.
#include "nn/pooling.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include <fmt/format.h>

#include "nn/init.hpp"

namespace tg {

namespace {
template <class T>
void check_input(const char* layer, const Tensor<T>& states, const Mask& mask) {
  if (states.dim() != 3 || mask.dimension() != 2 || mask.shape()[0] != states.shape()[0] ||
      mask.shape()[1] != states.shape()[1])
    throw Error(fmt::format("{}: states {} and mask {} are not (B,T,D) and (B,T)", layer,
                            shape_str(states.shape()), shape_str(mask.shape())));
}

// s = Σ_t α_t h_t: states (B,T,D), alpha (B,T) → (B,D), as one (1,T)·(T,D) product per
// sequence (bmm) rather than a (B,T,D) temporary and a sum.
template <class T>
Tensor<T> weighted_sum(const Tensor<T>& states, const Tensor<T>& alpha) {
  const std::size_t B = states.shape()[0], steps = states.shape()[1], D = states.shape()[2];
  return reshape(bmm(reshape(alpha, {B, 1, steps}), states), {B, D});
}

// (B,T) one-hot at each row's last real position (first when `first`); all zero for a
// row with none. On right-padded input these are positions length−1 and 0.
template <class T>
Tensor<T> one_hot_at_end(const Mask& mask, bool first) {
  Array<T> alpha = xt::zeros<T>(mask.shape());
  const std::size_t steps = mask.shape()[1];
  for (std::size_t b = 0; b < mask.shape()[0]; ++b)
    for (std::size_t k = 0; k < steps; ++k) {
      const std::size_t t = first ? k : steps - 1 - k;
      if (mask(b, t)) {
        alpha(b, t) = T(1);
        break;
      }
    }
  return Tensor<T>(std::move(alpha));
}
}  // namespace

template <class T>
AttentionPooling<T>::AttentionPooling(std::size_t dim, std::mt19937_64& rng) : proj(dim, dim, rng) {
  this->register_module("proj", proj);
  context = this->register_parameter("context", uniform_init<T>({dim}, 1.0 / std::sqrt(double(dim)), rng));
}

template <class T>
Pooled<T> AttentionPooling<T>::forward(const Tensor<T>& states, const Mask& mask) const {
  check_input("AttentionPooling", states, mask);
  if (states.shape()[2] != proj.in_features)
    throw Error(fmt::format("AttentionPooling({}): states {} do not end in {}", proj.in_features,
                            shape_str(states.shape()), proj.in_features));
  const std::size_t B = states.shape()[0], steps = states.shape()[1], D = states.shape()[2];
  // u_t and e_t at the real positions only (a batch of tweets is about half padding): their
  // rows of the states, (N,D).
  const std::size_t n = std::count(mask.begin(), mask.end(), true);
  Ids real = Ids::from_shape({n}), unpack = Ids::from_shape({B, steps});  // position → 1 + its row, 0 at padding
  for (std::size_t i = 0, r = 0; i < B * steps; ++i) {
    if (mask.data()[i]) real.data()[r++] = std::int64_t(i);
    unpack.data()[i] = mask.data()[i] ? std::int64_t(r) : 0;
  }
  const bool padded = n < B * steps;
  const Tensor<T> rows = padded ? gather(states, real) : reshape(states, {B * steps, D});  // (N,D)
  const Tensor<T> u = tanh(proj.forward(rows));
  const Tensor<T> e = matmul(u, reshape(context, {D, 1}));                     // e_t = u_tᵀ u_w, (N,1)
  // Back to (B,T): −∞ at padding, which softmax turns into exactly 0 and masked_fill passes
  // no gradient.
  const auto scores = [&] {
    if (!padded) return reshape(e, {B, steps});
    const Tensor<T> zero(Array<T>(xt::zeros<T>({1, 1})));
    const Tensor<T> e_padded = reshape(gather(concat<T>({zero, e}, 0), unpack), {B, steps});
    return masked_fill(e_padded, !mask, -std::numeric_limits<T>::infinity());
  };
  const Tensor<T> alpha = softmax(scores(), 1);
  return {weighted_sum(states, alpha), alpha};
}

template <class T>
Pooled<T> LastStatePooling<T>::forward(const Tensor<T>& states, const Mask& mask) const {
  check_input("LastStatePooling", states, mask);
  const Tensor<T> last = one_hot_at_end<T>(mask, false);
  if (!bidirectional) return {weighted_sum(states, last), last};
  const std::size_t D = states.shape()[2], H = D / 2;
  if (D % 2 != 0)
    throw Error(fmt::format("LastStatePooling (bidirectional): states {} have an odd last axis",
                            shape_str(states.shape())));
  const Tensor<T> first = one_hot_at_end<T>(mask, true);
  const Tensor<T> pooled = concat<T>({weighted_sum(slice(states, 2, 0, H), last),
                                      weighted_sum(slice(states, 2, H, D), first)}, 1);
  return {pooled, last};
}

template <class T>
Pooled<T> MeanPooling<T>::forward(const Tensor<T>& states, const Mask& mask) const {
  check_input("MeanPooling", states, mask);
  Array<T> alpha = xt::zeros<T>(mask.shape());
  for (std::size_t b = 0; b < mask.shape()[0]; ++b) {
    std::size_t length = 0;
    for (std::size_t t = 0; t < mask.shape()[1]; ++t) length += mask(b, t);
    for (std::size_t t = 0; t < mask.shape()[1]; ++t)
      if (mask(b, t)) alpha(b, t) = T(1) / T(length);
  }
  const Tensor<T> a(std::move(alpha));
  return {weighted_sum(states, a), a};
}

template class AttentionPooling<float>;
template class AttentionPooling<double>;
template class LastStatePooling<float>;
template class LastStatePooling<double>;
template class MeanPooling<float>;
template class MeanPooling<double>;

}  // namespace tg
