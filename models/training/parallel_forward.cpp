// --threads and evaluation with a batch's rows shared among threads (see parallel_forward.hpp).
#include "models/training/parallel_forward.hpp"

#include <sched.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <fstream>
#include <numeric>
#include <optional>

#include <fmt/format.h>

#include "autograd/tape.hpp"

extern "C" void openblas_set_num_threads(int);

namespace tg {

// Waits until word ≠ old: spinning for up to spin_, then sleeping in the kernel.
void WorkerPool::await_change(const std::atomic<std::size_t>& word, std::size_t old) const {
  const auto give_up = std::chrono::steady_clock::now() + spin_;
  for (std::size_t spins = 0; word.load(std::memory_order_acquire) == old; ++spins) {
    if (spins % 64 == 0 && std::chrono::steady_clock::now() >= give_up) {
      word.wait(old, std::memory_order_acquire);  // returns at once if word changed meanwhile
      return;
    }
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();  // lets the other hyperthread run, and saves power
#endif
  }
}

WorkerPool::WorkerPool(std::size_t threads, std::chrono::microseconds spin) : spin_(spin) {
  if (threads == 0) throw Error("WorkerPool: needs at least one thread (the caller)");
  for (std::size_t k = 1; k < threads; ++k) workers_.emplace_back([this, k] { work(k); });
}

WorkerPool::~WorkerPool() {
  stopping_.store(true, std::memory_order_relaxed);
  generation_.fetch_add(1, std::memory_order_release);
  generation_.notify_all();
  for (std::thread& w : workers_) w.join();
}

// Every worker takes part in every run, with a job or without: so none can still be
// reading jobs_ when run() returns and the caller's vector goes away.
void WorkerPool::run(const std::vector<std::function<void()>>& jobs) {
  if (jobs.size() > size()) throw Error(fmt::format("WorkerPool: {} jobs for {} threads", jobs.size(), size()));
  if (jobs.empty()) return;
  jobs_ = &jobs;
  error_ = nullptr;
  pending_.store(workers_.size(), std::memory_order_relaxed);
  generation_.fetch_add(1, std::memory_order_release);
  generation_.notify_all();
  std::exception_ptr own_error;
  try {
    jobs[0]();
  } catch (...) {
    own_error = std::current_exception();
  }
  for (std::size_t left; (left = pending_.load(std::memory_order_acquire)) != 0;) await_change(pending_, left);
  jobs_ = nullptr;
  if (own_error) std::rethrow_exception(own_error);
  if (error_) std::rethrow_exception(error_);
}

void WorkerPool::work(std::size_t index) {
  for (std::size_t seen = 0;;) {
    await_change(generation_, seen);
    seen = generation_.load(std::memory_order_acquire);
    if (stopping_.load(std::memory_order_relaxed)) return;
    if (index < jobs_->size()) {
      try {
        (*jobs_)[index]();
      } catch (...) {
        const std::lock_guard lock(error_mutex_);
        if (!error_) error_ = std::current_exception();
      }
    }
    if (pending_.fetch_sub(1, std::memory_order_acq_rel) == 1) pending_.notify_one();
  }
}

namespace {

// Real positions of row b: one past its last true mask entry (0 when it has none).
std::size_t row_extent(const Mask& mask, std::size_t b) {
  for (std::size_t t = mask.shape()[1]; t > 0; --t)
    if (mask(b, t - 1)) return t;
  return 0;
}

// The rows dealt to each of `shares` threads: longest first, round-robin.
std::vector<std::vector<std::size_t>> deal_rows(const Mask& mask, std::size_t shares) {
  const std::size_t B = mask.shape()[0];
  std::vector<std::size_t> extent(B), order(B);
  for (std::size_t b = 0; b < B; ++b) extent[b] = row_extent(mask, b);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](auto a, auto b) { return extent[a] > extent[b]; });
  std::vector<std::vector<std::size_t>> dealt(shares);
  for (std::size_t i = 0; i < B; ++i) dealt[i % shares].push_back(order[i]);
  return dealt;
}

