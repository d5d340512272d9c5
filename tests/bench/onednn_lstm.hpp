// oneDNN's fused LSTM (Debian's libdnnl-dev, oneDNN 2.6), as the limit bench_engine's
// LSTM part measures tapegrad's LSTM layer against. Only built when CMake finds oneDNN
// (tests/CMakeLists.txt defines TG_HAVE_DNNL); never part of CI.
//
// One layer, one direction, every sequence T long, PyTorch's gate order (i, f, g, o),
// which is also oneDNN's. The weights and data come in PyTorch's layouts (W_ih (4H,E),
// W_hh (4H,H), x (B,T,E)) and the results go back in them, so the two can be compared
// element by element. oneDNN's own layouts:
//   x, y        "tnc"   (T,B,C): time-major
//   W_ih, W_hh  "ldigo" (layers, directions, input, gates, output):  ldigo[e][g][h] = W[g·H+h][e]
//   bias        "ldgo": one bias, b_ih + b_hh
// The primitives pick their own weight layouts ("any"); reorders to and from them are
// part of the timed step, as a training loop whose weights change every step pays them.
//
// Note [oneDNN 2.6.3 and initial states]: without memory for the initial states (h₀, c₀)
// oneDNN 2.6.3's lstm_backward returns a wrong W_hh gradient (values and output agree);
// passing explicit zeros, as here, gives the right one.
#pragma once
#include <omp.h>

#include <oneapi/dnnl/dnnl.hpp>

#include <cstring>
#include <vector>

namespace onednn {

struct LstmData {  // PyTorch layouts, row-major
  int B = 0, T = 0, E = 0, H = 0;
  std::vector<float> x, w_ih, w_hh, b_ih, b_hh;  // (B,T,E), (4H,E), (4H,H), (4H), (4H)
  std::vector<float> dy;                         // (B,T,H): dL/dy of the training step
};

struct LstmResult {  // PyTorch layouts
  std::vector<float> y, dx, dw_ih, dw_hh, db;  // (B,T,H), (B,T,E), (4H,E), (4H,H), (4H) (= db_ih = db_hh)
};

class Lstm {
 public:
  using memory = dnnl::memory;
  using tag = memory::format_tag;

