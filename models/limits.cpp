// The resource limits' checks (see Note [Resource limits] in limits.hpp): the exact
// parameter count of a classifier configuration and an upper estimate of one batch's
// activation memory, each refused with a message before anything is allocated.
#include "models/limits.hpp"

#include <fmt/format.h>

#include "autograd/error.hpp"
#include "models/classifier/classifier_config.hpp"
#include "models/classifier/registry.hpp"

namespace tg {
namespace {

// Floats per token and unit of E that one forward pass holds for the embedded tokens:
// recording, the embedding's output, its dropout and their gradients; not recording, the
// live ones (measured with the LSTM's constants, models/classifier/encoders/lstm.cpp).
constexpr std::uint64_t kRecordingPerE = 8, kLivePerE = 4;

void check_at_most(std::uint64_t value, std::uint64_t limit, std::string_view what) {
  if (value > limit) throw Error(fmt::format("{} {} is over the limit of {}", what, value, limit));
}

}  // namespace

std::uint64_t classifier_parameter_count(const ClassifierConfig& c) {
  const EncoderEntry& encoder = encoder_entry(c.encoder);
  const std::uint64_t V = c.vocab_size, E = c.embedding_dim, C = c.classes, D = encoder.output_size(c);
  const std::uint64_t subwords = c.subword_buckets > 0 ? (std::uint64_t{c.subword_buckets} + 1) * E : 0;
  return V * E + encoder.parameter_count(c) + pooling_entry(c.pooling).parameter_count(D) + C * D + C + subwords;
}

std::uint64_t batch_activation_bytes(const ClassifierConfig& c, std::size_t batch, std::size_t steps,
                                     bool recording) {
  const EncoderEntry& encoder = encoder_entry(c.encoder);
  const std::uint64_t per_e = (recording ? kRecordingPerE : kLivePerE) +
                              (c.subword_buckets > 0 ? (recording ? 3 : 1) * kMaxSubwordsPerToken + 2 : 0);
  const std::uint64_t per_sequence = std::uint64_t{steps} * per_e * c.embedding_dim +
                                     encoder.activation_floats(c, steps, recording) +
                                     pooling_entry(c.pooling).activation_floats(encoder.output_size(c), steps, recording);
  return std::uint64_t{batch} * per_sequence * sizeof(float);
}

void check_classifier_size(const ClassifierConfig& c) {
  check_at_most(c.vocab_size, kMaxVocabulary, "vocabulary size");
  check_at_most(c.embedding_dim, kMaxWidth, "embedding size");
  check_at_most(c.hidden_size, kMaxWidth, "hidden size");
  check_at_most(c.classes, kMaxWidth, "class count");
  check_at_most(c.subword_buckets, kMaxSubwordBuckets, "subword buckets");
  const std::uint64_t parameters = classifier_parameter_count(c);
  if (parameters > kMaxParameters)
    throw Error(fmt::format("vocabulary {} × embedding {} with hidden size {}{} makes {} parameters ({} of "
                            "float32), over the limit of {} ({})",
                            c.vocab_size, c.embedding_dim, c.hidden_size, c.bidirectional ? " (bidirectional)" : "",
                            parameters, format_bytes(parameters * sizeof(float)), kMaxParameters,
                            format_bytes(kMaxParameters * sizeof(float))));
}

void check_batch_memory(const ClassifierConfig& c, std::size_t batch, std::size_t steps, bool recording) {
  check_at_most(batch, kMaxBatchSize, "batch size");
  check_at_most(steps, kMaxSequenceLength, "sequence length");
  const std::uint64_t bytes = batch_activation_bytes(c, batch, steps, recording);
  if (bytes > kMaxBatchBytes)
    throw Error(fmt::format("a batch of {} × {} tokens with embedding {} and hidden size {}{} needs about {} "
                            "{}, over the limit of {}",
                            batch, steps, c.embedding_dim, c.hidden_size, c.bidirectional ? " (bidirectional)" : "",
                            format_bytes(bytes), recording ? "to train on" : "to run", format_bytes(kMaxBatchBytes)));
}

std::string format_bytes(std::uint64_t bytes) {
  constexpr const char* kUnits[] = {"bytes", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  double value = static_cast<double>(bytes);
  std::size_t unit = 0;
  while (value >= 1024 && unit + 1 < std::size(kUnits)) value /= 1024, ++unit;
  return unit == 0 ? fmt::format("{} bytes", bytes) : fmt::format("{:.{}f} {}", value, value < 10 ? 1 : 0, kUnits[unit]);
}

}  // namespace tg
