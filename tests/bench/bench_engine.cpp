// Engine benchmark (a program, not a test): (1) what recording costs per op — a chain
// of 1-element adds recorded, back-propagated and freed, against the same arithmetic
// without the engine; (2) the LSTM-sized matmul (64×228)·(228×512) forward and
// backward through the engine against raw cblas_sgemm into preallocated buffers; (3) the
// LSTM step's product for 1–64 rows, tapegrad's against BLAS's on both weight layouts.
// Run: ./bench_engine [--threads 1] [--reps 200] [--chain 1000] [--part all|ops|matmul|few-rows] [--json]
#include <malloc.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <iostream>
#include <memory>
#include <random>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <xtensor-blas/xlinalg.hpp>  // declares cblas_sgemm; <cblas.h> would clash with it

#include "autograd/autograd.hpp"

extern "C" void openblas_set_num_threads(int);

namespace {

using Clock = std::chrono::steady_clock;
using Tensor = tg::Tensor<float>;
using Array = tg::Array<float>;

// Repeated timings of one phase; the median resists the box's other tenants.
struct Samples {
  std::vector<double> us;
  double median() const {
    auto v = us;
    std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(v.size() / 2), v.end());
    return v[v.size() / 2];
  }
  double min() const { return *std::min_element(us.begin(), us.end()); }
};

// The phases of one repetition, timed back to back: lap(s) adds the time since the
// previous lap (divided by `per`) to s; skip() leaves untimed set-up out. Warm-up
// repetitions pass timed = false and record nothing.
class Laps {
 public:
  Laps(bool timed, double per = 1) : timed_(timed), per_(per) {}
  void lap(Samples& s) {
    const auto now = Clock::now();
    if (timed_) s.us.push_back(std::chrono::duration<double, std::micro>(now - last_).count() / per_);
    last_ = now;
  }
  void skip() { last_ = Clock::now(); }

 private:
  bool timed_;
  double per_;
  Clock::time_point last_ = Clock::now();
};

// Keeps the compiler from deleting arithmetic whose result is otherwise unused.
template <class T>
void keep(T& value) { asm volatile("" : "+m"(value)); }

// Share of the machine's CPU time used by other processes between two snapshots:
// busy jiffies from /proc/stat minus this process's own user+system time.
struct CpuSnapshot {
  double busy_s = 0, own_s = 0;
  Clock::time_point at = Clock::now();
  static CpuSnapshot take() {
    CpuSnapshot s;
    std::ifstream stat("/proc/stat");
    std::string cpu;
    double user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0;
    stat >> cpu >> user >> nice >> system >> idle >> iowait >> irq >> softirq >> steal;
    s.busy_s = (user + nice + system + irq + softirq + steal) / static_cast<double>(sysconf(_SC_CLK_TCK));
    rusage r{};
    getrusage(RUSAGE_SELF, &r);
    s.own_s = static_cast<double>(r.ru_utime.tv_sec + r.ru_stime.tv_sec) +
              static_cast<double>(r.ru_utime.tv_usec + r.ru_stime.tv_usec) * 1e-6;
    return s;
  }
};

double foreign_cpu_percent(const CpuSnapshot& a, const CpuSnapshot& b) {
  const double wall = std::chrono::duration<double>(b.at - a.at).count() * static_cast<double>(sysconf(_SC_NPROCESSORS_ONLN));
  return std::max(0.0, 100 * ((b.busy_s - a.busy_s) - (b.own_s - a.own_s)) / wall);
}

// ---- (1) overhead per recorded op -------------------------------------------

struct ChainTimes {
  Samples record, backward, free, no_grad, xarray, raw;
};

