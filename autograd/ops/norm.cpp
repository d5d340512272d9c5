// Normalisation ops. layer_norm is one op with a hand-written backward rather than a
// composition of mean, sub, mul and rsqrt: fused, it keeps one (…,N) value on the tape
// instead of seven, and its gradient is a clear three-term formula (derived below).
#include <cmath>

#include "autograd/ops/detail.hpp"

namespace tg {

// layer_norm: per row v of x (its last axis, N features), as PyTorch's F.layer_norm:
//   μ = Σ v / N       σ² = Σ (v − μ)² / N  (biased)       r = 1 / √(σ² + eps)
//   x̂ = (v − μ) · r    result = x̂ ⊙ weight + bias          weight, bias (N)
//
// Backward, per row, with dx̂ = grad ⊙ weight (llm.c's doc/layernorm):
//   dweight += Σ_rows grad ⊙ x̂      dbias += Σ_rows grad
//   dx      += r · (dx̂ − mean(dx̂) − x̂ ⊙ mean(dx̂ ⊙ x̂))
// In the forward pass σ² = (1/N) Σ_k (v_k − μ)², so ∂σ²/∂v_j = 2(v_j − μ)/N (the term
// through μ vanishes: Σ_k (v_k − μ) = 0), and r = (σ² + eps)^(−½) gives
// ∂r/∂v_j = −½ r³ · 2(v_j − μ)/N = −r² x̂_j / N. Then x̂_i = (v_i − μ) r gives
//   ∂x̂_i/∂v_j = r (δ_ij − 1/N) + (v_i − μ) ∂r/∂v_j = r (δ_ij − 1/N − x̂_i x̂_j / N),
// and dv_j = Σ_i dx̂_i ∂x̂_i/∂v_j is the line above. Only μ and r are kept per row:
// the backward recomputes x̂ from x, which the tape holds anyway.
template <class T>
Tensor<T> layer_norm(const Tensor<T>& x, const Tensor<T>& weight, const Tensor<T>& bias, T eps) {
  const std::size_t N = x.dim() ? x.shape().back() : 0;
  if (N == 0 || weight.dim() != 1 || bias.dim() != 1 || weight.shape()[0] != N || bias.shape()[0] != N)
    throw Error(fmt::format("layer_norm: x {} with weight {} and bias {}", shape_str(x.shape()),
                            shape_str(weight.shape()), shape_str(bias.shape())));
  if (!(eps >= T(0))) throw Error(fmt::format("layer_norm: eps = {} is negative", eps));
  const std::size_t rows = x.size() / N;
  Array<T> mean = Array<T>::from_shape({rows}), rstd = Array<T>::from_shape({rows});
  Array<T> r = xt::empty<T>(x.shape());
  const T *v = x.value().data(), *w = weight.value().data(), *b = bias.value().data();
  for (std::size_t i = 0; i < rows; ++i, v += N) {
    T mu = 0, var = 0;
    for (std::size_t k = 0; k < N; ++k) mu += v[k];
    mu /= T(N);
    for (std::size_t k = 0; k < N; ++k) var += (v[k] - mu) * (v[k] - mu);
    const T s = T(1) / std::sqrt(var / T(N) + eps);
    T* out = r.data() + i * N;
    for (std::size_t k = 0; k < N; ++k) out[k] = (v[k] - mu) * s * w[k] + b[k];
    mean(i) = mu;
    rstd(i) = s;
  }
  return record<T>("layer_norm", std::move(r), {x, weight, bias},
                   [N, rows, mean, rstd](const BackwardContext<T>& c) {
    Array<T> dx = xt::empty<T>(c.input(0).shape());
    Array<T> dweight = xt::zeros<T>({N}), dbias = xt::zeros<T>({N});
    std::vector<T> xhat(N), dxhat(N);
    const T *g = c.grad().data(), *v = c.input(0).data(), *w = c.input(1).data();
    for (std::size_t i = 0; i < rows; ++i, g += N, v += N) {
      T mean_dxhat = 0, mean_dxhat_xhat = 0;
      for (std::size_t k = 0; k < N; ++k) {
        xhat[k] = (v[k] - mean(i)) * rstd(i);
        dxhat[k] = g[k] * w[k];
        dweight(k) += g[k] * xhat[k];
        dbias(k) += g[k];
        mean_dxhat += dxhat[k];
        mean_dxhat_xhat += dxhat[k] * xhat[k];
      }
      mean_dxhat /= T(N);
      mean_dxhat_xhat /= T(N);
      T* d = dx.data() + i * N;
      for (std::size_t k = 0; k < N; ++k) d[k] = rstd(i) * (dxhat[k] - mean_dxhat - xhat[k] * mean_dxhat_xhat);
    }
    c.accumulate(0, std::move(dx));
    c.accumulate(1, std::move(dweight));
    c.accumulate(2, std::move(dbias));
  });
}

#define TG_INSTANTIATE(T) \
  template Tensor<T> layer_norm(const Tensor<T>&, const Tensor<T>&, const Tensor<T>&, T);
TG_FOR_FLOAT_AND_DOUBLE(TG_INSTANTIATE)

}  // namespace tg
