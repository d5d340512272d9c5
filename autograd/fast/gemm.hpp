// The fast layer's matrix products: what ops/linalg.cpp calls to compute op(a)·op(b).
// Plain semantics: out = op(a)·op(b) + β·out, op transposing when asked. How: on the raw
// buffers (a transposed operand is a flag, not a copy), a single row times bᵀ or a single
// column as dot products, β other than 0 and 1 through BLAS, and the rest through the
// register-blocked kernel of fast/block_gemm.hpp, all on the calling thread.
// tests/test_fast.cpp checks every path against the definition of the product, in value
// and gradient.
#pragma once
#include <cstddef>

#include "autograd/tensor.hpp"

namespace tg::fast {

// out (m,n) = op(a)·op(b) + β·out; a and b row-major with cols_a and cols_b columns as
// stored; k is the summed dimension. β = 0 overwrites whatever out holds.
template <class T>
void gemm(const T* a, std::size_t cols_a, bool ta, const T* b, std::size_t cols_b, bool tb, T* out, std::size_t m,
          std::size_t n, std::size_t k, T beta);

// op(b) (k,n) stored the way the block kernel reads it, for a weight multiplied again and
// again: column panels, each a contiguous block (Note [Weight panels], fast/block_gemm.hpp).
template <class T>
struct Panels {
  std::size_t k = 0, n = 0;
  Array<T> values;  // ⌈n / panel width⌉ panels of (k, panel width), the last padded with zeros
};
template <class T>
Panels<T> to_panels(const T* b, std::size_t cols_b, bool tb, std::size_t k, std::size_t n);

// out (m,n) = a·b + β·out for b as panels, a (m,k) row-major with cols_a columns as stored;
// β is 0 or 1. The same sums in the same order as the block kernel's on b as a matrix.
template <class T>
void gemm(const T* a, std::size_t cols_a, const Panels<T>& b, T* out, std::size_t m, T beta);

// The same for 2-D arrays; out already has its (m,n) shape.
template <class T>
void gemm(const Array<T>& a, bool ta, const Array<T>& b, bool tb, Array<T>& out, T beta);

// op(a)·op(b) as a new (m,n) array.
template <class T>
Array<T> product(const Array<T>& a, bool ta, const Array<T>& b, bool tb);

// d input_i += op(a)·op(b), written straight into input i's gradient buffer: β = 0 when
// nothing has arrived there yet, 1 after (no temporary, no separate add).
template <class T>
void accumulate_product(const BackwardContext<T>& c, std::size_t i, const Array<T>& a, bool ta, const Array<T>& b,
                        bool tb);

// An (m,n) array holding bias (n) in every row, or bias (m,n) itself, for a gemm to add the
// product onto (β = 1): no separate add and no temporary for the product. Empty when bias
// fits neither. A sink bias (m,n) lends its buffer (Note [Sink inputs], ops/detail.hpp).
template <class T>
Array<T> bias_rows(Tensor<T>& bias, std::size_t m, std::size_t n);

}  // namespace tg::fast
