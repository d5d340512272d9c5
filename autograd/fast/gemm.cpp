// The matrix-product dispatcher of the fast layer (fast/gemm.hpp): gemv for a single row
// or column, the register-blocked kernel of fast/block_gemm.hpp for β = 0 or 1, and BLAS
// for any other β.
#include "autograd/fast/gemm.hpp"

#include <algorithm>

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

void blas_gemv(bool trans, int rows, int cols, const float* a, int lda, const float* x, int incx, float beta,
               float* y) {
  cblas_sgemv(CblasRowMajor, trans ? CblasTrans : CblasNoTrans, rows, cols, 1.0f, a, lda, x, incx, beta, y, 1);
}
void blas_gemv(bool trans, int rows, int cols, const double* a, int lda, const double* x, int incx, double beta,
               double* y) {
  cblas_dgemv(CblasRowMajor, trans ? CblasTrans : CblasNoTrans, rows, cols, 1.0, a, lda, x, incx, beta, y, 1);
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
  // A single row or column is a matrix-vector product: gemm would first pack (copy) the
  // whole matrix, which for one tweet at a time costs more than the arithmetic. Except a
  // row times an untransposed b: OpenBLAS's gemv for it (column by column) is 2× its gemm.
  if (m == 1 && tb) {  // outᵀ = op(b)ᵀ·aᵀ; a's k values are `ta ? cols_a : 1` apart
    blas_gemv(false, int(n), int(k), b, int(cols_b), a, int(ta ? cols_a : 1), beta, out);
    return;
  }
  if (n == 1) {  // out = op(a)·b, b's k values `tb ? 1 : cols_b` apart
    blas_gemv(ta, int(ta ? k : m), int(ta ? m : k), a, int(cols_a), b, int(tb ? 1 : cols_b), beta, out);
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
  template Array<T> product(const Array<T>&, bool, const Array<T>&, bool);                                        \
  template void accumulate_product(const BackwardContext<T>&, std::size_t, const Array<T>&, bool, const Array<T>&, \
                                   bool);                                                                         \
  template Array<T> bias_rows(Tensor<T>&, std::size_t, std::size_t);
TG_FOR_FLOAT_AND_DOUBLE(TG_INSTANTIATE)
#undef TG_INSTANTIATE

}  // namespace tg::fast
