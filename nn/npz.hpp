// NumPy .npz files: a zip archive (libzip) of .npy members named "<key>.npy", each
// going through nn/npy. Checkpoints and the PyTorch reference fixtures go through
// here; nothing above nn/ touches the zip or .npy formats. Reading is strict and
// bounded (it is fuzzed): every malformed input throws tg::Error naming the file and
// member. Writing is atomic.
#pragma once
#include <cstddef>
#include <map>
#include <span>
#include <string>

#include "nn/atomic_file.hpp"
#include "nn/npy.hpp"

namespace tg {

using NpzContents = std::map<std::string, NpyArray>;  // key = member name without ".npy"

// Reads every member. Throws tg::Error naming `path` (and the member) for a missing
// file, a damaged archive, a bad .npy header, an unsupported dtype, a data size that
// does not match the shape, or a duplicate key. Fortran-order members are transposed
// into C order on reading.
NpzContents read_npz(const std::string& path);
// The same from bytes in memory; `name` stands for the file name in errors.
NpzContents read_npz_bytes(std::span<const std::byte> bytes, const std::string& name);

// Note [Bounded .npz reading]
// A zip member declares its size in the archive's central directory, and inflating it
// costs that much memory and time: a 1 MB member of zeros inflates to 1 GB in 18 s. A
// reader that knows what the archive must hold (a checkpoint: the parameters' names and
// shapes, fixed by config.json) says so here, and read_npz checks every entry of the
// central directory against it BEFORE inflating anything: a name it does not expect, or
// a declared size over the largest .npy its array can take, is refused naming the
// member. A file larger than all those members together (plus the zip's own records)
// is refused from its size alone, before libzip reads its directory.
struct NpzLimits {
  std::map<std::string, std::uint64_t> max_member_bytes;  // key (no ".npy") → largest .npy size
  std::string unexpected_note = "not expected here";       // why an unknown key is refused
};

// The limits of an archive holding these arrays, each stored as float32 or float64 (the
// widest, 8 bytes an element): key → shape.
NpzLimits float_array_limits(const std::map<std::string, Shape>& shapes);

// read_npz, checking the central directory against `limits` first (see the Note above).
NpzContents read_npz(const std::string& path, const NpzLimits& limits);
NpzContents read_npz_bytes(std::span<const std::byte> bytes, const std::string& name, const NpzLimits& limits);

// Writes stored (uncompressed) members through write_file_atomically: on any error
// the previous file at `path` is left as it was.
void write_npz(const std::string& path, const NpzContents& arrays);

}  // namespace tg
