// Which files tapegrad may replace or delete: only those it provably wrote
// (docs/reliability.md). A directory tapegrad writes into (a checkpoint, the demo's
// folder) carries a manifest, SHA256SUMS in `sha256sum` format, naming each file it
// wrote there with its SHA-256; a file is ours when the manifest lists it with the hash
// it has now. Anything else in such a directory — a file it does not write, one changed
// since, a look-alike without a manifest — makes the caller refuse, naming the file.
// SHA-256 comes from OpenSSL's libcrypto (EVP), not from code of our own.
#pragma once
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace tg {

inline constexpr std::string_view kManifestName = "SHA256SUMS";

// SHA-256 of `bytes` as 64 lowercase hex digits.
std::string sha256_hex(std::string_view bytes);
// SHA-256 of a regular file, read in chunks (a symbolic link, FIFO or device is refused,
// never opened for reading: a FIFO would block). Throws tg::Error naming the file.
std::string sha256_of_file(const std::filesystem::path& file);

// What tapegrad writes into a directory of one kind.
struct OwnedLayout {
  std::string_view what;                  // "a sentiment checkpoint", for messages
  std::vector<std::string> files;         // the regular files (the manifest is implied)
  std::vector<std::string> directories;   // subdirectories, each checked by its own writer
};

// Throws tg::Error, one line naming the first file at fault and `advice` (what the user
// can do, e.g. "choose another --out"), unless writing `layout` into `dir` can only
// replace files tapegrad wrote there: `dir` is absent, or a real directory (not a
// symbolic link) whose every entry is one of layout's files (regular, and listed in
// dir/SHA256SUMS with the hash it has now), one of its directories (real ones), or the
// manifest. Layout files may be missing (an interrupted writer leaves fewer).
void check_owned_directory(const std::filesystem::path& dir, const OwnedLayout& layout, std::string_view advice);

// Adds (or updates) `names`, files in `dir` just written by tapegrad, to dir/SHA256SUMS,
// keeping the other entries; written atomically. Call it after each file is in place: a
// kill between the two leaves a file the manifest does not prove, which is then refused
// (never the other way round).
void record_owned_files(const std::filesystem::path& dir, const std::vector<std::string>& names);

// Deletes what check_owned_directory allowed in `dir` — layout's files and the
// manifest, nothing else — and then `dir` itself if that left it empty. Returns false
// when something else (that appeared meanwhile) kept `dir` alive.
bool remove_owned_directory(const std::filesystem::path& dir, const OwnedLayout& layout);

// Throws tg::Error naming `path` unless a directory could be created there: its nearest
// existing ancestor is a directory the program may write in (and nothing on the way is
// a file or a symbolic link to one).
void check_can_create(const std::filesystem::path& path);

// A text file that proves its own origin, for a single file tapegrad writes at a name the
// user chose (the HTML report): the last line of `text` becomes
// `open` + SHA-256 of everything before that line + `close` + "\n".
std::string seal_text(std::string text, std::string_view open, std::string_view close);
// True when `file` is a regular file sealed by seal_text with `open` and `close`, unchanged
// since (its seal's hash matches). Reads at most `max_bytes`; a larger file is not ours.
bool has_valid_seal(const std::filesystem::path& file, std::string_view open, std::string_view close,
                    std::size_t max_bytes);

}  // namespace tg
