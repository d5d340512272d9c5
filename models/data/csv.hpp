// A small RFC 4180 CSV reader for the data pipeline (models/ layer, no autograd):
// quoted fields with commas, doubled quotes and line breaks; CRLF or LF; a UTF-8 BOM
// skipped; columns found by header name. Every error is a tg::Error naming the file
// and the 1-based line at fault. Linear time, memory linear in the input (it is fuzzed).
#pragma once
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "models/limits.hpp"

namespace tg {

struct CsvRow {
  std::vector<std::string> fields;
  std::size_t line = 0;  // 1-based line where the record starts
};

struct CsvTable {
  std::string source;               // the name used in error messages
  std::vector<std::string> header;  // the first record
  std::size_t header_line = 1;     // 1-based, after any blank lines
  std::vector<CsvRow> rows;         // every later record, each with header.size() fields

  // The index of the column named `name`; throws naming the file and listing the header.
  std::size_t column(std::string_view name) const;
};

// Parses CSV text; `source` names it in errors ("data.csv:17: ..."). Refuses an empty
// input, a header without rows, a row whose field count differs from the header's,
// NUL bytes, invalid UTF-8, bad quoting, and a CR without LF outside quotes. Blank
// lines between records are skipped (as pandas and Python's DictReader do).
CsvTable parse_csv(std::string_view text, const std::string& source);

// Reads and parses a file; a missing or unreadable file is a tg::Error naming it.
CsvTable read_csv(const std::filesystem::path& path);

// The whole content of a file as bytes; throws naming the file when it cannot be read or
// holds more than `max_bytes` (Note [Input size limits]; `what` names the kind of file in
// that message: "data file", "config.json").
std::string read_file(const std::filesystem::path& path, std::uint64_t max_bytes = kMaxDataFileBytes,
                      std::string_view what = "data file");

// The file's first `max_lines` lines (each with its line break), read no further: a
// 10-million-line file costs no more than its first lines. Also refused past `max_bytes`.
std::string read_lines(const std::filesystem::path& path, std::size_t max_lines, std::uint64_t max_bytes,
                       std::string_view what);

// Writes `content` to a file atomically (temporary beside it, fsync, rename), so a crash
// never leaves it half-written; throws naming the file when that fails.
void write_file(const std::filesystem::path& path, std::string_view content);

// The byte offset of the first byte of `text` that does not begin a valid UTF-8 sequence,
// or npos. JSON output needs valid UTF-8 (nlohmann's dump() throws type_error 316).
std::size_t invalid_utf8_at(std::string_view text);
// `text` with each such byte replaced by U+FFFD (the replacement character).
std::string replace_invalid_utf8(std::string_view text);

// `text` with a leading UTF-8 byte-order mark removed.
std::string_view skip_bom(std::string_view text);

// `value` made safe to quote in an error message: in double quotes, control characters,
// bytes that are not UTF-8 and byte-order marks (\ufeff) escaped, cut after about 60 bytes.
std::string quote_for_message(std::string_view value);

}  // namespace tg
