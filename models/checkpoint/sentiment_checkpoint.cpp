// A sentiment checkpoint directory (see sentiment_checkpoint.hpp): config.json to and
// from the structs, strict reading that names the file and field at fault, and the
// write-beside-then-rename dance that replaces a checkpoint without ever losing it.
#include "models/checkpoint/sentiment_checkpoint.hpp"

#include <fcntl.h>
#include <stdio.h>  // renameat2, RENAME_EXCHANGE (glibc >= 2.28)
#include <sys/stat.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <fstream>
#include <functional>
#include <sstream>

#include <fmt/format.h>

#include "models/data/csv.hpp"
#include "models/limits.hpp"
#include "nn/atomic_file.hpp"
#include "models/classifier/registry.hpp"
#include "nn/checkpoint.hpp"
#include "nn/file_ownership.hpp"

namespace tg {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using nlohmann::ordered_json;

constexpr std::string_view kFormat = "tapegrad sentiment checkpoint";
constexpr int kFormatVersion = 1;

// ---- structs to JSON (keys in the order written, for a reader) --------------------

ordered_json model_json(const ClassifierConfig& c) {
  ordered_json j = {{"vocab_size", c.vocab_size}, {"embedding_dim", c.embedding_dim}, {"hidden_size", c.hidden_size},
                    {"classes", c.classes},       {"encoder", c.encoder}, {"encoder_settings", c.encoder_settings},
                    {"pooling", c.pooling},       {"bidirectional", c.bidirectional},
                    {"embedding_dropout", c.embedding_dropout}, {"state_dropout", c.state_dropout}, {"seed", c.seed}};
  if (c.subword_buckets > 0) j["subword_buckets"] = c.subword_buckets;  // absent: none, as before subwords
  return j;
}

ordered_json train_json(const TrainOptions& o) {
  return {{"lr", o.lr},           {"batch_size", o.batch_size}, {"epochs", o.epochs},
          {"clip_norm", o.clip_norm}, {"weight_decay", o.weight_decay}, {"decoupled_decay", o.decoupled_decay},
          {"schedule", o.schedule}, {"warmup", o.warmup}, {"patience", o.patience}, {"pad_to", o.pad_to},
          {"seed", o.seed},       {"check_finite", o.check_finite}, {"word_dropout", o.word_dropout},
          {"label_smoothing", o.label_smoothing}, {"ema", o.ema}};
}

// Note [Checkpoints during training]: `sentiment train` saves a checkpoint at every new
// best epoch, so an interrupted or killed run leaves its best complete epoch behind;
// "status" tells a reader of config.json which kind of run it came from.
std::string training_status(const TrainingHistory& h) {
  return h.finished ? "finished" : h.interrupted ? "interrupted" : "in progress";
}

ordered_json history_json(const TrainingHistory& h) {
  ordered_json epochs = ordered_json::array();
  for (const EpochRecord& e : h.epochs)
    epochs.push_back({{"epoch", e.epoch}, {"train_loss", e.train_loss}, {"train_accuracy", e.train_accuracy},
                      {"valid_loss", e.valid_loss}, {"valid_accuracy", e.valid_accuracy},
                      {"valid_macro_f1", e.valid_macro_f1}, {"seconds", e.seconds}, {"lr", e.lr}});
  return {{"epochs", epochs},
          {"best_epoch", h.best_epoch},
          {"interrupted", h.interrupted},
          {"status", training_status(h)},
          {"epochs_completed", h.epochs.size()}};
}

ordered_json config_json(const ClassifierConfig& model, const SentimentCheckpoint& info) {
  return {{"format", kFormat}, {"version", kFormatVersion}, {"recipe", info.recipe}, {"labels", info.labels},
          {"model", model_json(model)}, {"train", train_json(info.train)},
          {"tokenizer", {{"lowercase", "ascii"}, {"url_token", kUrlToken}, {"max_tokens", info.max_tokens},
                         {"min_count", info.min_count}}},
          {"history", history_json(info.history)}, {"best_valid", metrics_json(info.history.best_valid, info.labels)},
          {"extra", ordered_json::parse(info.extra.dump())}};
}

// ---- JSON to structs ----------------------------------------------------------

// A value inside config.json with its dotted path, whose accessors throw naming the
// file and field: `config.json: field "model.hidden_size": expected an integer ≥ 0, found "8"`.
struct Field {
  const json& value;
  std::string path;
  const std::string& source;

