// Engine benchmark (a program, not a test): (1) what recording costs per op — a chain
// of 1-element adds recorded, back-propagated and freed, against the same arithmetic
// without the engine; (2) the LSTM-sized matmul (64×228)·(228×512) forward and
// backward through the engine against raw cblas_sgemm into preallocated buffers; (3) the
// LSTM step's product for 1–64 rows, tapegrad's against BLAS's on both weight layouts;
// (4) one LSTM layer (training step and inference) against oneDNN's fused LSTM, when
// CMake found oneDNN (Debian's libdnnl-dev; optional, never in CI).
// Run: ./bench_engine [--threads 1] [--reps 200] [--chain 1000] [--part all|ops|matmul|few-rows|lstm]
//                     [--contention N] [--json]
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
#include <xtensor/xadapt.hpp>

#include "autograd/autograd.hpp"
#include "models/training/trainer.hpp"
#include "nn/lstm.hpp"
#include "contention.hpp"
#ifdef TG_HAVE_DNNL
#include "onednn_lstm.hpp"
#endif

extern "C" void openblas_set_num_threads(int);
// The kernels OpenBLAS chose at load (from the CPU, or from OPENBLAS_CORETYPE when set): on
// one Zen 5 core its AVX2 "Haswell" kernels made the LSTM layer 1.3-1.4x slower than its
// AVX-512 "Cooperlake" ones (docs/benchmarks.md), so every result names them.
extern "C" char* openblas_get_corename(void);

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
// (H,4H) (the block kernel of fast/block_gemm.hpp), the same kernel on W_hhᵀ as panels
// (what the LSTM's step reads: Note [Weight panels]), and BLAS on W_hhᵀ as stored and on
// W_hh as stored (4H,H), transposed by the flag: what linear() did before.
constexpr int kStepH = 128, kStepG = 4 * kStepH;
const std::vector<int> kStepRows = {1, 2, 4, 8, 16, 32, 64};

struct FewRowTimes {
  std::vector<Samples> engine, panels, blas_nn, blas_nt;
};

FewRowTimes bench_few_rows(int reps, int warmup) {
  std::mt19937 rng(7);
  const Tensor w_t(random_matrix(kStepH, kStepG, rng)), w(random_matrix(kStepG, kStepH, rng));
  const tg::fast::Panels<float> w_t_panels = tg::fast::to_panels(w_t.value().data(), kStepG, false, kStepH, kStepG);
  FewRowTimes t;
  tg::NoGrad<float> no_grad;
  for (int m : kStepRows) {
    const Tensor h(random_matrix(std::size_t(m), kStepH, rng));
    Array out = xt::empty<float>({std::size_t(m), std::size_t(kStepG)});
    Samples engine, panels, nn, nt;
    for (int rep = 0; rep < warmup + reps; ++rep) {
      Laps lap(rep >= warmup, 20);  // 20 products per lap: a few µs each
      for (int i = 0; i < 20; ++i) keep(tg::matmul(h, w_t).node());
      lap.lap(engine);
      for (int i = 0; i < 20; ++i) tg::fast::gemm(h.value().data(), kStepH, w_t_panels, out.data(), std::size_t(m), 0.0f);
      lap.lap(panels);
      for (int i = 0; i < 20; ++i) sgemm(false, false, m, kStepG, kStepH, h.value().data(), w_t.value().data(), out.data());
      lap.lap(nn);
      for (int i = 0; i < 20; ++i) sgemm(false, true, m, kStepG, kStepH, h.value().data(), w.value().data(), out.data());
      lap.lap(nt);
    }
    t.engine.push_back(engine);
    t.panels.push_back(panels);
    t.blas_nn.push_back(nn);
    t.blas_nt.push_back(nt);
  }
  return t;
}

// ---- (4) one LSTM layer, against oneDNN's fused LSTM ------------------------------

// The flagship's LSTM shape: B = 64 tweets, E = 100, H = 128, every sequence T long.
// A training step is forward on a tape, L = Σ y ⊙ dY, backward (dx and every weight's
// gradient) and freeing the tape; inference is forward under NoGrad. oneDNN's step is
// lstm_forward (training) + lstm_backward with dL/dy = dY, on the same weights and input
// (tests/bench/onednn_lstm.hpp), timed in the same repetition, so load hits both alike.
constexpr std::size_t kLstmB = 64, kLstmE = 100, kLstmH = 128;
const std::vector<std::size_t> kLstmSteps = {20, 30, 48};

struct LstmTimes {
  std::size_t steps = 0;
  Samples tg_train, tg_infer, dnnl_train, dnnl_infer;
  bool have_dnnl = false;
  double diff_y = 0, diff_grads = 0;  // max relative differences, tapegrad against oneDNN
};

