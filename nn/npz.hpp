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

// Writes stored (uncompressed) members through write_file_atomically: on any error
// the previous file at `path` is left as it was.
void write_npz(const std::string& path, const NpzContents& arrays);

}  // namespace tg