  [[noreturn]] void fail(std::string_view what) const {
    if (path.empty()) throw Error(fmt::format("{}: {}", source, what));  // the document itself
    throw Error(fmt::format("{}: field \"{}\": {}", source, path, what));
  }
  [[noreturn]] void expected(std::string_view what) const {
    fail(fmt::format("expected {}, found {}", what, value.dump().substr(0, 80)));
  }
  Field operator[](const char* key) const {
    if (!value.is_object()) expected("an object");
    const auto it = value.find(key);
    const std::string child = path.empty() ? key : path + "." + key;
    if (it == value.end()) throw Error(fmt::format("{}: missing field \"{}\"", source, child));
    return {*it, child, source};
  }
  const json& array() const {
    if (!value.is_array()) expected("an array");
    return value;
  }
  Field operator[](std::size_t i) const { return {array().at(i), fmt::format("{}[{}]", path, i), source}; }
  std::uint64_t count() const {
    if (!value.is_number_unsigned()) expected("an integer ≥ 0");
    return value.get<std::uint64_t>();
  }
  double number() const {
    if (!value.is_number()) expected("a number");
    return value.get<double>();
  }
  double in_range(double low, double high) const {
    const double x = number();
    if (!(x >= low && x < high)) expected(fmt::format("a number in [{}, {})", low, high));
    return x;
  }
  bool boolean() const {
    if (!value.is_boolean()) expected("true or false");
    return value.get<bool>();
  }
  std::string string() const {
    if (!value.is_string()) expected("a string");
    return value.get<std::string>();
  }
  // An integer in [low, high]: sizes are checked against Note [Resource limits] here.
  std::size_t size_in(std::uint64_t low, std::uint64_t high) const {
    const std::uint64_t n = count();
    if (n < low || n > high) expected(fmt::format("an integer in [{}, {}]", low, high));
    return n;
  }
};

// The encoder and pooling by name (models/classifier/registry.hpp), and the encoder's own settings.
// A checkpoint from before the encoders were registered has no "encoder": its model is
// the LSTM, the only encoder there was.
void read_layers(const Field& f, ClassifierConfig& c) {
  const auto registered = [](const Field& name, auto lookup) {
    try {
      return lookup(name.string()).name;
    } catch (const Error& e) {
      name.fail(e.what());
    }
  };
  if (f.value.contains("encoder")) c.encoder = registered(f["encoder"], encoder_entry);
  c.pooling = registered(f["pooling"], pooling_entry);
  if (f.value.contains("encoder_settings")) {
    const Field settings = f["encoder_settings"];
    if (!settings.value.is_object()) settings.expected("an object");
    for (const auto& [name, value] : settings.value.items())
      c.encoder_settings[name] = settings[name.c_str()].number();
    try {
      check_encoder_settings(encoder_entry(c.encoder), c);
    } catch (const Error& e) {
      settings.fail(e.what());
    }
  }
}

ClassifierConfig read_model(const Field& f) {
  ClassifierConfig c;
  c.vocab_size = f["vocab_size"].size_in(2, kMaxVocabulary);
  c.embedding_dim = f["embedding_dim"].size_in(1, kMaxWidth);
  c.hidden_size = f["hidden_size"].size_in(1, kMaxWidth);
  c.classes = f["classes"].size_in(2, kMaxWidth);
  read_layers(f, c);
  c.bidirectional = f["bidirectional"].boolean();
  c.embedding_dropout = f["embedding_dropout"].in_range(0, 1);
  c.state_dropout = f["state_dropout"].in_range(0, 1);
  c.seed = f["seed"].count();
  if (f.value.contains("subword_buckets")) c.subword_buckets = f["subword_buckets"].size_in(1, kMaxSubwordBuckets);
  try {  // the product of the sizes, before vocab.txt or weights.npz is read
    check_classifier_size(c);
  } catch (const Error& e) {
    f.fail(e.what());
  }
  return c;
}

TrainOptions read_train(const Field& f) {
  TrainOptions o;
  o.lr = f["lr"].in_range(0, INFINITY);
  o.batch_size = f["batch_size"].size_in(1, kMaxBatchSize);
  o.epochs = f["epochs"].size_in(1, kMaxEpochs);
  o.clip_norm = f["clip_norm"].in_range(0, INFINITY);
  o.weight_decay = f["weight_decay"].in_range(0, INFINITY);
  o.decoupled_decay = f["decoupled_decay"].boolean();
  o.schedule = f["schedule"].string();
  if (f.value.contains("warmup")) o.warmup = f["warmup"].in_range(0, 0.99);  // absent before warm-ups: none
  o.patience = f["patience"].count();
  o.pad_to = f["pad_to"].size_in(0, kMaxSequenceLength);
  o.seed = f["seed"].count();
  o.check_finite = f["check_finite"].boolean();
  // Absent from checkpoints written before they existed: off.
  for (auto [name, target] :
       {std::pair{"word_dropout", &o.word_dropout}, {"label_smoothing", &o.label_smoothing}, {"ema", &o.ema}})
    if (f.value.contains(name)) *target = f[name].in_range(0, 1);
  return o;
}

// metrics_json's form (models/training/metrics.hpp): per_class is an object keyed by label. Checkpoints
// written before that held an array of {"label", …} in class order; both load.
Metrics read_metrics(const Field& f, const std::vector<std::string>& labels) {
  Metrics m;
  m.count = f["count"].count();
  m.accuracy = f["accuracy"].number();
  m.macro_f1 = f["macro_f1"].number();
  const Field per_class = f["per_class"];
  const auto read_class = [&](const Field& k) {
    m.per_class.push_back({k["precision"].number(), k["recall"].number(), k["f1"].number(), k["support"].count()});
  };
  if (per_class.value.is_array())
    for (std::size_t c = 0; c < per_class.array().size(); ++c) read_class(per_class[c]);
  else if (!per_class.value.empty())  // empty: no epoch was scored yet
    for (const std::string& label : labels) read_class(per_class[label.c_str()]);
  const Field confusion = f["confusion"];
  for (std::size_t r = 0; r < confusion.array().size(); ++r) {
    m.confusion.emplace_back();
    for (std::size_t c = 0; c < confusion[r].array().size(); ++c) m.confusion.back().push_back(confusion[r][c].count());
  }
  return m;
}

TrainingHistory read_history(const Field& f) {
  TrainingHistory h;
  const Field epochs = f["epochs"];
  for (std::size_t i = 0; i < epochs.array().size(); ++i) {
    const Field e = epochs[i];
    h.epochs.push_back({e["epoch"].count(), e["train_loss"].number(), e["train_accuracy"].number(),
                        e["valid_loss"].number(), e["valid_accuracy"].number(), e["valid_macro_f1"].number(),
                        e["seconds"].number(), e["lr"].number()});
  }
  h.best_epoch = f["best_epoch"].count();
  h.interrupted = f["interrupted"].boolean();
  h.finished = !h.interrupted;  // checkpoints without "status" were written once training ended
  if (f.value.contains("status")) {
    const Field status = f["status"];
    const std::string name = status.string();
    if (name != "finished" && name != "interrupted" && name != "in progress")
      status.expected("\"finished\", \"interrupted\" or \"in progress\"");
    if ((name == "interrupted") != h.interrupted)
      status.fail(fmt::format("\"{}\" contradicts \"interrupted\": {}", name, h.interrupted));
    h.finished = name == "finished";
  }
  return h;
}

std::vector<std::string> read_labels(const Field& f, std::size_t classes) {
  std::vector<std::string> labels;
  for (std::size_t i = 0; i < f.array().size(); ++i) labels.push_back(f[i].string());
  if (labels.size() != kSentimentLabels.size() || labels.size() != classes)
    f.fail(fmt::format("{} labels, but a sentiment model has {} classes (model.classes is {})", labels.size(),
                       kSentimentLabels.size(), classes));
  return labels;
}

// The tokenizer is compiled in, so a checkpoint can only ask for what it does.
std::size_t read_tokenizer(const Field& f, std::size_t& min_count) {
  if (f["lowercase"].string() != "ascii") f["lowercase"].expected("\"ascii\"");
  if (f["url_token"].string() != kUrlToken) f["url_token"].expected(fmt::format("\"{}\"", kUrlToken));
  const std::size_t max_tokens = f["max_tokens"].size_in(1, kMaxSequenceLength);
  min_count = f["min_count"].count();
  return max_tokens;
}

// config.json, read up to kMaxConfigBytes (Note [Input size limits]).
std::string read_text(const fs::path& path) {
  {
    std::ifstream probe(path, std::ios::binary);  // the message this file has always given when missing
    if (!probe) throw Error(fmt::format("{}: cannot open: {}", path.string(), std::strerror(errno)));
  }
  return read_file(path, kMaxConfigBytes, "config.json");
}

// nlohmann's message without its "[json.exception.parse_error.101] " tag, which tells a
// user nothing; a number past a double's range (1e400) is valid JSON but not a value.
std::string json_error(const json::exception& e) {
  std::string_view text = e.what();
  if (text.starts_with("[json.exception.")) text.remove_prefix(std::min(text.size(), text.find("] ") + 2));
  if (dynamic_cast<const json::out_of_range*>(&e)) return fmt::format("a number out of range ({})", text);
  return fmt::format("not valid JSON: {}", text);
}

// config.json nests 4 deep. nlohmann parses any depth, but copying or printing a value
// recurses once per level, so "extra": [[[[… a few hundred thousand deep overflowed the
// stack (found by tests/fuzz/fuzz_config): refuse such a file while parsing it.
constexpr int kMaxJsonDepth = 64;

json parse_json(std::string_view text, const std::string& source) {
  const auto limit_depth = [&](int depth, json::parse_event_t, json&) {
    if (depth > kMaxJsonDepth)
      throw Error(fmt::format("{}: nested deeper than {} levels (a damaged file?)", source, kMaxJsonDepth));
    return true;
  };
  try {
    return json::parse(text, limit_depth);
  } catch (const json::exception& e) {
    throw Error(fmt::format("{}: {}", source, json_error(e)));
  }
}

// A NaN or infinity in a weight makes every prediction NaN, silently: refuse it. Training
// never saves one (a non-finite loss stops it), so it is a damaged or edited file.
void check_finite_weights(const SentimentClassifier<float>& model, const std::string& path) {
  for (const auto& [name, p] : model.named_parameters()) {
    const Array<float>& value = p.value();
    const auto bad = std::find_if(value.begin(), value.end(), [](float x) { return !std::isfinite(x); });
    if (bad != value.end())
      throw Error(fmt::format("{}: {} holds a non-finite value ({}) at flat index {}", path, name, *bad,
                              bad - value.begin()));
  }
}

// ---- writing the directory ----------------------------------------------------

// Note [What a checkpoint directory holds]: exactly the files below, each listed with its
// SHA-256 in SHA256SUMS (nn/file_ownership.hpp), so that replacing a checkpoint can prove
// it deletes only what tapegrad wrote. Anything else in the directory makes saving refuse,
// naming the file: a user's notes, a report, a run folder, a config.json look-alike.
// An ensemble (Note [Ensemble checkpoints]) holds ensemble.json and member-K/ directories
// instead, each member laid out as kMemberLayout; either may replace the other.
const OwnedLayout kMemberLayout{"a sentiment checkpoint", {"config.json", "vocab.txt", "weights.npz"}, {}};

std::string member_name(std::size_t k) { return fmt::format("member-{}", k); }  // 1-based

OwnedLayout checkpoint_layout() {
  OwnedLayout layout{"a sentiment checkpoint", {"config.json", "vocab.txt", "weights.npz", "ensemble.json"}, {}};
  for (std::size_t k = 1; k <= kMaxEnsembleMembers; ++k) layout.directories.push_back(member_name(k));
  return layout;
}
const OwnedLayout kCheckpointLayout = checkpoint_layout();
constexpr std::string_view kAdvice = "move it away, or choose another directory";

[[noreturn]] void throw_errno(const std::string& where, std::string_view step) {
  throw Error(fmt::format("{}: {} failed: {}", where, step, std::strerror(errno)));
}

// A directory removed with everything in it when the guard dies, unless released. Only
// for the fresh directory this save made itself (mkdtemp, mode 0700).
struct RemoveGuard {
  fs::path path;
  ~RemoveGuard() {
    std::error_code ignored;
    if (!path.empty()) fs::remove_all(path, ignored);
  }
};

fs::path make_temp_dir(const fs::path& target, std::string_view tag) {
  std::string name = target.string() + std::string(tag) + "-XXXXXX";
  if (!::mkdtemp(name.data())) throw_errno(target.string(), "creating a directory beside it");
  // mkdtemp makes it 0700; give it the mode mkdir would. umask can only be read by setting it.
  const mode_t mask = ::umask(0);
  ::umask(mask);
  ::chmod(name.c_str(), 0777 & ~mask);
  return name;
}

// True when `inner` is `outer` or lies inside it (both absolute, symbolic links resolved).
bool is_within(const fs::path& inner, const fs::path& outer) {
  return std::mismatch(outer.begin(), outer.end(), inner.begin(), inner.end()).first == outer.end();
}

// `dir` as an absolute path with no trailing separator, after checking that replacing it
// loses nothing and can succeed (Note [What a checkpoint directory holds]).
fs::path checked_target(const fs::path& dir) {
  if (dir.empty()) throw Error("the checkpoint directory name is empty");
  const std::string where = dir.string();
  std::error_code ec;
  fs::path target = fs::absolute(dir, ec).lexically_normal();
  if (ec) throw Error(fmt::format("{}: {}", where, ec.message()));
  if (target.filename().empty()) target = target.parent_path();
  // A checkpoint is replaced whole, by a rename: never the directory we run in or one above it.
  const fs::path here = fs::current_path(ec), resolved = fs::weakly_canonical(target, ec);
  if (!ec && is_within(here, resolved))
    throw Error(fmt::format("{}: is the current directory or one above it; a checkpoint is a directory of its own, "
                            "replaced whole (name a new one, e.g. {})", where, (dir / "model").string()));
  check_owned_directory(dir, kCheckpointLayout, kAdvice);
  for (const std::string& member : kCheckpointLayout.directories)
    if (fs::is_directory(fs::symlink_status(dir / member, ec))) check_owned_directory(dir / member, kMemberLayout, kAdvice);
  check_can_create(target);  // the new checkpoint is made beside it, then renamed
  if (fs::exists(fs::symlink_status(target, ec)) && ::faccessat(AT_FDCWD, target.c_str(), W_OK | X_OK, AT_EACCESS) != 0)
    throw Error(fmt::format("{}: cannot replace the checkpoint there: {}", where, std::strerror(errno)));
  return target;
}

// Deletes the old checkpoint, now at `old`: only its own files (kCheckpointLayout), so
// that a file that appeared in it during the save survives (the directory then stays).
void remove_old(const fs::path& old) {
  if (file_kind(old.string()) != "a directory") return;
  for (const std::string& member : kCheckpointLayout.directories)
    if (file_kind((old / member).string()) == "a directory") remove_owned_directory(old / member, kMemberLayout);
  remove_owned_directory(old, kCheckpointLayout);
}

// One model's files (Note [What a checkpoint directory holds]) into `dir`, a directory this
// save made: each through write_file_atomically, then listed in its SHA256SUMS.
void write_model_files(const fs::path& dir, const SentimentClassifier<float>& model, const Vocabulary& vocab,
                       const SentimentCheckpoint& info) {
  save_parameters(model, (dir / "weights.npz").string());  // each file through write_file_atomically:
  vocab.save(dir / "vocab.txt");                            // written, fsynced, renamed into place
  write_file_atomically((dir / "config.json").string(), config_json(model.config(), info).dump(2) + "\n");
  record_owned_files(dir, kMemberLayout.files);
  if (!sync_directory(dir.string())) throw_errno(dir.string(), "fsync");
}

// Replaces `target` (if any) by `fresh` in one step: renameat2's RENAME_EXCHANGE swaps
// the two directories atomically, so at every instant, even under kill -9, `target` is
// the old complete checkpoint or the new one; the old one, now at `fresh`'s path, is
// then removed. A filesystem without RENAME_EXCHANGE gets two renames (the old one
// aside, the new one in): a crash between them leaves no `target`, but the old
// checkpoint complete beside it as target + ".old-XXXXXX".
void publish(const fs::path& fresh, const fs::path& target) {
  std::error_code ec;
  if (!fs::exists(fs::symlink_status(target, ec))) {
    if (::rename(fresh.c_str(), target.c_str()) != 0) throw_errno(target.string(), "renaming the new checkpoint into place");
    return;
  }
  if (::renameat2(AT_FDCWD, fresh.c_str(), AT_FDCWD, target.c_str(), RENAME_EXCHANGE) == 0) {
    remove_old(fresh);
    return;
  }
  if (errno != EINVAL && errno != ENOSYS && errno != EOPNOTSUPP)
    throw_errno(target.string(), "swapping the new checkpoint into place");
  const fs::path backup = make_temp_dir(target, ".old");  // rename() replaces an empty directory
  if (::rename(target.c_str(), backup.c_str()) != 0) {
    const int err = errno;
    ::rmdir(backup.c_str());
    errno = err;
    throw_errno(target.string(), "moving the old checkpoint aside");
  }
  if (::rename(fresh.c_str(), target.c_str()) != 0) {
    const int err = errno;
    ::rename(backup.c_str(), target.c_str());
    errno = err;
    throw_errno(target.string(), "renaming the new checkpoint into place");
  }
  remove_old(backup);
}

}  // namespace

