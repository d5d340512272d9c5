// Tests for pretrained word vectors (Note [Pretrained word vectors],
// models/data/word_vectors.hpp): GloVe's text format and the .vec header, what is kept
// and what skipped, lines across the reader's blocks, every refusal with its file and
// line, and the copy into an embedding table.
#include <doctest/doctest.h>

#include <fmt/format.h>
#include <xtensor/xview.hpp>

#include "helpers.hpp"
#include "models/data/csv.hpp"  // write_file
#include "models/data/word_vectors.hpp"
#include "models/limits.hpp"

using tg::test::ScratchDir;
using tg::test::error_of;

namespace {

// <pad>, <unk>, then bad (2), good (3), food (4), crew (5).
tg::Vocabulary small_vocab() { return tg::Vocabulary::parse("<pad>\n<unk>\nbad\ngood\nfood\ncrew\n", "vocab"); }

tg::WordVectors read(const ScratchDir& scratch, const std::string& content) {
  tg::write_file(scratch.dir / "v.txt", content);
  return tg::read_word_vectors(scratch.dir / "v.txt", small_vocab());
}

std::string read_error(const ScratchDir& scratch, const std::string& content) {
  return error_of([&] { read(scratch, content); });
}

}  // namespace

TEST_CASE("word vectors: the vocabulary's words are kept in file order, the rest skipped, first line wins") {
  const ScratchDir scratch("wv");
  const tg::WordVectors v = read(scratch,
                                 "the 0.1 0.2 0.3\n"
                                 "good 1 -2 3.5e-1\n"
                                 "<unk> 9 9 9\n"
                                 "bad -0.25 0 1e3\n"
                                 "good 7 7 7\n"           // a second "good": the first one wins
                                 "zebra not numbers here\n");  // not a vocabulary word: numbers not parsed
  CHECK(v.dim == 3);
  CHECK(v.lines == 6);
  CHECK(v.vocabulary_size == 6);
  CHECK(v.ids == std::vector<std::int64_t>{3, 2});
  CHECK(v.rows == tg::test::array_of<float>({2, 3}, {1.f, -2.f, 0.35f, -0.25f, 0.f, 1000.f}));
}

TEST_CASE("word vectors: CRLF, a BOM, tabs, runs of spaces, blank lines and a word holding spaces are read") {
  const ScratchDir scratch("wv");
  const tg::WordVectors v = read(scratch,
                                 "\xEF\xBB\xBF" "food 1 2\r\n"
                                 "\r\n"
                                 "crew\t3   4 \r\n"
                                 ". . . 5 6\n"  // glove.840B holds words with spaces: never a token
                                 "\n"
                                 "bad 7 8");    // no line break at the end
  CHECK(v.dim == 2);
  CHECK(v.lines == 4);
  CHECK(v.ids == std::vector<std::int64_t>{4, 5, 2});
  CHECK(v.rows == tg::test::array_of<float>({3, 2}, {1.f, 2.f, 3.f, 4.f, 7.f, 8.f}));
}

TEST_CASE("word vectors: word2vec's \"count E\" header is read and checked") {
  const ScratchDir scratch("wv");
  const tg::WordVectors v = read(scratch, "2 3\ngood 1 2 3\nbad 4 5 6\n");
  CHECK(v.dim == 3);
  CHECK(v.lines == 2);
  CHECK(v.ids == std::vector<std::int64_t>{3, 2});
  const std::string path = (scratch.dir / "v.txt").string();
  CHECK(read_error(scratch, "3 3\ngood 1 2 3\nbad 4 5 6\n") ==
        path + ": the header line says 3 vectors, but the file holds 2 (cut short?)");
  CHECK(read_error(scratch, "2 4\ngood 1 2 3\n") == path + ":2: 3 numbers after the word, but the header line says "
                                                           "a vector has 4");
  CHECK(read_error(scratch, "1 0\ngood\n") == path + ":1: the header gives vectors of 0 numbers; 1 to 8192 are possible");
}

