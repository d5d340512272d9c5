// How tapegrad uses several cores (models/ layer): --threads, and evaluation with one
// batch's rows shared among threads.
//
// --threads N means one thing everywhere (docs/cli.md): tapegrad keeps at most N threads
// computing at once. Cores (below) is the one place that turns N into threads, per phase:
// training gives them to BLAS (one thread of control: a batch's rows meet in the loss and
// the gradients); evaluation deals a batch's rows to N workers, BLAS single-threaded in
// each. "auto" looks, once, at how busy the machine is and takes the cores others leave idle.
//
// In evaluation a batch's rows do not interact — dropout is off, there are no batch
// statistics, the LSTM runs each sequence on its own and attention normalises within a
// row — so the rows can be dealt to threads, each running the same model on its share,
// and the results put back in row order. That is how tapegrad uses a second core for
// inference: the gemms of one batch (≤ 64 rows, 128-wide) are too small for BLAS's own
// threads to pay for their hand-offs (tests/bench/README.md has the measurements).
#pragma once
#include <atomic>
#include <chrono>
#include <cstddef>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "models/classifier/classifier.hpp"

namespace tg {

// A fixed team of threads for fork–join work: run() gives job 0 to the calling thread
// and job k to worker k, and returns when every job has finished, rethrowing the first
// exception one threw; one thread calls run() at a time. The pool outlives many runs, so
// a batch pays a hand-off, not a thread start.
//
// A waiting thread spins for at most `spin` (checking the clock), then sleeps in the
// kernel (std::atomic::wait, a futex) until woken: consecutive batches arrive microseconds
// apart, and waking a sleeping thread on a virtual machine cost a third of the throughput
// (tests/bench/README.md); but a spin that never ends takes a core from whoever else needs
// it. spin = 0 waits passively only.
class WorkerPool {
 public:
  static constexpr std::chrono::microseconds kDefaultSpin{200};
  // threads ≥ 1, counting the caller
  explicit WorkerPool(std::size_t threads, std::chrono::microseconds spin = kDefaultSpin);
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  std::size_t size() const { return workers_.size() + 1; }
  void run(const std::vector<std::function<void()>>& jobs);  // jobs.size() ≤ size()

 private:
  void work(std::size_t index);
  void await_change(const std::atomic<std::size_t>& word, std::size_t old) const;
  std::chrono::microseconds spin_;
  std::vector<std::thread> workers_;
  const std::vector<std::function<void()>>* jobs_ = nullptr;  // published by generation_
  std::atomic<std::size_t> generation_{0};  // bumped once per run (and to stop)
  std::atomic<std::size_t> pending_{0};     // workers not yet done with this run
  std::atomic<bool> stopping_{false};
  std::mutex error_mutex_;
  std::exception_ptr error_;
};

// model.forward(ids, mask) with the rows dealt among the pool's threads: sorted by length
// and dealt round-robin, so every share has a like mix of long and short tweets, and each
// share padded only to its own longest. Same values as one forward over the whole batch,
// to rounding (a share's gemms have other row counts). Evaluation only: the model must be
// in eval mode and nothing may be recording in this thread (use NoGrad); otherwise it
// throws. Each thread calls BLAS, so run BLAS single-threaded (Cores::for_evaluation does).
// subwords: the batch's bags (B,T,K) when the model reads them, as SentimentClassifier::forward.
template <class T>
ClassifierOutput<T> forward_parallel(SentimentClassifier<T>& model, const Ids& ids, const Mask& mask,
                                     WorkerPool& pool, const Ids* subwords = nullptr);

// ---- --threads ---------------------------------------------------------------------

constexpr std::size_t kMaxThreads = 64;
constexpr std::size_t kAutoThreads = 0;  // what parse_threads("auto") returns
// "auto" → kAutoThreads; "1" … "64" → that number; anything else → nothing.
std::optional<std::size_t> read_threads(std::string_view text);
// read_threads, or a tg::Error: --threads: <text> is not auto or a whole number from 1 to 64
std::size_t parse_threads(std::string_view text);

// The cores this process may run on (its CPU affinity), and how many of them other
// processes kept busy over `window` (this process's own CPU time left out; /proc/stat).
std::size_t usable_cores();
double busy_cores_elsewhere(std::chrono::milliseconds window);
// What "auto" picks: the usable cores the others leave idle, rounded, at least 1 and at
// most 4 (one batch's gemms are too small to share among more).
std::size_t auto_thread_count(std::size_t usable, double busy_elsewhere);

// OpenBLAS's thread count (declared here once: no header declares it next to xtensor-blas).
void set_blas_threads(std::size_t n);

// --threads N, applied per phase. "auto" (kAutoThreads) is resolved once, on first use
// (a 100 ms look at /proc/stat), so every phase of a run uses the same count and the run
// is reproducible. Training phases call for_training(), evaluation phases
// for_evaluation(); either may follow the other.
class Cores {
 public:
  explicit Cores(std::size_t requested = 1);
  std::size_t count();
  std::string describe();  // "2", or "auto: 1 (1.9 of 2 cores busy elsewhere)"

  void for_training();           // one thread: BLAS gets 1 (its products are the block kernel's)
  WorkerPool* for_evaluation();  // BLAS gets 1 per worker; the count()-thread pool, or null for 1

 private:
  std::size_t count_;  // kAutoThreads until resolved
  bool automatic_;
  double busy_elsewhere_ = 0;
  std::size_t usable_ = 1;
  std::unique_ptr<WorkerPool> pool_;  // made on the first evaluation phase
};

}  // namespace tg
