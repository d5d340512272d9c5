// Small helpers shared by the test files: seeded random arrays and the message of
// the tg::Error a callable throws.
#pragma once
#include <functional>
#include <random>
#include <string>

#include "autograd/array.hpp"
#include "autograd/error.hpp"

namespace tg::test {

// Uniform in [lo, hi), the same on every platform for a seed.
template <class T = double>
Array<T> random_array(const Shape& shape, std::uint64_t seed, double lo = -1, double hi = 1) {
  std::mt19937_64 rng(seed);
  Array<T> a = xt::empty<T>(shape);
  for (T& v : a) v = static_cast<T>(lo + (hi - lo) * (static_cast<double>(rng() >> 11) * 0x1.0p-53));
  return a;
}

// The message of the tg::Error that f throws, or "" when it throws none.
inline std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const tg::Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace tg::test
