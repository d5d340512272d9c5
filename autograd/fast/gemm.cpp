// The matrix-product dispatcher of the fast layer (fast/gemm.hpp): dot products for a
// single row times bᵀ or a single column, the register-blocked kernel of fast/block_gemm.hpp
// for the rest with β = 0 or 1, and BLAS for any other β.
#include "autograd/fast/gemm.hpp"

#include <algorithm>
#include <vector>

#include <xsimd/xsimd.hpp>

#include <xtensor-blas/xlinalg.hpp>  // declares cblas_?gemm (via xflens); <cblas.h> would clash

#include "autograd/fast/backward.hpp"
#include "autograd/fast/block_gemm.hpp"
#include "autograd/ops/detail.hpp"

namespace tg::fast {

namespace {
void blas_gemm(bool ta, bool tb, int m, int n, int k, const float* a, int lda, const float* b, int ldb, float beta,
               float* c) {
  cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, m, n, k, 1.0f, a, lda,
              b, ldb, beta, c, n);
}
void blas_gemm(bool ta, bool tb, int m, int n, int k, const double* a, int lda, const double* b, int ldb,
               double beta, double* c) {
  cblas_dgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, m, n, k, 1.0, a, lda, b,
              ldb, beta, c, n);
}

// y[r] = β·y[r] + rows[r]·x for r < count, each row k values long, ld apart: one dot
// product per row, in SIMD lanes over k and then across the lanes, four rows at a time so
// that four sums are in flight. Every row's sum runs in the same order, however many rows
// there are and whichever group a row falls in: unlike BLAS's gemv, whose threads and
// row blocks change the rounding with the row count.
template <std::size_t Group, class T>
void dot_row_group(const T* rows, std::size_t ld, const T* x, std::size_t k, T beta, T* y) {
  using V = xsimd::batch<T>;
  const std::size_t full = k / V::size * V::size;
  V sum[Group];
  std::fill_n(sum, Group, V(T(0)));
  for (std::size_t p = 0; p < full; p += V::size) {
    const V xp = V::load_unaligned(x + p);
#pragma GCC unroll 4
    for (std::size_t g = 0; g < Group; ++g) sum[g] = xsimd::fma(V::load_unaligned(rows + g * ld + p), xp, sum[g]);
  }
  for (std::size_t g = 0; g < Group; ++g) {
    T s = xsimd::hadd(sum[g]);
    for (std::size_t p = full; p < k; ++p) s += rows[g * ld + p] * x[p];
    y[g] = beta == T(0) ? s : beta * y[g] + s;
  }
}

template <class T>
void dot_rows(const T* rows, std::size_t ld, std::size_t count, const T* x, std::size_t k, T beta, T* y) {
  std::size_t r = 0;
  for (; r + 4 <= count; r += 4) dot_row_group<4>(rows + r * ld, ld, x, k, beta, y + r);
  for (; r < count; ++r) dot_row_group<1>(rows + r * ld, ld, x, k, beta, y + r);
}

// y (m) = β·y + Σ_p x[p]·a[p, 0:m), a's rows lda apart: aᵀ·x, row by row of a, each y[i]
// summed over p in order.
template <class T>
void sum_scaled_rows(const T* a, std::size_t lda, std::size_t m, const T* x, std::size_t k, T beta, T* y) {
  for (std::size_t i = 0; i < m; ++i) y[i] = beta == T(0) ? T(0) : beta * y[i];
  for (std::size_t p = 0; p < k; ++p) {
    const T xp = x[p];
    const T* ap = a + p * lda;
    for (std::size_t i = 0; i < m; ++i) y[i] += xp * ap[i];
  }
}

// The k values of a vector `stride` apart, contiguous: in place when they are, else copied.
template <class T>
const T* contiguous(const T* v, std::size_t stride, std::size_t k, std::vector<T>& copy) {
  if (stride == 1) return v;
  copy.resize(k);
  for (std::size_t p = 0; p < k; ++p) copy[p] = v[p * stride];
  return copy.data();
}
}  // namespace

