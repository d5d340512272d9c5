// Replacing a file so that no crash or error ever leaves a half-written one in its
// place, and never replacing what is not a plain file: write a fresh temporary beside
// it, fsync, rename over it. Every file tapegrad writes goes through here (checkpoints,
// vocabularies, CSVs, reports). Plain POSIX, no tapegrad types. docs/reliability.md
// states the rule; nn/file_ownership.hpp decides *which* regular files may be replaced.
#pragma once
#include <cstddef>
#include <span>
#include <string>
#include <string_view>

namespace tg {

// Throws tg::Error, one line naming `path`, unless `path` could be written by
// write_file_atomically: it is absent or a regular file (never a symbolic link, device,
// FIFO, socket or directory), and its directory exists and is writable. Call it before
// the work whose result goes there, so a bad destination costs nothing; the writer runs
// the same check again at the end.
void check_file_destination(const std::string& path);

// Writes `bytes` to a new temporary file beside `path` (created with O_EXCL, so never
// through a planted file or symbolic link), fsyncs it, renames it over `path` and fsyncs
// the directory. The result keeps the replaced file's mode (or gets a new file's default).
// A `path` that is not absent or a regular file is refused (check_file_destination), not
// replaced. On error the temporary is removed, `path` is left as it was, and tg::Error
// names `path`, the failed step and the temporary.
void write_file_atomically(const std::string& path, std::span<const std::byte> bytes);
void write_file_atomically(const std::string& path, std::string_view text);

// "a symbolic link", "a directory", "a FIFO", … for the file `path` names (not following
// a symbolic link); "" when it does not exist. For messages that say why a path is refused.
std::string file_kind(const std::string& path);

// fsync of a directory, so that a rename or unlink in it is on disk. Best effort (false
// on failure): callers use it once the new data is already in place.
bool sync_directory(const std::string& dir);

}  // namespace tg
