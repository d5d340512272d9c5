// Safe interruption (issue 7): training saves a checkpoint at each new best epoch, a
// checkpoint directory is replaced in one atomic step, and `sentiment train`/`compare`
// stopped by SIGINT, SIGTERM or SIGKILL at any moment leave at --out either nothing new
// or a complete checkpoint that loads. The CLI cases run the built binary as a child
// process and signal it; they skip when it is not built.
//
// Note [Deterministic kill tests]: a kill "at a random moment" of a save proves little if
// the moments depend on this machine's speed (under AddressSanitizer every kill once landed
// before the second save began). So the saving process reports each step of a save
// (models/checkpoint/sentiment_checkpoint.hpp: SaveStep) on a pipe and stops itself (SIGSTOP) right
// there; the parent kills it at exactly the step it chose, or lets it go on (SIGCONT).
// The `sentiment` program does the same when TG_TEST_SAVE_STEPS names the pipe's fd.
// Random kills remain as an extra, with delays measured from the child's own reports and
// retried (a bounded number of times) until both outcomes were seen.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <random>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "helpers.hpp"
#include "models/data/csv.hpp"
#include "models/checkpoint/sentiment_checkpoint.hpp"
#include "models/data/synthetic_tweets.hpp"

namespace fs = std::filesystem;
using nlohmann::json;
using namespace std::chrono_literals;

