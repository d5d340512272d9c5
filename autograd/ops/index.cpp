// Indexing, joining and masking: the ops that move values around without
// arithmetic. Their backward routes each gradient back to where the value came from.
#include <algorithm>
#include <cmath>

#include "autograd/fast/backward.hpp"
#include "autograd/ops/detail.hpp"
#include "autograd/random.hpp"

namespace tg {

namespace {
template <class T>
void check_same_shapes(const char* op, const std::vector<Tensor<T>>& xs, std::size_t except_axis) {
  if (xs.empty()) throw Error(fmt::format("{}: no tensors given", op));
  for (const auto& x : xs) {
    bool ok = x.dim() == xs[0].dim();
    for (std::size_t a = 0; ok && a < x.dim(); ++a) ok = a == except_axis || x.shape()[a] == xs[0].shape()[a];
    if (!ok) throw Error(fmt::format("{}: {} and {} differ", op, shape_str(xs[0].shape()), shape_str(x.shape())));
  }
}

// mask as 1/0 values of T, broadcast to `shape` (already checked) by fast::zip.
template <class T>
Array<T> spread_mask(const Mask& mask, const Shape& shape) {
  Array<T> m = xt::empty<T>(mask.shape());
  std::transform(mask.begin(), mask.end(), m.begin(), [](bool b) { return T(b); });
  return fast::zip(m, Array<T>(T(0)), shape, [](T v, T) { return v; });
}
}  // namespace

// gather: result[i…] = table[ids[i…]]          table (V,E), ids any shape → ids.shape + (E);
//                                              a table (…,E) is read as its rows
//   dtable[ids[i…]] += grad[i…]        (a repeated id accumulates into one row)
template <class T>
Tensor<T> gather(const Tensor<T>& table, const Ids& ids) {
  if (table.dim() < 2) throw Error("gather: table must be at least 2-D, got " + shape_str(table.shape()));
  const std::size_t width = table.shape().back(), rows = table.size() / std::max<std::size_t>(width, 1);
  Shape shape(ids.shape().begin(), ids.shape().end());
  shape.push_back(width);
  Array<T> r = xt::empty<T>(shape);
  for (std::size_t i = 0; i < ids.size(); ++i) {
    const auto id = ids.data()[i];
    if (id < 0 || static_cast<std::size_t>(id) >= rows)
      throw Error(fmt::format("gather: id {} is out of range for a table of {} rows", id, rows));
    std::copy_n(table.value().data() + id * width, width, r.data() + i * width);
  }
  return record<T>("gather", std::move(r), {table}, [ids](const BackwardContext<T>& c) {
    if (!c.needs_grad(0)) return;
    const std::size_t w = c.input(0).shape().back();
    T* d = fast::gradient_buffer(c, 0).data();  // added in place: an embedding table's gradient is large
    for (std::size_t i = 0; i < ids.size(); ++i) {
      const T* g = c.grad().data() + i * w;
      T* row = d + ids.data()[i] * w;
      for (std::size_t k = 0; k < w; ++k) row[k] += g[k];
    }
  });
}

// gather_mean: result[b] = (1/n_b) Σ_k table[ids[b,k]]     over the n_b ids of bag b ≠ padding
//   dtable[ids[b,k]] += grad[b] / n_b                       (the same ids only)
// It is sum(gather(table, ids) ⊙ share, axis −1) with share 1/n_b at real ids and 0 at
// padding (to rounding: the sums run in another order), without the (…,K,E) tensors.
template <class T>
Tensor<T> gather_mean(const Tensor<T>& table, const Ids& ids, std::int64_t padding) {
  if (table.dim() != 2) throw Error("gather_mean: table must be 2-D, got " + shape_str(table.shape()));
  if (ids.dimension() == 0 || ids.shape().back() == 0)
    throw Error("gather_mean: ids must be (…,K) with K ≥ 1, got " + shape_str(ids.shape()));
  const std::size_t rows = table.shape()[0], width = table.shape()[1], K = ids.shape().back(), bags = ids.size() / K;
  std::vector<T> share(bags);  // 1/n_b, or 0 for a bag of padding alone
  for (std::size_t b = 0; b < bags; ++b) {
    std::size_t n = 0;
    for (std::size_t k = 0; k < K; ++k) {
      const auto id = ids.data()[b * K + k];
      if (id < 0 || static_cast<std::size_t>(id) >= rows)
        throw Error(fmt::format("gather_mean: id {} is out of range for a table of {} rows", id, rows));
      n += id != padding;
    }
    share[b] = n > 0 ? T(1) / T(n) : T(0);
  }
  Shape shape(ids.shape().begin(), ids.shape().end() - 1);
  shape.push_back(width);
  Array<T> r = xt::zeros<T>(shape);
  for (std::size_t b = 0; b < bags; ++b)
    for (std::size_t k = 0; k < K; ++k) {
      const auto id = ids.data()[b * K + k];
      if (id == padding) continue;
      const T* row = table.value().data() + id * width;
      T* out = r.data() + b * width;
      for (std::size_t e = 0; e < width; ++e) out[e] += row[e] * share[b];
    }
  auto backward = [ids, padding, share = std::move(share)](const BackwardContext<T>& c) {
    if (!c.needs_grad(0)) return;
    const std::size_t w = c.input(0).shape()[1], K = ids.shape().back();
    T* d = fast::gradient_buffer(c, 0).data();  // added in place, as gather's
    for (std::size_t b = 0; b < share.size(); ++b)
      for (std::size_t k = 0; k < K; ++k) {
        const auto id = ids.data()[b * K + k];
        if (id == padding) continue;
        const T* g = c.grad().data() + b * w;
        T* row = d + id * w;
        for (std::size_t e = 0; e < w; ++e) row[e] += g[e] * share[b];
      }
  };
  return record<T>("gather_mean", std::move(r), {table}, std::move(backward));
}

// slice: result = x[…, start:stop, …] along axis
//   dx[…, start:stop, …] += grad        (added into that region of dx only)
template <class T>
Tensor<T> slice(const Tensor<T>& x, std::size_t axis, std::size_t start, std::size_t stop) {
  detail::check_axis("slice", axis, detail::to_shape(x.shape()));
  if (start > stop || stop > x.shape()[axis])
    throw Error(fmt::format("slice: [{}:{}] along axis {} of {}", start, stop, axis, shape_str(x.shape())));
  Shape shape = detail::to_shape(x.shape());
  shape[axis] = stop - start;
  const fast::AxisRange range = fast::axis_range(x.shape(), axis, start, stop);
  Array<T> r = xt::empty<T>(shape);
  fast::copy_range_out(x.value().data(), r.data(), range);
  return record<T>("slice", std::move(r), {x}, [range](const BackwardContext<T>& c) {
    if (c.needs_grad(0)) fast::add_range_in(fast::gradient_buffer(c, 0).data(), c.grad().data(), range);
  });
}

// select: result = x[…, index, …], dropping the axis
//   dx[…, index, …] += grad
template <class T>
Tensor<T> select(const Tensor<T>& x, std::size_t axis, std::size_t index) {
  detail::check_axis("select", axis, detail::to_shape(x.shape()));
  if (index >= x.shape()[axis])
    throw Error(fmt::format("select: index {} along axis {} of {}", index, axis, shape_str(x.shape())));
  Shape shape = detail::to_shape(x.shape());
  shape.erase(shape.begin() + static_cast<std::ptrdiff_t>(axis));
  const fast::AxisRange range = fast::axis_range(x.shape(), axis, index, index + 1);
  Array<T> r = xt::empty<T>(shape);
  fast::copy_range_out(x.value().data(), r.data(), range);
  return record<T>("select", std::move(r), {x}, [range](const BackwardContext<T>& c) {
    if (c.needs_grad(0)) fast::add_range_in(fast::gradient_buffer(c, 0).data(), c.grad().data(), range);
  });
}

// concat: result = [x₀ x₁ …] joined along axis
//   dxᵢ += the slice of grad that xᵢ filled
template <class T>
Tensor<T> concat(const std::vector<Tensor<T>>& xs, std::size_t axis) {
  check_same_shapes("concat", xs, axis);
  detail::check_axis("concat", axis, detail::to_shape(xs[0].shape()));
  Shape shape = detail::to_shape(xs[0].shape());
  std::vector<std::size_t> offsets{0};
  for (const auto& x : xs) offsets.push_back(offsets.back() + x.shape()[axis]);
  shape[axis] = offsets.back();
  Array<T> r = xt::empty<T>(shape);
  std::vector<fast::AxisRange> ranges;
  for (std::size_t i = 0; i < xs.size(); ++i) {
    ranges.push_back(fast::axis_range(shape, axis, offsets[i], offsets[i + 1]));
    fast::copy_range_in(r.data(), xs[i].value().data(), ranges.back());
  }
  return record<T>("concat", std::move(r), xs, [ranges](const BackwardContext<T>& c) {
    for (std::size_t i = 0; i < ranges.size(); ++i)
      if (c.needs_grad(i)) {
        Array<T> part = xt::empty<T>(c.input(i).shape());
        fast::copy_range_out(c.grad().data(), part.data(), ranges[i]);
        c.accumulate(i, std::move(part));
      }
  });
}

// stack: result[…, i, …] = xᵢ along a new axis
//   dxᵢ += grad[…, i, …]
template <class T>
Tensor<T> stack(const std::vector<Tensor<T>>& xs, std::size_t axis) {
  check_same_shapes("stack", xs, std::size_t(-1));
  if (axis > xs[0].dim())
    throw Error(fmt::format("stack: axis {} out of range for shape {}", axis, shape_str(xs[0].shape())));
  Shape shape = detail::to_shape(xs[0].shape());
  shape.insert(shape.begin() + static_cast<std::ptrdiff_t>(axis), xs.size());
  Array<T> r = xt::empty<T>(shape);
  for (std::size_t i = 0; i < xs.size(); ++i)
    fast::copy_range_in(r.data(), xs[i].value().data(), fast::axis_range(shape, axis, i, i + 1));
  return record<T>("stack", std::move(r), xs, [axis, n = xs.size()](const BackwardContext<T>& c) {
    for (std::size_t i = 0; i < n; ++i)
      if (c.needs_grad(i)) {
        Array<T> part = xt::empty<T>(c.input(i).shape());
        fast::copy_range_out(c.grad().data(), part.data(), fast::axis_range(c.grad().shape(), axis, i, i + 1));
        c.accumulate(i, std::move(part));
      }
  });
}

// where: result = mask ? a : b           (mask, a and b broadcast together)
//   da += grad ⊙ mask        db += grad ⊙ ¬mask        (each summed to its input's shape)
template <class T>
Tensor<T> where(const Mask& mask, const Tensor<T>& a, const Tensor<T>& b) {
  const Shape ab = detail::broadcast_shape("where", "and", detail::to_shape(a.shape()), detail::to_shape(b.shape()));
  detail::broadcast_shape("where", "with mask", ab, detail::to_shape(mask.shape()));
  return record<T>("where", xt::where(mask, a.value(), b.value()), {a, b}, [mask](const BackwardContext<T>& c) {
    c.accumulate_sum_to(0, xt::where(mask, c.grad(), T(0)));
    c.accumulate_sum_to(1, xt::where(mask, T(0), c.grad()));
  });
}

// masked_fill: result = mask ? value : x
//   dx += grad ⊙ ¬mask
// Not xt::where over the broadcast mask: xtensor 0.24.3 picks the wrong mask elements when
// a mask (B,1,1,T) is broadcast against (B,h,T,T) (attention's key-padding mask; the op
// table has the case). The mask is spread to x's shape by the loops of fast/kernels.hpp instead.
template <class T>
Tensor<T> masked_fill(const Tensor<T>& x, const Mask& mask, T value) {
  const Shape xs = detail::to_shape(x.shape());
  if (!shapes_equal(detail::broadcast_shape("masked_fill", "with mask", xs, detail::to_shape(mask.shape())), xs))
    throw Error(fmt::format("masked_fill: mask {} does not fit {}", shape_str(mask.shape()), shape_str(x.shape())));
  const Array<T> filled = spread_mask<T>(mask, xs);  // 1 where mask is true, else 0; x's shape
  return record<T>(
      "masked_fill", fast::zip_same(x.value(), filled, [value](T v, T f) { return f != T(0) ? value : v; }), {x},
      [filled](const BackwardContext<T>& c) {
        c.accumulate(0, fast::zip_same(c.grad(), filled, [](T g, T f) { return f != T(0) ? T(0) : g; }));
      },
      std::isfinite(value) ? OutputValues::finite : OutputValues::may_be_infinite);
}

// dropout: result = x ⊙ keep / (1 − p), keep ~ Bernoulli(1 − p) from the caller's seeded rng
//   dx += grad ⊙ keep / (1 − p)
template <class T>
Tensor<T> dropout(const Tensor<T>& x, T p, bool training, std::mt19937_64& rng) {
  if (!(p >= T(0) && p < T(1))) throw Error(fmt::format("dropout: p = {} is not in [0,1)", p));
  if (!training || p == T(0)) return x;
  Array<T> scale = xt::empty<T>(x.shape());
  for (T& s : scale) s = uniform01(rng) < p ? T(0) : T(1) / (T(1) - p);
  return record<T>("dropout", x.value() * scale, {x}, [scale](const BackwardContext<T>& c) {
    c.accumulate(0, c.grad() * scale);
  });
}

#define TG_INSTANTIATE(T)                                                                        \
  template Tensor<T> gather(const Tensor<T>&, const Ids&);                                       \
  template Tensor<T> gather_mean(const Tensor<T>&, const Ids&, std::int64_t);                    \
  template Tensor<T> slice(const Tensor<T>&, std::size_t, std::size_t, std::size_t);             \
  template Tensor<T> select(const Tensor<T>&, std::size_t, std::size_t);                         \
  template Tensor<T> concat(const std::vector<Tensor<T>>&, std::size_t);                         \
  template Tensor<T> stack(const std::vector<Tensor<T>>&, std::size_t);                          \
  template Tensor<T> where(const Mask&, const Tensor<T>&, const Tensor<T>&);                     \
  template Tensor<T> masked_fill(const Tensor<T>&, const Mask&, T);                              \
  template Tensor<T> dropout(const Tensor<T>&, T, bool, std::mt19937_64&);
TG_FOR_FLOAT_AND_DOUBLE(TG_INSTANTIATE)

}  // namespace tg