// a ← a + c, `chain` times, each variant timed per repetition; all per op in µs.
ChainTimes bench_chain(std::size_t chain, int reps, int warmup) {
  ChainTimes t;
  Tensor a0(Array{1.0f}, true, "a0"), c(Array{1e-3f}, true, "c");
  for (int rep = 0; rep < warmup + reps; ++rep) {
    auto tape = std::make_unique<tg::Tape<float>>();
    Laps laps(rep >= warmup, static_cast<double>(chain));
    Tensor a = a0;
    for (std::size_t k = 0; k < chain; ++k) a = a + c;
    laps.lap(t.record);
    tape->backward(a);
    laps.lap(t.backward);
    a = Tensor();
    tape.reset();
    laps.lap(t.free);
    {
      tg::NoGrad<float> no_grad;
      Tensor v = a0;
      for (std::size_t k = 0; k < chain; ++k) v = v + c;
    }
    laps.lap(t.no_grad);
    {  // the same values as xtensor temporaries: forward a + c, backward dc += da
      Array v = a0.value(), dv = xt::ones<float>({1}), dc = xt::zeros<float>({1});
      for (std::size_t k = 0; k < chain; ++k) v = v + c.value();
      for (std::size_t k = 0; k < chain; ++k) dc += dv;
      keep(*v.data());
      keep(*dc.data());
    }
    laps.lap(t.xarray);
    float v = a0.value()(0), dv = 1, dc = 0;
    for (std::size_t k = 0; k < chain; ++k) {
      v += c.value()(0);
      keep(v);
    }
    for (std::size_t k = 0; k < chain; ++k) {
      dc += dv;
      keep(dc);
    }
    laps.lap(t.raw);
  }
  return t;
}

// ---- (2) the LSTM-sized matmul -----------------------------------------------

constexpr int M = 64, K = 228, N = 512;  // B × (E+H) · (E+H) × 4H

struct MatmulTimes {
  Samples raw_fwd, raw_da, raw_db, raw_total;
  Samples eng_fwd, eng_loss, eng_bwd, eng_free, eng_total;
  Samples loss_only_total;                 // the loss ops alone on a leaf C
  Samples node_fwd, node_bwd;              // matmul's own forward/backward, no loss ops
  double max_rel_diff = 0;                 // engine dA, dB against raw
};

Array random_matrix(std::size_t rows, std::size_t cols, std::mt19937& rng) {
  std::uniform_real_distribution<float> u(-1, 1);
  Array m = xt::empty<float>({rows, cols});
  for (float& v : m) v = u(rng);
  return m;
}

void sgemm(bool ta, bool tb, int m, int n, int k, const float* a, const float* b, float* c) {
  cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, m, n, k, 1.0f, a,
              ta ? m : k, b, tb ? k : n, 0.0f, c, n);
}

double max_rel_diff(const Array& got, const Array& want) {
  double d = 0, scale = 0;
  for (std::size_t i = 0; i < want.size(); ++i) {
    d = std::max(d, static_cast<double>(std::abs(got.data()[i] - want.data()[i])));
    scale = std::max(scale, static_cast<double>(std::abs(want.data()[i])));
  }
  return d / scale;
}

// Fresh leaves: the first backward assigns their gradient rather than adding to it.
void drop_grads(std::initializer_list<Tensor*> leaves) {
  for (Tensor* t : leaves) t->node().has_grad = false;
}

