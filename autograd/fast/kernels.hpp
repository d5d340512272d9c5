// The fast layer's loops (autograd/fast/): elementwise and reduction kernels over
// dynamic-rank arrays, as plain loops, and the axis-range copies of slice/concat/stack.
// xtensor 0.24.3's immediate reducers fail on xarray ("cannot change the number of
// dimensions of xtensor"), its lazy axis reducers are ~7x slower than a loop, and it
// assigns an xarray from a binary expression through its strided (unvectorised) loop
// even when the shapes agree. Transcendentals (exp, tanh, …) stay with xtensor: its
// xsimd versions are what makes them fast.
#pragma once
#include <algorithm>
#include <limits>
#include <type_traits>
#include <vector>

#if defined(__AVX512F__)
#include <immintrin.h>
#endif

#include "autograd/array.hpp"

namespace tg::fast {

// result[i] = f(a[i]) as one loop the compiler vectorises.
template <class T, class F>
Array<T> map(const Array<T>& a, F f) {
  Array<T> r = xt::empty<T>(a.shape());
  const T* pa = a.data();
  T* pr = r.data();
  for (std::size_t i = 0, n = a.size(); i < n; ++i) pr[i] = f(pa[i]);
  return r;
}

// result[i] = f(a[i], b[i]) for two arrays of one shape.
template <class T, class F>
Array<T> zip_same(const Array<T>& a, const Array<T>& b, F f) {
  Array<T> r = xt::empty<T>(a.shape());
  const T *pa = a.data(), *pb = b.data();
  T* pr = r.data();
  for (std::size_t i = 0, n = a.size(); i < n; ++i) pr[i] = f(pa[i], pb[i]);
  return r;
}

#if defined(__AVX512F__)
// One stage of a register transpose: each pair of registers D apart (in groups of 2D)
// becomes lo(x, y) and hi(x, y).
template <int D, class Lo, class Hi>
inline void exchange_pairs(__m512* v, Lo lo, Hi hi) {
#pragma GCC unroll 16
  for (int g = 0; g < 16; g += 2 * D)
#pragma GCC unroll 8
    for (int j = g; j < g + D; ++j) {
      const __m512 x = v[j], y = v[j + D];
      v[j] = lo(x, y), v[j + D] = hi(x, y);
    }
}

// One 16 × 16 float tile of transpose_into: four stages exchange pairs of rows 1, 2, 4
// and 8 apart — elements, pairs of elements, then 128-bit lanes twice. Register i then
// holds column kColumn[i].
inline void transpose_tile16(const float* in, std::size_t ld_in, float* out, std::size_t ld_out) {
  constexpr int kColumn[16] = {0, 2, 1, 3, 4, 6, 5, 7, 8, 10, 9, 11, 12, 14, 13, 15};
  __m512 v[16];
#pragma GCC unroll 16
  for (int i = 0; i < 16; ++i) v[i] = _mm512_loadu_ps(in + i * ld_in);
  exchange_pairs<1>(v, [](__m512 x, __m512 y) { return _mm512_unpacklo_ps(x, y); },
                    [](__m512 x, __m512 y) { return _mm512_unpackhi_ps(x, y); });
  exchange_pairs<2>(v, [](__m512 x, __m512 y) { return _mm512_shuffle_ps(x, y, _MM_SHUFFLE(1, 0, 1, 0)); },
                    [](__m512 x, __m512 y) { return _mm512_shuffle_ps(x, y, _MM_SHUFFLE(3, 2, 3, 2)); });
  const auto low_lanes = [](__m512 x, __m512 y) { return _mm512_shuffle_f32x4(x, y, _MM_SHUFFLE(2, 0, 2, 0)); };
  const auto high_lanes = [](__m512 x, __m512 y) { return _mm512_shuffle_f32x4(x, y, _MM_SHUFFLE(3, 1, 3, 1)); };
  exchange_pairs<4>(v, low_lanes, high_lanes);
  exchange_pairs<8>(v, low_lanes, high_lanes);
#pragma GCC unroll 16
  for (int i = 0; i < 16; ++i) _mm512_storeu_ps(out + kColumn[i] * ld_out, v[i]);
}
#endif

// dst[c·ld_dst + r] = src[r·ld_src + c] for r < rows, c < cols: a transpose between
// strided buffers, 16 × 16 tiles at a time, so that both sides touch few cache lines per
// tile. With AVX-512 a whole float tile moves through registers (16 loads, 64 shuffles,
// 16 stores); otherwise, and at the edges, element by element. xtensor's strided
// assignment of xt::transpose is ~10× slower than the scalar tiles, which are ~3× slower
// than the registers (a (512,128) weight: 145, 40 and 14 µs).
template <class T>
void transpose_into(const T* src, std::size_t ld_src, std::size_t rows, std::size_t cols, T* dst,
                    std::size_t ld_dst) {
  constexpr std::size_t kTile = 16;
  for (std::size_t r0 = 0; r0 < rows; r0 += kTile)
    for (std::size_t c0 = 0; c0 < cols; c0 += kTile) {
      const T* in = src + r0 * ld_src + c0;
      T* out = dst + c0 * ld_dst + r0;
#if defined(__AVX512F__)
      if constexpr (std::is_same_v<T, float>) {
        if (r0 + kTile <= rows && c0 + kTile <= cols) {
          transpose_tile16(in, ld_src, out, ld_dst);
          continue;
        }
      }
#endif
      for (std::size_t r = 0; r < std::min(kTile, rows - r0); ++r)
        for (std::size_t c = 0; c < std::min(kTile, cols - c0); ++c) out[c * ld_dst + r] = in[r * ld_src + c];
    }
}

// The transpose of a matrix, as a new array.
template <class T>
Array<T> transposed_matrix(const Array<T>& x) {
  const std::size_t rows = x.shape()[0], cols = x.shape()[1];
  Array<T> r = Array<T>::from_shape({cols, rows});
  transpose_into(x.data(), cols, rows, cols, r.data(), rows);
  return r;
}

// Element strides of x when it is broadcast to `shape` (NumPy rules: axes aligned on
// the right; an axis x lacks or has as 1 is read with stride 0).
template <class S>
std::vector<std::size_t> broadcast_strides(const S& x_shape, const Shape& shape) {
  std::vector<std::size_t> strides(shape.size(), 0);
  std::size_t stride = 1;
  for (std::size_t k = x_shape.size(); k-- > 0;) {
    const std::size_t axis = shape.size() - x_shape.size() + k;
    if (x_shape[k] != 1) strides[axis] = stride;
    stride *= x_shape[k];
  }
  return strides;
}

// result = f(a, b) broadcast to `shape` (already checked): the last axis is the inner
// loop, the others an odometer; a same-shaped pair is one flat loop.
template <class T, class F>
Array<T> zip(const Array<T>& a, const Array<T>& b, const Shape& shape, F f) {
  if (std::equal(a.shape().begin(), a.shape().end(), shape.begin(), shape.end()) &&
      std::equal(b.shape().begin(), b.shape().end(), shape.begin(), shape.end()))
    return zip_same(a, b, f);
  Array<T> r = xt::empty<T>(shape);
  if (r.size() == 0) return r;
  const std::size_t rank = shape.size(), inner = rank ? shape[rank - 1] : 1;
  const auto sa = broadcast_strides(a.shape(), shape), sb = broadcast_strides(b.shape(), shape);
  const bool ia = rank && sa[rank - 1], ib = rank && sb[rank - 1];  // stride 1 or 0 on the last axis
  std::vector<std::size_t> index(rank, 0);
  std::size_t oa = 0, ob = 0;
  for (T* out = r.data(); out < r.data() + r.size(); out += inner) {
    const T *pa = a.data() + oa, *pb = b.data() + ob;
    if (ia && ib) for (std::size_t i = 0; i < inner; ++i) out[i] = f(pa[i], pb[i]);
    else if (ia) for (std::size_t i = 0; i < inner; ++i) out[i] = f(pa[i], *pb);
    else if (ib) for (std::size_t i = 0; i < inner; ++i) out[i] = f(*pa, pb[i]);
    else std::fill_n(out, inner, f(*pa, *pb));
    for (std::size_t k = rank ? rank - 1 : 0; k-- > 0;) {  // the odometer over the outer axes
      oa += sa[k];
      ob += sb[k];
      if (++index[k] < shape[k]) break;
      oa -= sa[k] * shape[k];
      ob -= sb[k] * shape[k];
      index[k] = 0;
    }
  }
  return r;
}

// acc += x for two arrays of one shape.
template <class T>
void add_into(Array<T>& acc, const Array<T>& x) {
  T* pa = acc.data();
  const T* px = x.data();
  for (std::size_t i = 0, n = acc.size(); i < n; ++i) pa[i] += px[i];
}

// Views x as (outer, n, inner) around `axis` and folds the n axis with op(acc, v).
template <class T, class Op>
Array<T> reduce_axis(const Array<T>& x, std::size_t axis, bool keepdims, T init, Op op) {
  std::size_t outer = 1, inner = 1;
  const std::size_t n = x.shape()[axis];
  for (std::size_t a = 0; a < axis; ++a) outer *= x.shape()[a];
  for (std::size_t a = axis + 1; a < x.dimension(); ++a) inner *= x.shape()[a];
  Shape shape(x.shape().begin(), x.shape().end());
  if (keepdims) shape[axis] = 1;
  else shape.erase(shape.begin() + static_cast<std::ptrdiff_t>(axis));
  Array<T> out = xt::empty<T>(shape);
  std::fill(out.begin(), out.end(), init);
  const T* src = x.data();
  T* dst = out.data();
  for (std::size_t o = 0; o < outer; ++o)
    for (std::size_t k = 0; k < n; ++k) {
      const T* row = src + (o * n + k) * inner;
      T* acc = dst + o * inner;
      for (std::size_t i = 0; i < inner; ++i) acc[i] = op(acc[i], row[i]);
    }
  return out;
}

template <class T>
Array<T> sum_axis(const Array<T>& x, std::size_t axis, bool keepdims) {
  return reduce_axis<T>(x, axis, keepdims, T(0), [](T a, T b) { return a + b; });
}

template <class T>
Array<T> max_axis(const Array<T>& x, std::size_t axis, bool keepdims) {
  return reduce_axis<T>(x, axis, keepdims, -std::numeric_limits<T>::infinity(),
                        [](T a, T b) { return std::max(a, b); });
}

// Σ f(x_i), accumulated in Acc over eight partial sums: a single running sum is a serial
// dependency chain the compiler may not reorder (floating-point addition is not
// associative), so it cannot vectorise.
template <class Acc, class T, class F>
Acc sum_lanes(const Array<T>& x, F f) {
  Acc lanes[8] = {};
  const T* p = x.data();
  const std::size_t n = x.size(), body = n - n % 8;
  for (std::size_t i = 0; i < body; i += 8)
    for (std::size_t k = 0; k < 8; ++k) lanes[k] += f(p[i + k]);
  Acc total = 0;
  for (std::size_t i = body; i < n; ++i) total += f(p[i]);
  for (Acc lane : lanes) total += lane;
  return total;
}

template <class T>
T sum_all(const Array<T>& x) {
  return sum_lanes<T>(x, [](T v) { return v; });
}

}  // namespace tg::fast

