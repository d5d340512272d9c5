// Matrix products and shape ops. Each product op shows its formula, and each line of the
// formula sits right above the call computing it: fast::product for the result,
// fast::accumulate_product for `d input += op(a)·op(b)`. Both are one gemm on the raw
// buffers (a transposed operand is a flag, not a copy; a backward product is written
// straight into the input's gradient buffer): the register-blocked kernel, dot products or BLAS;
// they live in the fast layer (autograd/fast/gemm.hpp), and tests/test_fast.cpp checks
// every path.
#include <numeric>

#include <xtensor/xmanipulation.hpp>

#include "autograd/fast/backward.hpp"
#include "autograd/fast/gemm.hpp"
#include "autograd/fast/kernels.hpp"
#include "autograd/ops/detail.hpp"

namespace tg {

// matmul: result = a · b                  a (M,K), b (K,N) → (M,N)
//   da += grad · bᵀ
//   db += aᵀ · grad
template <class T>
Tensor<T> matmul(const Tensor<T>& a, const Tensor<T>& b) {
  if (a.dim() != 2 || b.dim() != 2 || a.shape()[1] != b.shape()[0])
    throw Error(fmt::format("matmul: {} · {}", shape_str(a.shape()), shape_str(b.shape())));
  // result = a · b
  Array<T> r = fast::product(a.value(), false, b.value(), false);
  return record<T>("matmul", std::move(r), {a, b}, [](const BackwardContext<T>& c) {
    // da += grad · bᵀ
    if (c.needs_grad(0)) fast::accumulate_product(c, 0, c.grad(), false, c.input(1), true);
    // db += aᵀ · grad
    if (c.needs_grad(1)) fast::accumulate_product(c, 1, c.input(0), true, c.grad(), false);
  });
}

// matmul_transposed: result = a · bᵀ     a (M,K), b (N,K) → (M,N)     (PyTorch's F.linear)
//   da += grad · b
//   db += gradᵀ · a
// matmul(a, transpose(b)) without the two copies of b: layers store weights as (out, in).
template <class T>
Tensor<T> matmul_transposed(const Tensor<T>& a, const Tensor<T>& b) {
  if (a.dim() != 2 || b.dim() != 2 || a.shape()[1] != b.shape()[1])
    throw Error(fmt::format("matmul_transposed: {} · {}ᵀ", shape_str(a.shape()), shape_str(b.shape())));
  // result = a · bᵀ
  Array<T> r = fast::product(a.value(), false, b.value(), true);
  return record<T>("matmul_transposed", std::move(r), {a, b}, [](const BackwardContext<T>& c) {
    // da += grad · b
    if (c.needs_grad(0)) fast::accumulate_product(c, 0, c.grad(), false, c.input(1), false);
    // db += gradᵀ · a
    if (c.needs_grad(1)) fast::accumulate_product(c, 1, c.grad(), true, c.input(0), false);
  });
}

namespace {
// Whether a (M,K) · op(b) fits, op transposing b when transposed_b.
template <class T>
bool product_fits(const Tensor<T>& a, const Tensor<T>& b, bool transposed_b) {
  return a.dim() == 2 && b.dim() == 2 && a.shape()[1] == b.shape()[transposed_b ? 1 : 0];
}
}  // namespace

// linear: result = x · wᵀ + bias       x (M,K), w (N,K), bias (N) or (M,N) → (M,N)
//   dx += grad · w
//   dw += gradᵀ · x
//   dbias += grad          (summed over the rows when bias is (N))
// PyTorch's F.linear: layers store weights as (out, in).
template <class T>
Tensor<T> linear(const Tensor<T>& x, const Tensor<T>& w, const Tensor<T>& bias) {
  Tensor<T> bias_handle = bias;  // a second handle: fast::bias_rows never takes a held tensor's buffer
  // result = bias (in every row) + x · wᵀ, the product added onto the bias by the gemm (β = 1)
  Array<T> r = product_fits(x, w, true) ? fast::bias_rows(bias_handle, x.shape()[0], w.shape()[0]) : Array<T>();
  if (r.dimension() != 2)
    throw Error(fmt::format("linear: {} · {}ᵀ + {}", shape_str(x.shape()), shape_str(w.shape()),
                            shape_str(bias.shape())));
  fast::gemm(x.value(), false, w.value(), true, r, T(1));
  return record<T>("linear", std::move(r), {x, w, bias}, [](const BackwardContext<T>& c) {
    // dx += grad · w
    if (c.needs_grad(0)) fast::accumulate_product(c, 0, c.grad(), false, c.input(1), false);
    // dw += gradᵀ · x
    if (c.needs_grad(1)) fast::accumulate_product(c, 1, c.grad(), true, c.input(0), false);
    // dbias += grad
    c.accumulate_sum_to(2, fast::take_grad(c));
  });
}

// addmm: result = bias + a · b         a (M,K), b (K,N), bias (N) or (M,N) → (M,N)
//   da += grad · bᵀ
//   db += aᵀ · grad
//   dbias += grad          (summed over the rows when bias is (N))
// PyTorch's torch.addmm. With b stored (K,N), a few rows times b is the fast case: for
// (4–64 rows)·(128,512) 1.4–7× the same product as x · wᵀ (bench_engine --part few-rows).
// bias is a sink (Note [Sink inputs], ops/detail.hpp).
template <class T>
Tensor<T> addmm(Tensor<T> bias, const Tensor<T>& a, const Tensor<T>& b) {
  // result = bias (in every row) + a · b, the product added onto the bias by the gemm (β = 1)
  Array<T> r = product_fits(a, b, false) ? fast::bias_rows(bias, a.shape()[0], b.shape()[1]) : Array<T>();
  if (r.dimension() != 2)
    throw Error(fmt::format("addmm: {} + {} · {}", shape_str(bias.shape()), shape_str(a.shape()),
                            shape_str(b.shape())));
  fast::gemm(a.value(), false, b.value(), false, r, T(1));
  return record<T>("addmm", std::move(r), {a, b, bias}, [](const BackwardContext<T>& c) {
    // da += grad · bᵀ
    if (c.needs_grad(0)) fast::accumulate_product(c, 0, c.grad(), false, c.input(1), true);
    // db += aᵀ · grad
    if (c.needs_grad(1)) fast::accumulate_product(c, 1, c.input(0), true, c.grad(), false);
    // dbias += grad
    c.accumulate_sum_to(2, fast::take_grad(c));
  });
}

// bmm: result[i] = a[i] · b[i]           a (B,M,K), b (B,K,N) → (B,M,N)
//   da[i] += grad[i] · b[i]ᵀ
//   db[i] += a[i]ᵀ · grad[i]
template <class T>
Tensor<T> bmm(const Tensor<T>& a, const Tensor<T>& b) {
  if (a.dim() != 3 || b.dim() != 3 || a.shape()[0] != b.shape()[0] || a.shape()[2] != b.shape()[1] ||
      a.shape()[0] == 0)
    throw Error(fmt::format("bmm: {} · {}", shape_str(a.shape()), shape_str(b.shape())));
  const std::size_t B = a.shape()[0], M = a.shape()[1], K = a.shape()[2], N = b.shape()[2];
  Array<T> r = Array<T>::from_shape({B, M, N});
  for (std::size_t i = 0; i < B; ++i)
    fast::gemm(a.value().data() + i * M * K, K, false, b.value().data() + i * K * N, N, false, r.data() + i * M * N, M,
               N, K, T(0));
  return record<T>("bmm", std::move(r), {a, b}, [B, M, K, N](const BackwardContext<T>& c) {
    const T *g = c.grad().data(), *av = c.input(0).data(), *bv = c.input(1).data();
    bool fresh = false;
    if (c.needs_grad(0)) {  // da[i] += grad[i] · b[i]ᵀ
      T* da = fast::gradient_target(c, 0, fresh).data();
      for (std::size_t i = 0; i < B; ++i)
        fast::gemm(g + i * M * N, N, false, bv + i * K * N, N, true, da + i * M * K, M, K, N, fresh ? T(0) : T(1));
    }
    if (c.needs_grad(1)) {  // db[i] += a[i]ᵀ · grad[i]
      T* db = fast::gradient_target(c, 1, fresh).data();
      for (std::size_t i = 0; i < B; ++i)
        fast::gemm(av + i * M * K, K, true, g + i * M * N, N, false, db + i * K * N, K, N, M, fresh ? T(0) : T(1));
    }
  });
}

namespace {
// x permuted by perm; a matrix through fast::transposed_matrix.
template <class T>
Array<T> permuted(const Array<T>& x, const std::vector<std::size_t>& perm) {
  if (x.dimension() != 2 || perm[0] == 0) return Array<T>(xt::transpose(x, perm));
  return fast::transposed_matrix(x);
}
}  // namespace

// transpose: result = x with its axes permuted: result.shape[k] = x.shape[perm[k]]
//   dx += grad permuted by perm⁻¹
template <class T>
Tensor<T> transpose(const Tensor<T>& x, std::vector<std::size_t> perm) {
  std::vector<std::size_t> sorted = perm;
  std::sort(sorted.begin(), sorted.end());
  std::vector<std::size_t> iota(x.dim());
  std::iota(iota.begin(), iota.end(), 0);
  if (sorted != iota)
    throw Error(fmt::format("transpose: permutation {} does not fit shape {}", shape_str(perm), shape_str(x.shape())));
  std::vector<std::size_t> inverse(perm.size());
  for (std::size_t k = 0; k < perm.size(); ++k) inverse[perm[k]] = k;
  return record<T>("transpose", permuted(x.value(), perm), {x}, [inverse](const BackwardContext<T>& c) {
    c.accumulate(0, permuted(c.grad(), inverse));
  });
}

template <class T>
Tensor<T> transpose(const Tensor<T>& x) {
  std::vector<std::size_t> perm(x.dim());
  std::iota(perm.rbegin(), perm.rend(), 0);
  return transpose(x, perm);
}

// reshape: result = x viewed with a new shape of the same size
//   dx += grad reshaped to x's shape
template <class T>
Tensor<T> reshape(Tensor<T> x, Shape shape) {
  const std::size_t n = std::accumulate(shape.begin(), shape.end(), std::size_t{1}, std::multiplies<>());
  if (n != x.size())
    throw Error(fmt::format("reshape: {} to {}", shape_str(x.shape()), shape_str(shape)));
  Array<T> r = detail::take_or_copy_value(x);
  r.reshape(shape);
  return record<T>("reshape", std::move(r), {x}, [](const BackwardContext<T>& c) {
    Array<T> g = fast::take_grad(c);
    g.reshape(c.input(0).shape());
    c.accumulate(0, std::move(g));
  });
}

#define TG_INSTANTIATE(T)                                                     \
  template Tensor<T> matmul(const Tensor<T>&, const Tensor<T>&);              \
  template Tensor<T> matmul_transposed(const Tensor<T>&, const Tensor<T>&);   \
  template Tensor<T> linear(const Tensor<T>&, const Tensor<T>&, const Tensor<T>&); \
  template Tensor<T> addmm(Tensor<T>, const Tensor<T>&, const Tensor<T>&);         \
  template Tensor<T> bmm(const Tensor<T>&, const Tensor<T>&);                 \
  template Tensor<T> transpose(const Tensor<T>&, std::vector<std::size_t>);   \
  template Tensor<T> transpose(const Tensor<T>&);                             \
  template Tensor<T> reshape(Tensor<T>, Shape);
TG_FOR_FLOAT_AND_DOUBLE(TG_INSTANTIATE)

}  // namespace tg