TEST_CASE("word vectors: lines across the reader's 1 MiB blocks are read whole") {
  const ScratchDir scratch("wv");
  // 60,000 lines of about 40 bytes: 2.4 MB, two block boundaries inside lines.
  std::string text, vocab_text = "<pad>\n<unk>\n";
  for (int i = 0; i < 60000; ++i) {
    text += fmt::format("w{} {} {} {} {}\n", i, i, -i, i * 0.5, 1e-3 * i);
    if (i % 997 == 0) vocab_text += fmt::format("w{}\n", i);
  }
  tg::write_file(scratch.dir / "v.txt", text);
  const tg::Vocabulary vocab = tg::Vocabulary::parse(vocab_text, "vocab");
  const tg::WordVectors v = tg::read_word_vectors(scratch.dir / "v.txt", vocab);
  CHECK(v.lines == 60000);
  REQUIRE(v.ids.size() == vocab.size() - 2);
  for (std::size_t r = 0; r < v.ids.size(); ++r) {
    const int i = int(997 * r);
    CHECK(vocab.token(v.ids[r]) == fmt::format("w{}", i));
    CHECK(v.rows(r, 0) == float(i));
    CHECK(v.rows(r, 1) == float(-i));
    CHECK(v.rows(r, 3) == doctest::Approx(1e-3 * i));
  }
}

TEST_CASE("word vectors: a file that is not one is one error naming the file and the line") {
  const ScratchDir scratch("wv");
  const std::string path = (scratch.dir / "v.txt").string();
  CHECK(read_error(scratch, "") == path + ": no word vectors in it (a word, then its numbers, a line)");
  CHECK(read_error(scratch, "\n\n") == path + ": no word vectors in it (a word, then its numbers, a line)");
  CHECK(read_error(scratch, "good\n") ==
        path + ":1: a word with no numbers after it: not a word-vector file (a word, then its numbers)");
  CHECK(read_error(scratch, "the 1 2 3\nbad 1 2\n") ==
        path + ":2: 2 numbers after the word, but the first line says a vector has 3");
  CHECK(read_error(scratch, "good 1 nan\n") == path + ":1: number 2 of \"good\" is \"nan\", not a finite number");
  CHECK(read_error(scratch, "good 1 inf\n") == path + ":1: number 2 of \"good\" is \"inf\", not a finite number");
  CHECK(read_error(scratch, "good 1 2x\n") == path + ":1: number 2 of \"good\" is \"2x\", not a finite number");
  CHECK(read_error(scratch, "good 1 1e999\n") == path + ":1: number 2 of \"good\" is \"1e999\", not a finite number");
  CHECK(read_error(scratch, "zebra 1 2\nmoose 3 4\n") ==
        path + ": none of its 2 words is one of the vocabulary's 4 (a file for another language, or of cased words? "
               "the tokenizer lowercases)");
  std::string wide = "good";
  for (std::size_t e = 0; e <= tg::kMaxWidth; ++e) wide += " 0";
  CHECK(read_error(scratch, wide + "\n") == path + ":1: 8193 numbers after the word; at most 8192 are possible");
  // No line break for over 1 MiB (/dev/zero, a binary file): refused, never read whole.
  CHECK(read_error(scratch, "good 1 2\nbad 3 4\n" + std::string(3 << 20, 'x')) ==
        path + ":3: a line longer than 1 MiB: not a word-vector file");
  CHECK(error_of([&] { tg::read_word_vectors(scratch.dir / "missing.txt", small_vocab()); }) ==
        (scratch.dir / "missing.txt").string() + ": cannot be read (missing or not permitted)");
  CHECK(error_of([&] { tg::read_word_vectors("", small_vocab()); }) == "word vectors: the file name is empty");
  CHECK(error_of([&] { tg::read_word_vectors(scratch.dir, small_vocab()); }) ==
        scratch.dir.string() + ": is a directory, not a word-vector file");
}

TEST_CASE("word vectors: copied into their rows of an embedding table, the other rows untouched") {
  const ScratchDir scratch("wv");
  const tg::WordVectors v = read(scratch, "crew 1 2\nbad 3 4\n");
  tg::Array<float> table = xt::ones<float>({std::size_t(6), std::size_t(2)}) * 9.0f;
  tg::copy_word_vectors(v, table);
  CHECK(table == tg::test::array_of<float>({6, 2}, {9.f, 9.f, 9.f, 9.f, 3.f, 4.f, 9.f, 9.f, 9.f, 9.f, 1.f, 2.f}));
  const std::string path = (scratch.dir / "v.txt").string();
  tg::Array<float> wide = xt::zeros<float>({std::size_t(6), std::size_t(3)});
  CHECK(error_of([&] { tg::copy_word_vectors(v, wide); }) ==
        path + ": its vectors have 2 numbers and were read for a vocabulary of 6, but the embedding table is (6, 3) "
               "(--embedding sets E)");
  tg::Array<float> longer = xt::zeros<float>({std::size_t(7), std::size_t(2)});
  CHECK_THROWS_AS(tg::copy_word_vectors(v, longer), tg::Error);
}
