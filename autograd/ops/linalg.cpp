// Matrix products and shape ops. Every product is BLAS gemm calls on the raw buffers:
// a transposed operand is a flag, not a copy, and each backward gemm writes straight
// into the input's gradient buffer (β = 1 once something is there).
#include <numeric>

#include <xtensor-blas/xlinalg.hpp>  // declares cblas_?gemm (via xflens); <cblas.h> would clash
#include <xtensor/xmanipulation.hpp>

#include "autograd/ops/detail.hpp"
#include "autograd/ops/small_gemm.hpp"

namespace tg {

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

// out = op(a)·op(b) + β·out, out (m,n) contiguous; a and b row-major with cols_a and
// cols_b columns as stored, op transposing when asked; k is the summed dimension.
template <class T>
void gemm(const T* a, std::size_t cols_a, bool ta, const T* b, std::size_t cols_b, bool tb, T* out, std::size_t m,
          std::size_t n, std::size_t k, T beta) {
  if (m == 0 || n == 0) return;
  if (k == 0) {  // an empty sum: BLAS may leave out untouched
    if (beta == T(0)) std::fill_n(out, m * n, T(0));
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
  if (!ta && !tb && (beta == T(0) || beta == T(1)) && detail::small_gemm_fits<T>(m, n, k)) {
    detail::small_gemm(a, b, out, m, n, k, beta == T(1));
    return;
  }
  blas_gemm(ta, tb, int(m), int(n), int(k), a, int(cols_a), b, int(cols_b), beta, out);
}

// The same for 2-D arrays; out already has its (m,n) shape.
template <class T>
void gemm(const Array<T>& a, bool ta, const Array<T>& b, bool tb, Array<T>& out, T beta) {
  gemm(a.data(), a.shape()[1], ta, b.data(), b.shape()[1], tb, out.data(), out.shape()[0], out.shape()[1],
       ta ? a.shape()[0] : a.shape()[1], beta);
}

// Backward of a · op(b), op transposing b when transposed_b (see the two ops below).
template <class T>
void matmul_backward(const BackwardContext<T>& c, bool transposed_b) {
  bool fresh = false;
  if (c.needs_grad(0)) {
    Array<T>& da = c.gradient_target(0, fresh);
    gemm(c.grad(), false, c.input(1), !transposed_b, da, fresh ? T(0) : T(1));
  }
  if (c.needs_grad(1)) {
    Array<T>& db = c.gradient_target(1, fresh);
    if (transposed_b) gemm(c.grad(), true, c.input(0), false, db, fresh ? T(0) : T(1));
    else gemm(c.input(0), true, c.grad(), false, db, fresh ? T(0) : T(1));
  }
}
}  // namespace

// matmul: result = a · b                  a (M,K), b (K,N) → (M,N)
//   da += grad · bᵀ
//   db += aᵀ · grad
template <class T>
Tensor<T> matmul(const Tensor<T>& a, const Tensor<T>& b) {
  if (a.dim() != 2 || b.dim() != 2 || a.shape()[1] != b.shape()[0])
    throw Error(fmt::format("matmul: {} · {}", shape_str(a.shape()), shape_str(b.shape())));
  Array<T> r = Array<T>::from_shape({a.shape()[0], b.shape()[1]});
  gemm(a.value(), false, b.value(), false, r, T(0));
  return record<T>("matmul", std::move(r), {a, b}, [](const BackwardContext<T>& c) { matmul_backward(c, false); });
}

// matmul_transposed: result = a · bᵀ     a (M,K), b (N,K) → (M,N)     (PyTorch's F.linear)
//   da += grad · b
//   db += gradᵀ · a
// matmul(a, transpose(b)) without the two copies of b: layers store weights as (out, in).
template <class T>
Tensor<T> matmul_transposed(const Tensor<T>& a, const Tensor<T>& b) {
  if (a.dim() != 2 || b.dim() != 2 || a.shape()[1] != b.shape()[1])
    throw Error(fmt::format("matmul_transposed: {} · {}ᵀ", shape_str(a.shape()), shape_str(b.shape())));
  Array<T> r = Array<T>::from_shape({a.shape()[0], b.shape()[0]});
  gemm(a.value(), false, b.value(), true, r, T(0));
  return record<T>("matmul_transposed", std::move(r), {a, b},
                   [](const BackwardContext<T>& c) { matmul_backward(c, true); });
}

namespace {
// An (M,N) result holding bias (N) in every row, or bias (M,N) itself, for a gemm to add
// onto (β = 1): no separate add and no temporary for the product. Empty when bias fits
// neither. A sink bias (M,N) lends its buffer (Note [Sink inputs]).
template <class T>
Array<T> bias_rows(Tensor<T>& bias, std::size_t M, std::size_t N) {
  const bool per_column = bias.dim() == 1 && bias.shape()[0] == N;
  if (!per_column && !(bias.dim() == 2 && bias.shape()[0] == M && bias.shape()[1] == N)) return {};
  if (!per_column) return detail::take_or_copy_value(bias);
  Array<T> r = Array<T>::from_shape({M, N});
  for (std::size_t row = 0; row < M; ++row) std::copy_n(bias.value().data(), N, r.data() + row * N);
  return r;
}

// linear and addmm: bias + a · op(b) as one gemm onto the bias; shapes(a, b, bias) words
// the error (only then: formatting costs as much as a small step's product).
template <class T, class Describe>
Tensor<T> product_onto_bias(const char* op, const Tensor<T>& a, const Tensor<T>& b, bool transposed_b,
                            Tensor<T> bias, Describe shapes) {
  const bool ok = a.dim() == 2 && b.dim() == 2 && a.shape()[1] == b.shape()[transposed_b ? 1 : 0];
  Array<T> r = ok ? bias_rows(bias, a.shape()[0], b.shape()[transposed_b ? 0 : 1]) : Array<T>();
  if (r.dimension() != 2) throw Error(fmt::format("{}: {}", op, shapes(a, b, bias)));
  gemm(a.value(), false, b.value(), transposed_b, r, T(1));
  return record<T>(op, std::move(r), {a, b, bias}, [transposed_b](const BackwardContext<T>& c) {
    matmul_backward(c, transposed_b);
    c.accumulate_sum_to(2, c.take_grad());
  });
}
}  // namespace

// linear: result = x · wᵀ + bias       x (M,K), w (N,K), bias (N) or (M,N) → (M,N)
//   dx += grad · w        dw += gradᵀ · x        dbias += grad (summed over rows if bias is (N))
// PyTorch's F.linear: layers store weights as (out, in).
template <class T>
Tensor<T> linear(const Tensor<T>& x, const Tensor<T>& w, const Tensor<T>& bias) {
  return product_onto_bias("linear", x, w, true, bias,  // bias by copy: a second handle, never taken
                           [](const Tensor<T>& x, const Tensor<T>& w, const Tensor<T>& bias) {
                             return fmt::format("{} · {}ᵀ + {}", shape_str(x.shape()), shape_str(w.shape()),
                                                shape_str(bias.shape()));
                           });
}

// addmm: result = bias + a · b         a (M,K), b (K,N), bias (N) or (M,N) → (M,N)
//   da += grad · bᵀ       db += aᵀ · grad        dbias += grad (summed over rows if bias is (N))
// PyTorch's torch.addmm. With b stored (K,N), a few rows times b is the fast case: for
// (4–64 rows)·(128,512) 1.4–7× the same product as x · wᵀ (bench_engine --part few-rows).
template <class T>
Tensor<T> addmm(Tensor<T> bias, const Tensor<T>& a, const Tensor<T>& b) {
  return product_onto_bias("addmm", a, b, false, std::move(bias),
                           [](const Tensor<T>& a, const Tensor<T>& b, const Tensor<T>& bias) {
                             return fmt::format("{} + {} · {}", shape_str(bias.shape()), shape_str(a.shape()),
                                                shape_str(b.shape()));
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
    gemm(a.value().data() + i * M * K, K, false, b.value().data() + i * K * N, N, false, r.data() + i * M * N, M, N,
         K, T(0));
  return record<T>("bmm", std::move(r), {a, b}, [B, M, K, N](const BackwardContext<T>& c) {
    const T *g = c.grad().data(), *av = c.input(0).data(), *bv = c.input(1).data();
    bool fresh = false;
    if (c.needs_grad(0)) {
      T* da = c.gradient_target(0, fresh).data();
      for (std::size_t i = 0; i < B; ++i)
        gemm(g + i * M * N, N, false, bv + i * K * N, N, true, da + i * M * K, M, K, N, fresh ? T(0) : T(1));
    }
    if (c.needs_grad(1)) {
      T* db = c.gradient_target(1, fresh).data();
      for (std::size_t i = 0; i < B; ++i)
        gemm(av + i * M * K, K, true, g + i * M * N, N, false, db + i * K * N, K, N, M, fresh ? T(0) : T(1));
    }
  });
}

namespace {
// x permuted by perm; a matrix through a tiled loop (xtensor's strided assignment of
// xt::transpose is ~10× slower: a (512,128) weight cost as much as a batch-1 forward).
template <class T>
Array<T> permuted(const Array<T>& x, const std::vector<std::size_t>& perm) {
  if (x.dimension() != 2 || perm[0] == 0) return Array<T>(xt::transpose(x, perm));
  constexpr std::size_t kTile = 16;
  const std::size_t rows = x.shape()[0], cols = x.shape()[1];
  Array<T> r = Array<T>::from_shape({cols, rows});
  const T* in = x.data();
  T* out = r.data();
  for (std::size_t i0 = 0; i0 < rows; i0 += kTile)
    for (std::size_t j0 = 0; j0 < cols; j0 += kTile)
      for (std::size_t i = i0; i < std::min(i0 + kTile, rows); ++i)
        for (std::size_t j = j0; j < std::min(j0 + kTile, cols); ++j) out[j * rows + i] = in[i * cols + j];
  return r;
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
    Array<T> g = c.take_grad();
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
