// Tests of models/training/parallel_forward: the worker pool's fork–join contract, and that a batch
// shared among threads gives the values of one forward over the whole batch.
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <set>
#include <stdexcept>
#include <thread>

#include <fmt/format.h>

#include "autograd/autograd.hpp"
#include "helpers.hpp"
#include "models/training/parallel_forward.hpp"

// OpenBLAS's thread count; no header declares it next to xtensor-blas (XTENSOR-NOTES, pitfall 4).
extern "C" int openblas_get_num_threads(void);

namespace {

// A padded batch of `lengths` with random ids in [1, vocab): mask true at real positions.
std::pair<tg::Ids, tg::Mask> random_batch(const std::vector<std::size_t>& lengths, std::size_t vocab, std::uint64_t seed) {
  const std::size_t steps = *std::max_element(lengths.begin(), lengths.end());
  tg::Ids ids = xt::zeros<std::int64_t>({lengths.size(), steps});
  tg::Mask mask = xt::zeros<bool>({lengths.size(), steps});
  std::mt19937_64 rng(seed);
  for (std::size_t b = 0; b < lengths.size(); ++b)
    for (std::size_t t = 0; t < lengths[b]; ++t) {
      ids(b, t) = std::int64_t(1 + rng() % (vocab - 1));
      mask(b, t) = true;
    }
  return {ids, mask};
}

template <class T>
T max_abs_diff(const tg::Array<T>& a, const tg::Array<T>& b) {
  REQUIRE(tg::shapes_equal(a.shape(), b.shape()));
  T m = 0;
  for (std::size_t i = 0; i < a.size(); ++i) m = std::max(m, std::abs(a.data()[i] - b.data()[i]));
  return m;
}

// Hidden 16: the LSTM step's 4H = 64 columns are whole column blocks of the block kernel in float.
tg::ClassifierConfig small_config(const char* pooling, bool bidirectional) {
  return {.vocab_size = 40, .embedding_dim = 6, .hidden_size = 16, .pooling = pooling, .bidirectional = bidirectional};
}

template <class T>
void check_matches_one_forward(const char* pooling, bool bidirectional, T tolerance) {
  tg::SentimentClassifier<T> model(small_config(pooling, bidirectional));
  model.eval();
  const std::vector<std::size_t> lengths{3, 9, 1, 7, 7, 2, 9, 5, 4, 1, 8};  // unsorted, ties, T = 9
  const auto [ids, mask] = random_batch(lengths, 40, 5);
  tg::NoGrad<T> no_grad;
  const tg::ClassifierOutput<T> whole = model.forward(ids, mask);
  for (std::size_t threads : {1, 2, 3, 8, 16}) {  // 16 > B: some threads get no rows
    CAPTURE(threads);
    tg::WorkerPool pool(threads);
    const tg::ClassifierOutput<T> shared = tg::forward_parallel(model, ids, mask, pool);
    CHECK(max_abs_diff(whole.logits.value(), shared.logits.value()) <= tolerance);
    CHECK(max_abs_diff(whole.alpha.value(), shared.alpha.value()) <= tolerance);
    for (std::size_t b = 0; b < lengths.size(); ++b)
      for (std::size_t t = lengths[b]; t < mask.shape()[1]; ++t) CHECK(shared.alpha.value()(b, t) == T(0));
  }
}

}  // namespace

TEST_CASE("worker pool: job 0 runs on the caller, each other job on its own worker, every run") {
  tg::WorkerPool pool(3);
  CHECK(pool.size() == 3);
  for (int run = 0; run < 500; ++run) {  // many runs back to back: no job lost or run twice
    std::mutex m;
    std::vector<std::thread::id> ran_on(3);
    std::atomic<int> calls{0};
    std::vector<std::function<void()>> jobs;
    for (std::size_t k = 0; k < 3; ++k)
      jobs.emplace_back([&, k] {
        ++calls;
        const std::lock_guard lock(m);
        ran_on[k] = std::this_thread::get_id();
      });
    pool.run(jobs);
    REQUIRE(calls == 3);
    CHECK(ran_on[0] == std::this_thread::get_id());
    CHECK(std::set<std::thread::id>(ran_on.begin(), ran_on.end()).size() == 3);
  }
  std::atomic<int> calls{0};
  pool.run({[&] { ++calls; }});  // fewer jobs than threads
  pool.run({});
  CHECK(calls == 1);
}

