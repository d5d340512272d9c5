// A register-blocked gemm, out (m,n) = op(a)·op(b) (+ out): every product of the fast
// layer but a single column or a row times bᵀ (dot products, fast/gemm.cpp). The LSTM's are
// the ones that count: h · W_hhᵀ at every step, (≤ 64,128)·(128,512), and the input and
// weight-gradient products, (B·T,E)·(E,4H) and the like. BLAS packs both operands into its blocked layout on every
// call; at the step's size that copy costs as much as the arithmetic, and it is redone at
// every step for the same weights. This kernel reads b in place when it can (untransposed,
// a whole block of columns) and copies one column block at a time when it cannot (b
// transposed, or the last, partial block) or should not (a transposed). On the project's
// AVX-512 machine it runs these shapes at 140–220 GFLOP/s on one core, where OpenBLAS runs
// 90–100 with the AVX2 kernels that OPENBLAS_CORETYPE=Haswell selects and 150–195 with its
// own AVX-512 ones: its speed does not depend on that setting. bench_engine --part few-rows
// and --part lstm measure it; tests/test_fast.cpp holds every path to the definition of
// the product.
#pragma once
#include <algorithm>
#include <cstddef>
#include <utility>
#include <vector>

#include <xsimd/xsimd.hpp>

#include "autograd/fast/kernels.hpp"  // transpose_into