MatmulTimes bench_matmul(int reps, int warmup) {
  std::mt19937 rng(42);
  Tensor A(random_matrix(M, K, rng), true, "A"), B(random_matrix(K, N, rng), true, "B");
  const Tensor G(random_matrix(M, N, rng));  // the upstream gradient dL/dC, via L = Σ C ⊙ G
  Array C = xt::empty<float>({M, N}), dA = xt::empty<float>({M, K}), dB = xt::empty<float>({K, N});
  Tensor C_leaf(Array(xt::linalg::dot(A.value(), B.value())), true, "C");
  MatmulTimes t;
  for (int rep = 0; rep < warmup + reps; ++rep) {
    Laps raw(rep >= warmup), total(rep >= warmup);
    sgemm(false, false, M, N, K, A.value().data(), B.value().data(), C.data());
    raw.lap(t.raw_fwd);
    sgemm(false, true, M, K, N, G.value().data(), B.value().data(), dA.data());  // dA = G · Bᵀ
    raw.lap(t.raw_da);
    sgemm(true, false, K, N, M, A.value().data(), G.value().data(), dB.data());  // dB = Aᵀ · G
    raw.lap(t.raw_db);
    total.lap(t.raw_total);

    drop_grads({&A, &B});
    auto tape = std::make_unique<tg::Tape<float>>();
    total.skip();
    Laps eng(rep >= warmup);
    Tensor out = tg::matmul(A, B);
    eng.lap(t.eng_fwd);
    Tensor loss = tg::sum(out * G);
    eng.lap(t.eng_loss);
    tape->backward(loss);
    eng.lap(t.eng_bwd);
    out = loss = Tensor();
    tape.reset();
    eng.lap(t.eng_free);
    total.lap(t.eng_total);
    if (rep == 0) t.max_rel_diff = std::max(max_rel_diff(A.grad(), dA), max_rel_diff(B.grad(), dB));

    drop_grads({&C_leaf});
    total.skip();
    {
      tg::Tape<float> loss_tape;
      loss_tape.backward(tg::sum(C_leaf * G));
    }
    total.lap(t.loss_only_total);

    // matmul's node alone, its backward called as Tape::backward calls it, with grad = G.
    drop_grads({&A, &B});
    tg::Tape<float> node_tape;
    Laps node(rep >= warmup);
    Tensor c = tg::matmul(A, B);
    node.lap(t.node_fwd);
    c.node().grad = G.value();
    node.skip();
    c.node().backward(tg::BackwardContext<float>{c.node()});
    node.lap(t.node_bwd);
  }
  return t;
}

// ---- (3) few rows times the LSTM step's weights ----------------------------------

// h (m,H) · W_hhᵀ for the rows still running at a step: tapegrad's matmul on W_hhᵀ stored
// (H,4H) (the few-row kernel of fast/small_gemm.hpp up to 64 rows), against BLAS on the same
// layout and on W_hh as stored (4H,H), transposed by the flag: what linear() did before.
constexpr int kStepH = 128, kStepG = 4 * kStepH;
const std::vector<int> kStepRows = {1, 2, 4, 8, 16, 32, 64};

struct FewRowTimes {
  std::vector<Samples> engine, blas_nn, blas_nt;
};

FewRowTimes bench_few_rows(int reps, int warmup) {
  std::mt19937 rng(7);
  const Tensor w_t(random_matrix(kStepH, kStepG, rng)), w(random_matrix(kStepG, kStepH, rng));
  FewRowTimes t;
  tg::NoGrad<float> no_grad;
  for (int m : kStepRows) {
    const Tensor h(random_matrix(std::size_t(m), kStepH, rng));
    Array out = xt::empty<float>({std::size_t(m), std::size_t(kStepG)});
    Samples engine, nn, nt;
    for (int rep = 0; rep < warmup + reps; ++rep) {
      Laps lap(rep >= warmup, 20);  // 20 products per lap: a few µs each
      for (int i = 0; i < 20; ++i) keep(tg::matmul(h, w_t).node());
      lap.lap(engine);
      for (int i = 0; i < 20; ++i) sgemm(false, false, m, kStepG, kStepH, h.value().data(), w_t.value().data(), out.data());
      lap.lap(nn);
      for (int i = 0; i < 20; ++i) sgemm(false, true, m, kStepG, kStepH, h.value().data(), w.value().data(), out.data());
      lap.lap(nt);
    }
    t.engine.push_back(engine);
    t.blas_nn.push_back(nn);
    t.blas_nt.push_back(nt);
  }
  return t;
}

// ---- reporting ----------------------------------------------------------------

struct Row {
  std::string key, label;
  const Samples* samples;
};

// One part of the report: its timed rows, then derived verdicts (for the table as
// text, for --json as fields).
struct Part {
  std::string key, title;
  std::vector<Row> rows;
  std::vector<std::string> lines;
  nlohmann::json verdict;
};

