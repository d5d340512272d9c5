// The CSV reader: an encoding check over the whole input (NUL bytes, UTF-8), then a
// small record parser. Every scan moves forward only, so the work is linear in the
// input whatever it holds (see Note [Linear parsing]).
#include "models/data/csv.hpp"

#include "models/limits.hpp"

#include "nn/atomic_file.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>

#include <fmt/format.h>

#include "autograd/error.hpp"

namespace tg {
namespace {

constexpr std::string_view kBom = "\xEF\xBB\xBF";

[[noreturn]] void fail_at(const std::string& source, std::size_t line, const std::string& what) {
  throw Error(fmt::format("{}:{}: {}", source, line, what));
}

// The length of the UTF-8 sequence starting at s[i], or 0 when it is not valid UTF-8:
// truncated, overlong, a UTF-16 surrogate, or past U+10FFFF (RFC 3629, table 3-7 of
// the Unicode standard: the second byte's range depends on the first).
std::size_t utf8_length(std::string_view s, std::size_t i) {
  const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char c = byte(i);
  if (c < 0x80) return 1;
  std::size_t n = 0;
  unsigned char lo = 0x80, hi = 0xBF;
  if (c >= 0xC2 && c <= 0xDF) n = 2;
  else if (c == 0xE0) n = 3, lo = 0xA0;
  else if (c == 0xED) n = 3, hi = 0x9F;
  else if (c >= 0xE1 && c <= 0xEF) n = 3;
  else if (c == 0xF0) n = 4, lo = 0x90;
  else if (c == 0xF4) n = 4, hi = 0x8F;
  else if (c >= 0xF1 && c <= 0xF3) n = 4;
  else return 0;
  if (s.size() - i < n || byte(i + 1) < lo || byte(i + 1) > hi) return 0;
  for (std::size_t k = 2; k < n; ++k)
    if ((byte(i + k) & 0xC0) != 0x80) return 0;
  return n;
}

// Throws at the first NUL byte or invalid UTF-8 sequence. `base` is the offset of
// `text` in the file (a skipped BOM), so the offset matches a hex dump of the file.
void check_encoding(std::string_view text, const std::string& source, std::size_t base) {
  std::size_t line = 1;
  for (std::size_t i = 0; i < text.size();) {
    const char c = text[i];
    if (c == '\n') ++line;
    if (c == '\0')
      fail_at(source, line,
              fmt::format("NUL byte at byte offset {} (a UTF-16 or binary file? expected UTF-8 text)",
                          base + i));
    const std::size_t n = utf8_length(text, i);
    if (n == 0)
      fail_at(source, line,
              fmt::format("invalid UTF-8 at byte offset {} (byte 0x{:02x}); save the file as UTF-8",
                          base + i, static_cast<unsigned char>(c)));
    i += n;
  }
}

// Note [Linear parsing]
// A quoted field is read by jumping from quote to quote with find(), an unquoted one
// up to the next delimiter with find_first_of(); neither ever looks back, and lines
// are counted only in the bytes just consumed. So the parse is O(input) even for
// hostile input (an unterminated quote scans to the end once, then throws).
class Parser {
 public:
  Parser(std::string_view text, const std::string& source) : s_(text), source_(source) {}

  // Reads the next record into `row`; false at the end of the input.
  bool next(CsvRow& row) {
    skip_blank_lines();
    if (pos_ == s_.size()) return false;
    row.line = line_;
    row.fields.clear();
    do {
      std::string& field = row.fields.emplace_back();
      if (at(pos_, '"'))
        read_quoted(field);
      else
        read_unquoted(field);
    } while (after_field());
    return true;
  }

 private:
  bool at(std::size_t i, char c) const { return i < s_.size() && s_[i] == c; }

  // Blank lines carry no record (as in pandas and Python's DictReader); a trailing
  // line break at the end of the file is the common case.
  void skip_blank_lines() {
    while (true) {
      if (at(pos_, '\n')) pos_ += 1;
      else if (at(pos_, '\r') && at(pos_ + 1, '\n')) pos_ += 2;
      else return;
      ++line_;
    }
  }

  void read_quoted(std::string& field) {
    const std::size_t opened = line_;
    ++pos_;
    while (true) {
      const std::size_t quote = s_.find('"', pos_);
      if (quote == std::string_view::npos)
        fail_at(source_, opened, "unterminated quoted field (the quote opened on this line is never closed)");
      const std::string_view chunk = s_.substr(pos_, quote - pos_);
      line_ += static_cast<std::size_t>(std::count(chunk.begin(), chunk.end(), '\n'));
      field.append(chunk);
      pos_ = quote + 1;
      if (!at(pos_, '"')) return;
      field += '"';  // a doubled quote stands for one
      ++pos_;
    }
  }

