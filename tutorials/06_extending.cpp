// Lesson 6 — extending tapegrad: a new layer built from generic ops.
// The template to copy when you add a layer of your own. Two layers are defined right
// here, outside the library and with no hand-written backward: a GRU (PyTorch nn.GRU's
// equations and parameter names) and a scaled dot-product attention pooling. Each is a
// Module<T>, composed from autograd/ops.hpp only, gradient-checked in double with
// tg::gradcheck (inputs and every named parameter, padding present), and then plugged
// into a small sentiment model trained on the built-in tweets.
// Prints one GRU step (r, z, n, h') and its gradients three ways, the gradcheck reports,
// and a validation-accuracy table of LSTM or GRU with attention or dot-product pooling.
// Run: ./06_extending [--step] [--trace] [--dot gru_step.dot]
#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <limits>
#include <memory>
#include <tuple>

#include <fmt/format.h>
#include <xtensor-blas/xlinalg.hpp>
#include <xtensor/xview.hpp>

#include "autograd/autograd.hpp"
#include "lesson.hpp"
#include "models/data/batch.hpp"
#include "models/data/synthetic_tweets.hpp"
#include "models/training/trainer.hpp"
#include "nn/embedding.hpp"
#include "nn/init.hpp"
#include "nn/linear.hpp"
#include "nn/lstm.hpp"
#include "nn/optim.hpp"
#include "nn/pooling.hpp"

// Your own layers live in your own namespace and use only tg's public API. The ops
// (matmul, sigmoid, softmax, …) are found by argument-dependent lookup on tg::Tensor.
namespace my {
using tg::Array;
using tg::Mask;
using tg::Tensor;

// ---- a recurrent layer: GRU ------------------------------------------------------
// Per step t, PyTorch nn.GRU's equations (W_ih (3H,E), W_hh (3H,H), both biases (3H);
// blocks in the order r, z, n). Legend: B batch, T time, E input, H hidden.
//   a = x_t W_ihᵀ + b_ih      b = h W_hhᵀ + b_hh                    (B,3H)
//   r = σ(a_r + b_r)    z = σ(a_z + b_z)    n = tanh(a_n + r ⊙ b_n)
//   h' = (1 − z) ⊙ n + z ⊙ h                                        h₀ = 0
// b_hn sits inside r ⊙ (…), so unlike the LSTM's the two biases cannot be merged.
// Padding as nn/lstm.hpp: where position t is not real, h is carried unchanged and the
// output is exactly 0, so a sequence's results do not depend on how far it is padded.
template <class T>
struct GRUStep {
  Tensor<T> r, z, n, h;  // each (B,H); h is h'
};

template <class T>
struct GRUOutput {
  Tensor<T> states;  // (B,T,H), exactly 0 at padding
  Tensor<T> h_n;     // (B,H): h at each sequence's last real token
};

template <class T>
class GRU : public tg::Module<T> {
 public:
  // Every parameter uniform in ±1/√H, PyTorch's default.
  GRU(std::size_t input, std::size_t hidden, std::mt19937_64& rng) : input_size(input), hidden_size(hidden) {
    const double bound = 1 / std::sqrt(double(hidden));
    const std::size_t E = input, H = hidden;
    weight_ih = this->register_parameter("weight_ih_l0", tg::uniform_init<T>({3 * H, E}, bound, rng));
    weight_hh = this->register_parameter("weight_hh_l0", tg::uniform_init<T>({3 * H, H}, bound, rng));
    bias_ih = this->register_parameter("bias_ih_l0", tg::uniform_init<T>({3 * H}, bound, rng));
    bias_hh = this->register_parameter("bias_hh_l0", tg::uniform_init<T>({3 * H}, bound, rng));
  }

  // a = x W_ihᵀ + b_ih for x (N,E): forward() does every step at once, in one gemm.
  Tensor<T> project_input(const Tensor<T>& x) const { return matmul(x, transpose(weight_ih)) + bias_ih; }