#ifdef TG_HAVE_DNNL
double max_rel_diff(const Array& got, const std::vector<float>& want) {
  return max_rel_diff(got, Array(xt::adapt(want, got.shape())));
}
#endif

LstmTimes bench_lstm(std::size_t T, int reps, int warmup, int threads) {
  std::mt19937_64 init(11);
  std::mt19937 rng(13);
  tg::LSTM<float> lstm(kLstmE, kLstmH, init);
  tg::LSTMWeights<float>& w = lstm.forward_weights;
  Array x_value = random_matrix(kLstmB * T, kLstmE, rng), dy_value = random_matrix(kLstmB * T, kLstmH, rng);
  x_value.reshape({kLstmB, T, kLstmE});
  dy_value.reshape({kLstmB, T, kLstmH});
  Tensor x(x_value, true, "x");
  const Tensor dy(dy_value);
  const tg::Mask mask = xt::ones<bool>({kLstmB, T});
  LstmTimes t;
  t.steps = T;
  Array y;
  const auto train_step = [&] {
    drop_grads({&x, &w.weight_ih, &w.weight_hh, &w.bias_ih, &w.bias_hh});
    tg::Tape<float> tape;
    const Tensor states = lstm.forward(x, mask).states;
    tape.backward(tg::sum(states * dy));
    y = states.value();
  };
  const auto infer = [&] {
    tg::NoGrad<float> no_grad;
    keep(lstm.forward(x, mask).states.node());
  };
#ifdef TG_HAVE_DNNL
  const auto vec = [](const Array& a) { return std::vector<float>(a.begin(), a.end()); };
  onednn::Lstm fused({int(kLstmB), int(T), int(kLstmE), int(kLstmH), vec(x.value()), vec(w.weight_ih.value()),
                      vec(w.weight_hh.value()), vec(w.bias_ih.value()), vec(w.bias_hh.value()), vec(dy.value())},
                     threads);
  t.have_dnnl = true;
  train_step();
  fused.train_step();
  const onednn::LstmResult r = fused.result();
  t.diff_y = max_rel_diff(y, r.y);
  t.diff_grads = std::max({max_rel_diff(x.grad(), r.dx), max_rel_diff(w.weight_ih.grad(), r.dw_ih),
                           max_rel_diff(w.weight_hh.grad(), r.dw_hh), max_rel_diff(w.bias_ih.grad(), r.db),
                           max_rel_diff(w.bias_hh.grad(), r.db)});
#else
  (void)threads;
#endif
  for (int rep = 0; rep < warmup + reps; ++rep) {
    Laps lap(rep >= warmup);
    train_step();
    lap.lap(t.tg_train);
    infer();
    lap.lap(t.tg_infer);
#ifdef TG_HAVE_DNNL
    fused.train_step();
    lap.lap(t.dnnl_train);
    fused.infer();
    lap.lap(t.dnnl_infer);
#endif
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
    p.rows.push_back({fmt::format("m{}_panels", m), fmt::format("m = {:2}: tapegrad, W_hhᵀ as panels", m), &t.panels[i]});
    p.rows.push_back({fmt::format("m{}_blas_nn", m), fmt::format("m = {:2}: BLAS, W_hhᵀ as stored", m), &t.blas_nn[i]});
    p.rows.push_back({fmt::format("m{}_blas_nt", m), fmt::format("m = {:2}: BLAS, W_hh transposed by flag", m), &t.blas_nt[i]});
    p.lines.push_back(fmt::format("m = {:2}: BLAS NN / tapegrad = {:.2f}, BLAS NT / tapegrad = {:.2f}, "
                                  "panels / as stored = {:.2f}",
                                  m, t.blas_nn[i].median() / t.engine[i].median(),
                                  t.blas_nt[i].median() / t.engine[i].median(),
                                  t.panels[i].median() / t.engine[i].median()));
  }
  return p;
}

