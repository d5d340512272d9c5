// NumPy's .npy format (one array: a magic string, a Python-dict header, raw data) to
// and from NpyArray, and the conversions between NpyArray and Array<T>. The .npz
// container (nn/npz) stores its members through here. Reading is strict and bounded
// (it is fuzzed): every malformed input throws tg::Error saying what is wrong.
#pragma once
#include <cstddef>
#include <cstdint>
#include <functional>
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

// One .npy file's bytes <-> NpyArray (format versions 1.0-3.0 read, 1.0 written).
// Fortran-order arrays are transposed into C order on reading. Errors start "<name>: ".
NpyArray parse_npy(std::span<const std::byte> bytes, const std::string& name);
std::vector<std::byte> serialize_npy(const NpyArray& array);

// Fills `out` with up to `n` bytes and returns how many, 0 at the end; throws on a
// read error.
using ReadSome = std::function<std::size_t(std::byte* out, std::size_t n)>;

// parse_npy for a stream of `total_size` bytes (a zip member): memory grows only as
// bytes arrive, so a header that lies about the size allocates no more than the
// stream holds. Errors carry no name; the caller prefixes its own.
NpyArray read_npy(const ReadSome& read, std::uint64_t total_size);

// The most bytes a .npy file of `elements` elements of `item_size` bytes can take: the
// longest header read_npy accepts plus the data. Readers that know the shape they want
// (a checkpoint's parameters) refuse a larger member before reading any of it.
std::uint64_t max_npy_bytes(std::uint64_t elements, std::size_t item_size);

// Untrusted text (a key, a member name, a header) for an error message: quoted,
// non-printable bytes escaped as \xNN, cut after 80 characters.
std::string printable(std::string_view text);

}  // namespace tg