  // One step from a (B,3H) and h (B,H): the equations above, one line each.
  GRUStep<T> step(const Tensor<T>& a, const Tensor<T>& h) const {
    const std::size_t H = hidden_size;
    const Tensor<T> b = matmul(h, transpose(weight_hh)) + bias_hh;
    const Tensor<T> r = sigmoid(slice(a, 1, 0, H) + slice(b, 1, 0, H));
    const Tensor<T> z = sigmoid(slice(a, 1, H, 2 * H) + slice(b, 1, H, 2 * H));
    const Tensor<T> n = tanh(slice(a, 1, 2 * H, 3 * H) + r * slice(b, 1, 2 * H, 3 * H));
    return {r, z, n, (1 - z) * n + z * h};
  }

  // x (B,T,E); mask (B,T) true at real positions.
  GRUOutput<T> forward(const Tensor<T>& x, const Mask& mask) const {
    if (x.dim() != 3 || x.shape()[2] != input_size || mask.dimension() != 2 || mask.shape()[0] != x.shape()[0] ||
        mask.shape()[1] != x.shape()[1])
      throw tg::Error(fmt::format("GRU({}, {}): input {} and mask {} are not (B,T,{}) and (B,T)", input_size,
                                  hidden_size, tg::shape_str(x.shape()), tg::shape_str(mask.shape()), input_size));
    const std::size_t B = x.shape()[0], steps = x.shape()[1], H = hidden_size;
    const Tensor<T> a = reshape(project_input(reshape(x, {B * steps, input_size})), {B, steps, 3 * H});
    const Tensor<T> zero(Array<T>(T(0)));
    Tensor<T> h(Array<T>(xt::zeros<T>({B, H})));
    std::vector<Tensor<T>> outputs(steps);
    for (std::size_t t = 0; t < steps; ++t) {
      const Mask real = xt::view(mask, xt::all(), xt::range(t, t + 1));  // (B,1)
      const Tensor<T> h_next = step(select(a, 1, t), h).h;
      h = tg::where(real, h_next, h);  // tg::, or ADL on Mask finds xt::where
      outputs[t] = tg::where(real, h_next, zero);
    }
    return {stack(outputs, 1), h};
  }

  Tensor<T> weight_ih, weight_hh, bias_ih, bias_hh;
  std::size_t input_size, hidden_size;
};

// ---- a pooling: scaled dot-product attention with one learned query ---------------
// Vaswani et al. (2017)'s attention, asking one learned question q of every position.
// Legend: D state size, A attention size.
//   k_t = W_k h_t  (A)      v_t = W_v h_t  (D)       W_k (A,D), W_v (D,D): Linear, no bias
//   e_t = q · k_t / √A      q (A) is the parameter "query"
//   α = softmax(e) over the real positions (padding is filled with −∞ first, so its α is
//       exactly 0 and no gradient reaches it)
//   s = Σ_t α_t v_t
// Why 1/√A: q · k_t adds up A products, so without it e's spread, and softmax's
// saturation, would grow with A.
template <class T>
class DotProductPooling : public tg::Pooling<T> {
 public:
  DotProductPooling(std::size_t dim, std::size_t attention, std::mt19937_64& rng)
      : key(dim, attention, rng, false), value(dim, dim, rng, false) {
    this->register_module("key", key);
    this->register_module("value", value);
    query = this->register_parameter("query", tg::uniform_init<T>({attention}, 1 / std::sqrt(double(attention)), rng));
  }

