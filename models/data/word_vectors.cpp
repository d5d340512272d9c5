// Reading GloVe-format word vectors for a vocabulary: Note [Pretrained word vectors].
#include "models/data/word_vectors.hpp"

#include <charconv>
#include <cmath>
#include <fstream>
#include <functional>
#include <string>
#include <string_view>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <xtensor/xadapt.hpp>
#include <xtensor/xview.hpp>

#include "autograd/error.hpp"
#include "models/data/csv.hpp"  // quote_for_message, skip_bom
#include "models/limits.hpp"

namespace tg {
namespace {

namespace fs = std::filesystem;

// A line holds a word and at most kMaxWidth numbers of a few dozen characters each.
constexpr std::size_t kMaxLineBytes = std::size_t{1} << 20;
constexpr std::size_t kBlockBytes = std::size_t{1} << 20;

using LineHandler = std::function<void(std::size_t, std::string_view)>;

std::string too_long(const std::string& source, std::size_t line) {
  return fmt::format("{}:{}: a line longer than {} MiB: not a word-vector file", source, line, kMaxLineBytes >> 20);
}

// Calls on_line(number, line) for each line of `text` (LF or CRLF; the last may lack its
// break); returns the number of lines.
std::size_t for_each_line_of(std::string_view text, const std::string& source, const LineHandler& on_line,
                             std::size_t number = 0) {
  for (std::size_t start = 0; start < text.size();) {
    std::size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(start, end - start);
    if (line.size() > kMaxLineBytes) throw Error(too_long(source, number + 1));
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    on_line(++number, line);
    start = end + 1;
  }
  return number;
}

// The same for a file, read kBlockBytes at a time: memory stays bounded whatever its size.
void for_each_line(const fs::path& path, const LineHandler& on_line) {
  const std::string source = path.string();
  std::error_code ec;
  if (fs::is_directory(path, ec)) throw Error(fmt::format("{}: is a directory, not a word-vector file", source));
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(fmt::format("{}: cannot be read (missing or not permitted)", source));
  std::string pending, block(kBlockBytes, '\0');
  std::size_t number = 0;
  while (in) {
    in.read(block.data(), std::streamsize(block.size()));
    pending.append(block.data(), std::size_t(in.gcount()));
    const std::size_t complete = pending.rfind('\n') + 1;  // 0 when there is no line break
    number = for_each_line_of(std::string_view(pending).substr(0, complete), source, on_line, number);
    pending.erase(0, complete);
    if (pending.size() > kMaxLineBytes) throw Error(too_long(source, number + 1));
  }
  if (in.bad()) throw Error(fmt::format("{}: read error after line {}", source, number));
  for_each_line_of(pending, source, on_line, number);
}

// The fields of a line, split at spaces and tabs (runs of them count once).
void split_fields(std::string_view line, std::vector<std::string_view>& fields) {
  fields.clear();
  std::size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
    const std::size_t start = i;
    while (i < line.size() && line[i] != ' ' && line[i] != '\t') ++i;
    if (i > start) fields.push_back(line.substr(start, i - start));
  }
}

// Whether the whole field is one number of type T (a count, or a vector's number).
template <class T>
bool parse_whole(std::string_view field, T& out) {
  const auto [end, ec] = std::from_chars(field.data(), field.data() + field.size(), out);
  return ec == std::errc() && end == field.data() + field.size();
}

// The vectors of the lines `lines` hands to its callback, read for `vocab`.
WordVectors word_vectors_of(const std::function<void(const LineHandler&)>& lines, const Vocabulary& vocab,
                            const fs::path& source) {
  WordVectors out;
  out.source = source;
  out.vocabulary_size = vocab.size();
  const std::string name = source.string();
  std::vector<std::string_view> fields;
  std::vector<float> values;  // the found rows, row after row
  std::vector<bool> seen(vocab.size(), false);
  std::size_t header_count = 0;
  bool first = true, has_header = false;
  lines([&](std::size_t n, std::string_view line) {
    const auto fail = [&](const std::string& what) { throw Error(fmt::format("{}:{}: {}", name, n, what)); };
    if (n == 1) line = skip_bom(line);
    split_fields(line, fields);
    if (fields.empty()) return;  // a blank line
    if (std::exchange(first, false) && fields.size() == 2 && parse_whole(fields[0], header_count) &&
        parse_whole(fields[1], out.dim)) {  // word2vec's "count E" header
      if (out.dim == 0 || out.dim > kMaxWidth)
        fail(fmt::format("the header gives vectors of {} numbers; 1 to {} are possible", out.dim, kMaxWidth));
      has_header = true;
      return;
    }
    if (out.dim == 0) {
      out.dim = fields.size() - 1;
      if (out.dim == 0) fail("a word with no numbers after it: not a word-vector file (a word, then its numbers)");
      if (out.dim > kMaxWidth) fail(fmt::format("{} numbers after the word; at most {} are possible", out.dim, kMaxWidth));
    }
    if (fields.size() < out.dim + 1)
      fail(fmt::format("{} numbers after the word, but {} says a vector has {}", fields.size() - 1,
                       has_header ? "the header line" : "the first line", out.dim));
    ++out.lines;
    if (fields.size() > out.dim + 1) return;  // a word holding spaces: never a vocabulary token
    const std::int64_t id = vocab.id(fields[0]);
    if (id == Vocabulary::kUnk || id == Vocabulary::kPad || seen[std::size_t(id)]) return;
    seen[std::size_t(id)] = true;
    for (std::size_t e = 1; e <= out.dim; ++e) {
      float x = 0;
      if (!parse_whole(fields[e], x) || !std::isfinite(x))
        fail(fmt::format("number {} of \"{}\" is {}, not a finite number", e, fields[0], quote_for_message(fields[e])));
      values.push_back(x);
    }
    out.ids.push_back(id);
  });
  if (out.dim == 0) throw Error(fmt::format("{}: no word vectors in it (a word, then its numbers, a line)", name));
  if (has_header && out.lines != header_count)
    throw Error(fmt::format("{}: the header line says {} vectors, but the file holds {} (cut short?)", name,
                            header_count, out.lines));
  if (out.ids.empty())
    throw Error(fmt::format("{}: none of its {} words is one of the vocabulary's {} (a file for another language, "
                            "or of cased words? the tokenizer lowercases)", name, out.lines, vocab.word_count()));
  out.rows = xt::adapt(values, {out.ids.size(), out.dim});
  return out;
}

}  // namespace

WordVectors read_word_vectors(const fs::path& path, const Vocabulary& vocab) {
  if (path.empty()) throw Error("word vectors: the file name is empty");
  return word_vectors_of([&](const LineHandler& on_line) { for_each_line(path, on_line); }, vocab, path);
}

WordVectors parse_word_vectors(std::string_view text, const Vocabulary& vocab, const std::string& source) {
  return word_vectors_of([&](const LineHandler& on_line) { for_each_line_of(text, source, on_line); }, vocab, source);
}

void copy_word_vectors(const WordVectors& vectors, Array<float>& table) {
  if (table.dimension() != 2 || table.shape(0) != vectors.vocabulary_size || table.shape(1) != vectors.dim)
    throw Error(fmt::format("{}: its vectors have {} numbers and were read for a vocabulary of {}, but the embedding "
                            "table is ({}) (--embedding sets E)",
                            vectors.source.string(), vectors.dim, vectors.vocabulary_size, fmt::join(table.shape(), ", ")));
  for (std::size_t r = 0; r < vectors.ids.size(); ++r)
    xt::row(table, vectors.ids[r]) = xt::row(vectors.rows, r);
}

}  // namespace tg