// The given rows of a (B,T,…) array, cut to their first `width` steps.
template <class A>
A take_rows(const A& array, const std::vector<std::size_t>& rows, std::size_t width) {
  Shape shape(array.shape().begin(), array.shape().end());
  const std::size_t steps = shape[1], inner = array.size() / std::max<std::size_t>(shape[0] * steps, 1);
  shape[0] = rows.size();
  shape[1] = width;
  A out = A::from_shape(shape);
  for (std::size_t i = 0; i < rows.size(); ++i)
    std::copy_n(array.data() + rows[i] * steps * inner, width * inner, out.data() + i * width * inner);
  return out;
}

// Writes a share's (rows, width) result into the rows it came from of `whole` (B, ≥ width).
template <class T>
void put_rows(const Array<T>& share, const std::vector<std::size_t>& rows, Array<T>& whole) {
  const std::size_t width = share.shape()[1];
  for (std::size_t i = 0; i < rows.size(); ++i) std::copy_n(&share(i, 0), width, &whole(rows[i], 0));
}

template <class T>
void check_evaluation(const SentimentClassifier<T>& model, const Ids& ids, const Mask& mask) {
  if (model.training())
    throw Error("forward_parallel: the model is in training mode (dropout would share one random stream); call eval()");
  if (active_tape<T>())
    throw Error("forward_parallel: a tape is recording in this thread; parallel forward is for evaluation (NoGrad)");
  if (ids.dimension() != 2 || !shapes_equal(ids.shape(), mask.shape()))
    throw Error(fmt::format("forward_parallel: ids {} and mask {} must both be (B,T)", shape_str(ids.shape()),
                            shape_str(mask.shape())));
}

}  // namespace

template <class T>
ClassifierOutput<T> forward_parallel(SentimentClassifier<T>& model, const Ids& ids, const Mask& mask,
                                     WorkerPool& pool, const Ids* subwords) {
  check_evaluation(model, ids, mask);
  const std::size_t B = ids.shape()[0], steps = ids.shape()[1], shares = std::min(pool.size(), B);
  if (shares <= 1) return model.forward(ids, mask, subwords);
  const std::vector<std::vector<std::size_t>> dealt = deal_rows(mask, shares);
  std::vector<ClassifierOutput<T>> outputs(shares);
  std::vector<std::function<void()>> jobs;
  for (std::size_t s = 0; s < shares; ++s)
    jobs.emplace_back([&, s] {
      const NoGrad<T> no_grad;
      const std::size_t width = std::max<std::size_t>(1, row_extent(mask, dealt[s].front()));  // longest first
      const std::optional<Ids> bags = subwords ? std::optional(take_rows(*subwords, dealt[s], width)) : std::nullopt;
      outputs[s] = model.forward(take_rows(ids, dealt[s], width), take_rows(mask, dealt[s], width),
                                 bags ? &*bags : nullptr);
    });
  pool.run(jobs);
  Array<T> logits = Array<T>::from_shape({B, outputs[0].logits.shape()[1]});
  Array<T> alpha = xt::zeros<T>({B, steps});
  for (std::size_t s = 0; s < shares; ++s) {
    put_rows(outputs[s].logits.value(), dealt[s], logits);
    put_rows(outputs[s].alpha.value(), dealt[s], alpha);
  }
  return {Tensor<T>(std::move(logits)), Tensor<T>(std::move(alpha))};
}

template ClassifierOutput<float> forward_parallel(SentimentClassifier<float>&, const Ids&, const Mask&, WorkerPool&,
                                                  const Ids*);
template ClassifierOutput<double> forward_parallel(SentimentClassifier<double>&, const Ids&, const Mask&, WorkerPool&,
                                                   const Ids*);

