// Resource limits of the sentiment pipeline (models/ layer), all in one place: the
// largest vocabulary, widths, parameter count, text length, batch size and per-batch
// memory that any path accepts — command-line options, config.json, the classifier's
// constructor, the batcher, the forward pass — each checked before the memory is allocated.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

namespace tg {

// Note [Resource limits]
// A size that would need absurd memory comes from a typo (--hidden 12800), a damaged
// or hostile config.json, or the wrong column read as text. Allocating it first ends in
// std::bad_alloc, the OOM killer or a machine swapping to a halt, never in a message
// naming the culprit. So every size is checked where it is first known, against these
// limits, before anything of that size exists. Each is far above what the flagship
// uses (canonical recipe on the Kaggle tweets), so it refuses only what cannot be meant:
//
//   limit                     value        flagship     why this value
//   vocabulary V              10,000,000   5,788        rows of the embedding; tweets have ~15k
//                                                       distinct words, a large web corpus ~1M
//   widths E, H (and C)       8,192        100, 128     4H×H LSTM weights: H = 8,192 alone is
//                                                       268M parameters, past the next limit
//   parameters                100,000,000  ~700k–900k   400 MB of float32 weights; training holds
//                                                       four copies (value, gradient, Adam's two
//                                                       moments): 1.6 GB
//   tokens per text T         10,000       48           max_tokens and pad_to; a tweet has at most
//                                                       ~140 tokens, a long review ~2,000
//   batch size B              65,536       64 (256 to   more than the whole Kaggle file (14,640
//                                          evaluate)    tweets) in one step
//   one batch's activations   4 GiB        0.13 GiB     training: the tape keeps every intermediate
//                                                       value and its gradient, at most about
//                                                       B·T·8E floats for the embedding plus the
//                                                       encoder's and pooling's own estimates
//                                                       (their registry entries; the LSTM's is
//                                                       B·T·40·H·directions, measured); evaluating
//                                                       keeps only the live ones (B·T·4E + …)
//
// The individual limits also keep every product below 2^63, so the estimates cannot
// overflow. kMaxTokens (text.hpp, 48) is the canonical recipe's tokens per tweet, a
// default, not a limit: --max-tokens and config.json may ask for up to kMaxSequenceLength.
inline constexpr std::size_t kMaxVocabulary = 10'000'000;
inline constexpr std::size_t kMaxWidth = 8'192;
inline constexpr std::uint64_t kMaxParameters = 100'000'000;
inline constexpr std::size_t kMaxSequenceLength = 10'000;
inline constexpr std::size_t kMaxBatchSize = 65'536;
inline constexpr std::uint64_t kMaxBatchBytes = std::uint64_t{4} << 30;
// Subword features (Note [Subword features], models/data/subwords.hpp): at most this many
// table rows, and n-grams (n = 3…5) of a token's first kSubwordCharacters characters only,
// so a bag holds at most kMaxSubwordsPerToken ids; the activation estimate counts a
// recorded bag as (3·kMaxSubwordsPerToken + 2)·E floats per position.
inline constexpr std::size_t kMaxSubwordBuckets = std::size_t{1} << 22;
inline constexpr std::size_t kSubwordCharacters = 20;
inline constexpr std::size_t kMaxSubwordsPerToken = 3 * (kSubwordCharacters + 2) - 9;  // 20 + 19 + 18

// Note [Input size limits]
// Every reader knows the largest input that can be valid and stops there, with one error
// naming the file, so /dev/zero, a 2 GB sparse file or a file picked by mistake costs at
// most that much memory and never an out-of-memory abort:
//
//   input                   limit      flagship     why this value
//   --data/--train CSV      512 MiB    3.4 MB       the Kaggle tweets are 3.4 MB; 1.6 million tweets
//                                                   (sentiment140) are 240 MB. Reading holds the bytes
//                                                   and the parsed rows: about 3x the file at the peak
//   config.json             64 MiB     ~10 KB       the history's kMaxEpochs epochs at ~300 bytes each
//                                                   (30 MB) plus "extra", nested at most 64 deep
//   vocab.txt               lines: config's model.vocab_size (+1 read to tell "too many");
//                           bytes: kMaxDataFileBytes (every token came out of a training file)
//   weights.npz             each member: the .npy of its parameter's shape at 8 bytes an element
//                           (nn/npz.hpp, Note [Bounded .npz reading]); the file: their sum
//   --word-vectors file     a line:    296 MB       read in blocks, keeping only the vocabulary's rows
//                           1 MiB                   (V·E floats): a 5.6 GB file costs time, not memory
//   one text (predict's     16 MiB     ~140 bytes   a tweet is at most 280 characters; a 10 MB line
//   stdin, a line)                                  (a whole book) is still read, tokenized and cut
//                                                   to max_tokens
//   --epochs                100,000    8            epochs × batches must fit Adam's step counter
//                                                   and the history in config.json; at 1 s an
//                                                   epoch this is a day of training
inline constexpr std::uint64_t kMaxDataFileBytes = std::uint64_t{512} << 20;
inline constexpr std::uint64_t kMaxConfigBytes = std::uint64_t{64} << 20;
inline constexpr std::uint64_t kMaxTextBytes = std::uint64_t{16} << 20;
inline constexpr std::size_t kMaxEpochs = 100'000;

struct ClassifierConfig;

// The classifier's exact parameter count (its named_parameters() sizes summed): the
// embedding and the output layer, plus what the encoder's and the pooling's registry
// entries say (models/classifier/registry.hpp). The widths must be within the limits
// (check_classifier_size checks them first).
std::uint64_t classifier_parameter_count(const ClassifierConfig& config);

// Bytes one forward pass over a (B,T) batch holds at its peak, estimated from above:
// while `recording` (training), every intermediate value and its gradient; otherwise
// only the tensors alive at once. The embedding's share is here; the encoder's and the
// pooling's come from their registry entries.
std::uint64_t batch_activation_bytes(const ClassifierConfig& config, std::size_t batch, std::size_t steps,
                                     bool recording);

// Throw a tg::Error saying which size is over which limit and what it would cost.
// Messages carry no prefix: callers add the file, field or layer.
void check_classifier_size(const ClassifierConfig& config);
void check_batch_memory(const ClassifierConfig& config, std::size_t batch, std::size_t steps, bool recording);

// "1.5 GiB", "380 MiB", "12 KiB": a byte count for a message.
std::string format_bytes(std::uint64_t bytes);

}  // namespace tg