template <class T>
void gemm(const T* a, std::size_t cols_a, bool ta, const T* b, std::size_t cols_b, bool tb, T* out, std::size_t m,
          std::size_t n, std::size_t k, T beta) {
  if (m == 0 || n == 0) return;
  if (k == 0) {  // an empty sum, out = β·out: BLAS may leave out untouched
    if (beta == T(0)) std::fill_n(out, m * n, T(0));
    else if (beta != T(1)) std::for_each(out, out + m * n, [beta](T& v) { v *= beta; });
    return;
  }
  // A single row times bᵀ, or anything times a single column, is a matrix-vector product:
  // dot products of contiguous rows (or, for aᵀ·b, a sum of a's rows scaled). A row times
  // an untransposed b goes to the block kernel, whose few-row blocks read b in place.
  std::vector<T> copy;
  if (m == 1 && tb) {  // out_j = a · b's row j; a's k values are `ta ? cols_a : 1` apart
    dot_rows(b, cols_b, n, contiguous(a, ta ? cols_a : 1, k, copy), k, beta, out);
    return;
  }
  if (n == 1) {  // out = op(a)·b, b's k values `tb ? 1 : cols_b` apart
    const T* x = contiguous(b, tb ? 1 : cols_b, k, copy);
    if (ta)
      sum_scaled_rows(a, cols_a, m, x, k, beta, out);
    else
      dot_rows(a, cols_a, m, x, k, beta, out);
    return;
  }
  // The block kernel runs on one thread. BLAS's threads (Haswell kernels, 2 threads) made
  // the flagship's training 1.2× slower than the kernel on one: compare_pytorch, t1 and t2.
  if (beta == T(0) || beta == T(1)) {
    block_gemm(a, cols_a, ta, b, cols_b, tb, out, m, n, k, beta == T(1));
    return;
  }
  blas_gemm(ta, tb, int(m), int(n), int(k), a, int(cols_a), b, int(cols_b), beta, out);
}

template <class T>
Panels<T> to_panels(const T* b, std::size_t cols_b, bool tb, std::size_t k, std::size_t n) {
  constexpr std::size_t P = kPanelWidth<T>;
  Panels<T> r{k, n, xt::zeros<T>({(n + P - 1) / P * P * k})};
  for (std::size_t j = 0; j < n; j += P) {  // columns j … j + w − 1 of op(b), into panel j / P
    const std::size_t w = std::min(P, n - j);
    T* panel = r.values.data() + j * k;
    if (tb)
      transpose_into(b + j * cols_b, cols_b, w, k, panel, P);  // b's rows j … j + w − 1
    else
      for (std::size_t i = 0; i < k; ++i) std::copy_n(b + i * cols_b + j, w, panel + i * P);
  }
  return r;
}

template <class T>
void gemm(const T* a, std::size_t cols_a, const Panels<T>& b, T* out, std::size_t m, T beta) {
  if (beta != T(0) && beta != T(1)) throw Error("fast::gemm on panels: β must be 0 or 1");
  if (m == 0 || b.n == 0) return;
  if (b.k == 0) {  // an empty sum
    if (beta == T(0)) std::fill_n(out, m * b.n, T(0));
    return;
  }
  block_gemm_panels(a, cols_a, b.values.data(), out, m, b.n, b.k, beta == T(1));
}

template <class T>
void gemm(const Array<T>& a, bool ta, const Array<T>& b, bool tb, Array<T>& out, T beta) {
  gemm(a.data(), a.shape()[1], ta, b.data(), b.shape()[1], tb, out.data(), out.shape()[0], out.shape()[1],
       ta ? a.shape()[0] : a.shape()[1], beta);
}

template <class T>
Array<T> product(const Array<T>& a, bool ta, const Array<T>& b, bool tb) {
  Array<T> out = Array<T>::from_shape({a.shape()[ta ? 1 : 0], b.shape()[tb ? 0 : 1]});
  gemm(a, ta, b, tb, out, T(0));
  return out;
}

template <class T>
void accumulate_product(const BackwardContext<T>& c, std::size_t i, const Array<T>& a, bool ta, const Array<T>& b,
                        bool tb) {
  bool fresh = false;
  Array<T>& target = gradient_target(c, i, fresh);
  gemm(a, ta, b, tb, target, fresh ? T(0) : T(1));
}

template <class T>
Array<T> bias_rows(Tensor<T>& bias, std::size_t m, std::size_t n) {
  const bool per_column = bias.dim() == 1 && bias.shape()[0] == n;
  if (!per_column && !(bias.dim() == 2 && bias.shape()[0] == m && bias.shape()[1] == n)) return {};
  if (!per_column) return detail::take_or_copy_value(bias);
  Array<T> r = Array<T>::from_shape({m, n});
  for (std::size_t row = 0; row < m; ++row) std::copy_n(bias.value().data(), n, r.data() + row * n);
  return r;
}

#define TG_INSTANTIATE(T)                                                                                          \
  template void gemm(const T*, std::size_t, bool, const T*, std::size_t, bool, T*, std::size_t, std::size_t,      \
                     std::size_t, T);                                                                             \
  template void gemm(const Array<T>&, bool, const Array<T>&, bool, Array<T>&, T);                                 \
  template Panels<T> to_panels(const T*, std::size_t, bool, std::size_t, std::size_t);                            \
  template void gemm(const T*, std::size_t, const Panels<T>&, T*, std::size_t, T);                                 \
  template Array<T> product(const Array<T>&, bool, const Array<T>&, bool);                                        \
  template void accumulate_product(const BackwardContext<T>&, std::size_t, const Array<T>&, bool, const Array<T>&, \
                                   bool);                                                                         \
  template Array<T> bias_rows(Tensor<T>&, std::size_t, std::size_t);
TG_FOR_FLOAT_AND_DOUBLE(TG_INSTANTIATE)
#undef TG_INSTANTIATE

}  // namespace tg::fast
