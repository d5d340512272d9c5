// Tensor handles, the tape and record(): the whole of the engine that is not an op.
#include "autograd/tape.hpp"

#include "autograd/fast/kernels.hpp"

#include <atomic>
#include <cmath>
#include <ostream>

#include <fmt/format.h>
#include <xtensor/xmath.hpp>

namespace tg {

void throw_grad_shape(const char* op, std::size_t input, const std::string& got,
                      const std::string& want) {
  throw Error(fmt::format("{} backward: gradient for input {} has shape {}, the input has {}", op,
                          input, got, want));
}

template <class T>
Array<T> sum_to(Array<T> g, const Shape& shape) {
  if (shapes_equal(g.shape(), shape)) return g;
  const std::size_t lead = g.dimension() - shape.size();
  for (std::size_t a = 0; a < g.dimension(); ++a)
    if (a < lead || (shape[a - lead] == 1 && g.shape()[a] != 1)) g = fast::sum_axis(g, a, true);
  g.reshape(shape);
  return g;
}

// ---- Tensor ----------------------------------------------------------------

namespace {
// n's gradient buffer, given n's value's shape; its contents are meaningful only if has_grad.
template <class T>
Array<T>& grad_buffer_of_value_shape(Node<T>& n) {
  if (!shapes_equal(n.grad.shape(), n.value.shape())) n.grad.resize(n.value.shape());
  return n.grad;
}
}  // namespace

template <class T>
Tensor<T>::Tensor(Array<T> value, bool requires_grad, std::string name)
    : node_(std::make_shared<Node<T>>()) {
  node_->value = std::move(value);
  node_->requires_grad = requires_grad;
  node_->name = std::move(name);
}

template <class T>
Node<T>& Tensor<T>::node() const {
  if (!node_) throw Error("use of an empty Tensor handle");
  return *node_;
}

// Reading a gradient that never arrived shows zeros, but does not mark the tensor as
// having one: optimisers skip such parameters, as PyTorch skips grad = None.
template <class T>
const Array<T>& Tensor<T>::grad() const {
  Node<T>& n = node();
  if (n.has_grad) return n.grad;
  Array<T>& zeros = grad_buffer_of_value_shape(n);
  std::fill_n(zeros.data(), zeros.size(), T(0));  // a memset; xt::zeros assigns element by element
  return zeros;
}

template <class T>
Array<T>& Tensor<T>::mutable_grad() {
  grad();
  node().has_grad = true;
  return node().grad;
}

template <class T>
void Tensor<T>::zero_grad() {
  if (node().has_grad) node().grad.fill(T(0));
}

template <class T>
T Tensor<T>::item() const {
  if (size() != 1) throw Error(fmt::format("item: tensor of shape {} is not a scalar", shape_str(shape())));
  return *value().data();
}

// ---- BackwardContext -------------------------------------------------------

template <class T>
const Array<T>& BackwardContext<T>::grad() const { return node_.grad; }
template <class T>
const Array<T>& BackwardContext<T>::result() const { return node_.value; }
template <class T>
const Array<T>& BackwardContext<T>::input(std::size_t i) const { return node_.inputs[i]->value; }
template <class T>
bool BackwardContext<T>::needs_grad(std::size_t i) const { return node_.inputs[i]->requires_grad; }
template <class T>
void BackwardContext<T>::add_into(Array<T>& acc, const Array<T>& g) { fast::add_into(acc, g); }

// ---- Tape ------------------------------------------------------------------

namespace {
std::atomic<std::uint64_t> next_tape_id{1};

template <class T>
std::vector<Tape<T>*>& tape_stack() {
  thread_local std::vector<Tape<T>*> stack;  // nullptr entries are NoGrad scopes
  return stack;
}

template <class T>
bool all_finite(const Array<T>& a) {
  for (const T& v : a)
    if (!std::isfinite(v)) return false;
  return true;
}

template <class T>
std::string input_shapes(const Node<T>& node) {
  std::string out;
  for (const auto& in : node.inputs) out += (out.empty() ? "" : ", ") + shape_str(in->value.shape());
  return out;
}
}  // namespace

template <class T>
Tape<T>* active_tape() {
  auto& stack = tape_stack<T>();
  return stack.empty() ? nullptr : stack.back();
}

template <class T>
Tape<T>::Tape() : id_(next_tape_id++) { tape_stack<T>().push_back(this); }

template <class T>
Tape<T>::~Tape() {
  auto& stack = tape_stack<T>();
  std::erase(stack, this);
  // Newest first: each node then dies while its inputs are still held by the tape, so
  // freeing a long chain never recurses through shared_ptr destructors.
  while (!nodes_.empty()) nodes_.pop_back();
}

template <class T>
NoGrad<T>::NoGrad() { tape_stack<T>().push_back(nullptr); }

template <class T>
NoGrad<T>::~NoGrad() {
  auto& stack = tape_stack<T>();
  for (auto it = stack.rbegin(); it != stack.rend(); ++it)
    if (*it == nullptr) {
      stack.erase(std::next(it).base());
      return;
    }
}

template <class T>
void Tape<T>::adopt(const std::shared_ptr<Node<T>>& node) {
  node->tape_id = id_;
  node->index = nodes_.size();
  nodes_.push_back(node);
}

template <class T>
void Tape<T>::push(const std::shared_ptr<Node<T>>& node) {
  // A leaf (parameter or input) gets its place on the tape the first time an op uses it.
  for (const auto& in : node->inputs)
    if (in->tape_id != id_ && !in->backward) adopt(in);
  adopt(node);
}

template <class T>
void Tape<T>::backward(const Tensor<T>& loss) {
  const Node<T>& root = loss.node();
  if (root.tape_id != id_ || !root.requires_grad)
    throw Error(fmt::format("backward: the loss ({}) was not recorded on this tape", root.op));
  if (root.value.size() != 1)
    throw Error(fmt::format("backward: the loss must be a scalar, got shape {}", shape_str(root.value.shape())));
  for (const auto& n : nodes_)
    if (n->backward) n->has_grad = false;
  Node<T>& seed = *nodes_[root.index];
  seed.grad = xt::ones<T>(seed.value.shape());
  seed.has_grad = true;
  for (std::size_t i = root.index + 1; i-- > 0;) {
    Node<T>& n = *nodes_[i];
    if (!n.backward || !n.has_grad) continue;
    const bool retain = retain_grads || trace;
    std::vector<Array<T>> inputs_before;  // --trace: each input's gradient before this node adds to it
    if (trace)
      for (const auto& in : n.inputs) inputs_before.push_back(in->has_grad ? in->grad : Array<T>());
    n.backward(BackwardContext<T>{n, retain});
    if (trace) trace_node(n, inputs_before);
    if (!retain) n.grad = Array<T>();  // dead from here on: give the memory back now
    if (check_finite)
      for (std::size_t k = 0; k < n.inputs.size(); ++k)
        if (n.inputs[k]->has_grad && !all_finite(n.inputs[k]->grad))
          throw Error(fmt::format("check-finite: backward of {} (tape #{}, inputs {}) gave a non-finite "
                                  "gradient to input {}", n.op, n.index, input_shapes(n), k));
  }
}

template <class T>
void Tape<T>::trace_node(const Node<T>& n, const std::vector<Array<T>>& inputs_before) const {
  auto norm = [](const Array<T>& a) { return std::sqrt(static_cast<double>(fast::sum_all<T>(a * a))); };
  const std::string op = n.name.empty() ? n.op : fmt::format("{} {}", n.op, n.name);
  *trace << fmt::format("backward #{:<3} {:<14} grad {} |g|={:.4g} ->", n.index, op,
                        shape_str(n.grad.shape()), norm(n.grad));
  // What went along each edge is the input's gradient now minus before. An input this node
  // uses twice (y * y) received both uses' shares at once: it is printed once, marked ×2.
  for (std::size_t k = 0; k < n.inputs.size(); ++k) {
    const Node<T>& in = *n.inputs[k];
    if (!in.requires_grad || !in.has_grad) continue;
    std::size_t uses = 0, first = k;
    for (std::size_t j = 0; j < n.inputs.size(); ++j)
      if (n.inputs[j].get() == &in) first = std::min(first, j), ++uses;
    if (first != k) continue;
    const Array<T>& before = inputs_before[k];
    const double handed = before.size() == 0 ? norm(in.grad) : norm(Array<T>(in.grad - before));
    *trace << fmt::format(" #{} |g|={:.4g}{}", in.index, handed, uses > 1 ? fmt::format(" (×{})", uses) : "");
  }
  *trace << '\n';
}

template <class T>
Tensor<T> record(const char* op, Array<T> value, std::vector<Tensor<T>> inputs, BackwardFn<T> backward,
                 OutputValues expected) {
  auto node = std::make_shared<Node<T>>();
  node->value = std::move(value);
  node->op = op;
  Tape<T>* tape = active_tape<T>();
  bool needs_grad = false;
  for (const auto& in : inputs) needs_grad = needs_grad || in.requires_grad();
  if (tape && (needs_grad || tape->check_finite)) {
    node->inputs.reserve(inputs.size());
    for (auto& in : inputs) node->inputs.push_back(in.node_ptr());
  }
  if (tape && needs_grad) {
    node->requires_grad = true;
    node->backward = std::move(backward);
    tape->push(node);
  }
  if (tape && tape->check_finite && expected == OutputValues::finite && !all_finite(node->value))
    throw Error(fmt::format("check-finite: {} ({}, inputs {}) produced a non-finite value", op,
                            node->requires_grad ? fmt::format("tape #{}", node->index) : "not recorded",
                            input_shapes(*node)));
  return Tensor<T>(std::move(node));
}

#define TG_INSTANTIATE(T)                                                                      \
  template class Tensor<T>;                                                                    \
  template class BackwardContext<T>;                                                           \
  template class Tape<T>;                                                                      \
  template class NoGrad<T>;                                                                    \
  template Tape<T>* active_tape<T>();                                                          \
  template Array<T> sum_to<T>(Array<T>, const Shape&);                                         \
  template Tensor<T> record<T>(const char*, Array<T>, std::vector<Tensor<T>>, BackwardFn<T>, OutputValues);
TG_INSTANTIATE(float)
TG_INSTANTIATE(double)
#undef TG_INSTANTIATE

}  // namespace tg