namespace tg::fast {

// A range [start, stop) along one axis of a row-major array, seen as (outer, n, inner):
// each of the `outer` blocks holds one contiguous run of (stop − start)·inner elements.
// slice, select, concat and stack all move such runs; the matching small array is
// (outer, stop − start, inner) in the same order, so a run is one memcpy or one add loop.
struct AxisRange {
  std::size_t outer = 1, n = 1, inner = 1, start = 0, stop = 0;
  std::size_t run() const { return (stop - start) * inner; }
};

template <class S>
AxisRange axis_range(const S& big_shape, std::size_t axis, std::size_t start, std::size_t stop) {
  AxisRange r;
  r.n = big_shape[axis];
  r.start = start;
  r.stop = stop;
  for (std::size_t a = 0; a < axis; ++a) r.outer *= big_shape[a];
  for (std::size_t a = axis + 1; a < big_shape.size(); ++a) r.inner *= big_shape[a];
  return r;
}

// small = big[range]
template <class T>
void copy_range_out(const T* big, T* small, const AxisRange& r) {
  for (std::size_t o = 0; o < r.outer; ++o)
    std::copy_n(big + (o * r.n + r.start) * r.inner, r.run(), small + o * r.run());
}

// big[range] = small
template <class T>
void copy_range_in(T* big, const T* small, const AxisRange& r) {
  for (std::size_t o = 0; o < r.outer; ++o)
    std::copy_n(small + o * r.run(), r.run(), big + (o * r.n + r.start) * r.inner);
}

// big[range] += small
template <class T>
void add_range_in(T* big, const T* small, const AxisRange& r) {
  for (std::size_t o = 0; o < r.outer; ++o) {
    T* dst = big + (o * r.n + r.start) * r.inner;
    const T* src = small + o * r.run();
    for (std::size_t k = 0; k < r.run(); ++k) dst[k] += src[k];
  }
}

}  // namespace tg::fast
