// Elementwise ops. Binary ops broadcast as NumPy does; their backward sums each
// gradient back to its input's shape (BackwardContext::accumulate_sum_to).
// One idiom throughout: the formula on top, then each `d input += …` of it computed by one
// accumulate whose lambda is the formula at one element. fast::each runs the lambda over
// every element, and fast::take_grad lends it grad's own buffer when the tape will not
// keep it (autograd/fast/backward.hpp; tests/test_fast.cpp checks both).
#include <functional>

#include <xtensor/xmath.hpp>

#include "autograd/fast/backward.hpp"
#include "autograd/ops/detail.hpp"

namespace tg {

namespace {
template <class T>
Shape check_broadcast(const char* op, const char* symbol, const Tensor<T>& a, const Tensor<T>& b) {
  return detail::broadcast_shape(op, symbol, detail::to_shape(a.shape()), detail::to_shape(b.shape()));
}
}  // namespace

// add: result = a + b
//   da += grad        db += grad        (each summed to its input's shape)
template <class T>
Tensor<T> add(const Tensor<T>& a, const Tensor<T>& b) {
  const Shape shape = check_broadcast("add", "+", a, b);
  Array<T> result = fast::zip(a.value(), b.value(), shape, std::plus<T>());
  return record<T>("add", std::move(result), {a, b}, [](const BackwardContext<T>& c) {
    c.accumulate_sum_to(0, c.grad());
    c.accumulate_sum_to(1, fast::take_grad(c));
  });
}

// sub: result = a − b
//   da += grad        db += −grad
template <class T>
Tensor<T> sub(const Tensor<T>& a, const Tensor<T>& b) {
  const Shape shape = check_broadcast("sub", "-", a, b);
  Array<T> result = fast::zip(a.value(), b.value(), shape, std::minus<T>());
  return record<T>("sub", std::move(result), {a, b}, [](const BackwardContext<T>& c) {
    c.accumulate_sum_to(0, c.grad());
    if (c.needs_grad(1)) c.accumulate_sum_to(1, fast::each(fast::take_grad(c), [](T g) { return -g; }));
  });
}

// mul: result = a ⊙ b
//   da += grad ⊙ b    db += grad ⊙ a
template <class T>
Tensor<T> mul(const Tensor<T>& a, const Tensor<T>& b) {
  const Shape shape = check_broadcast("mul", "*", a, b);
  Array<T> result = fast::zip(a.value(), b.value(), shape, std::multiplies<T>());
  return record<T>("mul", std::move(result), {a, b}, [](const BackwardContext<T>& c) {
    if (c.needs_grad(0)) c.accumulate_sum_to(0, fast::each(c.grad(), c.input(1), [](T g, T b) { return g * b; }));
    if (c.needs_grad(1))
      c.accumulate_sum_to(1, fast::each(fast::take_grad(c), c.input(0), [](T g, T a) { return g * a; }));
  });
}

// div: result = a / b
//   da += grad / b    db += −grad ⊙ a / b² = −grad ⊙ result / b
template <class T>
Tensor<T> div(const Tensor<T>& a, const Tensor<T>& b) {
  const Shape shape = check_broadcast("div", "/", a, b);
  Array<T> result = fast::zip(a.value(), b.value(), shape, std::divides<T>());
  return record<T>("div", std::move(result), {a, b}, [](const BackwardContext<T>& c) {
    if (c.needs_grad(0)) c.accumulate_sum_to(0, fast::each(c.grad(), c.input(1), [](T g, T b) { return g / b; }));
    if (c.needs_grad(1)) {
      Array<T> minus_grad_result = fast::each(fast::take_grad(c), c.result(), [](T g, T r) { return -g * r; });
      c.accumulate_sum_to(1, fast::each(std::move(minus_grad_result), c.input(1), [](T q, T b) { return q / b; }));
    }
  });
}

// neg: result = −x
//   dx += −grad
template <class T>
Tensor<T> neg(const Tensor<T>& x) {
  return record<T>("neg", -x.value(), {x}, [](const BackwardContext<T>& c) {
    c.accumulate(0, fast::each(fast::take_grad(c), [](T g) { return -g; }));
  });
}

// add_scalar: result = x + s
//   dx += grad
template <class T>
Tensor<T> add_scalar(const Tensor<T>& x, T s) {
  return record<T>("add_scalar", x.value() + s, {x}, [](const BackwardContext<T>& c) {
    c.accumulate(0, fast::take_grad(c));
  });
}

// mul_scalar: result = x · s
//   dx += grad · s
template <class T>
Tensor<T> mul_scalar(const Tensor<T>& x, T s) {
  return record<T>("mul_scalar", x.value() * s, {x}, [s](const BackwardContext<T>& c) {
    c.accumulate(0, fast::each(fast::take_grad(c), [s](T g) { return g * s; }));
  });
}

// rsub_scalar: result = s − x
//   dx += −grad
template <class T>
Tensor<T> rsub_scalar(T s, const Tensor<T>& x) {
  return record<T>("rsub_scalar", s - x.value(), {x}, [](const BackwardContext<T>& c) {
    c.accumulate(0, fast::each(fast::take_grad(c), [](T g) { return -g; }));
  });
}

// rdiv_scalar: result = s / x
//   dx += −grad ⊙ s / x² = −grad ⊙ result / x
template <class T>
Tensor<T> rdiv_scalar(T s, const Tensor<T>& x) {
  return record<T>("rdiv_scalar", s / x.value(), {x}, [](const BackwardContext<T>& c) {
    Array<T> minus_grad_result = fast::each(fast::take_grad(c), c.result(), [](T g, T r) { return -g * r; });
    c.accumulate(0, fast::each(std::move(minus_grad_result), c.input(0), [](T q, T x) { return q / x; }));
  });
}

// exp: result = eˣ
//   dx += grad ⊙ result
template <class T>
Tensor<T> exp(const Tensor<T>& x) {
  return record<T>("exp", xt::exp(x.value()), {x}, [](const BackwardContext<T>& c) {
    c.accumulate(0, fast::each(fast::take_grad(c), c.result(), [](T g, T r) { return g * r; }));
  });
}

// log: result = ln x
//   dx += grad / x
template <class T>
Tensor<T> log(const Tensor<T>& x) {
  return record<T>("log", xt::log(x.value()), {x}, [](const BackwardContext<T>& c) {
    c.accumulate(0, fast::each(fast::take_grad(c), c.input(0), [](T g, T x) { return g / x; }));
  });
}

// tanh: result = tanh x
//   dx += grad ⊙ (1 − result²)
template <class T>
Tensor<T> tanh(const Tensor<T>& x) {
  return record<T>("tanh", xt::tanh(x.value()), {x}, [](const BackwardContext<T>& c) {
    c.accumulate(0, fast::each(fast::take_grad(c), c.result(), [](T g, T r) { return g * (T(1) - r * r); }));
  });
}

// sigmoid: result = 1 / (1 + e⁻ˣ)      (e⁻ˣ overflowing to ∞ gives exactly 0, not NaN)
//   dx += grad ⊙ result ⊙ (1 − result)
template <class T>
Tensor<T> sigmoid(const Tensor<T>& x) {
  return record<T>("sigmoid", T(1) / (T(1) + xt::exp(-x.value())), {x}, [](const BackwardContext<T>& c) {
    c.accumulate(0, fast::each(fast::take_grad(c), c.result(), [](T g, T r) { return g * r * (T(1) - r); }));
  });
}

// relu: result = max(x, 0)
//   dx += grad ⊙ [x > 0]
template <class T>
Tensor<T> relu(const Tensor<T>& x) {
  return record<T>("relu", xt::maximum(x.value(), T(0)), {x}, [](const BackwardContext<T>& c) {
    c.accumulate(0, fast::each(fast::take_grad(c), c.input(0), [](T g, T x) { return x > T(0) ? g : T(0); }));
  });
}

#define TG_INSTANTIATE(T)                                                   \
  template Tensor<T> add(const Tensor<T>&, const Tensor<T>&);               \
  template Tensor<T> sub(const Tensor<T>&, const Tensor<T>&);               \
  template Tensor<T> mul(const Tensor<T>&, const Tensor<T>&);               \
  template Tensor<T> div(const Tensor<T>&, const Tensor<T>&);               \
  template Tensor<T> neg(const Tensor<T>&);                                 \
  template Tensor<T> add_scalar(const Tensor<T>&, T);                       \
  template Tensor<T> mul_scalar(const Tensor<T>&, T);                       \
  template Tensor<T> rsub_scalar(T, const Tensor<T>&);                      \
  template Tensor<T> rdiv_scalar(T, const Tensor<T>&);                      \
  template Tensor<T> exp(const Tensor<T>&);                                 \
  template Tensor<T> log(const Tensor<T>&);                                 \
  template Tensor<T> tanh(const Tensor<T>&);                                \
  template Tensor<T> sigmoid(const Tensor<T>&);                             \
  template Tensor<T> relu(const Tensor<T>&);
TG_FOR_FLOAT_AND_DOUBLE(TG_INSTANTIATE)

}  // namespace tg
