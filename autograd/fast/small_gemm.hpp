// A register-blocked gemm for a few rows times a matrix that stays in cache: the LSTM
// step's h · W_hhᵀ, (≤ 64, 128) · (128, 512). BLAS first copies ("packs") both operands
// into its blocked layout on every call; at these sizes that copy costs as much as the
// arithmetic, and it is redone at every time step for the same weights. This kernel
// reads b in place instead: for 16–64 rows it is 1.1–1.6× OpenBLAS on the same layout,
// for 1–8 rows on a par (bench_engine --part few-rows; tests/bench/README.md). The fast
// layer's gemm (fast/gemm.cpp) decides when to use it.
#pragma once
#include <cstddef>

#include <xsimd/xsimd.hpp>

namespace tg::fast {

template <class T>
inline constexpr std::size_t kSmallGemmWidth = 4 * xsimd::batch<T>::size;  // columns per block

// Whether small_gemm takes out = a·b (+ out): both untransposed, n a whole number of
// blocks, few rows, and b (k,n) small enough to stay in L2 while every row block reads it.
template <class T>
bool small_gemm_fits(std::size_t m, std::size_t n, std::size_t k) {
  return m <= 64 && n % kSmallGemmWidth<T> == 0 && k * n * sizeof(T) <= (std::size_t{512} << 10);
}

// out[0:Rows, 0:width] (+)= a[0:Rows, :] · b[:, 0:width], with Rows × 4 SIMD accumulators
// in registers; each step of the k loop loads one row piece of b and Rows values of a.
template <class T, std::size_t Rows>
void small_gemm_block(const T* a, std::size_t lda, const T* b, std::size_t ldb, std::size_t k, T* out,
                      std::size_t ldo, bool accumulate) {
  using V = xsimd::batch<T>;
  constexpr std::size_t L = V::size, Vectors = kSmallGemmWidth<T> / L;
  V acc[Rows][Vectors];
#pragma GCC unroll 4
  for (std::size_t r = 0; r < Rows; ++r)
#pragma GCC unroll 4
    for (std::size_t v = 0; v < Vectors; ++v) acc[r][v] = accumulate ? V::load_unaligned(out + r * ldo + v * L) : V(T(0));
  for (std::size_t i = 0; i < k; ++i) {
    V bi[Vectors];
#pragma GCC unroll 4
    for (std::size_t v = 0; v < Vectors; ++v) bi[v] = V::load_unaligned(b + i * ldb + v * L);
#pragma GCC unroll 4
    for (std::size_t r = 0; r < Rows; ++r) {
      const V ari(a[r * lda + i]);
#pragma GCC unroll 4
      for (std::size_t v = 0; v < Vectors; ++v) acc[r][v] = xsimd::fma(ari, bi[v], acc[r][v]);
    }
  }
#pragma GCC unroll 4
  for (std::size_t r = 0; r < Rows; ++r)
#pragma GCC unroll 4
    for (std::size_t v = 0; v < Vectors; ++v) acc[r][v].store_unaligned(out + r * ldo + v * L);
}

// out (m,n) = a (m,k) · b (k,n), plus out when accumulate; all row-major, small_gemm_fits.
// Each product is summed over k in order, as OpenBLAS's kernel does.
template <class T>
void small_gemm(const T* a, const T* b, T* out, std::size_t m, std::size_t n, std::size_t k, bool accumulate) {
  for (std::size_t j = 0; j < n; j += kSmallGemmWidth<T>) {
    std::size_t i = 0;
    for (; i + 4 <= m; i += 4) small_gemm_block<T, 4>(a + i * k, k, b + j, n, k, out + i * n + j, n, accumulate);
    const T* ai = a + i * k;
    T* oi = out + i * n + j;
    switch (m - i) {  // the last 1–3 rows as one block
      case 3: small_gemm_block<T, 3>(ai, k, b + j, n, k, oi, n, accumulate); break;
      case 2: small_gemm_block<T, 2>(ai, k, b + j, n, k, oi, n, accumulate); break;
      case 1: small_gemm_block<T, 1>(ai, k, b + j, n, k, oi, n, accumulate); break;
      default: break;
    }
  }
}

}  // namespace tg::fast
