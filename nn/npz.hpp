// NumPy .npz files: a zip archive (libzip) of .npy members named "<key>.npy".
// Checkpoints and the PyTorch reference fixtures go through here; nothing above nn/
// touches the zip or .npy formats. Reading is strict and bounded (it is fuzzed):
// every malformed input throws tg::Error naming the file and member. Writing is atomic.
#pragma once
#include <cstddef>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "autograd/array.hpp"

namespace tg {

// The element types tapegrad reads and writes, each little-endian as numpy names them.
enum class DType { f32, f64, i64, i32, b1 };
std::string_view dtype_name(DType dtype);  // "<f4", "<f8", "<i8", "<i4", "|b1"

// One .npy array as stored: its bytes in C order, little-endian (bools as bytes 0/1).
struct NpyArray {
  DType dtype = DType::f64;
  Shape shape;  // () for a 0-d array, which holds one element
  std::vector<std::byte> data;

  // Converts to Array<T> for T in float, double, int64_t, int32_t, bool. Float types
  // convert to each other (f64 -> f32 rounds to nearest: a float model loads float64
  // references); integers widen (i32 -> i64) or narrow only when every value fits;
  // nothing crosses between floats, integers and bools. `what` names the array in
  // errors, e.g. "ckpt.npz: lstm.weight_ih_l0".
  template <class T>
  Array<T> as(std::string_view what) const;

  bool operator==(const NpyArray&) const = default;
};

template <class T>
NpyArray to_npy(const Array<T>& array);  // T as for NpyArray::as

using NpzContents = std::map<std::string, NpyArray>;  // key = member name without ".npy"

// Reads every member. Throws tg::Error naming `path` (and the member) for a missing
// file, a damaged archive, a bad .npy header, an unsupported dtype, a data size that
// does not match the shape, or a duplicate key. Fortran-order members are transposed
// into C order on reading.
NpzContents read_npz(const std::string& path);
// The same from bytes in memory; `name` stands for the file name in errors.
NpzContents read_npz_bytes(std::span<const std::byte> bytes, const std::string& name);

// Writes stored (uncompressed) members through write_file_atomically: on any error
// the previous file at `path` is left as it was.
void write_npz(const std::string& path, const NpzContents& arrays);

// One .npy file's bytes <-> NpyArray (format versions 1.0-3.0 read, 1.0 written).
NpyArray parse_npy(std::span<const std::byte> bytes, const std::string& name);
std::vector<std::byte> serialize_npy(const NpyArray& array);

// Writes `bytes` to a temporary file beside `path`, fsyncs it and renames it over
// `path`, so a crash never leaves a half-written file in its place. On error the
// temporary is removed and tg::Error names `path`.
void write_file_atomically(const std::string& path, std::span<const std::byte> bytes);

}  // namespace tg
