// Tests for models/data/csv.hpp: RFC 4180 quoting, line ends, the BOM, columns by name,
// and every error with its file:line message.
#include <doctest/doctest.h>

#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <unistd.h>

#include "autograd/error.hpp"
#include "models/data/csv.hpp"

namespace {

using Rows = std::vector<std::vector<std::string>>;

Rows fields_of(const tg::CsvTable& table) {
  Rows rows;
  for (const tg::CsvRow& row : table.rows) rows.push_back(row.fields);
  return rows;
}

std::vector<std::size_t> lines_of(const tg::CsvTable& table) {
  std::vector<std::size_t> lines;
  for (const tg::CsvRow& row : table.rows) lines.push_back(row.line);
  return lines;
}

}  // namespace

TEST_CASE("csv: a quoted field keeps its comma") {
  const tg::CsvTable table = tg::parse_csv("a,b\n\"x, y\",z\n", "t.csv");
  CHECK(table.header == std::vector<std::string>{"a", "b"});
  CHECK(fields_of(table) == Rows{{"x, y", "z"}});
}

TEST_CASE("csv: a doubled quote inside quotes reads as one quote") {
  const tg::CsvTable table = tg::parse_csv("a,b\n\"say \"\"hi\"\"\",\"\"\"\"\n", "t.csv");
  CHECK(fields_of(table) == Rows{{"say \"hi\"", "\""}});
}

TEST_CASE("csv: quoted line breaks stay in the field and records keep their starting line") {
  const tg::CsvTable table = tg::parse_csv("a,b\r\n\"one\r\ntwo\",x\r\n\"three\nfour\nfive\",y\r\nlast,z\r\n", "t.csv");
  CHECK(fields_of(table) == Rows{{"one\r\ntwo", "x"}, {"three\nfour\nfive", "y"}, {"last", "z"}});
  CHECK(lines_of(table) == std::vector<std::size_t>{2, 4, 7});
}

TEST_CASE("csv: CRLF and LF files give identical rows") {
  const tg::CsvTable lf = tg::parse_csv("a,b\n1,\"x\ny\"\n2,3\n", "lf.csv");
  const tg::CsvTable crlf = tg::parse_csv("a,b\r\n1,\"x\ny\"\r\n2,3\r\n", "crlf.csv");
  CHECK(lf.header == crlf.header);
  CHECK(fields_of(lf) == fields_of(crlf));
  CHECK(lines_of(lf) == lines_of(crlf));
}

TEST_CASE("csv: a UTF-8 byte-order mark is skipped") {
  const tg::CsvTable table = tg::parse_csv("\xEF\xBB\xBFtext,label\ncaf\xC3\xA9,1\n", "bom.csv");
  CHECK(table.header == std::vector<std::string>{"text", "label"});
  CHECK(table.column("text") == 0);
  CHECK(fields_of(table) == Rows{{"caf\xC3\xA9", "1"}});
}

TEST_CASE("csv: columns are found by name in any order") {
  const tg::CsvTable table = tg::parse_csv("id,label,text\n7,pos,hello\n", "t.csv");
  CHECK(table.column("text") == 2);
  CHECK(table.column("label") == 1);
  CHECK(table.column("id") == 0);
}

TEST_CASE("csv: empty fields are kept, blank lines skipped, a final line break optional") {
  const tg::CsvTable table = tg::parse_csv("a,b,c\n\n,,\r\n\r\n1,,\"\"\n\n2,3,4", "t.csv");
  CHECK(fields_of(table) == Rows{{"", "", ""}, {"1", "", ""}, {"2", "3", "4"}});
  CHECK(lines_of(table) == std::vector<std::size_t>{3, 5, 7});
}

TEST_CASE("csv: input ending just after a comma ends the record with an empty field") {
  // The view stops at the comma; the quote beyond it must never be read (found by libFuzzer).
  const std::string buffer = "a,b\n1,\"beyond";
  const tg::CsvTable table = tg::parse_csv(std::string_view(buffer).substr(0, 6), "t.csv");
  CHECK(fields_of(table) == Rows{{"1", ""}});
}

TEST_CASE("csv: a missing column is named, with the header's columns listed") {
  const tg::CsvTable table = tg::parse_csv("tweet_id,airline_sentiment\n1,neutral\n", "data.csv");
  CHECK_THROWS_WITH_AS(table.column("text"),
                       "data.csv:1: no column \"text\" in the header; its columns are \"tweet_id\", "
                       "\"airline_sentiment\"",
                       tg::Error);
}

