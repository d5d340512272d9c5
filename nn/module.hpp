// Module: the base of every layer. A module owns named parameters (leaf tensors
// that collect gradients) and child modules; named_parameters() lists them with
// dotted names ("lstm.weight_ih_l0") that checkpoints, optimisers and tests share,
// and that are PyTorch's state_dict names for the same model.
#pragma once
#include <string>
#include <utility>
#include <vector>

#include "autograd/tensor.hpp"

namespace tg {

template <class T>
using NamedTensors = std::vector<std::pair<std::string, Tensor<T>>>;

template <class T>
class Module {
 public:
  Module() = default;
  // Children are registered by address, so a module never moves or copies.
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;
  virtual ~Module() = default;

  // Every parameter of this module and its children, in registration order.
  NamedTensors<T> named_parameters() const;
  std::vector<Tensor<T>> parameters() const;
  // The parameter with this dotted name; throws naming it when there is none.
  Tensor<T> parameter(const std::string& name) const;
  std::size_t parameter_count() const;  // number of scalars

  // Training mode (dropout active) or evaluation mode, for this module and its children.
  void train(bool on = true);
  void eval() { train(false); }
  bool training() const { return training_; }
  void zero_grad();

  // A table like Keras' model.summary(): name, shape and count per parameter, and the total.
  std::string summary() const;

 protected:
  // A leaf tensor named `name` (dotted with its owners' names once registered).
  Tensor<T> register_parameter(const std::string& name, Array<T> init);
  // Makes `child`'s parameters ours under "name.": call from the owner's constructor.
  // An empty name adopts them under their own names, for a child whose names already
  // carry their prefixes (the Transformer encoder's "position.weight" and "transformer.…"
  // sit at the top level of PyTorch's state_dict).
  void register_module(const std::string& name, Module& child);

 private:
  void prefix_names(const std::string& prefix);
  NamedTensors<T> params_;                                // this module's own, local names
  std::vector<std::pair<std::string, Module*>> children_;
  bool training_ = true;
};

}  // namespace tg
