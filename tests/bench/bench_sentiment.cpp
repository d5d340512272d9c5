// Flagship benchmark (a program, not a test): trains the sentiment classifier of the
// canonical recipe (Embedding 100 → LSTM 128 → pooling → Linear 3; Adam 2e-3, clip 5,
// batch 64) through train_classifier for a warm-up and then a fixed number of timed
// batches, then times inference, and prints ONE JSON object. tests/bench/pytorch_reference.py
// does the same work in PyTorch and tests/bench/compare_pytorch runs both (tests/bench/README.md).
//
//   ./bench_sentiment [--train FILE] [--pooling attention|last|mean] [--padding batch|48]
//                     [--threads auto|N] [--contention N] [--warmup N] [--batches N] [--seed N]
//                     [--latency-tweets N] [--builtin] [--write-data FILE]
//
// Phases, each on the same encoded training split (tokenizing is never timed):
//  1. training: the trainer's own code (train_classifier) runs epoch 1 in its seeded
//     order; its per-batch callback timestamps each batch and raises the trainer's stop
//     flag after warm-up + timed batches, so the trainer ends after that batch (no
//     validation pass runs). seconds_per_epoch = timed seconds / timed tweets × tweets.
//  2. inference, batch 64: evaluation mode, no tape (NoGrad), the split in file order
//     in batches of 64 padded as in training; forward to logits and argmax. With
//     --threads N each batch's rows are shared among N threads (forward_parallel).
//     --threads is the sentiment program's (docs/cli.md; tg::Cores): the cores tapegrad may
//     keep busy, as torch.set_num_threads(N): training runs on one (its products are the
//     engine's block kernel), evaluation shares each batch's rows among N workers with
//     BLAS at 1 in each. auto (the default) takes the cores other processes leave idle.
//  3. latency, batch 1: the first --latency-tweets tweets one at a time, each timed
//     alone from its ids to the predicted class; p50 and p99 (nearest rank).
// --contention N runs N busy-looping child processes meanwhile (tests/bench/contention.hpp).
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iostream>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "autograd/autograd.hpp"
#include "models/data/batch.hpp"
#include "models/data/dataset.hpp"
#include "models/training/parallel_forward.hpp"
#include "models/data/synthetic_tweets.hpp"
#include "models/training/trainer.hpp"
#include "contention.hpp"