  void read_unquoted(std::string& field) {
    const std::size_t stop = std::min(s_.find_first_of(",\r\n\"", pos_), s_.size());
    field.assign(s_.substr(pos_, stop - pos_));
    pos_ = stop;
    if (at(pos_, '"'))
      fail_at(source_, line_,
              "stray quote inside an unquoted field (a field holding quotes must be quoted whole, "
              "with its quotes doubled)");
  }

  // Consumes what follows a field: true after a comma (the record goes on), false at
  // a line end or the end of the input.
  bool after_field() {
    if (pos_ == s_.size()) return false;
    if (at(pos_, ',')) {
      ++pos_;
      return true;
    }
    if (at(pos_, '\n') || (at(pos_, '\r') && at(pos_ + 1, '\n'))) {
      pos_ += at(pos_, '\r') ? 2 : 1;
      ++line_;
      return false;
    }
    if (at(pos_, '\r'))
      fail_at(source_, line_, "carriage return not followed by a line feed outside quotes");
    fail_at(source_, line_, "unexpected text after the closing quote of a field (expected a comma or a line end)");
  }

  std::string_view s_;
  const std::string& source_;
  std::size_t pos_ = 0;
  std::size_t line_ = 1;
};

// Call right after a failed open, with errno cleared before it: the streams leave
// the reason in errno on POSIX systems.
[[noreturn]] void fail_to_open(const std::filesystem::path& path, const char* verb) {
  throw Error(fmt::format("{}: cannot {} ({})", path.string(), verb, errno ? std::strerror(errno) : "unknown error"));
}

std::string list_columns(const std::vector<std::string>& header) {
  constexpr std::size_t kShown = 20;
  std::string out;
  for (std::size_t i = 0; i < std::min(header.size(), kShown); ++i)
    out += (i ? ", " : "") + quote_for_message(header[i]);
  if (header.size() > kShown) out += fmt::format(" and {} more", header.size() - kShown);
  return out;
}

// A header read as one column that holds semicolons or tabs is most likely a file
// separated by them (Excel writes ';' where the decimal separator is a comma).
std::string separator_hint(const std::vector<std::string>& header) {
  if (header.size() != 1) return "";
  if (header[0].find(';') != std::string::npos) return " (separated by semicolons? expected commas)";
  if (header[0].find('\t') != std::string::npos) return " (separated by tabs? expected commas)";
  return "";
}

}  // namespace

std::string_view skip_bom(std::string_view text) {
  return text.starts_with(kBom) ? text.substr(kBom.size()) : text;
}

std::string quote_for_message(std::string_view value) {
  constexpr std::size_t kLimit = 60;
  std::string out = "\"";
  for (std::size_t i = 0, n = 1; i < value.size(); i += n) {  // one UTF-8 character (or bad byte) a step
    if (i >= kLimit) {
      out += "...";
      break;
    }
    const auto c = static_cast<unsigned char>(value[i]);
    const std::size_t length = utf8_length(value, i);  // 0: not UTF-8, escaped so the message stays UTF-8
    n = std::max<std::size_t>(length, 1);
    if (value.substr(i).starts_with(kBom)) out += "\\ufeff";  // invisible, yet it makes a column name differ
    else if (c == '\n') out += "\\n";
    else if (c == '\r') out += "\\r";
    else if (c == '\t') out += "\\t";
    else if (c == '"' || c == '\\') out += {'\\', static_cast<char>(c)};
    else if (c < 0x20 || c == 0x7F || length == 0) out += fmt::format("\\x{:02x}", c);
    else out.append(value.substr(i, n));
  }
  return out + "\"";
}

std::size_t CsvTable::column(std::string_view name) const {
  const auto found = std::find(header.begin(), header.end(), name);
  if (found == header.end())
    throw Error(fmt::format("{}:{}: no column {} in the header; its columns are {}{}", source, header_line,
                            quote_for_message(name), list_columns(header), separator_hint(header)));
  const auto index = static_cast<std::size_t>(found - header.begin());
  const auto again = std::find(found + 1, header.end(), name);
  if (again != header.end())
    throw Error(fmt::format("{}:{}: column {} appears twice in the header (columns {} and {})", source,
                            header_line, quote_for_message(name), index + 1, again - header.begin() + 1));
  return index;
}

CsvTable parse_csv(std::string_view text, const std::string& source) {
  if (text.starts_with("\xFF\xFE") || text.starts_with("\xFE\xFF"))  // what Excel's "Unicode text" writes
    fail_at(source, 1, "a UTF-16 file (it starts with a UTF-16 byte-order mark); save it as UTF-8");
  const std::string_view body = skip_bom(text);
  check_encoding(body, source, text.size() - body.size());
  Parser parser(body, source);
  CsvTable table;
  table.source = source;
  CsvRow row;
  if (!parser.next(row)) throw Error(source + ": empty file (expected a header row, then data rows)");
  table.header = std::move(row.fields);
  table.header_line = row.line;
  while (parser.next(row)) {
    if (row.fields.size() != table.header.size())
      fail_at(source, row.line,
              fmt::format("expected {} fields as in the header, found {}", table.header.size(),
                          row.fields.size()));
    table.rows.push_back(std::move(row));
  }
  if (table.rows.empty()) fail_at(source, table.header_line, "only a header, no data rows");
  return table;
}

namespace {

[[noreturn]] void fail_too_large(const std::filesystem::path& path, std::string_view size, std::uint64_t max_bytes,
                                 std::string_view what) {
  throw Error(fmt::format("{}: {}, more than a {} can be ({}; see Note [Input size limits] in models/limits.hpp)",
                          path.string(), size, what, format_bytes(max_bytes)));
}

// Reads `path` in 64 KiB chunks, handing each to `take`, which returns false to stop; a
// file that would go past `max_bytes` is refused (Note [Input size limits]). A regular
// file states its size, so it is refused before anything is read; a pipe or device
// (/dev/zero) is read up to the limit.
template <class Take>
void read_chunks(const std::filesystem::path& path, std::uint64_t max_bytes, std::string_view what, Take take) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) throw Error(path.string() + ": is a directory, not a file");
  if (std::filesystem::is_regular_file(path, ec)) {
    const std::uintmax_t size = std::filesystem::file_size(path, ec);
    if (!ec && size > max_bytes) fail_too_large(path, format_bytes(size), max_bytes, what);
  }
  errno = 0;
  std::ifstream in(path, std::ios::binary);
  if (!in) fail_to_open(path, "open");
  std::uint64_t total = 0;
  char buffer[1 << 16];
  while (in.read(buffer, sizeof buffer) || in.gcount() > 0) {
    const auto got = static_cast<std::size_t>(in.gcount());
    if ((total += got) > max_bytes) fail_too_large(path, "over " + format_bytes(max_bytes), max_bytes, what);
    if (!take(std::string_view(buffer, got))) return;
  }
  if (in.bad()) throw Error(path.string() + ": read error");
}

}  // namespace