  // states (B,T,D), mask (B,T) → s (B,D) and α (B,T).
  tg::Pooled<T> forward(const Tensor<T>& states, const Mask& mask) const override {
    if (states.dim() != 3 || states.shape()[2] != key.in_features || mask.dimension() != 2 ||
        mask.shape()[0] != states.shape()[0] || mask.shape()[1] != states.shape()[1])
      throw tg::Error(fmt::format("DotProductPooling({}): states {} and mask {} are not (B,T,{}) and (B,T)",
                                  key.in_features, tg::shape_str(states.shape()), tg::shape_str(mask.shape()),
                                  key.in_features));
    const std::size_t B = states.shape()[0], steps = states.shape()[1];
    const Tensor<T> k = key.forward(states);    // (B,T,A)
    const Tensor<T> v = value.forward(states);  // (B,T,D)
    const Tensor<T> e = sum(k * query, 2) / std::sqrt(T(key.out_features));  // (B,T)
    const Mask padding = !mask;
    const Tensor<T> alpha = softmax(masked_fill(e, padding, -std::numeric_limits<T>::infinity()), 1);
    const Tensor<T> s = sum(v * reshape(alpha, {B, steps, 1}), 1);  // (B,D)
    return {s, alpha};
  }

  tg::Linear<T> key, value;
  Tensor<T> query;  // q (A)
};

}  // namespace my

namespace {
using tg::Array;
using Tensor = tg::Tensor<double>;

// ---- the sentiment model with swappable pieces ------------------------------------
// Here the pieces go into a small model of our own, to show the whole training loop:
// Embedding(V,E) → Recurrent (B,T,H) → pooling (B,H) → Linear(H,C). The library's
// SentimentClassifier takes its encoder and pooling by name from a registry instead
// (models/classifier/registry.hpp): an Encoder<T> or Pooling<T> like these, registered with one line
// (`static const tg::EncoderRegistrar r(entry);`), is then trained, saved and loaded by
// name — see docs/extending.md and tests/test_registry.cpp. (The library's own GRU,
// nn/gru.hpp, is this one grown up: two directions and the packed schedule.)
constexpr std::size_t kE = 16, kH = 16, kClasses = 3;
enum class PoolKind { attention, dot_product };

template <template <class> class Recurrent>
class TweetModel : public tg::Module<float> {
 public:
  TweetModel(std::size_t vocab, PoolKind pool, std::uint64_t seed)
      : rng_(seed), embedding(vocab, kE, rng_), rnn(kE, kH, rng_), pooling(make_pooling(pool)),
        classifier(kH, kClasses, rng_) {
    register_module("embedding", embedding);
    register_module("rnn", rnn);
    register_module(pool == PoolKind::attention ? "attention" : "dot_product", *pooling);
    register_module("classifier", classifier);
  }

  tg::Tensor<float> forward(const tg::Ids& ids, const tg::Mask& mask) const {
    const auto states = rnn.forward(embedding.forward(ids), mask).states;  // (B,T,H)
    return classifier.forward(pooling->forward(states, mask).pooled);      // (B,C)
  }

 private:
  std::unique_ptr<tg::Pooling<float>> make_pooling(PoolKind pool) {
    if (pool == PoolKind::attention) return std::make_unique<tg::AttentionPooling<float>>(kH, rng_);
    return std::make_unique<my::DotProductPooling<float>>(kH, kH, rng_);
  }

  std::mt19937_64 rng_;  // declared first: the layers draw from it in order

