// The fast layer's backward helpers: what an op may use, besides BackwardContext's six
// members, to spare a copy or a temporary. Each has plain semantics, given first; how it
// is faster is the second sentence. tests/test_fast.cpp checks each against the plain
// version, in value and gradient, with the tape keeping gradients and not keeping them.
// (Reference first, fast path behind it: docs/engine.md, "Reference and fast path".)
#pragma once
#include "autograd/fast/kernels.hpp"
#include "autograd/tensor.hpp"

namespace tg::fast {

// The engine's side of a BackwardContext: its node and whether the tape keeps the node's
// gradient after this op (Tape::retain_grads). Only the helpers below use it.
struct ContextAccess {
  template <class T>
  static Node<T>& node(const BackwardContext<T>& c) { return c.node_; }
  template <class T>
  static bool retain_grad(const BackwardContext<T>& c) { return c.retain_grad_; }
};

// grad, as c.grad(). When the tape does not keep it, its own buffer is handed over
// instead of a copy, so it must be the op's last read of grad (c.grad() is empty after).
template <class T>
Array<T> take_grad(const BackwardContext<T>& c) {
  Node<T>& node = ContextAccess::node(c);
  if (ContextAccess::retain_grad(c)) return node.grad;
  return std::move(node.grad);  // the tape owns the node; its gradient is dead after this op
}

// f(g[k]) at every element k. Written over g's buffer when g is a temporary (e.g. take_grad).
template <class T, class F>
Array<T> each(Array<T>&& g, F f) {
  T* p = g.data();
  for (std::size_t k = 0, n = g.size(); k < n; ++k) p[k] = f(p[k]);
  return std::move(g);
}
template <class T, class F>
Array<T> each(const Array<T>& g, F f) {
  return map(g, f);
}

// f(g[k], x[k]) at every element k, x of g's shape or broadcast to it. Written over g's
// buffer when g is a temporary (e.g. take_grad) and x has its shape.
template <class T, class F>
Array<T> each(const Array<T>& g, const Array<T>& x, F f) {
  return zip(g, x, Shape(g.shape().begin(), g.shape().end()), f);
}
template <class T, class F>
Array<T> each(Array<T>&& g, const Array<T>& x, F f) {
  if (!std::equal(x.shape().begin(), x.shape().end(), g.shape().begin(), g.shape().end()))
    return each(static_cast<const Array<T>&>(g), x, f);
  T* pg = g.data();
  const T* px = x.data();
  for (std::size_t k = 0, n = g.size(); k < n; ++k) pg[k] = f(pg[k], px[k]);
  return std::move(g);
}

// Input i's gradient buffer, zeros if nothing has arrived yet: d input_i += g over a region
// is then an add into that region, for ops whose gradient covers only part of the input
// (slice, select, gather), instead of building and adding a mostly-zero array of its size.
template <class T>
Array<T>& gradient_buffer(const BackwardContext<T>& c, std::size_t i) {
  return Tensor<T>(ContextAccess::node(c).inputs[i]).mutable_grad();
}

// Input i's gradient buffer, for an op that writes its whole contribution in place (a gemm
// with β): `fresh` says nothing has arrived yet, so the buffer is to be overwritten (β = 0),
// not added to (β = 1). Saves the temporary and the pass of accumulate.
template <class T>
Array<T>& gradient_target(const BackwardContext<T>& c, std::size_t i, bool& fresh) {
  Node<T>& in = *ContextAccess::node(c).inputs[i];
  fresh = !in.has_grad;
  in.has_grad = true;
  if (fresh && !std::equal(in.grad.shape().begin(), in.grad.shape().end(), in.value.shape().begin(),
                           in.value.shape().end()))
    in.grad.resize(in.value.shape());
  return in.grad;
}

}  // namespace tg::fast
