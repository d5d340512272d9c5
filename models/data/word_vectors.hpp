// Pretrained word vectors (models/ layer): the rows of a vocabulary's words read from a
// GloVe-format text file, to start an embedding table from (sentiment's --word-vectors).
#pragma once
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "autograd/array.hpp"
#include "models/data/text.hpp"

namespace tg {

// Note [Pretrained word vectors]
// An embedding learned from 11,712 tweets knows a word only as well as those tweets use
// it; vectors learned from billions of words (GloVe, Pennington et al. 2014) already place
// "awful" near "terrible". Starting the word table from them and training on is the
// classic remedy (measured in docs/accuracy.md). The file is GloVe's text format, one
// word a line followed by its E numbers, separated by spaces (tabs too); the header line
// "count E" of word2vec's and fastText's .vec text files is accepted and checked. E is the
// first vector's length and every line must have it. A line with more fields than 1 + E
// is a word holding spaces (glove.840B has a few), never a vocabulary token: skipped.
// Only the vocabulary's words are kept, so memory is V·E floats whatever the file's size
// (glove.840B.300d is 5.6 GB), and the file is read once, in blocks, never whole; only
// their numbers are parsed (finite ones only); a word's first line wins. <pad> and <unk>
// keep their rows. Errors name the file and the line.
struct WordVectors {
  std::filesystem::path source;
  std::size_t dim = 0;                // E: numbers per line
  std::size_t lines = 0;              // vectors in the file
  std::size_t vocabulary_size = 0;    // V of the vocabulary they were read for
  std::vector<std::int64_t> ids;      // vocabulary ids found, in file order
  Array<float> rows;                  // (ids.size(), dim)
};

// Throws naming the file (and the line) when it cannot be read, is not of this format,
// or holds none of the vocabulary's words.
WordVectors read_word_vectors(const std::filesystem::path& path, const Vocabulary& vocab);
// The same from a file's content in memory, `source` naming it in errors (the fuzzer's way in).
WordVectors parse_word_vectors(std::string_view text, const Vocabulary& vocab, const std::string& source);

// Copies each found word's vector into its row of an embedding table (V, E); the other
// rows stay as they are. Throws when E or V differ from what the vectors were read for.
void copy_word_vectors(const WordVectors& vectors, Array<float>& table);

}  // namespace tg