namespace {
SaveStepHook g_save_hook = nullptr;
void save_hook(SaveStep step) {
  if (g_save_hook) g_save_hook(step);
}
}  // namespace

void set_save_step_hook(SaveStepHook hook) { g_save_hook = hook; }

void check_checkpoint_destination(const fs::path& dir) { checked_target(dir); }

namespace {

void check_vocabulary(const fs::path& dir, const SentimentClassifier<float>& model, const Vocabulary& vocab) {
  if (vocab.size() != model.config().vocab_size)
    throw Error(fmt::format("{}: the vocabulary has {} tokens but the model's embedding has {} rows", dir.string(),
                            vocab.size(), model.config().vocab_size));
}

// The one save: checks `dir`, lets `fill` write the new checkpoint into a fresh directory
// beside it, then swaps it in (publish). Both single models and ensembles go through it.
void save_checkpoint_directory(const fs::path& dir, const std::function<void(const fs::path&)>& fill) {
  const fs::path target = checked_target(dir);
  std::error_code ec;
  fs::create_directories(target.parent_path(), ec);
  if (ec) throw Error(fmt::format("{}: cannot create its parent directory: {}", dir.string(), ec.message()));

  save_hook(SaveStep::begin);
  RemoveGuard temp{make_temp_dir(target, ".tmp")};
  fill(temp.path);
  save_hook(SaveStep::written);
  checked_target(dir);  // again: what is there now is what the swap deletes
  publish(temp.path, target);
  temp.path.clear();
  sync_directory(target.parent_path().string());  // best effort: the new checkpoint is already in place
  save_hook(SaveStep::published);
}

constexpr std::string_view kEnsembleFormat = "tapegrad sentiment ensemble";
constexpr std::string_view kEnsembleRule =
    "the mean of the members' class probabilities; the alpha shown per word is the mean of the members' alpha";

}  // namespace