TEST_CASE("csv: a column named twice in the header is refused") {
  const tg::CsvTable table = tg::parse_csv("text,x,text\n1,2,3\n", "data.csv");
  CHECK_THROWS_WITH_AS(table.column("text"),
                       "data.csv:1: column \"text\" appears twice in the header (columns 1 and 3)", tg::Error);
}

TEST_CASE("csv: a row with the wrong number of fields names its line") {
  CHECK_THROWS_WITH_AS(tg::parse_csv("a,b\n1,2\n\"x\ny\",2,3\n", "data.csv"),
                       "data.csv:3: expected 2 fields as in the header, found 3", tg::Error);
  CHECK_THROWS_WITH_AS(tg::parse_csv("a,b\n1\n", "data.csv"),
                       "data.csv:2: expected 2 fields as in the header, found 1", tg::Error);
}

TEST_CASE("csv: an unterminated quote names the line where the quoted field started") {
  CHECK_THROWS_WITH_AS(tg::parse_csv("a,b\n1,2\n3,\"open\nstill open\nto the end\n", "data.csv"),
                       "data.csv:3: unterminated quoted field (the quote opened on this line is never closed)",
                       tg::Error);
}

TEST_CASE("csv: a stray quote inside an unquoted field is refused") {
  CHECK_THROWS_WITH_AS(tg::parse_csv("a,b\n1,2\n3,say \"hi\"\n", "data.csv"),
                       "data.csv:3: stray quote inside an unquoted field (a field holding quotes must be quoted "
                       "whole, with its quotes doubled)",
                       tg::Error);
}

TEST_CASE("csv: text after a closing quote and a lone CR are refused") {
  CHECK_THROWS_WITH_AS(tg::parse_csv("a,b\n\"x\"y,2\n", "data.csv"),
                       "data.csv:2: unexpected text after the closing quote of a field (expected a comma or a line "
                       "end)",
                       tg::Error);
  CHECK_THROWS_WITH_AS(tg::parse_csv("a,b\n1,2\r3,4\n", "data.csv"),
                       "data.csv:2: carriage return not followed by a line feed outside quotes", tg::Error);
}

TEST_CASE("csv: invalid UTF-8 names the line and the byte offset in the file") {
  // Offsets count from the start of the file, BOM included: "\xEF\xBB\xBF" + "a,b\n" + "1,x" = 10.
  CHECK_THROWS_WITH_AS(tg::parse_csv("\xEF\xBB\xBF" "a,b\n1,x\xFF\n", "data.csv"),
                       "data.csv:2: invalid UTF-8 at byte offset 10 (byte 0xff); save the file as UTF-8", tg::Error);
  CHECK_THROWS_WITH_AS(tg::parse_csv("a,b\n1,caf\xE9\n", "latin1.csv"),
                       "latin1.csv:2: invalid UTF-8 at byte offset 9 (byte 0xe9); save the file as UTF-8", tg::Error);
  const char* invalid[] = {"\xC0\xAF",          // overlong '/'
                           "\xED\xA0\x80",      // a UTF-16 surrogate
                           "\xF4\x90\x80\x80",  // past U+10FFFF
                           "\xE2\x82"};         // truncated at the end of the input
  for (const char* bytes : invalid)
    CHECK_THROWS_WITH_AS(tg::parse_csv(std::string("a\n") + bytes, "d.csv"),
                         fmt::format("d.csv:2: invalid UTF-8 at byte offset 2 (byte 0x{:02x}); save the file as UTF-8",
                                     static_cast<unsigned char>(bytes[0]))
                             .c_str(),
                         tg::Error);
  const char* valid = "a\n\xC2\xA9\xE2\x82\xAC\xF0\x9F\x98\x80\xEF\xBF\xBD\n";  // © € 😀 U+FFFD
  CHECK(tg::parse_csv(valid, "d.csv").rows.at(0).fields.at(0) == "\xC2\xA9\xE2\x82\xAC\xF0\x9F\x98\x80\xEF\xBF\xBD");
}

TEST_CASE("csv: a NUL byte names its line and offset") {
  CHECK_THROWS_WITH_AS(tg::parse_csv(std::string("a,b\n1,2\n3,\0\n", 12), "data.csv"),
                       "data.csv:3: NUL byte at byte offset 10 (a UTF-16 or binary file? expected UTF-8 text)",
                       tg::Error);
}

