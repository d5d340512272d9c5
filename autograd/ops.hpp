// Every generic op of the engine. Each is defined in autograd/ops/<family>.cpp with
// its forward and backward side by side and the gradient formula above it, and is
// instantiated for float and double (Note [Two scalar types] in tensor.hpp).
// Shape errors throw tg::Error naming the op and the shapes, e.g. "matmul: (3,4) · (5,2)".
#pragma once
#include <cstdint>
#include <random>
#include <type_traits>

#include "autograd/tape.hpp"

namespace tg {

// ---- elementwise, with NumPy broadcasting (ops/elementwise.cpp) ----
template <class T> Tensor<T> add(const Tensor<T>& a, const Tensor<T>& b);
template <class T> Tensor<T> sub(const Tensor<T>& a, const Tensor<T>& b);
template <class T> Tensor<T> mul(const Tensor<T>& a, const Tensor<T>& b);
template <class T> Tensor<T> div(const Tensor<T>& a, const Tensor<T>& b);
template <class T> Tensor<T> neg(const Tensor<T>& x);
template <class T> Tensor<T> add_scalar(const Tensor<T>& x, T s);   // x + s
template <class T> Tensor<T> mul_scalar(const Tensor<T>& x, T s);   // x · s
template <class T> Tensor<T> rsub_scalar(T s, const Tensor<T>& x);  // s − x
template <class T> Tensor<T> rdiv_scalar(T s, const Tensor<T>& x);  // s / x
template <class T> Tensor<T> exp(const Tensor<T>& x);
template <class T> Tensor<T> log(const Tensor<T>& x);
template <class T> Tensor<T> tanh(const Tensor<T>& x);
template <class T> Tensor<T> sigmoid(const Tensor<T>& x);
template <class T> Tensor<T> relu(const Tensor<T>& x);

// ---- linear algebra and shapes (ops/linalg.cpp) ----
template <class T> Tensor<T> matmul(const Tensor<T>& a, const Tensor<T>& b);  // (M,K)·(K,N), BLAS gemm
template <class T> Tensor<T> matmul_transposed(const Tensor<T>& a, const Tensor<T>& b);  // a · bᵀ, b (N,K)
// x · wᵀ + bias, bias (N) or (M,N): a layer's affine map as one gemm onto the bias.
template <class T> Tensor<T> linear(const Tensor<T>& x, const Tensor<T>& w, const Tensor<T>& bias);
// bias + a · b, b (K,N), bias (N) or (M,N): torch.addmm, the same gemm with b untransposed.
// bias is a sink (see Note [Sink inputs]): pass a temporary or std::move it to spare a copy.
template <class T> Tensor<T> addmm(Tensor<T> bias, const Tensor<T>& a, const Tensor<T>& b);
template <class T> Tensor<T> bmm(const Tensor<T>& a, const Tensor<T>& b);     // (B,M,K)·(B,K,N)
template <class T> Tensor<T> transpose(const Tensor<T>& x);                   // reverses the axes
template <class T> Tensor<T> transpose(const Tensor<T>& x, std::vector<std::size_t> perm);
template <class T> Tensor<T> reshape(Tensor<T> x, Shape shape);  // x is a sink: free for a temporary

// ---- reductions, softmax and the loss (ops/reduce.cpp) ----
template <class T> Tensor<T> sum(const Tensor<T>& x);  // all elements → shape ()
template <class T> Tensor<T> sum(const Tensor<T>& x, std::size_t axis, bool keepdims = false);
template <class T> Tensor<T> mean(const Tensor<T>& x);
template <class T> Tensor<T> mean(const Tensor<T>& x, std::size_t axis, bool keepdims = false);
template <class T> Tensor<T> softmax(const Tensor<T>& x, std::size_t axis);
template <class T> Tensor<T> log_softmax(const Tensor<T>& x, std::size_t axis);
// Mean over the batch of −log softmax(logits)[label]; logits (B,C), labels (B) in [0,C).
template <class T> Tensor<T> cross_entropy(const Tensor<T>& logits, const Ids& labels);

// ---- normalisation (ops/norm.cpp) ----
// Each row of the last axis normalised to mean 0, variance 1, then scaled and shifted:
// (x − μ) / √(σ² + eps) ⊙ weight + bias, x (…,N), weight and bias (N); PyTorch's
// F.layer_norm over the last axis (σ² biased, eps inside the root; PyTorch's eps is 1e-5).
template <class T> Tensor<T> layer_norm(const Tensor<T>& x, const Tensor<T>& weight, const Tensor<T>& bias, T eps);

// ---- indexing, joining and masking (ops/index.cpp) ----
// Rows of `table` (V,E) picked by integer ids of any shape → ids.shape + (E). A table of
// more axes (…,E) is read as its rows: (B,T,E) as (B·T,E), with no reshaped copy.
template <class T> Tensor<T> gather(const Tensor<T>& table, const Ids& ids);
// The mean of the rows of `table` (V,E) at each bag of ids, ids (…,K), leaving out the ids
// equal to `padding` (a bag of padding alone gives zeros) → ids.shape[:-1] + (E): PyTorch's
// embedding_bag(mode="mean", padding_idx).
template <class T> Tensor<T> gather_mean(const Tensor<T>& table, const Ids& ids, std::int64_t padding);
template <class T> Tensor<T> concat(const std::vector<Tensor<T>>& xs, std::size_t axis);
template <class T> Tensor<T> stack(const std::vector<Tensor<T>>& xs, std::size_t axis);
template <class T> Tensor<T> slice(const Tensor<T>& x, std::size_t axis, std::size_t start, std::size_t stop);
template <class T> Tensor<T> select(const Tensor<T>& x, std::size_t axis, std::size_t index);  // drops the axis
// mask ? a : b, the mask broadcasting against a and b.
template <class T> Tensor<T> where(const Mask& mask, const Tensor<T>& a, const Tensor<T>& b);
// x with `value` wherever mask is true (value may be ±infinity).
template <class T> Tensor<T> masked_fill(const Tensor<T>& x, const Mask& mask, T value);
// Zeroes each element with probability p and scales the rest by 1/(1−p); identity when !training.
template <class T> Tensor<T> dropout(const Tensor<T>& x, T p, bool training, std::mt19937_64& rng);

// ---- operators ----
template <class T> Tensor<T> operator+(const Tensor<T>& a, const Tensor<T>& b) { return add(a, b); }
template <class T> Tensor<T> operator-(const Tensor<T>& a, const Tensor<T>& b) { return sub(a, b); }
template <class T> Tensor<T> operator*(const Tensor<T>& a, const Tensor<T>& b) { return mul(a, b); }
template <class T> Tensor<T> operator/(const Tensor<T>& a, const Tensor<T>& b) { return div(a, b); }
template <class T> Tensor<T> operator-(const Tensor<T>& x) { return neg(x); }
template <class T> Tensor<T> operator+(const Tensor<T>& x, std::type_identity_t<T> s) { return add_scalar(x, s); }
template <class T> Tensor<T> operator+(std::type_identity_t<T> s, const Tensor<T>& x) { return add_scalar(x, s); }
template <class T> Tensor<T> operator-(const Tensor<T>& x, std::type_identity_t<T> s) { return add_scalar(x, -s); }
template <class T> Tensor<T> operator-(std::type_identity_t<T> s, const Tensor<T>& x) { return rsub_scalar(s, x); }
template <class T> Tensor<T> operator*(const Tensor<T>& x, std::type_identity_t<T> s) { return mul_scalar(x, s); }
template <class T> Tensor<T> operator*(std::type_identity_t<T> s, const Tensor<T>& x) { return mul_scalar(x, s); }
template <class T> Tensor<T> operator/(const Tensor<T>& x, std::type_identity_t<T> s) { return mul_scalar(x, T(1) / s); }
template <class T> Tensor<T> operator/(std::type_identity_t<T> s, const Tensor<T>& x) { return rdiv_scalar(s, x); }

}  // namespace tg