 public:
  tg::Embedding<float> embedding;
  Recurrent<float> rnn;
  std::unique_ptr<tg::Pooling<float>> pooling;
  tg::Linear<float> classifier;
};

template <class Model>
double accuracy(const Model& model, const tg::EncodedData& data) {
  tg::NoGrad<float> no_grad;
  std::size_t correct = 0;
  for (const tg::Batch& batch : tg::Batcher(data.ids, data.labels, {256, false, 0, 0}).epoch(0)) {
    const Array<float> logits = model.forward(batch.ids, batch.mask).value();
    for (std::size_t b = 0; b < batch.rows.size(); ++b) correct += tg::argmax_row(logits, b) == batch.labels(b);
  }
  return double(correct) / double(data.ids.size());
}

// The whole training loop: forward on a tape, cross-entropy, backward, clip, Adam.
template <class Model>
void train(Model& model, const tg::EncodedData& data, std::size_t epochs) {
  const tg::NamedTensors<float> params = model.named_parameters();
  tg::Adam<float> adam(params, {.lr = 1e-2});
  const tg::Batcher batcher(data.ids, data.labels, {32, true, 1, 0});
  for (std::size_t epoch = 1; epoch <= epochs; ++epoch)
    for (const tg::Batch& batch : batcher.epoch(epoch)) {
      model.zero_grad();
      {
        tg::Tape<float> tape;
        tape.backward(tg::cross_entropy(model.forward(batch.ids, batch.mask), batch.labels));
      }
      tg::clip_grad_norm(params, 5.0);
      adam.step();
    }
}

Tensor random_leaf(const tg::Shape& shape, std::mt19937_64& rng, const char* name) {
  return Tensor(tg::uniform_init<double>(shape, 1.0, rng), true, name);
}

void show(const char* name, const char* formula, const Array<double>& value) {
  fmt::print("  {:<3} = {:<28} {}\n", name, formula, tg::summarize(value));
}

// True when every element of g at a padded position (mask false) is exactly 0.
bool zero_at_padding(const Array<double>& g, const tg::Mask& mask) {
  for (std::size_t b = 0; b < mask.shape()[0]; ++b)
    for (std::size_t t = 0; t < mask.shape()[1]; ++t)
      if (!mask(b, t) && xt::any(xt::not_equal(xt::view(g, b, t, xt::all()), 0.0))) return false;
  return true;
}

// Tweets [from, to) as the data pipeline's labelled rows.
std::vector<tg::LabelledText> rows(const std::vector<tg::SyntheticTweet>& tweets, std::size_t from, std::size_t to) {
  std::vector<tg::LabelledText> out;
  for (std::size_t i = from; i < to; ++i) out.push_back({tweets[i].text, tweets[i].label, i + 1});
  return out;
}
}  // namespace

