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

}  // namespace tg::detail

#define TG_FOR_FLOAT_AND_DOUBLE(M) M(float) M(double)