std::size_t invalid_utf8_at(std::string_view text) {
  for (std::size_t i = 0, n = 0; i < text.size(); i += n)
    if ((n = utf8_length(text, i)) == 0) return i;
  return std::string_view::npos;
}

std::string replace_invalid_utf8(std::string_view text) {
  std::string out;
  for (std::size_t i = 0, n = 0; i < text.size(); i += n) {
    n = utf8_length(text, i);
    if (n == 0) out += "\uFFFD", n = 1;  // one U+FFFD a bad byte
    else out += text.substr(i, n);
  }
  return out;
}

std::string read_file(const std::filesystem::path& path, std::uint64_t max_bytes, std::string_view what) {
  std::string data;
  read_chunks(path, max_bytes, what, [&](std::string_view chunk) {
    data += chunk;
    return true;
  });
  return data;
}

std::string read_lines(const std::filesystem::path& path, std::size_t max_lines, std::uint64_t max_bytes,
                       std::string_view what) {
  std::string data;
  std::size_t lines = 0;
  read_chunks(path, max_bytes, what, [&](std::string_view chunk) {
    for (std::size_t at = chunk.find('\n'); at != std::string_view::npos; at = chunk.find('\n', at + 1))
      if (++lines == max_lines) {
        data += chunk.substr(0, at + 1);
        return false;
      }
    data += chunk;
    return true;
  });
  return data;
}

void write_file(const std::filesystem::path& path, std::string_view content) {
  write_file_atomically(path.string(), std::as_bytes(std::span(content.data(), content.size())));
}

CsvTable read_csv(const std::filesystem::path& path) {
  return parse_csv(read_file(path), path.string());
}

}  // namespace tg
