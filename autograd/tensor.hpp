// The engine's core types: a Node holds a value, its gradient, the op that made it
// and that op's inputs; a Tensor is a cheap shared handle to a Node. Ops are free
// functions (autograd/ops.hpp) that build Nodes through record() (autograd/tape.hpp).
// Everything is a template over the scalar T; see Note [Two scalar types].
#pragma once
#include <algorithm>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#include "autograd/array.hpp"
#include "autograd/error.hpp"

namespace tg {

// Note [Two scalar types]
// Training computes in float (float32): that is what BLAS and SIMD are fast at, and
// what PyTorch trains in. Gradient checks by central differences are only tight
// and never flaky in double: with float, eps² truncation and eps⁻¹·1e-7 rounding
// errors meet at ~1e-3 relative error. So every op and layer is a template over T,
// compiled once for float and once for double by explicit instantiation in its
// .cpp file (templates in headers would make every translation unit re-instantiate
// the whole engine). Users write Tensor<float>; tests write Tensor<double>.

template <class T>
struct Node;

namespace fast {
struct ContextAccess;  // autograd/fast/backward.hpp
}

// What an op's backward sees, in one vocabulary (as PyTorch's derivatives.yaml):
// `grad` is dL/dresult, `result` the op's output, input(i) the i-th input's value, and
// gradients go back to the inputs through accumulate. That is all an op needs. Helpers
// that spare a copy (lend grad's buffer, write a gemm straight into an input's gradient)
// are the fast layer's, in autograd/fast/backward.hpp.
template <class T>
class BackwardContext {
 public:
  const Array<T>& grad() const;
  const Array<T>& result() const;
  const Array<T>& input(std::size_t i) const;
  // False when input i needs no gradient (a constant): its backward work can be skipped.
  bool needs_grad(std::size_t i) const;
  // d input_i += g; throws naming the op when g's shape is not input i's shape.
  template <class E>
  void accumulate(std::size_t i, E&& g) const;
  // d input_i += g summed back to input i's shape (undoes NumPy broadcasting).
  template <class E>
  void accumulate_sum_to(std::size_t i, E&& g) const;

  // The tape makes one per node it runs backward through; retain_grad false says the
  // node's gradient is dead after this op (Tape::retain_grads off).
  explicit BackwardContext(Node<T>& node, bool retain_grad = true) : node_(node), retain_grad_(retain_grad) {}

 private:
  friend struct fast::ContextAccess;
  static void add_into(Array<T>& acc, const Array<T>& g);  // acc += g, one shape: a loop (tape.cpp)
  Node<T>& node_;
  bool retain_grad_;
};

template <class T>
using BackwardFn = std::function<void(const BackwardContext<T>&)>;

template <class T>
struct Node {
  Array<T> value;
  Array<T> grad;               // meaningful only when has_grad
  bool has_grad = false;
  bool requires_grad = false;
  const char* op = "leaf";
  std::string name;            // parameters: their dotted name, e.g. "lstm.weight_ih_l0"
  std::vector<std::shared_ptr<Node>> inputs;
  BackwardFn<T> backward;      // empty for leaves
  std::uint64_t tape_id = 0;   // the tape that holds this node (0: none) ...
  std::size_t index = 0;       // ... and its position there
};

template <class T>
class Tensor {
 public:
  Tensor() = default;
  // A constant (requires_grad false) or a leaf that collects a gradient.
  explicit Tensor(Array<T> value, bool requires_grad = false, std::string name = {});
  explicit Tensor(std::shared_ptr<Node<T>> node) : node_(std::move(node)) {}

  const Array<T>& value() const { return node().value; }
  Array<T>& mutable_value() { return node().value; }  // optimisers update leaves in place
  // dL/dthis; zeros when no gradient has reached this tensor.
  const Array<T>& grad() const;
  Array<T>& mutable_grad();
  bool has_grad() const { return node().has_grad; }
  void zero_grad();

  const auto& shape() const { return value().shape(); }
  std::size_t dim() const { return value().dimension(); }
  std::size_t size() const { return value().size(); }
  T item() const;  // the value of a one-element tensor

  bool requires_grad() const { return node().requires_grad; }
  const char* op() const { return node().op; }
  const std::string& name() const { return node().name; }
  void set_name(std::string name) { node().name = std::move(name); }
  bool defined() const { return node_ != nullptr; }
  Node<T>& node() const;
  const std::shared_ptr<Node<T>>& node_ptr() const { return node_; }

 private:
  std::shared_ptr<Node<T>> node_;
};

[[noreturn]] void throw_grad_shape(const char* op, std::size_t input, const std::string& got,
                                   const std::string& want);

template <class S1, class S2>
bool shapes_equal(const S1& a, const S2& b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin());
}

// Sums g over the axes that NumPy broadcasting added or stretched, so that the result
// has `shape`: the backward of every broadcasting op goes through here.
template <class T>
Array<T> sum_to(Array<T> g, const Shape& shape);

template <class T>
template <class E>
void BackwardContext<T>::accumulate(std::size_t i, E&& g) const {
  Node<T>& in = *node_.inputs[i];
  if (!in.requires_grad) return;
  if (!shapes_equal(g.shape(), in.value.shape()))
    throw_grad_shape(node_.op, i, shape_str(g.shape()), shape_str(in.value.shape()));
  if (!in.has_grad) {
    in.grad = std::forward<E>(g);
    in.has_grad = true;
  } else if constexpr (std::is_same_v<std::remove_cvref_t<E>, Array<T>>) {
    add_into(in.grad, g);
  } else {
    in.grad += g;
  }
}

template <class T>
template <class E>
void BackwardContext<T>::accumulate_sum_to(std::size_t i, E&& g) const {
  if (!needs_grad(i)) return;
  const auto& s = input(i).shape();
  if (shapes_equal(g.shape(), s)) accumulate(i, std::forward<E>(g));
  else accumulate(i, sum_to<T>(Array<T>(std::forward<E>(g)), Shape(s.begin(), s.end())));
}

}  // namespace tg
