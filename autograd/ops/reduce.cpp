// Reductions, softmax and the fused cross-entropy loss, on the loop kernels of
// autograd/fast/kernels.hpp.
#include <cmath>
#include <limits>

#include <xtensor/xbroadcast.hpp>
#include <xtensor/xmanipulation.hpp>
#include <xtensor/xmath.hpp>
#include <xtensor/xsort.hpp>

#include "autograd/fast/kernels.hpp"
#include "autograd/ops/detail.hpp"

namespace tg {

namespace {
// grad of a reduction over `axis` (keepdims or not), broadcast back to `shape`.
template <class T>
Array<T> spread(const Array<T>& grad, std::size_t axis, bool keepdims, const Shape& shape) {
  Array<T> g = keepdims ? grad : Array<T>(xt::expand_dims(grad, axis));
  return xt::broadcast(g, shape);
}

template <class T>
Array<T> row_max(const Array<T>& x, std::size_t axis) {
  Array<T> m = fast::max_axis(x, axis, true);
  // A row that is all −∞ (every position masked) gets max 0, so x − max stays −∞
  // instead of NaN and the row's softmax comes out as zeros.
  for (T& v : m)
    if (!std::isfinite(v)) v = T(0);
  return m;
}
}  // namespace

// sum: result = Σ x  (all elements → shape ())
//   dx += grad broadcast to x's shape
template <class T>
Tensor<T> sum(const Tensor<T>& x) {
  return record<T>("sum", Array<T>(fast::sum_all(x.value())), {x}, [](const BackwardContext<T>& c) {
    c.accumulate(0, Array<T>(xt::broadcast(c.grad()(), c.input(0).shape())));
  });
}

// sum over one axis: result = Σ_axis x
//   dx += grad, re-expanded at axis and broadcast along it
template <class T>
Tensor<T> sum(const Tensor<T>& x, std::size_t axis, bool keepdims) {
  detail::check_axis("sum", axis, detail::to_shape(x.shape()));
  Array<T> r = fast::sum_axis(x.value(), axis, keepdims);
  return record<T>("sum", std::move(r), {x}, [axis, keepdims](const BackwardContext<T>& c) {
    c.accumulate(0, spread(c.grad(), axis, keepdims, detail::to_shape(c.input(0).shape())));
  });
}

// mean: result = Σ x / n
//   dx += grad / n
template <class T>
Tensor<T> mean(const Tensor<T>& x) {
  if (x.size() == 0) throw Error("mean: empty tensor of shape " + shape_str(x.shape()));
  return mul_scalar(sum(x), T(1) / T(x.size()));
}

template <class T>
Tensor<T> mean(const Tensor<T>& x, std::size_t axis, bool keepdims) {
  detail::check_axis("mean", axis, detail::to_shape(x.shape()));
  if (x.shape()[axis] == 0) throw Error("mean: empty axis in shape " + shape_str(x.shape()));
  return mul_scalar(sum(x, axis, keepdims), T(1) / T(x.shape()[axis]));
}

// softmax: result = eˣ⁻ᵐᵃˣ / Σ eˣ⁻ᵐᵃˣ along axis. Subtracting the max changes nothing
// mathematically but keeps exp from overflowing. A fully masked (−∞) row gives zeros.
//   dx += result ⊙ (grad − Σ_axis grad ⊙ result)
template <class T>
Tensor<T> softmax(const Tensor<T>& x, std::size_t axis) {
  detail::check_axis("softmax", axis, detail::to_shape(x.shape()));
  Array<T> e = xt::exp(x.value() - row_max(x.value(), axis));
  Array<T> total = fast::sum_axis<T>(e, axis, true);
  // Only an all-masked row sums to 0 (its max is the max element, whose e is 1); a NaN
  // in a row must stay NaN, not turn into zeros that hide it from every later check.
  Array<T> r = xt::where(xt::equal(total, T(0)), T(0), e / total);
  return record<T>("softmax", std::move(r), {x}, [axis](const BackwardContext<T>& c) {
    Array<T> dot = fast::sum_axis<T>(c.grad() * c.result(), axis, true);
    c.accumulate(0, c.result() * (c.grad() - dot));
  });
}

// log_softmax: result = x − max − log Σ eˣ⁻ᵐᵃˣ along axis
//   dx += grad − softmax(x) ⊙ Σ_axis grad          (softmax(x) = e^result)
template <class T>
Tensor<T> log_softmax(const Tensor<T>& x, std::size_t axis) {
  detail::check_axis("log_softmax", axis, detail::to_shape(x.shape()));
  Array<T> shifted = x.value() - row_max(x.value(), axis);
  Array<T> log_total = xt::log(fast::sum_axis<T>(xt::exp(shifted), axis, true));
  return record<T>("log_softmax", shifted - log_total, {x}, [axis](const BackwardContext<T>& c) {
    Array<T> total = fast::sum_axis<T>(c.grad(), axis, true);
    c.accumulate(0, c.grad() - xt::exp(c.result()) * total);
  });
}

// cross_entropy: result = −(1/B) Σ_b log softmax(logits_b)[label_b]
// Fused, because softmax followed by log loses precision and the gradient is simple:
//   dlogits += grad · (softmax(logits) − onehot(labels)) / B
template <class T>
Tensor<T> cross_entropy(const Tensor<T>& logits, const Ids& labels) {
  if (logits.dim() != 2 || labels.dimension() != 1 || labels.size() != logits.shape()[0] || labels.size() == 0)
    throw Error(fmt::format("cross_entropy: logits {} with labels {}", shape_str(logits.shape()),
                            shape_str(labels.shape())));
  const std::size_t batch = logits.shape()[0], classes = logits.shape()[1];
  for (std::size_t b = 0; b < batch; ++b)
    if (labels(b) < 0 || static_cast<std::size_t>(labels(b)) >= classes)
      throw Error(fmt::format("cross_entropy: label {} at row {} is not in [0,{})", labels(b), b, classes));
  Array<T> shifted = logits.value() - row_max(logits.value(), 1);
  Array<T> log_total = xt::log(fast::sum_axis<T>(xt::exp(shifted), 1, true));
  Array<T> log_probs = shifted - log_total;
  T loss = 0;
  for (std::size_t b = 0; b < batch; ++b) loss -= log_probs(b, labels(b));
  Array<T> value = xt::xarray<T>(loss / T(batch));
  return record<T>("cross_entropy", std::move(value), {logits},
                   [labels, probs = Array<T>(xt::exp(log_probs))](const BackwardContext<T>& c) {
                     Array<T> d = probs;
                     for (std::size_t b = 0; b < labels.size(); ++b) d(b, labels(b)) -= T(1);
                     c.accumulate(0, d * (c.grad()() / T(labels.size())));
                   });
}

#define TG_INSTANTIATE(T)                                                 \
  template Tensor<T> sum(const Tensor<T>&);                               \
  template Tensor<T> sum(const Tensor<T>&, std::size_t, bool);            \
  template Tensor<T> mean(const Tensor<T>&);                              \
  template Tensor<T> mean(const Tensor<T>&, std::size_t, bool);           \
  template Tensor<T> softmax(const Tensor<T>&, std::size_t);              \
  template Tensor<T> log_softmax(const Tensor<T>&, std::size_t);          \
  template Tensor<T> cross_entropy(const Tensor<T>&, const Ids&);
TG_FOR_FLOAT_AND_DOUBLE(TG_INSTANTIATE)

}  // namespace tg