TEST_CASE("csv: an empty file and a header without rows are refused") {
  for (const char* empty : {"", "\xEF\xBB\xBF", "\n\r\n\n"})
    CHECK_THROWS_WITH_AS(tg::parse_csv(empty, "e.csv"), "e.csv: empty file (expected a header row, then data rows)",
                         tg::Error);
  CHECK_THROWS_WITH_AS(tg::parse_csv("text,airline_sentiment\r\n", "h.csv"), "h.csv:1: only a header, no data rows",
                       tg::Error);
  CHECK_THROWS_WITH_AS(tg::parse_csv("\ntext\n\n", "h.csv"), "h.csv:2: only a header, no data rows", tg::Error);
}

TEST_CASE("csv: read_csv reads a file and names a missing one") {
  const auto dir = std::filesystem::temp_directory_path() / ("tg-test-csv-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  tg::write_file(dir / "ok.csv", "a,b\r\n\"1,2\",3\r\n");
  const tg::CsvTable table = tg::read_csv(dir / "ok.csv");
  CHECK(table.source == (dir / "ok.csv").string());
  CHECK(fields_of(table) == Rows{{"1,2", "3"}});
  CHECK_THROWS_WITH_AS(tg::read_csv(dir / "missing.csv"),
                       ((dir / "missing.csv").string() + ": cannot open (No such file or directory)").c_str(),
                       tg::Error);
  CHECK_THROWS_WITH_AS(tg::read_csv(dir), (dir.string() + ": is a directory, not a file").c_str(), tg::Error);
  std::filesystem::remove_all(dir);
}

TEST_CASE("csv: random inputs either parse into well-formed rows or throw tg::Error") {
  // A small fuzz over the bytes that steer the parser; libFuzzer goes further.
  std::mt19937_64 rng(7);
  const std::vector<std::string> pieces = {"a", "b", ",", ",", "\"", "\n", "\r\n", "\xC3\xA9", "\r", "\xFF"};
  std::size_t parsed = 0, refused = 0;
  for (int round = 0; round < 20000; ++round) {
    std::string input;
    // the last two pieces (a lone CR, a byte never valid in UTF-8) are rarer, else nothing parses
    for (std::size_t n = rng() % 16; n > 0; --n) input += pieces[rng() % (rng() % 8 ? 8 : pieces.size())];
    try {
      const tg::CsvTable table = tg::parse_csv(input, "fuzz.csv");
      ++parsed;
      std::size_t previous = table.header_line;
      for (const tg::CsvRow& row : table.rows) {
        REQUIRE(row.fields.size() == table.header.size());
        REQUIRE(row.line > previous);
        previous = row.line;
      }
    } catch (const tg::Error&) {
      ++refused;
    }
  }
  CHECK(parsed > 100);
  CHECK(refused > 100);
}

TEST_CASE("csv: a long run of quotes or commas parses in one pass") {
  const std::string quotes = "a\n\"" + std::string(1 << 20, '"');  // an unterminated field of doubled quotes
  CHECK_THROWS_AS(tg::parse_csv(quotes, "q.csv"), tg::Error);
  const std::string commas = std::string(1 << 16, ',') + "\n" + std::string(1 << 16, ',') + "\n";
  CHECK(tg::parse_csv(commas, "c.csv").rows.at(0).fields.size() == (1 << 16) + 1);
}

TEST_CASE("csv: error messages show values escaped and cut short") {
  CHECK(tg::quote_for_message("a\"b\\c\nd\te\x01") == "\"a\\\"b\\\\c\\nd\\te\\x01\"");
  const std::string long_value(100, 'x');
  CHECK(tg::quote_for_message(long_value) == "\"" + std::string(60, 'x') + "...\"");
  // Invalid UTF-8 is escaped byte by byte (the message stays UTF-8), a BOM is made visible,
  // valid characters pass whole; the cut never splits one.
  CHECK(tg::quote_for_message("caf\xe9 \xEF\xBB\xBFid caf\xc3\xa9") == "\"caf\\xe9 \\ufeffid caf\xc3\xa9\"");
  CHECK(tg::quote_for_message(std::string(59, 'x') + "\xc3\xa9\xc3\xa9") ==
        "\"" + std::string(59, 'x') + "\xc3\xa9...\"");
}