Part ops_part(const ChainTimes& ch, std::size_t chain) {
  const double overhead = ch.record.median() + ch.backward.median() + ch.free.median() - ch.raw.median();
  Part p;
  p.key = "op_overhead";
  p.title = fmt::format("(1) overhead per recorded op: a ← a + c, {} times, 1-element float tensors (µs per op)", chain);
  p.rows = {{"record", "record (forward on a tape)", &ch.record},
            {"backward", "Tape::backward", &ch.backward},
            {"free", "free the tape", &ch.free},
            {"no_grad_forward", "forward under NoGrad (no recording)", &ch.no_grad},
            {"xarray_arithmetic", "xarray a + c and dc += da, no engine", &ch.xarray},
            {"raw_arithmetic", "raw float a += c and dc += da", &ch.raw}};
  p.lines = {fmt::format("engine per op (record + backward + free) − raw = {:.3f} µs  [target ≤ 1 µs: {}]",
                         overhead, overhead <= 1.0 ? "met" : "MISSED")};
  p.verdict = {{"overhead_us_per_op", overhead}, {"target_us", 1.0}, {"met", overhead <= 1.0}};
  return p;
}

Part matmul_part(const MatmulTimes& mm) {
  const double net = mm.eng_total.median() - mm.loss_only_total.median();
  const double ratio = net / mm.raw_total.median();
  const double ratio_node = (mm.node_fwd.median() + mm.node_bwd.median()) / mm.raw_total.median();
  Part p;
  p.key = "matmul";
  p.title = fmt::format("(2) matmul ({}×{})·({}×{}) forward and backward (dA = G·Bᵀ, dB = Aᵀ·G), µs", M, K, K, N);
  p.rows = {{"raw_forward", "raw sgemm forward", &mm.raw_fwd},
            {"raw_dA", "raw sgemm dA", &mm.raw_da},
            {"raw_dB", "raw sgemm dB", &mm.raw_db},
            {"raw_total", "raw total", &mm.raw_total},
            {"engine_matmul_forward", "engine matmul forward (recorded)", &mm.eng_fwd},
            {"engine_loss_forward", "engine loss Σ C⊙G forward", &mm.eng_loss},
            {"engine_backward", "engine Tape::backward (loss ops + matmul)", &mm.eng_bwd},
            {"engine_free", "engine free the tape", &mm.eng_free},
            {"engine_total", "engine total", &mm.eng_total},
            {"engine_loss_ops_alone", "engine loss ops alone (on a leaf C)", &mm.loss_only_total},
            {"node_forward", "matmul node forward", &mm.node_fwd},
            {"node_backward", "matmul node backward (grad = G)", &mm.node_bwd}};
  p.lines = {fmt::format("engine total − loss ops alone = {:.1f} µs = {:.3f} × raw  [target ≤ 1.10: {}]", net, ratio,
                         ratio <= 1.10 ? "met" : "MISSED"),
             fmt::format("matmul node forward + backward = {:.3f} × raw", ratio_node),
             fmt::format("engine gradients vs raw sgemm: max relative difference {:.2e}", mm.max_rel_diff)};
  p.verdict = {{"engine_net_us", net}, {"ratio_engine_net_to_raw", ratio}, {"ratio_node_to_raw", ratio_node},
               {"max_rel_diff_grads", mm.max_rel_diff}, {"target_ratio", 1.10}, {"met", ratio <= 1.10}};
  return p;
}

Part few_rows_part(const FewRowTimes& t) {
  Part p;
  p.key = "few_rows";
  p.title = fmt::format("(3) h (m,{0})·W_hhᵀ, W_hhᵀ stored ({0},{1}): tapegrad matmul vs BLAS, µs", kStepH, kStepG);
  for (std::size_t i = 0; i < kStepRows.size(); ++i) {
    const int m = kStepRows[i];
    p.rows.push_back({fmt::format("m{}_engine", m), fmt::format("m = {:2}: tapegrad matmul (NoGrad)", m), &t.engine[i]});
    p.rows.push_back({fmt::format("m{}_blas_nn", m), fmt::format("m = {:2}: BLAS, W_hhᵀ as stored", m), &t.blas_nn[i]});
    p.rows.push_back({fmt::format("m{}_blas_nt", m), fmt::format("m = {:2}: BLAS, W_hh transposed by flag", m), &t.blas_nt[i]});
    p.lines.push_back(fmt::format("m = {:2}: BLAS NN / tapegrad = {:.2f}, BLAS NT / tapegrad = {:.2f}", m,
                                  t.blas_nn[i].median() / t.engine[i].median(),
                                  t.blas_nt[i].median() / t.engine[i].median()));
  }
  return p;
}