Part lstm_part(const std::vector<LstmTimes>& times) {
  Part p;
  p.key = "lstm";
  p.title = fmt::format("(4) one LSTM layer, B = {}, E = {}, H = {}: tapegrad against oneDNN's fused LSTM, µs", kLstmB,
                        kLstmE, kLstmH);
  for (const LstmTimes& t : times) {
    const std::string T = std::to_string(t.steps);
    p.rows.push_back({"T" + T + "_tapegrad_train", "T = " + T + ": tapegrad training step", &t.tg_train});
    if (t.have_dnnl) p.rows.push_back({"T" + T + "_onednn_train", "T = " + T + ": oneDNN training step", &t.dnnl_train});
    p.rows.push_back({"T" + T + "_tapegrad_infer", "T = " + T + ": tapegrad inference", &t.tg_infer});
    if (t.have_dnnl) p.rows.push_back({"T" + T + "_onednn_infer", "T = " + T + ": oneDNN inference", &t.dnnl_infer});
    if (!t.have_dnnl) continue;
    const double train = t.tg_train.median() / t.dnnl_train.median(), infer = t.tg_infer.median() / t.dnnl_infer.median();
    p.lines.push_back(fmt::format("T = {:2}: tapegrad / oneDNN  training {:.2f} [target ≤ 1.25: {}], inference {:.2f} "
                                  "[target ≤ 1.1: {}]; outputs differ by {:.1e}, gradients by {:.1e} (relative)",
                                  t.steps, train, train <= 1.25 ? "met" : "MISSED", infer, infer <= 1.1 ? "met" : "MISSED",
                                  t.diff_y, t.diff_grads));
    p.verdict["T" + T] = {{"train_ratio", train}, {"infer_ratio", infer}, {"max_rel_diff_output", t.diff_y},
                          {"max_rel_diff_grads", t.diff_grads}};
  }
  if (!times.empty() && !times.front().have_dnnl)
    p.lines.push_back("oneDNN not found at build time (apt-get install libdnnl-dev, then rerun cmake): tapegrad alone");
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
  // Keep freed temporaries in the heap, as training does (Note [Keeping freed memory]).
  tg::keep_freed_memory();

  CLI::App app("tapegrad engine benchmark: overhead per recorded op, and LSTM-sized matmul vs raw BLAS");
  int threads = 1, reps = 200, warmup = 20, contention = 0;
  std::size_t chain = 1000;
  bool json = false;
  std::string part = "all";
  app.add_option("--threads", threads, "BLAS threads (and oneDNN's, part 4)")->check(CLI::Range(1, 64));
  app.add_option("--contention", contention, "busy-looping child processes to run meanwhile (a busy machine)")
      ->check(CLI::Range(0, 64));
  app.add_option("--reps", reps, "timed repetitions (the median is reported)")->check(CLI::Range(1, 1000000));
  app.add_option("--warmup", warmup, "untimed repetitions first")->check(CLI::Range(0, 1000000));
  app.add_option("--chain", chain, "ops per recorded chain in part 1")->check(CLI::Range(1, 1000000));
  app.add_option("--part", part, "run one part only (for profiling)")->check(CLI::IsMember({"all", "ops", "matmul", "few-rows", "lstm"}));
  app.add_flag("--json", json, "print JSON instead of the table");
  CLI11_PARSE(app, argc, argv);
  try {
    openblas_set_num_threads(threads);
    const bench::Contention busy(contention);

    const auto before = CpuSnapshot::take();
    // The Times outlive the Parts, whose rows point into them.
    ChainTimes ch;
    MatmulTimes mm;
    std::vector<Part> parts;
    FewRowTimes few;
    std::vector<LstmTimes> lstm;
    if (part == "all" || part == "ops") parts.push_back(ops_part(ch = bench_chain(chain, reps, warmup), chain));
    if (part == "all" || part == "matmul") parts.push_back(matmul_part(mm = bench_matmul(reps, warmup)));
    if (part == "all" || part == "few-rows") parts.push_back(few_rows_part(few = bench_few_rows(reps, warmup)));
    if (part == "all" || part == "lstm") {
      for (std::size_t T : kLstmSteps) lstm.push_back(bench_lstm(T, reps, warmup, threads));
      parts.push_back(lstm_part(lstm));
    }
    const double foreign = foreign_cpu_percent(before, CpuSnapshot::take());

    if (json) {
      nlohmann::json j;
      j["config"] = {{"openblas_threads", threads}, {"openblas_kernels", openblas_get_corename()},
                     {"contention", contention}, {"reps", reps}, {"warmup", warmup}, {"chain", chain},
                     {"foreign_cpu_percent", foreign}};
      for (const Part& p : parts) j[p.key] = part_json(p);
      fmt::print("{}\n", j.dump(2));
      return 0;
    }
    fmt::print("tapegrad engine benchmark — {} OpenBLAS thread(s) ({} kernels), median/min of {} reps after {} "
               "warm-up.\nOther processes used {:.0f}% of the machine's CPU meanwhile{}{}.\n", threads,
               openblas_get_corename(), reps, warmup, foreign,
               contention > 0 ? fmt::format(" ({} of them started by --contention)", contention) : "",
               foreign > 5 && contention == 0 ? ": the numbers are contended, rerun on a quiet machine" : "");
    for (const Part& p : parts) print_part(p);
    return 0;
  } catch (const std::exception& e) {  // oneDNN's errors too; the destructor stops --contention's children
    fmt::print(stderr, "bench_engine: {}\n", e.what());
    return 1;
  }
}
