// The tape: a stack of the nodes recorded in creation order. Creation order is a
// topological order (an op's inputs exist before it), so backward is a reverse loop
// with no graph search — as in Stan Math. A Tape records the ops of its thread
// while it lives (the innermost one, like TensorFlow's GradientTape); NoGrad turns
// recording off for evaluation.
#pragma once
#include <initializer_list>
#include <iosfwd>

#include "autograd/tensor.hpp"

namespace tg {

template <class T>
class Tape {
 public:
  Tape();
  ~Tape();
  Tape(const Tape&) = delete;
  Tape& operator=(const Tape&) = delete;

  // Seeds dL/dloss = 1 and runs every recorded backward in reverse creation order.
  // Leaves accumulate into their gradient; intermediates' gradients are reset first,
  // then stay readable while this tape lives (unless retain_grads is off).
  void backward(const Tensor<T>& loss);

  std::size_t size() const { return nodes_.size(); }
  const std::vector<std::shared_ptr<Node<T>>>& nodes() const { return nodes_; }
  std::uint64_t id() const { return id_; }

  // --trace: backward prints each node as it runs: its op, its upstream gradient, and what
  // it hands each input along that edge (not the input's running total).
  std::ostream* trace = nullptr;
  // Anomaly mode: stop at the first op whose output or gradient is not finite.
  bool check_finite = false;
  // Intermediates keep their gradient after backward, for inspection (the default). Off
  // (as PyTorch, which keeps only leaves'): each op may reuse its gradient's buffer for
  // an input's and frees it afterwards, which saves a copy per op and memory. Training
  // turns it off; leaves (parameters, inputs) keep their gradients either way.
  bool retain_grads = true;

  // Used by record(): appends a node, registering its leaf inputs first.
  void push(const std::shared_ptr<Node<T>>& node);

 private:
  void adopt(const std::shared_ptr<Node<T>>& node);
  void trace_node(const Node<T>& node, const std::vector<Array<T>>& inputs_before) const;
  std::vector<std::shared_ptr<Node<T>>> nodes_;
  std::uint64_t id_;
};

// While a NoGrad lives, ops in this thread compute values only (evaluation mode).
template <class T>
class NoGrad {
 public:
  NoGrad();
  ~NoGrad();
  NoGrad(const NoGrad&) = delete;
  NoGrad& operator=(const NoGrad&) = delete;
};

// The tape ops record onto in this thread, or nullptr.
template <class T>
Tape<T>* active_tape();

// What anomaly mode (Tape::check_finite) may find in an op's output. An op that writes
// ±∞ on purpose says so: masked_fill's −∞ before a softmax gives padding exactly zero
// attention. (Any other non-finite value in its output came from its input, whose op was
// checked already.)
enum class OutputValues { finite, may_be_infinite };

// Builds an op's result: with an active tape and an input that requires a gradient,
// the node keeps its inputs and backward and is recorded; otherwise it is a constant.
template <class T>
Tensor<T> record(const char* op, Array<T> value, std::vector<Tensor<T>> inputs, BackwardFn<T> backward,
                 OutputValues expected = OutputValues::finite);

// The same for a braced list of inputs, record<T>(op, value, {a, b}, lambda), which is how
// ops call it: when nothing will be recorded (evaluation, NoGrad, constant inputs) it
// skips building the input list and the std::function, the bulk of a small op's cost.
template <class T, class F>
Tensor<T> record(const char* op, Array<T> value, std::initializer_list<Tensor<T>> inputs, F&& backward,
                 OutputValues expected = OutputValues::finite) {
  const Tape<T>* tape = active_tape<T>();
  bool recorded = tape && tape->check_finite;
  for (const auto& in : inputs) recorded = recorded || (tape && in.requires_grad());
  if (recorded)
    return record<T>(op, std::move(value), std::vector<Tensor<T>>(inputs), BackwardFn<T>(std::forward<F>(backward)),
                     expected);
  Tensor<T> result(std::move(value));
  result.node().op = op;
  return result;
}

}  // namespace tg
