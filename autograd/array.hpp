// The array types everything is built on: tg::Array<T> (a dynamic-rank xtensor
// array of the scalar T), integer arrays for token ids and lengths, boolean masks,
// and shape formatting for error messages, e.g. "(3,4)".
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <xtensor/xarray.hpp>

namespace tg {

template <class T>
using Array = xt::xarray<T>;
using Ids = xt::xarray<std::int64_t>;   // token ids, lengths, class labels
using Mask = xt::xarray<bool>;          // true = a real position, false = padding
using Shape = std::vector<std::size_t>;

template <class S>
std::string shape_str(const S& shape) {
  std::string out = "(";
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (i) out += ",";
    out += std::to_string(shape[i]);
  }
  return out + ")";
}

}  // namespace tg