  Lstm(const LstmData& d, int threads) : d_(d), stream_(engine_) {
    omp_set_num_threads(threads);  // Debian builds oneDNN with OpenMP
    const int B = d.B, T = d.T, E = d.E, H = d.H;
    const memory::dims src{T, B, E}, dst{T, B, H}, wl{1, 1, E, 4, H}, wi{1, 1, H, 4, H}, bias{1, 1, 4, H},
        state{1, 1, B, H};
    // The user's memories, in plain layouts.
    x_ = plain(src, tag::tnc);
    y_ = plain(dst, tag::tnc);
    dy_ = plain(dst, tag::tnc);
    dx_ = plain(src, tag::tnc);
    w_layer_ = plain(wl, tag::ldigo);
    w_iter_ = plain(wi, tag::ldigo);
    dw_layer_ = plain(wl, tag::ldigo);
    dw_iter_ = plain(wi, tag::ldigo);
    bias_ = plain(bias, tag::ldgo);
    dbias_ = plain(bias, tag::ldgo);
    for (memory* m : {&h0_, &c0_, &hn_, &cn_, &dh0_, &dc0_, &dhn_, &dcn_}) *m = plain(state, tag::ldnc);
    for (memory* m : {&h0_, &c0_, &dhn_, &dcn_}) zero(*m);  // Note [oneDNN 2.6.3 and initial states]

    float* xs = data(x_);  // (B,T,E) → (T,B,E)
    float* dys = data(dy_);
    for (int b = 0; b < B; ++b)
      for (int t = 0; t < T; ++t) {
        std::memcpy(xs + (std::size_t(t) * B + b) * E, &d.x[(std::size_t(b) * T + t) * E], sizeof(float) * E);
        std::memcpy(dys + (std::size_t(t) * B + b) * H, &d.dy[(std::size_t(b) * T + t) * H], sizeof(float) * H);
      }
    to_ldigo(d.w_ih, E, data(w_layer_));
    to_ldigo(d.w_hh, H, data(w_iter_));
    for (int g = 0; g < 4 * H; ++g) data(bias_)[g] = d.b_ih[g] + d.b_hh[g];

    const auto any = [](const memory::dims& dims) { return memory::desc(dims, memory::data_type::f32, tag::any); };
    const auto md = [](const memory& m) { return m.get_desc(); };
    using dnnl::prop_kind, dnnl::rnn_direction;
    const auto l2r = rnn_direction::unidirectional_left2right;
    using forward = dnnl::lstm_forward;
    using backward = dnnl::lstm_backward;
    infer_pd_ = forward::primitive_desc(forward::desc(prop_kind::forward_inference, l2r, md(x_), md(h0_), md(c0_),
                                                      any(wl), any(wi), md(bias_), md(y_), md(hn_), md(cn_)),
                                        engine_);
    train_pd_ = forward::primitive_desc(forward::desc(prop_kind::forward_training, l2r, md(x_), md(h0_), md(c0_),
                                                      any(wl), any(wi), md(bias_), md(y_), md(hn_), md(cn_)),
                                        engine_);
    back_pd_ = backward::primitive_desc(
        backward::desc(prop_kind::backward, l2r, md(x_), md(h0_), md(c0_), any(wl), any(wi), md(bias_), md(y_),
                       md(hn_), md(cn_), md(dx_), md(dh0_), md(dc0_), any(wl), any(wi), md(dbias_), md(dy_),
                       md(dhn_), md(dcn_)),
        engine_, train_pd_);
    infer_ = dnnl::lstm_forward(infer_pd_);
    train_ = dnnl::lstm_forward(train_pd_);
    back_ = dnnl::lstm_backward(back_pd_);
    workspace_ = memory(train_pd_.workspace_desc(), engine_);
    // Inference weights are fixed: reordered once, as a deployed model would.
    infer_w_layer_ = reordered(w_layer_, infer_pd_.weights_layer_desc());
    infer_w_iter_ = reordered(w_iter_, infer_pd_.weights_iter_desc());
    train_w_layer_ = memory(train_pd_.weights_layer_desc(), engine_);
    train_w_iter_ = memory(train_pd_.weights_iter_desc(), engine_);
    back_w_layer_ = memory(back_pd_.weights_layer_desc(), engine_);
    back_w_iter_ = memory(back_pd_.weights_iter_desc(), engine_);
    back_dw_layer_ = memory(back_pd_.diff_weights_layer_desc(), engine_);
    back_dw_iter_ = memory(back_pd_.diff_weights_iter_desc(), engine_);
  }

  void infer() {
    infer_.execute(stream_, {{DNNL_ARG_SRC_LAYER, x_}, {DNNL_ARG_SRC_ITER, h0_}, {DNNL_ARG_SRC_ITER_C, c0_},
                             {DNNL_ARG_WEIGHTS_LAYER, infer_w_layer_}, {DNNL_ARG_WEIGHTS_ITER, infer_w_iter_},
                             {DNNL_ARG_BIAS, bias_}, {DNNL_ARG_DST_LAYER, y_}, {DNNL_ARG_DST_ITER, hn_},
                             {DNNL_ARG_DST_ITER_C, cn_}});
    stream_.wait();
  }

  // Forward (keeping the workspace) and backward from dy: y, dx, dW, db.
  void train_step() {
    reorder(w_layer_, train_w_layer_);
    reorder(w_iter_, train_w_iter_);
    train_.execute(stream_, {{DNNL_ARG_SRC_LAYER, x_}, {DNNL_ARG_SRC_ITER, h0_}, {DNNL_ARG_SRC_ITER_C, c0_},
                             {DNNL_ARG_WEIGHTS_LAYER, train_w_layer_}, {DNNL_ARG_WEIGHTS_ITER, train_w_iter_},
                             {DNNL_ARG_BIAS, bias_}, {DNNL_ARG_DST_LAYER, y_}, {DNNL_ARG_DST_ITER, hn_},
                             {DNNL_ARG_DST_ITER_C, cn_}, {DNNL_ARG_WORKSPACE, workspace_}});
    reorder(w_layer_, back_w_layer_);
    reorder(w_iter_, back_w_iter_);
    for (memory* m : {&back_dw_layer_, &back_dw_iter_, &dbias_}) zero(*m);  // backward accumulates into them
    back_.execute(stream_, {{DNNL_ARG_SRC_LAYER, x_}, {DNNL_ARG_SRC_ITER, h0_}, {DNNL_ARG_SRC_ITER_C, c0_},
                            {DNNL_ARG_WEIGHTS_LAYER, back_w_layer_}, {DNNL_ARG_WEIGHTS_ITER, back_w_iter_},
                            {DNNL_ARG_BIAS, bias_}, {DNNL_ARG_DST_LAYER, y_}, {DNNL_ARG_DST_ITER, hn_},
                            {DNNL_ARG_DST_ITER_C, cn_}, {DNNL_ARG_WORKSPACE, workspace_},
                            {DNNL_ARG_DIFF_SRC_LAYER, dx_}, {DNNL_ARG_DIFF_SRC_ITER, dh0_},
                            {DNNL_ARG_DIFF_SRC_ITER_C, dc0_}, {DNNL_ARG_DIFF_WEIGHTS_LAYER, back_dw_layer_},
                            {DNNL_ARG_DIFF_WEIGHTS_ITER, back_dw_iter_}, {DNNL_ARG_DIFF_BIAS, dbias_},
                            {DNNL_ARG_DIFF_DST_LAYER, dy_}, {DNNL_ARG_DIFF_DST_ITER, dhn_},
                            {DNNL_ARG_DIFF_DST_ITER_C, dcn_}});
    reorder(back_dw_layer_, dw_layer_);
    reorder(back_dw_iter_, dw_iter_);
    stream_.wait();
  }