void save_sentiment_checkpoint(const fs::path& dir, const SentimentClassifier<float>& model, const Vocabulary& vocab,
                               const SentimentCheckpoint& info) {
  check_vocabulary(dir, model, vocab);
  save_checkpoint_directory(dir, [&](const fs::path& temp) { write_model_files(temp, model, vocab, info); });
}

void save_sentiment_ensemble(const fs::path& dir, const std::vector<const SentimentClassifier<float>*>& members,
                             const Vocabulary& vocab, const std::vector<SentimentCheckpoint>& infos,
                             const nlohmann::json& ensemble_extra) {
  if (members.empty() || members.size() > kMaxEnsembleMembers || infos.size() != members.size())
    throw Error(fmt::format("{}: an ensemble holds 1 to {} members, each with its description (got {} and {})",
                            dir.string(), kMaxEnsembleMembers, members.size(), infos.size()));
  for (const SentimentClassifier<float>* member : members) check_vocabulary(dir, *member, vocab);
  save_checkpoint_directory(dir, [&](const fs::path& temp) {
    for (std::size_t k = 0; k < members.size(); ++k) {
      const fs::path member = temp / member_name(k + 1);
      if (::mkdir(member.c_str(), 0777) != 0) throw_errno(member.string(), "mkdir");
      write_model_files(member, *members[k], vocab, infos[k]);
    }
    const ordered_json description = {{"format", kEnsembleFormat}, {"version", kFormatVersion},
                                      {"members", members.size()}, {"combined", kEnsembleRule},
                                      {"extra", ordered_json::parse(ensemble_extra.dump())}};
    write_file_atomically((temp / "ensemble.json").string(), description.dump(2) + "\n");
    record_owned_files(temp, {"ensemble.json"});
    if (!sync_directory(temp.string())) throw_errno(temp.string(), "fsync");
  });
}

