// Checkpoints: a module's named parameters to and from a NumPy .npz (through nn/npz),
// keyed by their dotted names — PyTorch's state_dict names — so numpy reads what we
// save and PyTorch's reference weights load by name.
#pragma once
#include <string>
#include <string_view>

#include "nn/module.hpp"
#include "nn/npz.hpp"

namespace tg {

// Note [Checkpoint dtypes]
// Saving writes each parameter in the module's own T: float32 for Module<float>,
// float64 for Module<double>. So a round trip is bit-exact at either precision and a
// double model is never rounded behind its back — as PyTorch's state_dict keeps each
// tensor's dtype. Loading accepts either float width: f32 into a double model widens
// exactly; f64 into a float model rounds to nearest, which is how a float model loads
// PyTorch's float64 reference fixtures. Integer and bool arrays are refused.

// Every named parameter as an array of T, keyed by its dotted name.
template <class T>
NpzContents state_dict(const Module<T>& module);

// Checks EVERYTHING first — each parameter present, no key left over, every shape
// equal, every dtype a float — then assigns all at once: on any problem it throws
// one tg::Error naming `source` and each parameter at fault, and the module is left
// exactly as it was. Gradients are not touched.
template <class T>
void load_state_dict(Module<T>& module, const NpzContents& arrays, const std::string& source);

// The names and largest sizes the module's parameters can have in an .npz.
template <class T>
NpzLimits parameter_limits(const Module<T>& module);

// Writes state_dict(module) atomically: on failure the previous file stays in place.
template <class T>
void save_parameters(const Module<T>& module, const std::string& path);

// read_npz(path, parameter_limits(module)), which rejects damaged and truncated files
// naming them, and any member the module has no parameter for or larger than its
// parameter can be, before inflating it (Note [Bounded .npz reading]); then
// load_state_dict with the file as the source.
template <class T>
void load_parameters(Module<T>& module, const std::string& path);

// The entries whose key starts with `prefix`, with it removed: sub_dict(model file,
// "classifier.") holds "weight" and "bias", ready for a lone Linear.
NpzContents sub_dict(const NpzContents& arrays, std::string_view prefix);

}  // namespace tg
