// Replacing a file so that no crash or error ever leaves a half-written one in its
// place: write a temporary beside it, fsync, rename over it. Below nn/npz (which
// writes checkpoints this way); plain POSIX, no tapegrad types.
#pragma once
#include <cstddef>
#include <span>
#include <string>

namespace tg {

// Writes `bytes` to a temporary file beside `path`, fsyncs it and renames it over
// `path`; the result keeps the replaced file's mode (or gets a new file's default).
// On error the temporary is removed, `path` is left as it was, and tg::Error names
// `path`, the failed step and the temporary.
void write_file_atomically(const std::string& path, std::span<const std::byte> bytes);

}  // namespace tg