SentimentCheckpoint parse_sentiment_config(std::string_view text, const std::string& source) {
  const json config = parse_json(text, source);
  const Field root{config, "", source};
  if (!config.is_object()) root.expected("an object");
  if (root["format"].string() != kFormat) root["format"].expected(fmt::format("\"{}\"", kFormat));
  if (root["version"].count() != kFormatVersion) root["version"].expected(std::to_string(kFormatVersion));
  SentimentCheckpoint info;
  info.model = read_model(root["model"]);
  info.labels = read_labels(root["labels"], info.model.classes);
  info.train = read_train(root["train"]);
  info.recipe = root["recipe"].string();
  info.max_tokens = read_tokenizer(root["tokenizer"], info.min_count);
  info.history = read_history(root["history"]);
  info.history.best_valid = read_metrics(root["best_valid"], info.labels);
  if (config.contains("extra")) info.extra = config["extra"];
  return info;
}

std::vector<SentimentClassifier<float>*> LoadedSentimentModel::members() const {
  std::vector<SentimentClassifier<float>*> all{model.get()};
  for (const auto& member : more_members) all.push_back(member.get());
  return all;
}

namespace {

LoadedSentimentModel load_single_checkpoint(const fs::path& dir);

bool same_tokens(const Vocabulary& a, const Vocabulary& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t id = 0; id < a.size(); ++id)
    if (a.token(std::int64_t(id)) != b.token(std::int64_t(id))) return false;
  return true;
}

