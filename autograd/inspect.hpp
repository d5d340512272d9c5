// Looking inside: a tape as one line per node, and the graph behind a value as
// Graphviz DOT with values and gradients on the nodes. The tutorials print both.
#pragma once
#include <string>

#include "autograd/tape.hpp"

namespace tg {

// "#3  matmul  (#0,#2)  (64,512)  value [0.12 -0.5 … ] |v|=3.2  grad |g|=0.1"
template <class T>
std::string tape_listing(const Tape<T>& tape);

// A short summary of an array: shape, the first few values and the L2 norm.
template <class T>
std::string summarize(const Array<T>& a, std::size_t shown = 4);

// The graph behind `root` (every node reachable through inputs) in DOT.
template <class T>
std::string graph_dot(const Tensor<T>& root);

}  // namespace tg