// ---- --threads ---------------------------------------------------------------------

std::optional<std::size_t> read_threads(std::string_view text) {
  if (text == "auto") return kAutoThreads;
  std::size_t n = 0;
  const char* end = text.data() + text.size();
  const auto [ptr, error] = std::from_chars(text.data(), end, n);
  if (text.empty() || error != std::errc() || ptr != end || n < 1 || n > kMaxThreads) return std::nullopt;
  return n;
}

std::size_t parse_threads(std::string_view text) {
  if (const std::optional<std::size_t> n = read_threads(text)) return *n;
  throw Error(fmt::format("--threads: {} is not auto or a whole number from 1 to {}", text, kMaxThreads));
}

std::size_t usable_cores() {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) == 0) return std::max(1, CPU_COUNT(&set));
  return std::max<std::size_t>(1, std::thread::hardware_concurrency());
}

namespace {
// CPU seconds: every core's busy time from /proc/stat (user, nice, system, irq, softirq,
// steal), and this process's own (all its threads).
struct CpuTimes {
  double machine_busy = 0, own = 0;
  static CpuTimes now() {
    CpuTimes t;
    std::ifstream stat("/proc/stat");
    std::string cpu;
    double user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0;
    if (stat >> cpu >> user >> nice >> system >> idle >> iowait >> irq >> softirq >> steal)
      t.machine_busy = (user + nice + system + irq + softirq + steal) / double(sysconf(_SC_CLK_TCK));
    rusage r{};
    getrusage(RUSAGE_SELF, &r);
    t.own = double(r.ru_utime.tv_sec + r.ru_stime.tv_sec) + double(r.ru_utime.tv_usec + r.ru_stime.tv_usec) * 1e-6;
    return t;
  }
};
}  // namespace

double busy_cores_elsewhere(std::chrono::milliseconds window) {
  const CpuTimes before = CpuTimes::now();
  const auto start = std::chrono::steady_clock::now();
  std::this_thread::sleep_for(window);
  const CpuTimes after = CpuTimes::now();
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const double others = (after.machine_busy - before.machine_busy) - (after.own - before.own);
  return std::clamp(others / seconds, 0.0, double(std::thread::hardware_concurrency()));
}

std::size_t auto_thread_count(std::size_t usable, double busy_elsewhere) {
  constexpr std::size_t kMaxAuto = 4;
  const long idle = std::lround(double(usable) - busy_elsewhere);
  return std::size_t(std::clamp<long>(idle, 1, long(std::min(usable, kMaxAuto))));
}

void set_blas_threads(std::size_t n) { openblas_set_num_threads(int(n)); }

Cores::Cores(std::size_t requested) : count_(requested), automatic_(requested == kAutoThreads) {
  if (requested > kMaxThreads)
    throw Error(fmt::format("Cores: {} threads (expected auto or 1 to {})", requested, kMaxThreads));
}

std::size_t Cores::count() {
  if (count_ == kAutoThreads) {
    usable_ = usable_cores();
    busy_elsewhere_ = busy_cores_elsewhere(std::chrono::milliseconds(100));
    count_ = auto_thread_count(usable_, busy_elsewhere_);
  }
  return count_;
}

std::string Cores::describe() {
  const std::size_t n = count();
  if (!automatic_) return std::to_string(n);
  return fmt::format("auto: {} ({:.1f} of {} cores busy elsewhere)", n, busy_elsewhere_, usable_);
}

// Training's products are the engine's own (autograd/fast/gemm.cpp), on the calling
// thread; BLAS is left only products with β other than 0 and 1, which training has none of.
void Cores::for_training() { set_blas_threads(1); }

WorkerPool* Cores::for_evaluation() {
  set_blas_threads(1);
  if (count() == 1) return nullptr;
  if (!pool_) pool_ = std::make_unique<WorkerPool>(count_);
  return pool_.get();
}

}  // namespace tg