// Note [Ensemble checkpoints]: every member's config.json is read (and the summed size
// checked) before any weights are, then each member loads as a single checkpoint would.
LoadedSentimentModel load_ensemble(const fs::path& dir) {
  const fs::path path = dir / "ensemble.json";
  const std::string source = path.string();
  const json description = parse_json(read_text(path), source);
  const Field root{description, "", source};
  if (!description.is_object()) root.expected("an object");
  if (root["format"].string() != kEnsembleFormat) root["format"].expected(fmt::format("\"{}\"", kEnsembleFormat));
  if (root["version"].count() != kFormatVersion) root["version"].expected(std::to_string(kFormatVersion));
  const std::size_t n = root["members"].size_in(1, kMaxEnsembleMembers);

  std::uint64_t parameters = 0;
  for (std::size_t k = 1; k <= n; ++k) {
    const fs::path config = dir / member_name(k) / "config.json";
    parameters += classifier_parameter_count(parse_sentiment_config(read_text(config), config.string()).model);
  }
  if (parameters > kMaxParameters)
    throw Error(fmt::format("{}: its {} members hold {} parameters together, over the limit of {} "
                            "(Note [Resource limits])", source, n, parameters, kMaxParameters));

  LoadedSentimentModel out = load_single_checkpoint(dir / member_name(1));
  for (std::size_t k = 2; k <= n; ++k) {
    const fs::path member_dir = dir / member_name(k);
    LoadedSentimentModel member = load_single_checkpoint(member_dir);
    const std::string vocab_path = (member_dir / "vocab.txt").string();
    if (!same_tokens(member.vocab, out.vocab))
      throw Error(fmt::format("{}: not the vocabulary of {} (an ensemble's members share one)", vocab_path,
                              (dir / member_name(1) / "vocab.txt").string()));
    if (member.info.max_tokens != out.info.max_tokens || member.info.labels != out.info.labels)
      throw Error(fmt::format("{}: its tokenizer or labels differ from {}'s", (member_dir / "config.json").string(),
                              member_name(1)));
    out.more_members.push_back(std::move(member.model));
  }
  out.ensemble = description;
  return out;
}

}  // namespace