void print_part(const Part& p) {
  fmt::print("\n{}\n  {:<44} {:>10} {:>10}\n", p.title, "", "median", "min");
  for (const Row& r : p.rows)
    fmt::print("  {:<44} {:>10.3f} {:>10.3f}\n", r.label, r.samples->median(), r.samples->min());
  for (const auto& line : p.lines) fmt::print("  {}\n", line);
}

nlohmann::json part_json(const Part& p) {
  nlohmann::json j = p.verdict;
  for (const Row& r : p.rows) j[r.key] = {{"median_us", r.samples->median()}, {"min_us", r.samples->min()}};
  return j;
}

}  // namespace

int main(int argc, char** argv) {
  // Keep freed temporaries in the heap: glibc trimming makes fresh 32 KB+ temporaries
  // fault their pages in again, ~12× slower (XTENSOR-NOTES §3).
  mallopt(M_TRIM_THRESHOLD, 256 << 20);
  mallopt(M_MMAP_THRESHOLD, 64 << 20);

  CLI::App app("tapegrad engine benchmark: overhead per recorded op, and LSTM-sized matmul vs raw BLAS");
  int threads = 1, reps = 200, warmup = 20;
  std::size_t chain = 1000;
  bool json = false;
  std::string part = "all";
  app.add_option("--threads", threads, "OpenBLAS threads")->check(CLI::Range(1, 64));
  app.add_option("--reps", reps, "timed repetitions (the median is reported)")->check(CLI::Range(1, 1000000));
  app.add_option("--warmup", warmup, "untimed repetitions first")->check(CLI::Range(0, 1000000));
  app.add_option("--chain", chain, "ops per recorded chain in part 1")->check(CLI::Range(1, 1000000));
  app.add_option("--part", part, "run one part only (for profiling)")->check(CLI::IsMember({"all", "ops", "matmul", "few-rows"}));
  app.add_flag("--json", json, "print JSON instead of the table");
  CLI11_PARSE(app, argc, argv);
  openblas_set_num_threads(threads);

  const auto before = CpuSnapshot::take();
  // The Times outlive the Parts, whose rows point into them.
  ChainTimes ch;
  MatmulTimes mm;
  std::vector<Part> parts;
  FewRowTimes few;
  if (part == "all" || part == "ops") parts.push_back(ops_part(ch = bench_chain(chain, reps, warmup), chain));
  if (part == "all" || part == "matmul") parts.push_back(matmul_part(mm = bench_matmul(reps, warmup)));
  if (part == "all" || part == "few-rows") parts.push_back(few_rows_part(few = bench_few_rows(reps, warmup)));
  const double foreign = foreign_cpu_percent(before, CpuSnapshot::take());

  if (json) {
    nlohmann::json j;
    j["config"] = {{"openblas_threads", threads}, {"reps", reps}, {"warmup", warmup}, {"chain", chain},
                   {"foreign_cpu_percent", foreign}};
    for (const Part& p : parts) j[p.key] = part_json(p);
    fmt::print("{}\n", j.dump(2));
    return 0;
  }
  fmt::print("tapegrad engine benchmark — {} OpenBLAS thread(s), median/min of {} reps after {} warm-up.\n"
             "Other processes used {:.0f}% of the machine's CPU meanwhile{}.\n", threads, reps, warmup, foreign,
             foreign > 5 ? ": the numbers are contended, rerun on a quiet machine" : "");
  for (const Part& p : parts) print_part(p);
  return 0;
}
