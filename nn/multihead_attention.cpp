// Multi-head self-attention (see multihead_attention.hpp).
#include "nn/multihead_attention.hpp"

#include <cmath>
#include <limits>

#include <fmt/format.h>

#include "nn/init.hpp"

namespace tg {

template <class T>
MultiheadAttention<T>::MultiheadAttention(std::size_t d, std::size_t h, std::mt19937_64& rng, double dropout)
    : out_proj(d, d, rng), d_model(d), heads(h), dropout_(dropout, rng()) {
  if (d == 0 || h == 0 || d % h != 0)
    throw Error(fmt::format("MultiheadAttention: {} heads do not divide the width {}", h, d));
  // Xavier-uniform over the (3d,d) stack, as PyTorch: bound √(6 / (fan_in + fan_out)).
  in_proj_weight = this->register_parameter("in_proj_weight",
                                            uniform_init<T>({3 * d, d}, std::sqrt(6.0 / double(4 * d)), rng));
  in_proj_bias = this->register_parameter("in_proj_bias", xt::zeros<T>({3 * d}));
  out_proj.bias.mutable_value().fill(T(0));
  this->register_module("out_proj", out_proj);
  this->register_module("dropout", dropout_);
}

template <class T>
AttentionOutput<T> MultiheadAttention<T>::forward(const Tensor<T>& x, const Mask& mask) const {
  if (x.dim() != 3 || x.shape()[2] != d_model || mask.dimension() != 2 || mask.shape()[0] != x.shape()[0] ||
      mask.shape()[1] != x.shape()[1])
    throw Error(fmt::format("MultiheadAttention(d={}): x {} and mask {} are not (B,T,{}) and (B,T)", d_model,
                            shape_str(x.shape()), shape_str(mask.shape()), d_model));
  const std::size_t B = x.shape()[0], steps = x.shape()[1], d = d_model, h = heads, dh = d / h;
  // [Q K V] for every position at once: one (B·T,d)·(d,3d) gemm.
  const Tensor<T> qkv = linear(reshape(x, {B * steps, d}), in_proj_weight, in_proj_bias);  // (B·T,3d)
  // Part p's columns (p = 0, 1, 2 for Q, K, V) split into heads: (B,T,h,d_h) → (B,h,T,d_h),
  // or (B,h,d_h,T) for Kᵀ, then one matrix per (sequence, head) for bmm.
  auto per_head = [&](std::size_t part, std::vector<std::size_t> order, Shape shape) {
    const Tensor<T> p = reshape(slice(qkv, 1, part * d, (part + 1) * d), {B, steps, h, dh});
    return reshape(transpose(p, std::move(order)), std::move(shape));
  };
  const Tensor<T> q = per_head(0, {0, 2, 1, 3}, {B * h, steps, dh}) * T(1 / std::sqrt(double(dh)));
  const Tensor<T> k_t = per_head(1, {0, 2, 3, 1}, {B * h, dh, steps});
  const Tensor<T> v = per_head(2, {0, 2, 1, 3}, {B * h, steps, dh});
  const Tensor<T> scores = reshape(bmm(q, k_t), {B, h, steps, steps});  // S_j = Q_j K_jᵀ / √d_h
  // −∞ at padded keys: softmax gives them exactly 0, and masked_fill passes them no gradient.
  Mask padded_keys = !mask;
  padded_keys.reshape({B, 1, 1, steps});
  const Tensor<T> weights =
      softmax(masked_fill(scores, padded_keys, -std::numeric_limits<T>::infinity()), 3);  // A (B,h,T,T)
  const Tensor<T> heads_out = bmm(reshape(dropout_.forward(weights), {B * h, steps, steps}), v);  // (B·h,T,d_h)
  // Heads side by side again: (B,h,T,d_h) → (B,T,h,d_h) → (B·T,d).
  const Tensor<T> o = reshape(transpose(reshape(heads_out, {B, h, steps, dh}), {0, 2, 1, 3}), {B * steps, d});
  return {reshape(out_proj.forward(o), {B, steps, d}), weights};
}

template class MultiheadAttention<float>;
template class MultiheadAttention<double>;

}  // namespace tg
