// Saving and strict, all-or-nothing loading of module parameters (see checkpoint.hpp).
#include "nn/checkpoint.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "autograd/error.hpp"

namespace tg {

template <class T>
NpzContents state_dict(const Module<T>& module) {
  NpzContents out;
  for (const auto& [name, p] : module.named_parameters())
    if (!out.emplace(name, to_npy<T>(p.value())).second)
      throw Error("state_dict: two parameters are named " + name);
  return out;
}

namespace {

// The problems `arrays` would cause, one phrase each; `converted` gets every array
// that passed, in the order of named_parameters().
template <class T>
std::vector<std::string> check_state_dict(const NamedTensors<T>& params, const NpzContents& arrays,
                                          std::vector<Array<T>>& converted) {
  std::vector<std::string> problems;
  for (const auto& [name, p] : params) {
    const auto it = arrays.find(name);
    if (it == arrays.end()) {
      problems.push_back(fmt::format("missing parameter {} {}", name, shape_str(p.shape())));
    } else if (!shapes_equal(it->second.shape, p.shape())) {
      problems.push_back(fmt::format("{} has shape {} but the model's is {}", name,
                                     shape_str(it->second.shape), shape_str(p.shape())));
    } else {
      try {
        converted.push_back(it->second.template as<T>(name));
      } catch (const Error& e) {
        problems.push_back(e.what());
      }
    }
  }
  for (const auto& [key, _] : arrays) {
    bool known = false;
    for (const auto& [name, p] : params) known = known || name == key;
    if (!known) problems.push_back(fmt::format("unexpected key {} (the model has no such parameter)", key));
  }
  return problems;
}

}  // namespace

template <class T>
void load_state_dict(Module<T>& module, const NpzContents& arrays, const std::string& source) {
  const NamedTensors<T> params = module.named_parameters();
  std::vector<Array<T>> converted;
  const std::vector<std::string> problems = check_state_dict(params, arrays, converted);
  if (!problems.empty()) throw Error(fmt::format("{}: {}", source, fmt::join(problems, "; ")));
  for (std::size_t i = 0; i < params.size(); ++i) Tensor<T>(params[i].second).mutable_value() = std::move(converted[i]);
}

template <class T>
void save_parameters(const Module<T>& module, const std::string& path) {
  write_npz(path, state_dict(module));
}

template <class T>
NpzLimits parameter_limits(const Module<T>& module) {
  std::map<std::string, Shape> shapes;
  for (const auto& [name, p] : module.named_parameters())
    shapes.emplace(name, Shape(p.shape().begin(), p.shape().end()));
  NpzLimits limits = float_array_limits(shapes);
  limits.unexpected_note = "the model has no such parameter";
  return limits;
}

template <class T>
void load_parameters(Module<T>& module, const std::string& path) {
  load_state_dict(module, read_npz(path, parameter_limits(module)), path);
}

NpzContents sub_dict(const NpzContents& arrays, std::string_view prefix) {
  NpzContents out;
  for (const auto& [key, array] : arrays)
    if (key.size() > prefix.size() && key.starts_with(prefix)) out.emplace(key.substr(prefix.size()), array);
  return out;
}

#define TG_INSTANTIATE(T)                                                                  \
  template NpzContents state_dict(const Module<T>&);                                       \
  template void load_state_dict(Module<T>&, const NpzContents&, const std::string&);       \
  template void save_parameters(const Module<T>&, const std::string&);                     \
  template void load_parameters(Module<T>&, const std::string&);                           \
  template NpzLimits parameter_limits(const Module<T>&);
TG_INSTANTIATE(float)
TG_INSTANTIATE(double)
#undef TG_INSTANTIATE

}  // namespace tg