// spin = 0: every wait sleeps in the kernel at once. Workers that are asleep when a run
// starts, or still asleep from the last one, must still get every job exactly once; and
// a caller that waits asleep must see every worker's result.
TEST_CASE("worker pool: passive waits (no spin) lose no work") {
  for (const std::size_t threads : {2, 4}) {
    CAPTURE(threads);
    tg::WorkerPool pool(threads, std::chrono::microseconds(0));
    std::vector<long> done(threads, 0);
    for (int run = 0; run < 2000; ++run) {
      std::vector<std::function<void()>> jobs;
      for (std::size_t k = 0; k < threads; ++k) jobs.emplace_back([&, k] { ++done[k]; });
      pool.run(jobs);
      if (run % 500 == 0) std::this_thread::sleep_for(std::chrono::milliseconds(2));  // let every worker fall asleep
    }
    for (std::size_t k = 0; k < threads; ++k) CHECK(done[k] == 2000);
    // A slow job: the caller finishes its own at once and waits asleep for the worker's.
    std::atomic<bool> late{false};
    pool.run({[] {}, [&] {
                std::this_thread::sleep_for(std::chrono::milliseconds(20));
                late = true;
              }});
    CHECK(late);
  }
}

TEST_CASE("worker pool: a pool destroyed while its workers sleep joins them") {
  for (int k = 0; k < 20; ++k) {
    tg::WorkerPool pool(3, std::chrono::microseconds(k % 2 ? 0 : 200));
    if (k % 4 == 0) pool.run({[] {}, [] {}, [] {}});
  }  // a hang here would time the test out
}

TEST_CASE("worker pool: an exception in any job reaches the caller, and the pool keeps working") {
  tg::WorkerPool pool(2);
  CHECK_THROWS_WITH_AS(pool.run({[] {}, [] { throw tg::Error("job 1 failed"); }}), "job 1 failed", tg::Error);
  CHECK_THROWS_WITH_AS(pool.run({[] { throw std::runtime_error("job 0 failed"); }, [] {}}), "job 0 failed",
                       std::runtime_error);
  std::atomic<int> calls{0};
  pool.run({[&] { ++calls; }, [&] { ++calls; }});
  CHECK(calls == 2);
  CHECK_THROWS_WITH_AS(pool.run({[] {}, [] {}, [] {}}), "WorkerPool: 3 jobs for 2 threads", tg::Error);
  CHECK_THROWS_WITH_AS(tg::WorkerPool(0), "WorkerPool: needs at least one thread (the caller)", tg::Error);
}

TEST_CASE("forward_parallel: the same logits and attention as one forward over the batch") {
  for (bool bidirectional : {false, true}) {
    CAPTURE(bidirectional);
    check_matches_one_forward<float>("attention", bidirectional, 2e-6f);
    check_matches_one_forward<double>("attention", bidirectional, 1e-14);
    check_matches_one_forward<double>("last", bidirectional, 1e-14);
    check_matches_one_forward<double>("mean", bidirectional, 1e-14);
  }
}

