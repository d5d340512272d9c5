// Evaluation on several cores (models/ layer): one batch's rows shared among threads.
//
// In evaluation a batch's rows do not interact — dropout is off, there are no batch
// statistics, the LSTM runs each sequence on its own and attention normalises within a
// row — so the rows can be dealt to threads, each running the same model on its share,
// and the results put back in row order. That is how tapegrad uses a second core for
// inference: the gemms of one batch (≤ 64 rows, 128-wide) are too small for BLAS's own
// threads to pay for their hand-offs (tests/bench/README.md has the measurements).
// Training stays on one thread of control: its rows meet in the loss and the gradients.
#pragma once
#include <atomic>
#include <cstddef>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "models/classifier/classifier.hpp"

namespace tg {

// A fixed team of threads for fork–join work: run() gives job 0 to the calling thread
// and job k to worker k, and returns when every job has finished, rethrowing the first
// exception one threw; one thread calls run() at a time. The pool outlives many runs, so
// a batch pays a hand-off, not a thread start; and a thread that waits spins a little
// before it sleeps: consecutive batches arrive microseconds apart, and waking a sleeping
// thread on a virtual machine cost a third of the throughput (tests/bench/README.md).
class WorkerPool {
 public:
  explicit WorkerPool(std::size_t threads);  // threads ≥ 1, counting the caller
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  std::size_t size() const { return workers_.size() + 1; }
  void run(const std::vector<std::function<void()>>& jobs);  // jobs.size() ≤ size()

 private:
  void work(std::size_t index);
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
// throws. Each thread calls BLAS, so run BLAS single-threaded (openblas_set_num_threads(1)).
template <class T>
ClassifierOutput<T> forward_parallel(SentimentClassifier<T>& model, const Ids& ids, const Mask& mask,
                                     WorkerPool& pool);

}  // namespace tg