LoadedSentimentModel load_sentiment_checkpoint(const fs::path& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) throw Error(fmt::format("{}: no such checkpoint directory", dir.string()));
  if (fs::exists(fs::symlink_status(dir / "ensemble.json", ec))) return load_ensemble(dir);
  return load_single_checkpoint(dir);
}

namespace {
LoadedSentimentModel load_single_checkpoint(const fs::path& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) throw Error(fmt::format("{}: no such checkpoint directory", dir.string()));
  const fs::path config_path = dir / "config.json", vocab_path = dir / "vocab.txt";
  const std::string source = config_path.string();
  LoadedSentimentModel out{parse_sentiment_config(read_text(config_path), source), {}, nullptr, {}, nullptr};
  const SentimentCheckpoint& info = out.info;
  // Reads at most vocab_size + 1 lines: one more tells "too many" (Note [Input size limits]).
  out.vocab = Vocabulary::load(vocab_path, info.model.vocab_size);
  if (out.vocab.size() != info.model.vocab_size)
    throw Error(fmt::format("{} has {}{} tokens but {} says model.vocab_size is {}", vocab_path.string(),
                            out.vocab.size() > info.model.vocab_size ? "more than " : "",
                            std::min(out.vocab.size(), info.model.vocab_size), source, info.model.vocab_size));
  try {
    out.model = std::make_unique<SentimentClassifier<float>>(info.model);
  } catch (const Error& e) {
    throw Error(fmt::format("{}: field \"model\": {}", source, e.what()));
  }
  load_parameters(*out.model, (dir / "weights.npz").string());
  check_finite_weights(*out.model, (dir / "weights.npz").string());
  out.model->eval();
  return out;
}
}  // namespace

}  // namespace tg