namespace {

using Clock = std::chrono::steady_clock;

constexpr std::size_t kTrainTweets = 11'712;        // rows of the shared training split
constexpr std::uint64_t kBuiltinDataSeed = 2015;   // the built-in data is the same whatever --seed is

double seconds_between(Clock::time_point a, Clock::time_point b) { return std::chrono::duration<double>(b - a).count(); }

// ---- the machine: own CPU time, other processes' CPU time, peak memory --------------

double own_cpu_seconds() {
  rusage r{};
  getrusage(RUSAGE_SELF, &r);
  return double(r.ru_utime.tv_sec + r.ru_stime.tv_sec) + double(r.ru_utime.tv_usec + r.ru_stime.tv_usec) * 1e-6;
}

double peak_rss_mb() {
  rusage r{};
  getrusage(RUSAGE_SELF, &r);
  return double(r.ru_maxrss) / 1024.0;  // Linux: kilobytes
}

// Busy CPU seconds of the whole machine (every process) from /proc/stat.
double machine_busy_seconds() {
  std::ifstream stat("/proc/stat");
  std::string cpu;
  double user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0;
  stat >> cpu >> user >> nice >> system >> idle >> iowait >> irq >> softirq >> steal;
  return (user + nice + system + irq + softirq + steal) / double(sysconf(_SC_CLK_TCK));
}

// A stretch of time: wall seconds, this process's CPU seconds, and the share of the
// machine's CPU other processes used meanwhile (the benchmark's noise).
struct Stopwatch {
  Clock::time_point wall = Clock::now();
  double cpu = own_cpu_seconds(), busy = machine_busy_seconds();
};

struct Span {
  double wall_s = 0, cpu_s = 0, foreign_cpu_percent = 0;
};

Span elapsed(const Stopwatch& from, const Stopwatch& to) {
  Span s;
  s.wall_s = seconds_between(from.wall, to.wall);
  s.cpu_s = to.cpu - from.cpu;
  const double capacity = s.wall_s * double(sysconf(_SC_NPROCESSORS_ONLN));
  s.foreign_cpu_percent = capacity > 0 ? std::max(0.0, 100 * ((to.busy - from.busy) - s.cpu_s) / capacity) : 0;
  return s;
}

// ---- the data -------------------------------------------------------------------

struct Data {
  std::vector<tg::LabelledText> rows;
  std::string source;  // the file, or "built-in"
};

std::vector<tg::LabelledText> builtin_rows() {
  std::vector<tg::LabelledText> rows;
  for (tg::SyntheticTweet& t : tg::generate_tweets(kTrainTweets, kBuiltinDataSeed))
    rows.push_back({std::move(t.text), t.label, 0});
  return rows;
}

// --train FILE; else the shared training split when present (and not --builtin); else
// built-in data of its size.
Data load_data(const std::string& train, bool builtin) {
  if (!train.empty()) return {tg::load_labelled_csv(train), train};
  if (builtin) return {builtin_rows(), "built-in"};
  const std::filesystem::path shared = std::filesystem::path(TG_SHARED_DIR) / "data/airline-sentiment/train.csv";
  if (std::filesystem::exists(shared)) return {tg::load_labelled_csv(shared), shared.lexically_normal().string()};
  return {builtin_rows(), "built-in"};
}

// ---- useful FLOPs ------------------------------------------------------------------
//
// The arithmetic the model needs, counted over real (unpadded) tokens only, so that
// padding work and engine overhead count as waste. Per real token, forward:
//   LSTM gates   2·4H·(E+H)   x_t·W_ihᵀ and h_{t-1}·W_hhᵀ (multiply-adds ×2)
//   attention    2·H·H + 2H + 2H   u_t = tanh(W h_t + b), e_t = u_t·u_w, s += α_t h_t
//   mean         2H                 s += h_t / n
//   last         0
// per tweet: classifier 2·H·C. Elementwise gate nonlinearities, softmax, the loss and
// the optimiser are left out (they are O(H) per token against O(H·(E+H))).
// Training = 3 × forward (the backward of a matmul is two matmuls of the same size).
// E = 100, H = 128, C = 3: LSTM 233,472 + attention 33,280 FLOPs per token forward.
double forward_flops(std::size_t real_tokens, std::size_t tweets, const tg::ClassifierConfig& m) {
  const double E = double(m.embedding_dim), H = double(m.hidden_size), C = double(m.classes);
  double per_token = 2 * 4 * H * (E + H);
  if (m.pooling == "attention") per_token += 2 * H * H + 4 * H;
  if (m.pooling == "mean") per_token += 2 * H;
  return per_token * double(real_tokens) + 2 * H * C * double(tweets);
}

// ---- phase 1: training ---------------------------------------------------------------

struct TrainingRun {
  Span timed;
  std::size_t batches_per_epoch = 0, timed_tweets = 0, timed_tokens = 0;
};

// Real tokens in batches [first, first + count) of epoch 1, in the trainer's order.
std::size_t tokens_in_batches(const tg::Batcher& batcher, const tg::EncodedData& data, std::size_t batch_size,
                              std::size_t first, std::size_t count, std::size_t& tweets) {
  const std::vector<std::size_t> order = batcher.order(1);
  std::size_t tokens = 0;
  tweets = 0;
  for (std::size_t i = first * batch_size; i < std::min(order.size(), (first + count) * batch_size); ++i, ++tweets)
    tokens += data.ids[order[i]].size();
  return tokens;
}

TrainingRun time_training(tg::SentimentClassifier<float>& model, const tg::EncodedData& train,
                          tg::TrainOptions options, std::size_t warmup, std::size_t timed) {
  const tg::Batcher batcher(train.ids, train.labels, {options.batch_size, true, options.seed, options.pad_to});
  TrainingRun run;
  run.batches_per_epoch = batcher.num_batches();
  if (timed == 0 || warmup + timed > run.batches_per_epoch)
    throw tg::Error(fmt::format("--warmup {} + --batches {} must be between 1 and the {} batches of one epoch", warmup,
                                timed, run.batches_per_epoch));
  run.timed_tokens = tokens_in_batches(batcher, train, options.batch_size, warmup, timed, run.timed_tweets);

  // train_classifier needs a validation split; stopping inside epoch 1 means it never scores it.
  tg::EncodedData valid;
  valid.ids = {train.ids.front()};
  valid.labels = {train.labels.front()};
  std::atomic<bool> stop{false};
  Stopwatch start;  // set when the last warm-up batch ends
  tg::TrainCallbacks callbacks;
  callbacks.on_batch = [&](const tg::ProgressEvent& e) {
    if (e.batch == warmup) start = Stopwatch();
    if (e.batch == warmup + timed) {
      run.timed = elapsed(start, Stopwatch());
      stop = true;
    }
  };
  options.epochs = 1;
  options.stop = &stop;
  const tg::TrainingHistory history = tg::train_classifier(model, train, valid, options, callbacks);
  if (!history.interrupted || !history.epochs.empty())
    throw tg::Error("bench: the trainer did not stop after the timed batches");
  return run;
}

// ---- phases 2 and 3: inference -----------------------------------------------------

int predicted_class(const tg::Array<float>& logits, std::size_t b) {
  int best = 0;
  for (std::size_t c = 1; c < logits.shape()[1]; ++c)
    if (logits(b, c) > logits(b, std::size_t(best))) best = int(c);
  return best;
}

// Forward to logits and the predicted class of each row; returns how many came out
// positive, so the work cannot be optimised away.
std::size_t classify(tg::SentimentClassifier<float>& model, const tg::Batch& batch, tg::WorkerPool& pool) {
  const tg::ClassifierOutput<float> out = tg::forward_parallel(model, batch.ids, batch.mask, pool);
  std::size_t positive = 0;
  for (std::size_t b = 0; b < batch.rows.size(); ++b) positive += predicted_class(out.logits.value(), b) == 2;
  return positive;
}

struct InferenceRun {
  Span b64;
  std::size_t b64_tweets = 0, b64_tokens = 0;
  std::vector<double> latencies_ms;
  std::size_t checksum = 0;
};

// Batches are shared among the cores' workers (forward_parallel), each calling BLAS single-
// threaded; a single tweet cannot be split, so it runs on this thread alone.
InferenceRun time_inference(tg::SentimentClassifier<float>& model, const tg::EncodedData& data, std::size_t pad_to,
                            std::size_t latency_tweets, tg::Cores& cores) {
  constexpr std::size_t kWarmupBatches = 3, kWarmupSingles = 20;
  tg::NoGrad<float> no_grad;
  model.eval();
  InferenceRun run;
  tg::WorkerPool* const workers = cores.for_evaluation();
  tg::WorkerPool alone{1};
  tg::WorkerPool& pool = workers ? *workers : alone;
  const std::vector<tg::Batch> batches = tg::Batcher(data.ids, data.labels, {64, false, 0, pad_to}).epoch(0);
  for (std::size_t i = 0; i < std::min(kWarmupBatches, batches.size()); ++i)
    run.checksum += classify(model, batches[i], pool);
  const Stopwatch start;
  for (const tg::Batch& batch : batches) run.checksum += classify(model, batch, pool);
  run.b64 = elapsed(start, Stopwatch());
  run.b64_tweets = data.ids.size();
  for (const auto& ids : data.ids) run.b64_tokens += ids.size();

  const std::size_t singles = std::min(latency_tweets + kWarmupSingles, data.ids.size());
  std::vector<tg::Batch> one_each;
  for (std::size_t i = 0; i < singles; ++i) {
    const std::array<std::size_t, 1> row{i};
    one_each.push_back(tg::make_batch(data.ids, data.labels, row, pad_to));
  }
  for (std::size_t i = 0; i < singles; ++i) {
    const auto t0 = Clock::now();
    run.checksum += classify(model, one_each[i], pool);  // one row: runs on this thread alone
    if (i >= kWarmupSingles) run.latencies_ms.push_back(1e3 * seconds_between(t0, Clock::now()));
  }
  return run;
}

// Nearest-rank percentile: the smallest value with at least p% of the values at or below it.
double percentile(std::vector<double> values, double p) {
  std::sort(values.begin(), values.end());
  const auto rank = std::size_t(std::ceil(p / 100 * double(values.size())));
  return values[std::clamp<std::size_t>(rank, 1, values.size()) - 1];
}

// ---- the report ----------------------------------------------------------------------

struct Settings {
  std::string train, pooling = "attention", padding = "batch", write_data;
  bool builtin = false;
  std::string threads = "auto";
  int contention = 0;
  std::size_t warmup = 5, batches = 50, latency_tweets = 300;
  std::uint64_t seed = 1;
};

nlohmann::json report(const Settings& s, tg::Cores& cores, const Data& data, const tg::Recipe& recipe, std::size_t vocab_size,
                      const TrainingRun& train, double rss_after_training, const InferenceRun& infer) {
  const double tweets = double(data.rows.size());
  const double train_rate = double(train.timed_tweets) / train.timed.wall_s;
  const double train_flops = 3 * forward_flops(train.timed_tokens, train.timed_tweets, recipe.model);
  const double infer_flops = forward_flops(infer.b64_tokens, infer.b64_tweets, recipe.model);
  nlohmann::json j;
  j["framework"] = "tapegrad";
  j["pooling"] = s.pooling;
  j["padding"] = s.padding;
  j["packed"] = false;
  j["threads"] = cores.count();
  j["threads_setting"] = cores.describe();
  j["contention"] = s.contention;
  j["warmup_batches"] = s.warmup;
  j["batches_timed"] = s.batches;
  j["batch_size"] = recipe.train.batch_size;
  j["batches_per_epoch"] = train.batches_per_epoch;
  j["tweets"] = data.rows.size();
  j["vocab_size"] = vocab_size;
  j["data"] = data.source;
  j["seed"] = s.seed;
  j["seconds_per_epoch"] = tweets / train_rate;
  j["train_tweets_per_s"] = train_rate;
  // CPU-time versions: with one thread, what the wall clock would show on an idle machine.
  j["seconds_per_epoch_cpu"] = tweets / double(train.timed_tweets) * train.timed.cpu_s;
  j["train_wall_s"] = train.timed.wall_s;
  j["train_cpu_s"] = train.timed.cpu_s;
  j["train_foreign_cpu_percent"] = train.timed.foreign_cpu_percent;
  j["useful_gflops"] = train_flops / train.timed.wall_s * 1e-9;
  j["infer_tweets_per_s_b64"] = double(infer.b64_tweets) / infer.b64.wall_s;
  j["infer_tweets_per_s_b64_cpu"] = double(infer.b64_tweets) / infer.b64.cpu_s;
  j["infer_wall_s_b64"] = infer.b64.wall_s;
  j["infer_cpu_s_b64"] = infer.b64.cpu_s;
  j["infer_useful_gflops_b64"] = infer_flops / infer.b64.wall_s * 1e-9;
  j["latency_ms_b1_p50"] = percentile(infer.latencies_ms, 50);
  j["latency_ms_b1_p99"] = percentile(infer.latencies_ms, 99);
  j["latency_tweets"] = infer.latencies_ms.size();
  j["peak_rss_mb"] = rss_after_training;
  j["peak_rss_mb_end"] = peak_rss_mb();
  j["checksum_positive_predictions"] = infer.checksum;
  return j;
}

int run(const Settings& s) {
  const Data data = load_data(s.train, s.builtin);
  if (!s.write_data.empty()) {  // the exact tweets, for pytorch_reference.py --train
    tg::write_labelled_csv(s.write_data, data.rows);
    std::cerr << fmt::format("bench_sentiment: wrote {} tweets ({}) to {}\n", data.rows.size(), data.source,
                             s.write_data);
    return 0;
  }
  const std::size_t pad_to = s.padding == "batch" ? 0 : tg::kMaxTokens;
  const tg::Vocabulary vocab = tg::build_vocabulary(data.rows);
  const tg::EncodedData encoded = tg::encode_dataset(data.rows, vocab);

  tg::Recipe recipe = tg::canonical_recipe(s.pooling, s.seed);
  recipe.model.vocab_size = vocab.size();
  recipe.train.pad_to = pad_to;
  tg::SentimentClassifier<float> model(recipe.model);
  const bench::Contention contention(s.contention);
  tg::Cores cores(tg::parse_threads(s.threads));  // auto looks at the machine with the contention running
  recipe.train.cores = &cores;
  const TrainingRun train = time_training(model, encoded, recipe.train, s.warmup, s.batches);
  const double rss_after_training = peak_rss_mb();
  const InferenceRun infer = time_inference(model, encoded, pad_to, s.latency_tweets, cores);
  std::cout << report(s, cores, data, recipe, vocab.size(), train, rss_after_training, infer).dump(2) << "\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app("tapegrad flagship benchmark: trains the canonical sentiment model for a fixed number of batches, "
               "times inference, prints one JSON object");
  Settings s;
  app.add_option("--train", s.train, "training CSV (default: the shared split when present, else built-in data)")
      ->check(CLI::ExistingFile);
  app.add_flag("--builtin", s.builtin, "use the built-in tweets even when the shared split is present")
      ->excludes("--train");
  app.add_option("--pooling", s.pooling, "attention | last | mean")->check(CLI::IsMember({"attention", "last", "mean"}));
  app.add_option("--padding", s.padding, "batch: pad each batch to its longest tweet; 48: pad every batch to 48 tokens")
      ->check(CLI::IsMember({"batch", "48"}));
  app.add_option("--threads", s.threads, "cores to keep busy, as the sentiment program's --threads: auto or 1-64")
      ->check([](const std::string& text) { return tg::read_threads(text) ? "" : "expected auto or 1 to 64"; });
  app.add_option("--contention", s.contention, "busy-looping child processes to run meanwhile (a busy machine)")
      ->check(CLI::Range(0, 64));
  app.add_option("--warmup", s.warmup, "untimed training batches first (they also build the epoch's batches)")
      ->check(CLI::Range(1, 1000000));
  app.add_option("--batches", s.batches, "timed training batches (warm-up + timed ≤ one epoch)");
  app.add_option("--latency-tweets", s.latency_tweets, "single tweets timed for the batch-1 latency")
      ->check(CLI::Range(1, 1000000));
  app.add_option("--seed", s.seed, "initial weights and batch order");
  app.add_option("--write-data", s.write_data, "write the training tweets (as used) to this CSV and exit");
  CLI11_PARSE(app, argc, argv);
  try {
    return run(s);
  } catch (const std::exception& e) {
    std::cerr << "bench_sentiment: " << e.what() << "\n";
    return 1;
  }
}
