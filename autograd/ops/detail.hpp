// Helpers shared by the op files (not part of the public API): shape checks that
// throw naming the op, and the explicit instantiation macros.
#pragma once
#include <fmt/format.h>

#include "autograd/ops.hpp"

namespace tg::detail {

// NumPy broadcasting of two shapes; throws "add: (2,3) + (4,3)" when they don't broadcast.
Shape broadcast_shape(const char* op, const char* symbol, const Shape& a, const Shape& b);

template <class S>
Shape to_shape(const S& s) { return Shape(s.begin(), s.end()); }

void check_axis(const char* op, std::size_t axis, const Shape& shape);

// Note [Sink inputs]
// An op whose result is an input's value with something done to it (reshape's new shape,
// addmm's product added onto the bias) takes that input by value: a caller passing a
// temporary, or std::move-ing its last use, hands over the only handle to the node. When
// no tape records in this thread, nothing can read that value again, so the op may take
// its buffer instead of copying it — in evaluation that is a copy less per op. Under a
// tape the input stays on it (backward and inspection read it), and the op copies.
template <class T>
Array<T> take_or_copy_value(Tensor<T>& sink) {
  if (sink.node_ptr().use_count() == 1 && active_tape<T>() == nullptr) return std::move(sink.mutable_value());
  return sink.value();
}

}  // namespace tg::detail

#define TG_FOR_FLOAT_AND_DOUBLE(M) M(float) M(double)