TEST_CASE("forward_parallel: evaluation only, and errors from a worker's rows reach the caller") {
  tg::SentimentClassifier<float> model(small_config("attention", false));
  tg::WorkerPool pool(2);
  auto [ids, mask] = random_batch({5, 2}, 40, 1);
  CHECK_THROWS_WITH_AS(tg::forward_parallel(model, ids, mask, pool),
                       "forward_parallel: the model is in training mode (dropout would share one random stream); "
                       "call eval()",
                       tg::Error);
  model.eval();
  {
    tg::Tape<float> tape;
    CHECK_THROWS_WITH_AS(tg::forward_parallel(model, ids, mask, pool),
                         "forward_parallel: a tape is recording in this thread; parallel forward is for evaluation "
                         "(NoGrad)",
                         tg::Error);
  }
  const tg::NoGrad<float> no_grad;
  CHECK_THROWS_WITH_AS(tg::forward_parallel(model, ids, tg::Mask(xt::ones<bool>({2, 4})), pool),
                       "forward_parallel: ids (2,5) and mask (2,4) must both be (B,T)", tg::Error);
  ids(1, 0) = 40;  // the shorter row goes to the worker thread
  CHECK_THROWS_WITH_AS(tg::forward_parallel(model, ids, mask, pool),
                       "gather: id 40 is out of range for a table of 40 rows", tg::Error);
  ids(1, 0) = 39;
  CHECK(tg::forward_parallel(model, ids, mask, pool).logits.shape()[0] == 2);
}

// ---- --threads ---------------------------------------------------------------------

TEST_CASE("--threads: auto, or a whole number from 1 to 64, and anything else is one clear error") {
  CHECK(tg::parse_threads("auto") == tg::kAutoThreads);
  CHECK(tg::parse_threads("1") == 1);
  CHECK(tg::parse_threads("2") == 2);
  CHECK(tg::parse_threads("64") == 64);
  for (const char* bad : {"0", "65", "-1", "", "two", "2.5", " 2", "2 ", "+2", "AUTO", "18446744073709551617"}) {
    CAPTURE(bad);
    CHECK_FALSE(tg::read_threads(bad).has_value());
    CHECK_THROWS_WITH_AS(tg::parse_threads(bad),
                         fmt::format("--threads: {} is not auto or a whole number from 1 to 64", bad).c_str(), tg::Error);
  }
}

TEST_CASE("--threads auto: the cores others leave idle, at least 1, at most 4 and the usable ones") {
  CHECK(tg::auto_thread_count(2, 0.0) == 2);
  CHECK(tg::auto_thread_count(2, 0.4) == 2);
  CHECK(tg::auto_thread_count(2, 0.6) == 1);
  CHECK(tg::auto_thread_count(2, 2.0) == 1);
  CHECK(tg::auto_thread_count(2, 7.5) == 1);  // a machine busier than its cores
  CHECK(tg::auto_thread_count(1, 0.0) == 1);
  CHECK(tg::auto_thread_count(16, 1.0) == 4);
  CHECK(tg::auto_thread_count(8, 5.2) == 3);
  CHECK(tg::usable_cores() >= 1);
  const double busy = tg::busy_cores_elsewhere(std::chrono::milliseconds(20));
  CHECK(busy >= 0);
  CHECK(busy <= double(std::thread::hardware_concurrency()));
}

TEST_CASE("Cores: one count for every phase, training on one thread, a pool for evaluation only past one") {
  tg::Cores one(1);
  CHECK(one.count() == 1);
  CHECK(one.describe() == "1");
  CHECK(one.for_evaluation() == nullptr);
  tg::Cores three(3);
  three.for_training();
  CHECK(openblas_get_num_threads() == 1);  // training runs on one thread: BLAS's would spin
  tg::WorkerPool* pool = three.for_evaluation();
  REQUIRE(pool != nullptr);
  CHECK(pool->size() == 3);
  CHECK(three.for_evaluation() == pool);  // made once
  tg::Cores automatic(tg::kAutoThreads);
  const std::size_t n = automatic.count();
  CHECK(n >= 1);
  CHECK(n <= std::min<std::size_t>(4, tg::usable_cores()));
  CHECK(automatic.count() == n);  // resolved once
  CHECK(automatic.describe().rfind(fmt::format("auto: {} (", n), 0) == 0);
  tg::set_blas_threads(1);  // as the tests run (TG_TEST_ENVIRONMENT)
  CHECK_THROWS_AS(tg::Cores(65), tg::Error);
}
