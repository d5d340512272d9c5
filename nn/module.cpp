// Parameter registration, naming, modes and the summary table of Module.
#include "nn/module.hpp"

#include <fmt/format.h>

namespace tg {

namespace {
// "owner.name", or just "name" for a child adopted without a prefix (empty owner).
std::string dotted(const std::string& owner, const std::string& name) {
  return owner.empty() ? name : owner + "." + name;
}
}  // namespace

template <class T>
Tensor<T> Module<T>::register_parameter(const std::string& name, Array<T> init) {
  for (const auto& [existing, _] : params_)
    if (existing == name) throw Error("register_parameter: duplicate parameter name " + name);
  Tensor<T> p(std::move(init), true, name);
  params_.emplace_back(name, p);
  return p;
}

template <class T>
void Module<T>::register_module(const std::string& name, Module& child) {
  // An empty name adds no prefix: the child's parameters are named as if they were this
  // module's (an encoder whose PyTorch names sit at the model's top level, e.g. "position.weight").
  child.prefix_names(name.empty() ? name : name + ".");
  children_.emplace_back(name, &child);
}

// The tensors' own names (shown by gradcheck and tape listings) follow the dotted path.
template <class T>
void Module<T>::prefix_names(const std::string& prefix) {
  for (auto& [_, p] : params_) p.set_name(prefix + p.name());
  for (auto& [_, child] : children_) child->prefix_names(prefix);
}

template <class T>
NamedTensors<T> Module<T>::named_parameters() const {
  NamedTensors<T> out = params_;
  for (const auto& [name, child] : children_)
    for (auto& [child_name, p] : child->named_parameters()) out.emplace_back(dotted(name, child_name), p);
  return out;
}

template <class T>
std::vector<Tensor<T>> Module<T>::parameters() const {
  std::vector<Tensor<T>> out;
  for (auto& [_, p] : named_parameters()) out.push_back(p);
  return out;
}

template <class T>
Tensor<T> Module<T>::parameter(const std::string& name) const {
  for (auto& [n, p] : named_parameters())
    if (n == name) return p;
  throw Error("no parameter named " + name);
}

template <class T>
std::size_t Module<T>::parameter_count() const {
  std::size_t total = 0;
  for (auto& [_, p] : named_parameters()) total += p.size();
  return total;
}

template <class T>
void Module<T>::train(bool on) {
  training_ = on;
  for (auto& [_, child] : children_) child->train(on);
}

template <class T>
void Module<T>::zero_grad() {
  for (auto& p : parameters()) p.zero_grad();
}

template <class T>
std::string Module<T>::summary() const {
  std::string out = fmt::format("{:<32} {:<12} {:>10}\n", "parameter", "shape", "count");
  out += std::string(56, '-') + "\n";
  for (auto& [name, p] : named_parameters())
    out += fmt::format("{:<32} {:<12} {:>10}\n", name, shape_str(p.shape()), p.size());
  out += std::string(56, '-') + "\n";
  return out + fmt::format("{:<45} {:>10}\n", "total", parameter_count());
}

template class Module<float>;
template class Module<double>;

}  // namespace tg
