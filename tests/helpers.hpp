// Small helpers shared by the test files: seeded random arrays, arrays and bytes
// spelled out in place, the message of the tg::Error a callable throws, and scratch
// directories for tests that write files.
#pragma once
#include <unistd.h>

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <filesystem>
#include <functional>
#include <initializer_list>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "autograd/array.hpp"
#include "autograd/error.hpp"
#include "autograd/random.hpp"

namespace tg::test {

// Uniform in [lo, hi), the same on every platform for a seed.
template <class T = double>
Array<T> random_array(const Shape& shape, std::uint64_t seed, double lo = -1, double hi = 1) {
  std::mt19937_64 rng(seed);
  Array<T> a = xt::empty<T>(shape);
  for (T& v : a) v = static_cast<T>(lo + (hi - lo) * uniform01(rng));
  return a;
}

// An array of `shape` holding `values` in C order (a vector, so bool works too).
template <class T>
Array<T> array_of(const Shape& shape, const std::vector<T>& values) {
  Array<T> a = Array<T>::from_shape(shape);
  if (a.size() != values.size())
    throw tg::Error("array_of: shape " + shape_str(shape) + " needs " + std::to_string(a.size()) +
                    " values, got " + std::to_string(values.size()));
  std::copy(values.begin(), values.end(), a.begin());
  return a;
}

// Binary contents spelled as text, e.g. a .npy header.
inline std::vector<std::byte> bytes_of(std::string_view text) {
  std::vector<std::byte> out(text.size());
  if (!text.empty()) std::memcpy(out.data(), text.data(), text.size());
  return out;
}

// The bytes of `values` as they lie in memory (little-endian on every supported machine).
template <class T>
std::vector<std::byte> raw(std::initializer_list<T> values) {
  std::vector<std::byte> out(values.size() * sizeof(T));
  if (!out.empty()) std::memcpy(out.data(), std::data(values), out.size());
  return out;
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

// A fresh, empty directory <tmp>/tg-<tag>-<pid>-<n>, removed with all it holds when
// the object dies. The pid and counter keep concurrent test processes and repeated
// uses apart; the tag says which test file left a directory behind after a crash.
struct ScratchDir {
  std::filesystem::path dir;

  explicit ScratchDir(std::string_view tag) {
    static int count = 0;
    dir = std::filesystem::temp_directory_path() /
          ("tg-" + std::string(tag) + "-" + std::to_string(::getpid()) + "-" + std::to_string(++count));
    std::filesystem::remove_all(dir);  // a leftover of a crashed run with the same pid
    std::filesystem::create_directories(dir);
  }
  ~ScratchDir() {
    std::error_code ignored;  // a destructor must not throw
    std::filesystem::remove_all(dir, ignored);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;

  // `name` inside the directory, as the std::string most file APIs take.
  std::string operator/(std::string_view name) const { return (dir / name).string(); }
};

// The names of the entries of `dir`, sorted.
inline std::vector<std::string> listing(const std::filesystem::path& dir) {
  std::vector<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) names.push_back(entry.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace tg::test
