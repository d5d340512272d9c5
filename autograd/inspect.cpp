// Tape listings and Graphviz export (see inspect.hpp).
#include "autograd/inspect.hpp"

#include <cmath>
#include <set>

#include <fmt/format.h>

namespace tg {

template <class T>
std::string summarize(const Array<T>& a, std::size_t shown) {
  std::string values;
  double norm2 = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (i < shown) values += fmt::format("{}{:.4g}", i ? " " : "", a.data()[i]);
    norm2 += static_cast<double>(a.data()[i]) * a.data()[i];
  }
  if (a.size() > shown) values += " …";
  return fmt::format("{} [{}] |·|={:.4g}", shape_str(a.shape()), values, std::sqrt(norm2));
}

namespace {
// Graphviz record labels treat | { } < > as structure: escape them inside a field.
std::string dot_escape(const std::string& text) {
  std::string out;
  for (char ch : text) {
    if (std::string_view("|{}<>\"\\").find(ch) != std::string_view::npos) out += '\\';
    out += ch;
  }
  return out;
}

template <class T>
std::string label(const Node<T>& n) {
  return n.name.empty() ? std::string(n.op) : fmt::format("{} {}", n.op, n.name);
}
}  // namespace

template <class T>
std::string tape_listing(const Tape<T>& tape) {
  std::string out;
  for (const auto& n : tape.nodes()) {
    std::string ins;
    for (const auto& in : n->inputs) ins += fmt::format("{}#{}", ins.empty() ? "" : ",", in->index);
    out += fmt::format("#{:<3} {:<24} ({:<8}) value {}", n->index, label(*n), ins, summarize(n->value));
    out += n->has_grad ? fmt::format("  grad {}\n", summarize(n->grad)) : "  grad —\n";
  }
  return out;
}

template <class T>
std::string graph_dot(const Tensor<T>& root) {
  std::string out = "digraph tapegrad {\n  rankdir=LR;\n  node [shape=record, fontname=\"monospace\"];\n";
  std::set<const Node<T>*> seen;
  std::vector<const Node<T>*> todo{&root.node()};
  while (!todo.empty()) {
    const Node<T>* n = todo.back();
    todo.pop_back();
    if (!seen.insert(n).second) continue;
    std::string grad = n->has_grad ? summarize(n->grad, 3) : "—";
    out += fmt::format("  n{} [label=\"{{{}|value {}|grad {}}}\"{}];\n", fmt::ptr(n), dot_escape(label(*n)),
                       dot_escape(summarize(n->value, 3)), dot_escape(grad),
                       n->backward ? "" : ", style=filled, fillcolor=lightblue");
    for (const auto& in : n->inputs) {
      out += fmt::format("  n{} -> n{};\n", fmt::ptr(in.get()), fmt::ptr(n));
      todo.push_back(in.get());
    }
  }
  return out + "}\n";
}

#define TG_INSTANTIATE(T)                                              \
  template std::string tape_listing(const Tape<T>&);                   \
  template std::string summarize(const Array<T>&, std::size_t);        \
  template std::string graph_dot(const Tensor<T>&);
TG_INSTANTIATE(float)
TG_INSTANTIATE(double)

}  // namespace tg
