// Training as the `sentiment` subcommands share it: Ctrl-C/SIGTERM as the trainer's
// stop flag, the training split's vocabulary and encoded splits, one model trained from
// a recipe, and the checkpoint helpers around it (labels check).
#include <csignal>
#include <cmath>

#include <fmt/format.h>

#include "sentiment.hpp"

namespace tg::cli {
namespace {

namespace fs = std::filesystem;

std::atomic<bool> g_stop_requested{false};

// Only an atomic store: nothing else is safe in a signal handler. SA_RESETHAND restores
// the default action, so a second Ctrl-C kills a program that seems stuck (a checkpoint
// being saved then stays whole: saving is atomic). SA_RESTART resumes a system call the
// signal lands in, so a Ctrl-C during a save does not fail its write with EINTR.
extern "C" void request_stop(int) { g_stop_requested.store(true); }

}  // namespace

const std::atomic<bool>& install_stop_handlers() {
  static_assert(std::atomic<bool>::is_always_lock_free);
  struct sigaction action {};
  action.sa_handler = request_stop;
  action.sa_flags = SA_RESETHAND | SA_RESTART;
  sigemptyset(&action.sa_mask);
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
  return g_stop_requested;
}

PreparedData prepare_data(const DataSplits& splits, const RecipeArgs& args) {
  const VocabOptions options{.min_count = args.min_count, .max_tokens = args.max_tokens};
  PreparedData out{build_vocabulary(splits.train, options), {}, {}, {}, {}};
  out.train = encode_dataset(splits.train, out.vocab, args.max_tokens);
  out.valid = encode_dataset(splits.valid, out.vocab, args.max_tokens);
  out.test = encode_dataset(splits.test, out.vocab, args.max_tokens);
  if (args.word_vectors) out.vectors = read_word_vectors(*args.word_vectors, out.vocab);
  return out;
}

TrainedModel train_model(Recipe recipe, const PreparedData& data, TrainCallbacks callbacks,
                         const std::function<void(const TrainedModel&)>& on_best) {
  recipe.model.vocab_size = data.vocab.size();
  recipe.train.stop = &install_stop_handlers();
  recipe.train.cores = &run_cores();
  TrainedModel out{recipe, std::make_unique<SentimentClassifier<float>>(recipe.model), {}};
  if (data.vectors) copy_word_vectors(*data.vectors, out.model->embedding.weight.mutable_value());
  out.recipe.train.stop = nullptr;
  out.recipe.train.cores = nullptr;
  if (on_best)
    callbacks.on_best = [&](const TrainingHistory& so_far) {
      out.history = so_far;
      on_best(out);
    };
  out.history = train_classifier(*out.model, data.train, data.valid, recipe.train, callbacks);
  return out;
}

SentimentCheckpoint checkpoint_info(const TrainedModel& trained, const RecipeArgs& args, nlohmann::json extra) {
  SentimentCheckpoint info;
  info.model = trained.recipe.model;
  info.train = trained.recipe.train;
  info.recipe = trained.recipe.name;
  info.max_tokens = args.max_tokens;
  info.min_count = args.min_count;
  info.history = trained.history;
  info.extra = std::move(extra);
  return info;
}

LoadedSentimentModel load_model(const fs::path& dir) {
  LoadedSentimentModel loaded = load_sentiment_checkpoint(dir);
  const std::vector<std::string> expected = label_names();
  if (loaded.info.labels != expected)
    throw Error(fmt::format("{}: labels are [{}], but this program reads [{}]", (dir / "config.json").string(),
                            fmt::join(loaded.info.labels, ", "), fmt::join(expected, ", ")));
  const TrainingHistory& h = loaded.info.history;
  if (!h.finished)
    fmt::print(stderr, "sentiment: note: {} holds epoch {} of a training run that {} after {} of {} epochs\n",
               dir.string(), h.best_epoch, h.interrupted ? "was interrupted" : "was still running (or was killed)",
               h.epochs.size(), loaded.info.train.epochs);
  return loaded;
}

std::string ensemble_note(const LoadedSentimentModel& loaded) {
  const std::size_t n = loaded.members().size();
  if (loaded.ensemble.is_null()) return "";
  return fmt::format(" (an ensemble of {}: the mean of their probabilities; α per word the mean of theirs; "
                     "--explain explains member 1)", n);
}

std::vector<std::string> label_names() { return {kSentimentLabels.begin(), kSentimentLabels.end()}; }

std::string describe_model(const SentimentClassifier<float>& model) {
  std::size_t parameters = 0;
  for (const auto& [_, p] : model.named_parameters()) parameters += p.size();
  const ClassifierConfig& c = model.config();
  const std::string subwords = c.subword_buckets > 0 ? fmt::format(", {} subword buckets", c.subword_buckets) : "";
  return fmt::format("{} encoder, {} pooling, vocabulary {}{}, E={}, H={}, {}, dropout {}/{}, {} parameters", c.encoder,
                     c.pooling, c.vocab_size, subwords, c.embedding_dim, c.hidden_size,
                     c.bidirectional ? "bidirectional" : "1 direction", c.embedding_dropout, c.state_dropout, parameters);
}

std::string describe_training(const Recipe& r) {
  const TrainOptions& t = r.train;
  std::string extras;
  if (t.word_dropout > 0) extras += fmt::format(", word dropout {:g}", t.word_dropout);
  if (t.label_smoothing > 0) extras += fmt::format(", label smoothing {:g}", t.label_smoothing);
  if (t.ema > 0) extras += fmt::format(", weight EMA {:g}", t.ema);
  if (t.patience) extras += fmt::format(", patience {}", t.patience);
  return fmt::format("recipe {}: {} lr {}, batch {}, {} epochs, clip {}, {} schedule{}, weight decay {}{}, seed {}",
                     r.name, t.decoupled_decay ? "AdamW" : "Adam", t.lr, t.batch_size, t.epochs, t.clip_norm,
                     t.schedule, t.warmup > 0 ? fmt::format(" after a {:g} warm-up", t.warmup) : "", t.weight_decay,
                     extras, t.seed);
}

void print_setup(const DataSplits& splits, const PreparedData& data, const Recipe& recipe) {
  fmt::print("data: {}\n", splits.description);
  if (const std::optional<WordVectors>& v = data.vectors)
    fmt::print("word vectors: {} of the vocabulary's {} words start from {} ({} vectors of {} numbers)\n",
               v->ids.size(), data.vocab.word_count(), v->source.string(), v->lines, v->dim);
  fmt::print("model: {}\n{}\n\n", describe_model(SentimentClassifier<float>(recipe.model)),
             describe_training(recipe));
}

nlohmann::json data_extra(const DataSplits& splits, const PreparedData& data) {
  nlohmann::json extra = {{"data", splits.files}};
  if (const std::optional<WordVectors>& v = data.vectors)
    extra["word_vectors"] = {{"file", v->source.string()}, {"dimensions", v->dim}, {"vectors", v->lines},
                             {"vocabulary_words_found", v->ids.size()}};
  return extra;
}

std::string format_duration(double seconds) {
  const long s = std::lround(std::max(0.0, seconds));
  if (s >= 3600) return fmt::format("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60);
  return fmt::format("{}:{:02}", s / 60, s % 60);
}

}  // namespace tg::cli