namespace tg::fast {

// A block of out that block_gemm_rows keeps in registers: Rows rows times Vectors SIMD
// batches of columns (kWidth columns), and how many of the k summed terms one pass takes:
// the panel of op(b) it reads, (kTerms, kWidth), must stay in L2 while every row block of
// out reads it. A longer sum runs in passes, each adding onto what the one before stored:
// the same additions in the same order.
template <class T, std::size_t Rows, std::size_t Vectors>
struct BlockShape {
  using V = xsimd::batch<T>;
  static constexpr std::size_t kRows = Rows, kVectors = Vectors, kWidth = Vectors * V::size;
  static constexpr std::size_t kTerms = (std::size_t{256} << 10) / (kWidth * sizeof(T));
};
// AVX-512 has 32 vector registers, narrower SIMD 16.
template <class T>
inline constexpr bool kWideRegisters = sizeof(xsimd::batch<T>) >= 64;
// The usual block: 8 rows × 2 batches (16 sums, 2 of b, 1 of a), 4 × 2 with 16 registers.
template <class T>
using GemmBlock = BlockShape<T, kWideRegisters<T> ? 8 : 4, 2>;
// One or two rows, as for one tweet at a time: 8 batches wide (4 with 16 registers), so
// that enough independent sums are in flight to hide the FMA's latency. For (m,128)·
// (128,512) one row takes 1.7 µs and two 2.6–2.8, where 4 × 4 blocks take 2.1–2.3 and
// 3.2, and 8 × 2 ones 3.2 and 3.5.
template <class T>
using FewRowsBlock = BlockShape<T, 2, kWideRegisters<T> ? 8 : 4>;

// With a transposed, each step of a row block's sum reads a few values from a new row of
// a, so every column block of out streams all of a again. Its passes are shorter, so that
// the part of a they read, (kc, m), stays in L2 too: the weight gradients' dzᵀ · x,
// (4H,B·T)·(B·T,E), 1.2–1.5× faster (measured at T = 20 and 48).
template <class Shape, class T = typename Shape::V::value_type>
std::size_t block_gemm_terms(bool ta, std::size_t m) {
  if (!ta) return Shape::kTerms;
  return std::min(Shape::kTerms, std::max<std::size_t>(64, (std::size_t{256} << 10) / (m * sizeof(T))));
}

// GCC folds a load of b into every FMA that reads it, so each is loaded once per row of
// the block: twice the loads, about half the speed (measured on (64,128)·(128,512)). An
// empty asm that claims to change the register makes the compiler load it once.
template <class V>
inline void keep_in_register(V& v) {
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
  asm("" : "+v"(v.data));
#elif defined(__GNUC__) && defined(__aarch64__)
  asm("" : "+w"(v.data));
#endif
}

// out[0:Rows, 0:w] (+)= op(a)[0:Rows, :] · panel[:, 0:w], with Rows × kVectors SIMD sums in
// registers. op(a)'s element (r, i) is at a[r·a_row + i·a_k] (a transposed is a stride,
// not a copy); the panel is (k, kWidth), row i at panel + i·ldp. Each sum runs over i in
// order. A partial block (w < kWidth) goes through a local copy of its rows of out.
template <class Shape, std::size_t Rows, class T>
void block_gemm_rows(const T* a, std::size_t a_row, std::size_t a_k, const T* panel, std::size_t ldp, std::size_t k,
                     T* out, std::size_t ldo, std::size_t w, bool accumulate) {
  using V = typename Shape::V;
  constexpr std::size_t L = V::size, Vectors = Shape::kVectors, W = Shape::kWidth;
  alignas(64) T edge[Rows * W];
  T* o = out;
  std::size_t ld = ldo;
  if (w < W) {
    if (accumulate)
      for (std::size_t r = 0; r < Rows; ++r) std::copy_n(out + r * ldo, w, edge + r * W);
    o = edge, ld = W;
  }
  V acc[Rows][Vectors];
#pragma GCC unroll 8
  for (std::size_t r = 0; r < Rows; ++r)
#pragma GCC unroll 8
    for (std::size_t v = 0; v < Vectors; ++v) acc[r][v] = accumulate ? V::load_unaligned(o + r * ld + v * L) : V(T(0));
  const T* ai = a;
  for (std::size_t i = 0; i < k; ++i, ai += a_k) {
    V bi[Vectors];
#pragma GCC unroll 8
    for (std::size_t v = 0; v < Vectors; ++v) {
      bi[v] = V::load_unaligned(panel + i * ldp + v * L);
      keep_in_register(bi[v]);
    }
#pragma GCC unroll 8
    for (std::size_t r = 0; r < Rows; ++r) {
      const V ari(ai[r * a_row]);
#pragma GCC unroll 8
      for (std::size_t v = 0; v < Vectors; ++v) acc[r][v] = xsimd::fma(ari, bi[v], acc[r][v]);
    }
  }
#pragma GCC unroll 8
  for (std::size_t r = 0; r < Rows; ++r)
#pragma GCC unroll 8
    for (std::size_t v = 0; v < Vectors; ++v) acc[r][v].store_unaligned(o + r * ld + v * L);
  if (w < W)
    for (std::size_t r = 0; r < Rows; ++r) std::copy_n(edge + r * W, w, out + r * ldo);
}

// The last rows − 1 … 1 rows of a column block, as one block of that many rows.
template <class Shape, std::size_t Rows, class T>
void block_gemm_last_rows(std::size_t rows, const T* a, std::size_t a_row, std::size_t a_k, const T* panel,
                          std::size_t ldp, std::size_t k, T* out, std::size_t ldo, std::size_t w, bool accumulate) {
  if constexpr (Rows > 0) {
    if (rows == Rows) return block_gemm_rows<Shape, Rows>(a, a_row, a_k, panel, ldp, k, out, ldo, w, accumulate);
    block_gemm_last_rows<Shape, Rows - 1>(rows, a, a_row, a_k, panel, ldp, k, out, ldo, w, accumulate);
  }
}

// out (m,n) = op(a)·b, plus out when accumulate, in blocks of the given shape; a row-major
// with cols_a columns as stored, k the summed dimension. panel_at(p, kc, j, w) says where
// b's column block j … j + w − 1, terms p … p + kc − 1, is read from: a pointer to its
// first element and the distance between its rows, kWidth columns readable in each.
template <class Shape, class T, class PanelAt>
void block_gemm_blocks(const T* a, std::size_t cols_a, bool ta, T* out, std::size_t m, std::size_t n,
                       std::size_t k, bool accumulate, PanelAt panel_at) {
  constexpr std::size_t W = Shape::kWidth, Rows = Shape::kRows;
  const std::size_t a_row = ta ? 1 : cols_a, a_k = ta ? cols_a : 1, terms = block_gemm_terms<Shape>(ta, m);
  for (std::size_t p = 0; p < k; p += terms)  // terms p … p + kc − 1
    for (std::size_t j = 0; j < n; j += W) {
      const std::size_t w = std::min(W, n - j), kc = std::min(terms, k - p);
      const auto [panel, ldp] = panel_at(p, kc, j, w);
      const T* ap = a + p * a_k;
      const bool onto = accumulate || p > 0;
      std::size_t i = 0;
      for (; i + Rows <= m; i += Rows)
        block_gemm_rows<Shape, Rows>(ap + i * a_row, a_row, a_k, panel, ldp, kc, out + i * n + j, n, w, onto);
      block_gemm_last_rows<Shape, Rows - 1>(m - i, ap + i * a_row, a_row, a_k, panel, ldp, kc, out + i * n + j, n,
                                            w, onto);
    }
}

// out (m,n) = op(a)·op(b), plus out when accumulate; b row-major with cols_b columns as
// stored. b is read in place when it can be (untransposed, a whole block of columns).
template <class Shape, class T>
void block_gemm_shaped(const T* a, std::size_t cols_a, bool ta, const T* b, std::size_t cols_b, bool tb, T* out,
                       std::size_t m, std::size_t n, std::size_t k, bool accumulate) {
  constexpr std::size_t W = Shape::kWidth;
  // op(b)'s column block, copied when b is transposed or the block partial, and when a is
  // transposed: every row block then rereads a short panel (block_gemm_terms) while a
  // streams past, and the copy's rows are contiguous where b's lie n apart. The weight
  // gradients (4H,B·T)·(B·T,H) and (H,B·T)·(B·T,4H) took 0.79 and 0.88 of the time with
  // the copy; products with a in place, 0.97–1.07 (measured, one core).
  std::vector<T> copied;
  block_gemm_blocks<Shape>(a, cols_a, ta, out, m, n, k, accumulate,
                           [&](std::size_t p, std::size_t kc, std::size_t j, std::size_t w) {
    if (!tb && !ta && w == W) return std::pair<const T*, std::size_t>{b + p * cols_b + j, cols_b};
    copied.resize(kc * W);
    T* to = copied.data();
    if (tb) transpose_into(b + j * cols_b + p, cols_b, w, kc, to, W);  // b's rows j … j + w − 1
    for (std::size_t i = 0; i < kc; ++i, to += W) {
      if (!tb) std::copy_n(b + (p + i) * cols_b + j, w, to);
      std::fill(to + w, to + W, T(0));
    }
    return std::pair<const T*, std::size_t>{copied.data(), W};
  });
}

// Blocks of few rows when out has no more rows than one of them, else the usual blocks.
template <class T, class Run>
void with_block_shape(std::size_t m, Run run) {
  if (m <= FewRowsBlock<T>::kRows)
    run(FewRowsBlock<T>());
  else
    run(GemmBlock<T>());
}

// block_gemm_shaped in the shape with_block_shape picks.
template <class T>
void block_gemm(const T* a, std::size_t cols_a, bool ta, const T* b, std::size_t cols_b, bool tb, T* out,
                std::size_t m, std::size_t n, std::size_t k, bool accumulate) {
  with_block_shape<T>(m, [&](auto shape) {
    block_gemm_shaped<decltype(shape)>(a, cols_a, ta, b, cols_b, tb, out, m, n, k, accumulate);
  });
}

// Note [Weight panels]
// A weight multiplied again and again (the LSTM's W_hhᵀ at every step, and in evaluation
// its W_ihᵀ at every forward) can be stored the way the kernel reads it: op(b) (k,n) cut
// into column panels kPanelWidth wide, each a contiguous (k, kPanelWidth) block, the last
// padded with zeros. A few-row block then streams one contiguous panel instead of rows n
// apart: h (m,128) times a (128,512) W_hhᵀ takes 0.72 of the time at m = 1 and 2, 0.82 at
// 4 and 0.96–1.00 from 8 to 64 (bench_engine --part few-rows, one core). The sums are the
// same, in the same order.
template <class T>
inline constexpr std::size_t kPanelWidth = FewRowsBlock<T>::kWidth;
static_assert(kPanelWidth<float> % GemmBlock<float>::kWidth == 0 &&
              kPanelWidth<double> % GemmBlock<double>::kWidth == 0);

// out (m,n) = a·b (+ out when accumulate), b (k,n) as panels.
template <class T>
void block_gemm_panels(const T* a, std::size_t cols_a, const T* panels, T* out, std::size_t m, std::size_t n,
                       std::size_t k, bool accumulate) {
  constexpr std::size_t P = kPanelWidth<T>;
  with_block_shape<T>(m, [&](auto shape) {
    block_gemm_blocks<decltype(shape)>(a, cols_a, false, out, m, n, k, accumulate,
                                       [&](std::size_t p, std::size_t, std::size_t j, std::size_t) {
      return std::pair<const T*, std::size_t>{panels + j / P * k * P + p * P + j % P, P};
    });
  });
}

}  // namespace tg::fast
