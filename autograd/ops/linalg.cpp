// Matrix products and shape ops. matmul goes through xt::linalg::dot, which is one
// BLAS gemm call; transposed operands are passed to BLAS as flags, not copied.
#include <numeric>

#include <xtensor-blas/xlinalg.hpp>
#include <xtensor/xmanipulation.hpp>
#include <xtensor/xview.hpp>

#include "autograd/ops/detail.hpp"

namespace tg {

// matmul: result = a · b                  a (M,K), b (K,N) → (M,N)
//   da += grad · bᵀ
//   db += aᵀ · grad
template <class T>
Tensor<T> matmul(const Tensor<T>& a, const Tensor<T>& b) {
  if (a.dim() != 2 || b.dim() != 2 || a.shape()[1] != b.shape()[0])
    throw Error(fmt::format("matmul: {} · {}", shape_str(a.shape()), shape_str(b.shape())));
  return record<T>("matmul", xt::linalg::dot(a.value(), b.value()), {a, b}, [](const BackwardContext<T>& c) {
    if (c.needs_grad(0)) c.accumulate(0, xt::linalg::dot(c.grad(), xt::transpose(c.input(1))));
    if (c.needs_grad(1)) c.accumulate(1, xt::linalg::dot(xt::transpose(c.input(0)), c.grad()));
  });
}

namespace {
// One gemm per batch entry: result[i] = op(a[i]) · op(b[i]).
template <class T, class FA, class FB>
Array<T> batched_dot(const Array<T>& a, const Array<T>& b, FA op_a, FB op_b) {
  std::vector<Array<T>> parts;
  for (std::size_t i = 0; i < a.shape()[0]; ++i) {
    Array<T> ai = xt::view(a, i), bi = xt::view(b, i);
    parts.push_back(xt::linalg::dot(op_a(ai), op_b(bi)));
  }
  Array<T> out = xt::empty<T>({a.shape()[0], parts[0].shape()[0], parts[0].shape()[1]});
  for (std::size_t i = 0; i < parts.size(); ++i) xt::view(out, i) = parts[i];
  return out;
}
}  // namespace

// bmm: result[i] = a[i] · b[i]           a (B,M,K), b (B,K,N) → (B,M,N)
//   da[i] += grad[i] · b[i]ᵀ
//   db[i] += a[i]ᵀ · grad[i]
template <class T>
Tensor<T> bmm(const Tensor<T>& a, const Tensor<T>& b) {
  if (a.dim() != 3 || b.dim() != 3 || a.shape()[0] != b.shape()[0] || a.shape()[2] != b.shape()[1] ||
      a.shape()[0] == 0)
    throw Error(fmt::format("bmm: {} · {}", shape_str(a.shape()), shape_str(b.shape())));
  auto same = [](const Array<T>& m) -> const Array<T>& { return m; };
  auto trans = [](const Array<T>& m) { return Array<T>(xt::transpose(m)); };
  return record<T>("bmm", batched_dot(a.value(), b.value(), same, same), {a, b},
                   [same, trans](const BackwardContext<T>& c) {
                     if (c.needs_grad(0)) c.accumulate(0, batched_dot(c.grad(), c.input(1), same, trans));
                     if (c.needs_grad(1)) c.accumulate(1, batched_dot(c.input(0), c.grad(), trans, same));
                   });
}

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
  return record<T>("transpose", Array<T>(xt::transpose(x.value(), perm)), {x},
                   [inverse](const BackwardContext<T>& c) {
                     c.accumulate(0, Array<T>(xt::transpose(c.grad(), inverse)));
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
Tensor<T> reshape(const Tensor<T>& x, Shape shape) {
  const std::size_t n = std::accumulate(shape.begin(), shape.end(), std::size_t{1}, std::multiplies<>());
  if (n != x.size())
    throw Error(fmt::format("reshape: {} to {}", shape_str(x.shape()), shape_str(shape)));
  Array<T> r = x.value();
  r.reshape(shape);
  return record<T>("reshape", std::move(r), {x}, [](const BackwardContext<T>& c) {
    Array<T> g = c.grad();
    g.reshape(c.input(0).shape());
    c.accumulate(0, std::move(g));
  });
}

#define TG_INSTANTIATE(T)                                                     \
  template Tensor<T> matmul(const Tensor<T>&, const Tensor<T>&);              \
  template Tensor<T> bmm(const Tensor<T>&, const Tensor<T>&);                 \
  template Tensor<T> transpose(const Tensor<T>&, std::vector<std::size_t>);   \
  template Tensor<T> transpose(const Tensor<T>&);                             \
  template Tensor<T> reshape(const Tensor<T>&, Shape);
TG_FOR_FLOAT_AND_DOUBLE(TG_INSTANTIATE)

}  // namespace tg