int main(int argc, char** argv) {
  tg::Lesson lesson("Lesson 6: extending tapegrad — a GRU and a dot-product attention, from generic ops",
                    "a new layer from generic ops, no backward written: gradient-checked, then trained in a model");
  if (auto code = lesson.parse(argc, argv)) return *code;
  std::mt19937_64 rng(6);

  // Step 1: one GRU step on a tiny batch. Shapes: x (B,E) = (2,3), h (B,H) = (2,4).
  lesson.step("one GRU step, one op per line of its equations");
  {  // this tape records steps 1 and 2 only
    my::GRU<double> cell(3, 4, rng);
    Tensor x = random_leaf({2, 3}, rng, "x"), h = random_leaf({2, 4}, rng, "h");
    const Array<double> R = tg::uniform_init<double>({2, 4}, 1.0, rng);  // dL/dh', fixed
    tg::Tape<double> tape;
    lesson.attach(tape);
    const auto gru_step = [&] { return cell.step(cell.project_input(x), h); };
    my::GRUStep<double> s1 = gru_step();
    s1.r.set_name("r");
    s1.z.set_name("z");
    s1.n.set_name("n");
    s1.h.set_name("h'");
    for (const auto& [name, formula, t] : {std::tuple{"r", "σ(a_r + b_r)", s1.r}, {"z", "σ(a_z + b_z)", s1.z},
                                           {"n", "tanh(a_n + r ⊙ b_n)", s1.n}, {"h'", "(1 − z) ⊙ n + z ⊙ h", s1.h}})
      show(name, formula, t.value());
    fmt::print("  the tape holds {} nodes; we wrote no backward for any of them\n", tape.size());

    // Step 2: backward of L = Σ h' ⊙ R, then the same gradients by hand, bottom-up.
    lesson.step("its backward: the tape vs the chain rule by hand");
    tape.backward(tg::sum(s1.h * Tensor(R)));
    const Array<double> &r = s1.r.value(), &z = s1.z.value(), &n = s1.n.value(), &hv = h.value();
    const std::size_t H = 4;
    const Array<double> b_all = xt::linalg::dot(hv, xt::transpose(cell.weight_hh.value())) + cell.bias_hh.value();
    const Array<double> b_n = xt::view(b_all, xt::all(), xt::range(2 * H, 3 * H));
    // in the forward pass this was h' = (1 − z) ⊙ n + z ⊙ h, so now:
    const Array<double> dn = R * (1 - z), dz = R * (hv - n), dh_direct = R * z;
    // n = tanh(n_pre), z = σ(z_pre): tanh' = 1 − n², σ' = z(1 − z)
    const Array<double> dn_pre = dn * (1 - n * n), dz_pre = dz * z * (1 - z);
    // n_pre = a_n + r ⊙ b_n, so r and b_n each get the other factor; then r = σ(r_pre)
    const Array<double> dr_pre = dn_pre * b_n * r * (1 - r), db_n = dn_pre * r;
    // a = x W_ihᵀ + b_ih and b = h W_hhᵀ + b_hh, whose three blocks got these gradients:
    const Array<double> da = xt::concatenate(xt::xtuple(dr_pre, dz_pre, dn_pre), 1);
    const Array<double> db = xt::concatenate(xt::xtuple(dr_pre, dz_pre, db_n), 1);
    const Array<double> dx = xt::linalg::dot(da, cell.weight_ih.value());
    const Array<double> dh = dh_direct + xt::linalg::dot(db, cell.weight_hh.value());
    const Array<double> dW_ih = xt::linalg::dot(xt::transpose(da), x.value()), db_ih = xt::sum(da, {0});
    const Array<double> dW_hh = xt::linalg::dot(xt::transpose(db), hv), db_hh = xt::sum(db, {0});
    fmt::print("  dn = g ⊙ (1 − z)   dz = g ⊙ (h − n)   dh += g ⊙ z       (g = dL/dh' = R)\n"
               "  dr = dn_pre ⊙ b_n  db_n = dn_pre ⊙ r   b_hn only reaches n through r\n"
               "  dx = [dr_pre dz_pre dn_pre] W_ih       dh += [dr_pre dz_pre db_n] W_hh\n"
               "  (so dbias_ih and dbias_hh agree on the r and z blocks and differ on n, where r scales b_hn)\n");
    const auto loss_of = [&] { return xt::sum(gru_step().h.value() * R)(); };
    lesson.gradient_table({{"x", x.grad(), dx, tg::finite_diff(loss_of, x)},
                           {"h", h.grad(), dh, tg::finite_diff(loss_of, h)},
                           {"weight_ih_l0", cell.weight_ih.grad(), dW_ih, tg::finite_diff(loss_of, cell.weight_ih)},
                           {"weight_hh_l0", cell.weight_hh.grad(), dW_hh, tg::finite_diff(loss_of, cell.weight_hh)},
                           {"bias_ih_l0", cell.bias_ih.grad(), db_ih, tg::finite_diff(loss_of, cell.bias_ih)},
                           {"bias_hh_l0", cell.bias_hh.grad(), db_hh, tg::finite_diff(loss_of, cell.bias_hh)}},
                          1e-8);
    // The table shows only the first values (the r block); the claim above is about n.
    fmt::print("  the two bias gradients block by block (tape):\n  {:<6} {:<36}   {}\n", "block", "dbias_ih_l0",
               "dbias_hh_l0");
    for (std::size_t k = 0; k < 3; ++k) {
      std::string ih, hh;
      for (std::size_t j = k * H; j < (k + 1) * H; ++j) {
        ih += fmt::format("{:+.5f} ", cell.bias_ih.grad()(j));
        hh += fmt::format("{:+.5f} ", cell.bias_hh.grad()(j));
      }
      fmt::print("  {:<6} {:<36}   {}\n", "rzn"[k], ih, hh);
    }
    const auto blocks = [&](const Array<double>& g, std::size_t from, std::size_t to) {
      return Array<double>(xt::view(g, xt::range(from * H, to * H)));
    };
    lesson.check("dbias_ih = dbias_hh on the r and z blocks", blocks(cell.bias_ih.grad(), 0, 2),
                 blocks(cell.bias_hh.grad(), 0, 2), 1e-15);
    lesson.check("n block: dbias_hh_n − dbias_ih_n = Σ_b dn_pre ⊙ (r − 1)",
                 Array<double>(blocks(cell.bias_hh.grad(), 2, 3) - blocks(cell.bias_ih.grad(), 2, 3)),
                 Array<double>(xt::sum(dn_pre * r - dn_pre, {0})), 1e-12);
    lesson.write_dot(s1.h);
  }

  // Step 3: the layer runs the step along T under the mask. B = 3 sequences of lengths 5, 3, 1.
  lesson.step("the GRU layer over a padded batch");
  my::GRU<double> gru(3, 4, rng);
  Tensor xs = random_leaf({3, 5, 3}, rng, "x");
  const tg::Mask mask = tg::sequence_mask(tg::Ids{5, 3, 1}, 5);
  const my::GRUOutput<double> out = gru.forward(xs, mask);
  fmt::print("  states (B,T,H) {}\n  h_n    (B,H)   {}\n", tg::summarize(out.states.value()),
             tg::summarize(out.h_n.value()));
  Array<double> last_real = xt::zeros<double>({3, 4});
  for (const auto& [b, t] : {std::pair{0, 4}, {1, 2}, {2, 0}})
    xt::view(last_real, b, xt::all()) = xt::view(out.states.value(), b, t, xt::all());
  lesson.check("h_n is the state at each sequence's last real token", out.h_n.value(), last_real, 0);
  lesson.check("states are exactly 0 at padding", zero_at_padding(out.states.value(), mask), 1, 0);
  // The length-3 sequence alone, unpadded (T = 3), must give the same states.
  const Tensor alone(Array<double>(xt::view(xs.value(), xt::range(1, 2), xt::range(0, 3), xt::all())));
  const Array<double> unpadded = gru.forward(alone, tg::sequence_mask(tg::Ids{3}, 3)).states.value();
  const Array<double> padded = xt::view(out.states.value(), xt::range(1, 2), xt::range(0, 3), xt::all());
  lesson.check("padding a sequence does not change its states", padded, unpadded, 1e-15);

  // Step 4: gradcheck perturbs every element of x and of each parameter in turn.
  lesson.step("gradcheck the GRU: the input and every named parameter, padding present");
  std::vector<Tensor> wrt{xs};
  for (const auto& [name, p] : gru.named_parameters()) {
    fmt::print("  {:<14} {}\n", name, tg::shape_str(p.shape()));
    wrt.push_back(p);
  }
  const auto gru_report = tg::gradcheck([&] { return gru.forward(xs, mask).states; }, wrt);
  fmt::print("  {}\n", gru_report.str());
  lesson.check("gradcheck passes for the GRU", gru_report.ok, 1, 0);
  lesson.check("dx is exactly 0 at padding", zero_at_padding(xs.grad(), mask), 1, 0);

  // Step 5: the new pooling on those GRU states (D = H = 4, A = 4).
  lesson.step("scaled dot-product attention pooling on the GRU's states");
  my::DotProductPooling<double> attention(4, 4, rng);
  Tensor states(out.states.value(), true, "states");
  const tg::Pooled<double> pooled = attention.forward(states, mask);
  const Array<double>& alpha = pooled.alpha.value();
  for (std::size_t b = 0; b < 3; ++b) {
    fmt::print("  α[{}] =", b);
    for (std::size_t t = 0; t < 5; ++t) fmt::print(" {:.4f}", alpha(b, t));
    fmt::print("\n");
  }
  fmt::print("  s (B,D) {}\n", tg::summarize(pooled.pooled.value()));
  lesson.check("α sums to 1 over each sequence's real tokens", Array<double>(xt::sum(alpha, {1})),
               Array<double>(xt::ones<double>({3})), 1e-15);
  lesson.check("α is exactly 0 at padding", double(xt::sum(xt::where(mask, 0.0, alpha))()), 0, 0);

  // Step 6: the same check for the pooling; f returns s and α side by side, so both are checked.
  lesson.step("gradcheck the pooling: the states and every named parameter");
  std::vector<Tensor> pool_wrt{states};
  for (const auto& [name, p] : attention.named_parameters()) {
    fmt::print("  {:<14} {}\n", name, tg::shape_str(p.shape()));
    pool_wrt.push_back(p);
  }
  const auto pool_report = tg::gradcheck(
      [&] {
        const tg::Pooled<double> p = attention.forward(states, mask);
        return tg::concat<double>({p.pooled, p.alpha}, 1);
      },
      pool_wrt);
  fmt::print("  {}\n", pool_report.str());
  lesson.check("gradcheck passes for the dot-product pooling", pool_report.ok, 1, 0);
  lesson.check("dstates is exactly 0 at padding", zero_at_padding(states.grad(), mask), 1, 0);

  // Step 7: the built-in tweets: 1,500 to train on, 500 to validate; the vocabulary from train.
  lesson.step("the built-in data and the majority-class baseline");
  const std::vector<tg::SyntheticTweet> tweets = tg::generate_tweets(2000, 6);
  const std::vector<tg::LabelledText> train_rows = rows(tweets, 0, 1500);
  const tg::Vocabulary vocab = tg::build_vocabulary(train_rows);
  const tg::EncodedData train_data = tg::encode_dataset(train_rows, vocab);
  const tg::EncodedData valid_data = tg::encode_dataset(rows(tweets, 1500, 2000), vocab);
  std::array<std::size_t, kClasses> counts{};
  for (auto label : train_data.labels) ++counts[std::size_t(label)];
  const std::size_t majority = std::size_t(std::max_element(counts.begin(), counts.end()) - counts.begin());
  const double baseline = double(std::count(valid_data.labels.begin(), valid_data.labels.end(), majority)) /
                          double(valid_data.labels.size());
  fmt::print("  {} train / {} valid tweets, vocabulary {}; always \"{}\" scores {:.3f} on valid\n",
             train_data.ids.size(), valid_data.ids.size(), vocab.size(), tg::kSentimentLabels[majority], baseline);

  // Step 8: the same loop trains each combination; only the model's type and pooling change.
  lesson.step("swap the pieces: train four small models (E = H = 16, 3 epochs, Adam 1e-2)");
  constexpr std::size_t kEpochs = 3;
  fmt::print("  {:<26} | {:>10} | {:>9} | {:>7}\n  {:-<26}-|-{:-<10}-|-{:-<9}-|-{:-<7}\n", "model", "parameters",
             "valid acc", "seconds", "", "", "", "");
  const auto run = [&](const char* label, auto& model) {
    const auto start = std::chrono::steady_clock::now();
    train(model, train_data, kEpochs);
    const double acc = accuracy(model, valid_data);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    fmt::print("  {:<26} | {:>10} | {:>9.3f} | {:>7.1f}\n", label, model.parameter_count(), acc, seconds);
    return acc;
  };
  TweetModel<tg::LSTM> lstm_attention(vocab.size(), PoolKind::attention, 1);
  TweetModel<my::GRU> gru_attention(vocab.size(), PoolKind::attention, 1);
  TweetModel<tg::LSTM> lstm_dot(vocab.size(), PoolKind::dot_product, 1);
  TweetModel<my::GRU> gru_dot(vocab.size(), PoolKind::dot_product, 1);
  const std::pair<const char*, double> results[] = {{"LSTM + attention", run("LSTM + attention (library)", lstm_attention)},
                                                     {"GRU + attention", run("GRU + attention", gru_attention)},
                                                     {"LSTM + dot-product", run("LSTM + dot-product pooling", lstm_dot)},
                                                     {"GRU + dot-product", run("GRU + dot-product pooling", gru_dot)}};
  fmt::print("  (one seed and 3 epochs: a gap of a few points is noise. `sentiment compare` trains\n"
             "   each pooling with several seeds; this loop is the shape of any new experiment.)\n");
  for (const auto& [name, acc] : results)
    lesson.check(fmt::format("{} beats the majority baseline ({:.3f} > {:.3f})", name, acc, baseline),
                 acc > baseline, 1, 0);
  return lesson.finish();
}
