// The resource limits' checks (see Note [Resource limits] in limits.hpp): the exact
// parameter count of a classifier configuration and an upper estimate of one batch's
// activation memory, each refused with a message before anything is allocated.
#include "models/limits.hpp"

#include <fmt/format.h>

#include "autograd/error.hpp"
#include "models/classifier.hpp"

namespace tg {
namespace {

// Floats per token that one forward pass holds, per unit of E and of H·directions:
// recording, every op's value stays on the tape and gets a gradient of the same size
// (the LSTM alone makes ~30 (B,H)-sized values per step and direction); not recording,
// only the embedded tokens, the input projection (4H) and the states are alive at once.
// Measured: peak resident memory of `sentiment train` and `evaluate` minus that of a
// tiny model, on tweets of T tokens or more, for B·T from 64×48 to 512×100, E 16–300,
// H 32–512, one and two directions, every pooling: training held 50–75 floats per unit
// of H·directions per token, evaluation about 12. The constants are those, rounded up.
constexpr std::uint64_t kRecordingPerE = 8, kRecordingPerH = 96;
constexpr std::uint64_t kLivePerE = 4, kLivePerH = 16;

std::uint64_t directions(const ClassifierConfig& c) { return c.bidirectional ? 2 : 1; }

void check_at_most(std::uint64_t value, std::uint64_t limit, std::string_view what) {
  if (value > limit) throw Error(fmt::format("{} {} is over the limit of {}", what, value, limit));
}

}  // namespace

std::uint64_t classifier_parameter_count(const ClassifierConfig& c) {
  const std::uint64_t V = c.vocab_size, E = c.embedding_dim, H = c.hidden_size, C = c.classes;
  const std::uint64_t D = directions(c) * H;
  const std::uint64_t lstm = directions(c) * (4 * H * E + 4 * H * H + 2 * 4 * H);  // weight_ih, weight_hh, 2 biases
  const std::uint64_t attention = c.pooling == PoolingKind::attention ? D * D + D + D : 0;  // proj, bias, u_w
  return V * E + lstm + attention + C * D + C;
}

std::uint64_t batch_activation_bytes(const ClassifierConfig& c, std::size_t batch, std::size_t steps,
                                     bool recording) {
  const std::uint64_t per_e = recording ? kRecordingPerE : kLivePerE, per_h = recording ? kRecordingPerH : kLivePerH;
  const std::uint64_t per_token = per_e * c.embedding_dim + per_h * c.hidden_size * directions(c);
  return std::uint64_t{batch} * steps * per_token * sizeof(float);
}

void check_classifier_size(const ClassifierConfig& c) {
  check_at_most(c.vocab_size, kMaxVocabulary, "vocabulary size");
  check_at_most(c.embedding_dim, kMaxWidth, "embedding size");
  check_at_most(c.hidden_size, kMaxWidth, "hidden size");
  check_at_most(c.classes, kMaxWidth, "class count");
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