  // The last step's results in PyTorch's layouts (y from whichever ran last).
  LstmResult result() {
    const int B = d_.B, T = d_.T, E = d_.E, H = d_.H;
    LstmResult r;
    r.y.resize(std::size_t(B) * T * H);
    r.dx.resize(std::size_t(B) * T * E);
    for (int b = 0; b < B; ++b)
      for (int t = 0; t < T; ++t) {
        std::memcpy(&r.y[(std::size_t(b) * T + t) * H], data(y_) + (std::size_t(t) * B + b) * H, sizeof(float) * H);
        std::memcpy(&r.dx[(std::size_t(b) * T + t) * E], data(dx_) + (std::size_t(t) * B + b) * E, sizeof(float) * E);
      }
    r.dw_ih = from_ldigo(data(dw_layer_), E);
    r.dw_hh = from_ldigo(data(dw_iter_), H);
    r.db.assign(data(dbias_), data(dbias_) + 4 * H);
    return r;
  }

 private:
  memory plain(const memory::dims& dims, tag t) { return memory({dims, memory::data_type::f32, t}, engine_); }
  static float* data(const memory& m) { return static_cast<float*>(m.get_data_handle()); }
  static void zero(const memory& m) { std::memset(m.get_data_handle(), 0, m.get_desc().get_size()); }
  void reorder(memory from, memory to) {  // handles: copies share the buffer
    if (from.get_desc() == to.get_desc())
      std::memcpy(to.get_data_handle(), from.get_data_handle(), from.get_desc().get_size());
    else
      dnnl::reorder(from, to).execute(stream_, from, to);
  }
  memory reordered(const memory& from, const memory::desc& desc) {
    memory to(desc, engine_);
    reorder(from, to);
    stream_.wait();
    return to;
  }
  // W (4H, in) row-major → ldigo (in, 4, H); and back.
  void to_ldigo(const std::vector<float>& w, int in, float* out) const {
    const int G = 4 * d_.H;
    for (int g = 0; g < G; ++g)
      for (int i = 0; i < in; ++i) out[std::size_t(i) * G + g] = w[std::size_t(g) * in + i];
  }
  std::vector<float> from_ldigo(const float* ldigo, int in) const {
    const int G = 4 * d_.H;
    std::vector<float> w(std::size_t(G) * in);
    for (int g = 0; g < G; ++g)
      for (int i = 0; i < in; ++i) w[std::size_t(g) * in + i] = ldigo[std::size_t(i) * G + g];
    return w;
  }

  LstmData d_;
  dnnl::engine engine_{dnnl::engine::kind::cpu, 0};
  dnnl::stream stream_;
  dnnl::lstm_forward::primitive_desc infer_pd_, train_pd_;
  dnnl::lstm_backward::primitive_desc back_pd_;
  dnnl::lstm_forward infer_, train_;
  dnnl::lstm_backward back_;
  memory x_, y_, dy_, dx_, w_layer_, w_iter_, dw_layer_, dw_iter_, bias_, dbias_;
  memory h0_, c0_, hn_, cn_, dh0_, dc0_, dhn_, dcn_, workspace_;
  memory infer_w_layer_, infer_w_iter_, train_w_layer_, train_w_iter_, back_w_layer_, back_w_iter_;
  memory back_dw_layer_, back_dw_iter_;
};

}  // namespace onednn