namespace {

const fs::path kBinary = TG_BINARY_DIR "/sentiment";

// ---- in-process helpers ------------------------------------------------------------

struct TinyTask {
  tg::Vocabulary vocab;
  tg::EncodedData train, valid;
};

TinyTask tiny_task(std::size_t n_train, std::size_t n_valid) {
  std::vector<tg::LabelledText> rows;
  for (const tg::SyntheticTweet& t : tg::generate_tweets(n_train + n_valid, 5)) rows.push_back({t.text, t.label});
  const std::vector<tg::LabelledText> train(rows.begin(), rows.begin() + std::ptrdiff_t(n_train));
  const std::vector<tg::LabelledText> valid(rows.begin() + std::ptrdiff_t(n_train), rows.end());
  tg::Vocabulary vocab = tg::build_vocabulary(train);
  return {vocab, tg::encode_dataset(train, vocab), tg::encode_dataset(valid, vocab)};
}

tg::ClassifierConfig tiny_config(const tg::Vocabulary& vocab, std::uint64_t seed = 1) {
  return {.vocab_size = vocab.size(), .embedding_dim = 8, .hidden_size = 8,
          .pooling = "attention", .seed = seed};
}

// Every parameter's bytes, so "equal" means bit for bit.
std::string weight_bytes(const tg::Module<float>& model) {
  std::string out;
  for (const auto& [name, p] : model.named_parameters())
    out += name + std::string(reinterpret_cast<const char*>(p.value().data()), p.size() * sizeof(float));
  return out;
}

// ---- save steps over a pipe (Note [Deterministic kill tests]) -----------------------

int g_steps_fd = -1;       // the forked child's end of the pipe
bool g_stop_at_steps = false;

// The hook a forked saving child installs: one digit per step, then (if asked) stop there.
void report_step(tg::SaveStep step) {
  const char digit = char('0' + int(step));
  if (::write(g_steps_fd, &digit, 1) == 1 && g_stop_at_steps) ::raise(SIGSTOP);
}

// The next step a child reported, or nothing once it ended (or after a minute of silence).
std::optional<tg::SaveStep> next_step(int fd) {
  pollfd ready{fd, POLLIN, 0};
  char digit = 0;
  if (::poll(&ready, 1, 60'000) <= 0 || ::read(fd, &digit, 1) != 1) return std::nullopt;
  return tg::SaveStep(digit - '0');
}

const char* step_name(tg::SaveStep step) {
  switch (step) {
    case tg::SaveStep::begin: return "begin";
    case tg::SaveStep::written: return "written";
    default: return "published";
  }
}

struct Pipe {
  int read = -1, write = -1;
  Pipe() {
    int fds[2];
    REQUIRE(::pipe2(fds, O_CLOEXEC) == 0);
    read = fds[0];
    write = fds[1];
  }
  void close_write() {
    if (write >= 0) ::close(write);
    write = -1;
  }
  ~Pipe() {
    ::close(read);
    close_write();
  }
};

// ---- the binary as a child process -------------------------------------------------

// `kBinary args...` started in `dir`, stdout and stderr going to out.txt and err.txt there.
// With `steps_fd` ≥ 0, the program reports its save steps on that fd and stops at each
// (TG_TEST_SAVE_STEPS, Note [Deterministic kill tests]).
class Child {
 public:
  Child(const fs::path& dir, const std::vector<std::string>& args, int steps_fd = -1) {
    std::vector<std::string> words{kBinary.string()};
    words.insert(words.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (std::string& w : words) argv.push_back(w.data());
    argv.push_back(nullptr);
    constexpr int kStepsFd = 9;  // the child's copy of steps_fd
    std::vector<std::string> environment;
    for (char** e = environ; *e; ++e) environment.emplace_back(*e);
    if (steps_fd >= 0) environment.push_back(fmt::format("TG_TEST_SAVE_STEPS={}", kStepsFd));
    std::vector<char*> envp;
    for (std::string& e : environment) envp.push_back(e.data());
    envp.push_back(nullptr);
    const std::string where = dir.string();
    pid_ = ::fork();
    REQUIRE(pid_ >= 0);
    if (pid_ == 0) {  // only async-signal-safe calls until exec
      if (steps_fd >= 0 && ::dup2(steps_fd, kStepsFd) < 0) ::_exit(126);
      if (::chdir(where.c_str()) != 0) ::_exit(126);
      const int out = ::open("out.txt", O_WRONLY | O_CREAT | O_TRUNC, 0644);
      const int err = ::open("err.txt", O_WRONLY | O_CREAT | O_TRUNC, 0644);
      if (out < 0 || err < 0 || ::dup2(out, 1) < 0 || ::dup2(err, 2) < 0) ::_exit(126);
      ::execve(argv[0], argv.data(), envp.data());
      ::_exit(127);
    }
  }
  ~Child() {
    if (pid_ > 0 && status_ < 0) {  // a failed REQUIRE left it running
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  bool running() {
    if (status_ >= 0) return false;
    int raw = 0;
    if (::waitpid(pid_, &raw, WNOHANG) == 0) return true;
    status_ = decode(raw);
    return false;
  }
  // Polls `ready` until it holds (true) or the child ended or a minute passed (false).
  bool wait_until(const std::function<bool()>& ready) {
    const auto deadline = std::chrono::steady_clock::now() + 60s;
    while (std::chrono::steady_clock::now() < deadline) {
      if (ready()) return true;
      if (!running()) return false;
      std::this_thread::sleep_for(5ms);
    }
    return false;
  }
  void signal(int sig) const { ::kill(pid_, sig); }
  // Waits until the child has stopped itself (SIGSTOP); false if it ended instead.
  bool wait_stopped() {
    int raw = 0;
    if (status_ >= 0 || ::waitpid(pid_, &raw, WUNTRACED) != pid_) return false;
    if (WIFSTOPPED(raw)) return true;
    status_ = decode(raw);
    return false;
  }
  // The exit status, or 128 + the signal that killed it (as a shell reports it).
  int wait() {
    if (status_ < 0) {
      int raw = 0;
      ::waitpid(pid_, &raw, 0);
      status_ = decode(raw);
    }
    return status_;
  }

 private:
  static int decode(int raw) { return WIFEXITED(raw) ? WEXITSTATUS(raw) : 128 + WTERMSIG(raw); }
  pid_t pid_ = -1;
  int status_ = -1;
};

// A scratch directory with generated train/valid/test CSVs of the given sizes.
struct CliData : tg::test::ScratchDir {
  explicit CliData(std::size_t n_train = 200) : ScratchDir("interrupt") {
    const std::vector<tg::SyntheticTweet> tweets = tg::generate_tweets(n_train + 120, 11);
    const auto part = [&](std::size_t from, std::size_t n) {
      return std::vector<tg::SyntheticTweet>(tweets.begin() + long(from), tweets.begin() + long(from + n));
    };
    tg::write_synthetic_csv((dir / "train.csv").string(), part(0, n_train));
    tg::write_synthetic_csv((dir / "valid.csv").string(), part(n_train, 60));
    tg::write_synthetic_csv((dir / "test.csv").string(), part(n_train + 60, 60));
  }
  std::string err() const { return tg::read_file(dir / "err.txt"); }
  // Runs the binary to its end; returns its status.
  int run(const std::vector<std::string>& args) const {
    Child child(dir, args);
    return child.wait();
  }
};

// `train` of a tiny model into `out` for more epochs than could ever finish.
std::vector<std::string> endless_training(const std::string& out) {
  return {"train", "--train", "train.csv", "--valid", "valid.csv", "--out", out, "--epochs", "100000",
          "--hidden", "8", "--embedding", "8", "--batch-size", "32", "--lr", "0.01"};
}

bool binary_missing() {
  if (fs::exists(kBinary)) return false;
  MESSAGE("skipped: " << kBinary << " is not built (TG_BUILD_TUTORIALS=OFF?)");
  return true;
}

bool has_leftovers(const fs::path& dir, const std::string& name) {
  for (const std::string& entry : tg::test::listing(dir))
    if (entry.rfind(name + ".", 0) == 0) return true;
  return false;
}

json config_of(const fs::path& checkpoint) { return json::parse(tg::read_file(checkpoint / "config.json")); }

// Every file of a directory with its contents.
std::map<std::string, std::string> snapshot(const fs::path& dir) {
  std::map<std::string, std::string> out;
  for (const std::string& name : tg::test::listing(dir)) out[name] = tg::read_file(dir / name);
  return out;
}

}  // namespace

// ---- the trainer and the checkpoint format -----------------------------------------

TEST_CASE("trainer: on_best sees each new best epoch with the model holding its weights") {
  const TinyTask d = tiny_task(150, 50);
  tg::SentimentClassifier<float> model(tiny_config(d.vocab));
  std::vector<std::size_t> best_epochs;
  std::string last_best_weights;
  tg::TrainCallbacks callbacks;
  callbacks.on_best = [&](const tg::TrainingHistory& h) {
    CHECK(h.best_epoch == h.epochs.size());
    CHECK_FALSE(h.finished);
    CHECK(h.best_valid.accuracy == h.epochs.back().valid_accuracy);
    best_epochs.push_back(h.best_epoch);
    last_best_weights = weight_bytes(model);
  };
  const tg::TrainingHistory h =
      tg::train_classifier(model, d.train, d.valid, {.lr = 0.02, .batch_size = 32, .epochs = 4}, callbacks);
  REQUIRE_FALSE(best_epochs.empty());
  CHECK(best_epochs.front() == 1);
  CHECK(std::is_sorted(best_epochs.begin(), best_epochs.end()));
  CHECK(best_epochs.back() == h.best_epoch);
  CHECK(h.finished);
  CHECK(weight_bytes(model) == last_best_weights);  // what on_best saw last is what training ends with
}

TEST_CASE("trainer: an interrupted run is not finished") {
  const TinyTask d = tiny_task(100, 30);
  tg::SentimentClassifier<float> model(tiny_config(d.vocab));
  std::atomic<bool> stop{false};
  tg::TrainCallbacks callbacks;
  callbacks.on_epoch = [&](const tg::EpochRecord&) { stop = true; };
  const tg::TrainingHistory h = tg::train_classifier(
      model, d.train, d.valid, {.batch_size = 32, .epochs = 3, .stop = &stop}, callbacks);
  CHECK(h.interrupted);
  CHECK_FALSE(h.finished);
  CHECK(h.epochs.size() == 1);
}

TEST_CASE("sentiment checkpoint: config.json records whether training finished, was interrupted or still ran") {
  const tg::test::ScratchDir scratch("interrupt");
  const TinyTask d = tiny_task(60, 0);
  const tg::SentimentClassifier<float> model(tiny_config(d.vocab));
  const auto round_trip = [&](bool finished, bool interrupted) {
    tg::SentimentCheckpoint info;
    info.history.epochs.resize(2);
    info.history.best_epoch = 2;
    info.history.finished = finished;
    info.history.interrupted = interrupted;
    tg::save_sentiment_checkpoint(scratch.dir / "m", model, d.vocab, info);
    const json config = config_of(scratch.dir / "m");
    CHECK(config["history"]["epochs_completed"] == 2);
    const tg::TrainingHistory back = tg::load_sentiment_checkpoint(scratch.dir / "m").info.history;
    CHECK(back.finished == finished);
    CHECK(back.interrupted == interrupted);
    return config["history"]["status"].get<std::string>();
  };
  CHECK(round_trip(true, false) == "finished");
  CHECK(round_trip(false, true) == "interrupted");
  CHECK(round_trip(false, false) == "in progress");

  // A status that contradicts "interrupted", or an unknown one, is refused naming the field;
  // a checkpoint written before "status" existed reads as finished unless interrupted.
  json config = config_of(scratch.dir / "m");
  const auto load_with = [&](const json& c) {
    tg::write_file(scratch.dir / "m/config.json", c.dump());
    return tg::test::error_of([&] { tg::load_sentiment_checkpoint(scratch.dir / "m"); });
  };
  config["history"]["status"] = "interrupted";
  CHECK(load_with(config).find("field \"history.status\"") != std::string::npos);
  config["history"]["status"] = "paused";
  CHECK(load_with(config).find("field \"history.status\"") != std::string::npos);
  config["history"].erase("status");
  config["history"].erase("epochs_completed");
  CHECK(load_with(config) == "");
  CHECK(tg::load_sentiment_checkpoint(scratch.dir / "m").info.history.finished);
}

// Checks that `dir` holds exactly one whole checkpoint, `a` or `b`, and returns which.
bool holds_a(const fs::path& dir, const tg::SentimentClassifier<float>& a, const tg::SentimentClassifier<float>& b) {
  CHECK(tg::test::listing(dir) == std::vector<std::string>{"SHA256SUMS", "config.json", "vocab.txt", "weights.npz"});
  CHECK(tg::test::error_of([&] { tg::check_checkpoint_destination(dir); }) == "");  // provably ours: replaceable
  const tg::LoadedSentimentModel loaded = tg::load_sentiment_checkpoint(dir);
  const bool is_a = loaded.info.recipe == "a";
  CHECK(weight_bytes(*loaded.model) == weight_bytes(is_a ? a : b));
  return is_a;
}

// A forked child saves `b` over `a` and stops at each step; SIGKILL lands exactly at the
// chosen one. Before the swap the directory must hold `a`, after it `b`; whole either way.
TEST_CASE("sentiment checkpoint: SIGKILL at each step of a save leaves the old or the new one, whole") {
  const tg::test::ScratchDir scratch("interrupt");
  const TinyTask d = tiny_task(60, 0);
  const tg::SentimentClassifier<float> a(tiny_config(d.vocab, 1)), b(tiny_config(d.vocab, 2));
  tg::SentimentCheckpoint info_a, info_b;
  info_a.recipe = "a";
  info_b.recipe = "b";
  for (const tg::SaveStep kill_at : {tg::SaveStep::begin, tg::SaveStep::written, tg::SaveStep::published}) {
    CAPTURE(step_name(kill_at));
    const fs::path target = scratch.dir / step_name(kill_at);
    tg::save_sentiment_checkpoint(target, a, d.vocab, info_a);
    Pipe steps;
    const pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      g_steps_fd = steps.write;
      g_stop_at_steps = true;
      tg::set_save_step_hook(report_step);
      try {
        tg::save_sentiment_checkpoint(target, b, d.vocab, info_b);
      } catch (...) {
        ::_exit(1);
      }
      ::_exit(0);
    }
    steps.close_write();
    for (;;) {
      const std::optional<tg::SaveStep> step = next_step(steps.read);
      REQUIRE_MESSAGE(step, "the saving child ended before reaching the step");
      int raw = 0;
      REQUIRE(::waitpid(pid, &raw, WUNTRACED) == pid);
      REQUIRE(WIFSTOPPED(raw));
      if (*step == kill_at) break;
      ::kill(pid, SIGCONT);
    }
    ::kill(pid, SIGKILL);
    int raw = 0;
    REQUIRE(::waitpid(pid, &raw, 0) == pid);
    REQUIRE((WIFSIGNALED(raw) && WTERMSIG(raw) == SIGKILL));
    CHECK(holds_a(target, a, b) == (kill_at != tg::SaveStep::published));
    tg::save_sentiment_checkpoint(target, a, d.vocab, info_a);  // and it can be replaced again
    CHECK(holds_a(target, a, b));
  }
}

// A child saves two different checkpoints to one directory, alternately, for ever, and
// reports each step; SIGKILL lands a random delay after its first save completed, drawn
// from the duration of that save as the child reported it (so start-up, sanitizers and a
// busy machine shift nothing). The directory must then hold one of the two whole. Rounds
// repeat, at most 200 or a minute, until kills have left both and one landed mid-save.
TEST_CASE("sentiment checkpoint: SIGKILL at random moments while saving leaves the old or the new one, whole") {
  const tg::test::ScratchDir scratch("interrupt");
  const TinyTask d = tiny_task(60, 0);
  const tg::SentimentClassifier<float> a(tiny_config(d.vocab, 1)), b(tiny_config(d.vocab, 2));
  tg::SentimentCheckpoint info_a, info_b;
  info_a.recipe = "a";
  info_b.recipe = "b";
  const fs::path target = scratch.dir / "model";
  std::mt19937 rng(12345);
  std::size_t round = 0, saw_a = 0, saw_b = 0, mid_save = 0;
  const auto deadline = std::chrono::steady_clock::now() + 60s;
  while ((saw_a == 0 || saw_b == 0 || mid_save == 0) && round < 200 && std::chrono::steady_clock::now() < deadline) {
    CAPTURE(round);
    ++round;
    tg::save_sentiment_checkpoint(target, a, d.vocab, info_a);
    Pipe steps;
    const pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      g_steps_fd = steps.write;
      tg::set_save_step_hook(report_step);
      try {
        for (;;) {
          tg::save_sentiment_checkpoint(target, b, d.vocab, info_b);
          tg::save_sentiment_checkpoint(target, a, d.vocab, info_a);
        }
      } catch (...) {
      }
      ::_exit(1);
    }
    steps.close_write();
    // The child's first save (b), timed between its begin and published reports.
    REQUIRE(next_step(steps.read) == tg::SaveStep::begin);
    const auto began = std::chrono::steady_clock::now();
    REQUIRE(next_step(steps.read) == tg::SaveStep::written);
    REQUIRE(next_step(steps.read) == tg::SaveStep::published);
    const auto save_us = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - began);
    std::this_thread::sleep_for(std::chrono::microseconds(
        std::uniform_int_distribution<long>(0, 2 * save_us.count())(rng)));
    ::kill(pid, SIGKILL);
    int raw = 0;
    ::waitpid(pid, &raw, 0);
    REQUIRE_MESSAGE(WIFSIGNALED(raw), "the saving child stopped by itself: a save failed");
    std::optional<tg::SaveStep> last = tg::SaveStep::published;
    for (std::optional<tg::SaveStep> step; (step = next_step(steps.read));) last = step;
    if (last != tg::SaveStep::published) ++mid_save;
    ++(holds_a(target, a, b) ? saw_a : saw_b);
  }
  MESSAGE("after " << round << " kills the directory held the first checkpoint " << saw_a << " times, the second "
          << saw_b << "; " << mid_save << " kills landed in the middle of a save");
  CHECK_MESSAGE(saw_a > 0, "no kill landed after the second save completed");
  CHECK_MESSAGE(saw_b > 0, "no kill landed before the second save completed");
}

// ---- the sentiment program -------------------------------------------------------

TEST_CASE("cli: SIGTERM after a checkpoint exists exits 130 and leaves the best epoch, loadable, marked interrupted") {
  if (binary_missing()) return;
  const CliData cli;
  Child child(cli.dir, endless_training("model"));
  REQUIRE(child.wait_until([&] { return fs::exists(cli.dir / "model/config.json"); }));
  child.signal(SIGTERM);
  CHECK(child.wait() == 130);
  const std::string err = cli.err();
  CHECK_MESSAGE(err.find("interrupted after") != std::string::npos, err);
  CHECK_MESSAGE(err.find("holds epoch") != std::string::npos, err);
  const json config = config_of(cli.dir / "model");
  CHECK(config["history"]["status"] == "interrupted");
  CHECK(config["history"]["best_epoch"].get<std::size_t>() >= 1);
  CHECK(config["history"]["epochs_completed"].get<std::size_t>() >= config["history"]["best_epoch"].get<std::size_t>());
  CHECK_FALSE(has_leftovers(cli.dir, "model"));

  REQUIRE(cli.run({"evaluate", "--checkpoint", "model", "--data", "test.csv", "--json"}) == 0);
  const json scored = json::parse(tg::read_file(cli.dir / "out.txt"));
  CHECK(scored["count"] == 60);
  CHECK_MESSAGE(cli.err().find("was interrupted") != std::string::npos, cli.err());  // the note for its user
}

// The signal must land during the first epoch; on a loaded machine it might land after it
// (then the run is a different case: "interrupted after 1 complete epoch"), so the run is
// retried, up to five times, from the same old --out, until one lands in time.
TEST_CASE("cli: SIGINT before the first epoch ends exits 130, writes nothing and leaves an old --out untouched") {
  if (binary_missing()) return;
  const CliData cli(3000);  // with batches of 1, the first epoch takes far longer than the signal does to land
  REQUIRE(cli.run({"train", "--train", "valid.csv", "--valid", "test.csv", "--out", "model", "--epochs", "1",
                   "--hidden", "8", "--embedding", "8"}) == 0);
  fs::copy(cli.dir / "model", cli.dir / "pristine");
  const auto before = snapshot(cli.dir / "model");
  bool landed_in_time = false;
  for (int attempt = 1; attempt <= 5 && !landed_in_time; ++attempt) {
    CAPTURE(attempt);
    fs::remove_all(cli.dir / "model");
    fs::copy(cli.dir / "pristine", cli.dir / "model");
    Child child(cli.dir, {"train", "--train", "train.csv", "--valid", "valid.csv", "--out", "model", "--epochs", "3",
                          "--hidden", "8", "--embedding", "8", "--batch-size", "1", "--log-every", "1"});
    REQUIRE(child.wait_until([&] { return tg::read_file(cli.dir / "out.txt").find("epoch 1/3 batch") != std::string::npos; }));
    child.signal(SIGINT);
    CHECK(child.wait() == 130);
    const std::string err = cli.err();
    landed_in_time = err.find("interrupted before the first epoch finished") != std::string::npos;
    if (!landed_in_time) {
      MESSAGE("attempt " << attempt << ": the signal landed after the first epoch: " << err);
      continue;
    }
    CHECK_MESSAGE(err.find("model is untouched") != std::string::npos, err);
    CHECK(snapshot(cli.dir / "model") == before);
    CHECK_FALSE(has_leftovers(cli.dir, "model"));
  }
  CHECK(landed_in_time);
}

// Training saves at its first best epoch; SIGTERM then makes it save once more, marked
// "interrupted". The program stops at each step of either save (TG_TEST_SAVE_STEPS) and
// SIGKILL lands at a chosen one: --out must hold nothing, or the last checkpoint whose
// swap completed, whole and loadable.
TEST_CASE("cli: SIGKILL at each step of train's saves leaves nothing or the last saved checkpoint, whole") {
  if (binary_missing()) return;
  const CliData cli;
  for (const int save : {1, 2})
    for (const tg::SaveStep kill_at : {tg::SaveStep::begin, tg::SaveStep::written, tg::SaveStep::published}) {
      CAPTURE(save);
      CAPTURE(step_name(kill_at));
      fs::remove_all(cli.dir / "model");
      Pipe steps;
      Child child(cli.dir, endless_training("model"), steps.write);
      steps.close_write();
      for (int saves_begun = 0;;) {
        const std::optional<tg::SaveStep> step = next_step(steps.read);
        REQUIRE_MESSAGE(step, cli.err());
        REQUIRE(child.wait_stopped());
        saves_begun += *step == tg::SaveStep::begin;
        if (saves_begun == save && *step == kill_at) break;
        if (saves_begun == 1 && *step == tg::SaveStep::published) child.signal(SIGTERM);  // pending until continued
        child.signal(SIGCONT);
      }
      child.signal(SIGKILL);
      CHECK(child.wait() == 128 + SIGKILL);
      const bool first_swapped = save == 2 || kill_at == tg::SaveStep::published;
      REQUIRE(fs::exists(cli.dir / "model") == first_swapped);
      if (!first_swapped) continue;
      const tg::LoadedSentimentModel loaded = tg::load_sentiment_checkpoint(cli.dir / "model");
      CHECK(loaded.info.history.best_epoch >= 1);
      CHECK(loaded.info.history.interrupted == (save == 2 && kill_at == tg::SaveStep::published));
      CHECK_FALSE(loaded.info.history.finished);
    }
}

TEST_CASE("cli: SIGKILL at random moments of training never leaves a broken --out") {
  if (binary_missing()) return;
  const CliData cli;
  std::mt19937 rng(2024);
  int with_checkpoint = 0;
  for (int round = 0; round < 4; ++round) {
    CAPTURE(round);
    fs::remove_all(cli.dir / "model");
    Child child(cli.dir, endless_training("model"));
    std::this_thread::sleep_for(std::chrono::milliseconds(std::uniform_int_distribution<int>(100, 1200)(rng)));
    child.signal(SIGKILL);
    CHECK(child.wait() == 128 + SIGKILL);
    if (!fs::exists(cli.dir / "model")) continue;  // killed before the first epoch ended: fine
    const tg::LoadedSentimentModel loaded = tg::load_sentiment_checkpoint(cli.dir / "model");
    CHECK_FALSE(loaded.info.history.finished);  // "in progress": the run never ended
    CHECK(loaded.info.history.best_epoch >= 1);
    ++with_checkpoint;
  }
  MESSAGE(with_checkpoint << " of 4 kills found a checkpoint at --out (the others came before the first epoch ended)");
}

TEST_CASE("cli: compare --out interrupted keeps the poolings whose runs finished") {
  if (binary_missing()) return;
  const CliData cli;
  Child child(cli.dir, {"compare", "--train", "train.csv", "--valid", "valid.csv", "--out", "best", "--seeds", "100000",
                        "--poolings", "last,attention", "--epochs", "1", "--hidden", "8", "--embedding", "8",
                        "--batch-size", "32"});
  REQUIRE(child.wait_until([&] { return fs::exists(cli.dir / "best/last/config.json"); }));
  child.signal(SIGTERM);
  CHECK(child.wait() == 130);
  CHECK_MESSAGE(cli.err().find("saved from the finished runs: best/last/") != std::string::npos, cli.err());
  const tg::LoadedSentimentModel loaded = tg::load_sentiment_checkpoint(cli.dir / "best/last");
  CHECK(loaded.info.history.finished);
  CHECK(loaded.info.extra["compare"]["seeds_done"].get<std::size_t>() >= 1);
  CHECK_FALSE(fs::exists(cli.dir / "best/attention"));
}
