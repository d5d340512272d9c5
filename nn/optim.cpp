// SGD, Adam(W) and clip_grad_norm (see optim.hpp for the update rules). Scalars
// such as bias corrections are computed in double, as PyTorch computes them in
// Python floats, and enter the arrays as T.
#include "nn/optim.hpp"

#include <cmath>
#include <string_view>

#include <fmt/format.h>
#include <xtensor/xmath.hpp>
#include <xtensor/xnoalias.hpp>

#include "autograd/fast/kernels.hpp"

namespace tg {

namespace {

template <class T>
NamedTensors<T> name_by_position(const std::vector<Tensor<T>>& params) {
  NamedTensors<T> out;
  for (const auto& p : params)
    out.emplace_back(p.defined() && !p.name().empty() ? p.name() : std::to_string(out.size()), p);
  return out;
}

void check_option(const char* kind, const char* option, double value, bool ok, const char* expected) {
  if (!ok) throw Error(fmt::format("{}: {} = {} (expected {})", kind, option, value, expected));
}

}  // namespace

// ---- Optimizer --------------------------------------------------------------

template <class T>
Optimizer<T>::Optimizer(NamedTensors<T> params, double lr, const char* kind)
    : params_(std::move(params)), kind_(kind), lr_(0) {
  set_lr(lr);
  for (const auto& [name, p] : params_)
    if (!p.defined() || !p.requires_grad() || p.op() != std::string_view("leaf"))
      throw Error(fmt::format("{}: parameter {} is not a leaf tensor that requires a gradient", kind, name));
}

template <class T>
Optimizer<T>::Optimizer(const std::vector<Tensor<T>>& params, double lr, const char* kind)
    : Optimizer(name_by_position(params), lr, kind) {}

template <class T>
void Optimizer<T>::set_lr(double lr) {
  check_option(kind_, "lr", lr, std::isfinite(lr) && lr >= 0, "a finite number ≥ 0");
  lr_ = lr;
}

template <class T>
void Optimizer<T>::zero_grad() {
  for (auto& [_, p] : params_) p.zero_grad();
}

// ---- SGD --------------------------------------------------------------------

template <class T>
SGD<T>::SGD(NamedTensors<T> params, SGDOptions options)
    : Optimizer<T>(std::move(params), options.lr, "SGD"), options_(options),
      momentum_buffer_(this->params_.size()) {
  validate();
}

template <class T>
SGD<T>::SGD(const std::vector<Tensor<T>>& params, SGDOptions options)
    : SGD(name_by_position(params), options) {}

template <class T>
void SGD<T>::validate() const {
  const auto& o = options_;
  check_option("SGD", "momentum", o.momentum, o.momentum >= 0, "≥ 0");
  check_option("SGD", "weight_decay", o.weight_decay, o.weight_decay >= 0, "≥ 0");
  check_option("SGD", "dampening", o.dampening, std::isfinite(o.dampening), "a finite number");
  if (o.nesterov && (o.momentum <= 0 || o.dampening != 0))
    throw Error("SGD: nesterov needs a momentum > 0 and zero dampening");
}

template <class T>
void SGD<T>::step() {
  const auto& o = options_;
  for (std::size_t i = 0; i < this->params_.size(); ++i) {
    Tensor<T>& p = this->params_[i].second;
    if (!p.has_grad()) continue;  // Note [Parameters without a gradient]
    Array<T> g = p.grad();
    if (o.weight_decay != 0) g += T(o.weight_decay) * p.value();
    if (o.momentum != 0) {
      auto& buf = momentum_buffer_[i];
      if (!buf) buf = g;
      else *buf = T(o.momentum) * *buf + T(1 - o.dampening) * g;
      g = o.nesterov ? Array<T>(g + T(o.momentum) * *buf) : *buf;
    }
    p.mutable_value() -= T(this->lr()) * g;
  }
}

// ---- Adam -------------------------------------------------------------------

template <class T>
Adam<T>::Adam(NamedTensors<T> params, AdamOptions options)
    : Optimizer<T>(std::move(params), options.lr, "Adam"), options_(options), state_(this->params_.size()) {
  validate();
}

template <class T>
Adam<T>::Adam(const std::vector<Tensor<T>>& params, AdamOptions options)
    : Adam(name_by_position(params), options) {}

template <class T>
void Adam<T>::validate() const {
  const auto& o = options_;
  check_option("Adam", "beta1", o.beta1, o.beta1 >= 0 && o.beta1 < 1, "in [0,1)");
  check_option("Adam", "beta2", o.beta2, o.beta2 >= 0 && o.beta2 < 1, "in [0,1)");
  check_option("Adam", "eps", o.eps, o.eps >= 0, "≥ 0");
  check_option("Adam", "weight_decay", o.weight_decay, o.weight_decay >= 0, "≥ 0");
}

template <class T>
void Adam<T>::step() {
  const auto& o = options_;
  const double lr = this->lr();
  for (std::size_t i = 0; i < this->params_.size(); ++i) {
    Tensor<T>& p = this->params_[i].second;
    if (!p.has_grad()) continue;  // Note [Parameters without a gradient]
    State& s = state_[i];
    if (s.step++ == 0) s.exp_avg = s.exp_avg_sq = xt::zeros<T>(p.shape());
    const double t = static_cast<double>(s.step);
    const T step_size = T(lr / (1 - std::pow(o.beta1, t)));
    const T bias_correction2_sqrt = T(std::sqrt(1 - std::pow(o.beta2, t)));
    const T decay = T(o.decoupled_weight_decay ? 0 : o.weight_decay);
    const T shrink = T(o.decoupled_weight_decay ? 1 - lr * o.weight_decay : 1);
    const T beta1 = T(o.beta1), beta2 = T(o.beta2), eps = T(o.eps);
    const T one_minus_beta1 = T(1 - o.beta1), one_minus_beta2 = T(1 - o.beta2);  // rounded once, from double
    T *w = p.mutable_value().data(), *m = s.exp_avg.data(), *v = s.exp_avg_sq.data();
    const T* grad = p.grad().data();
    // One pass over the parameter, in PyTorch's order of operations.
    for (std::size_t k = 0, n = p.size(); k < n; ++k) {
      w[k] *= shrink;
      const T g = decay != T(0) ? grad[k] + decay * w[k] : grad[k];
      m[k] = beta1 * m[k] + one_minus_beta1 * g;
      v[k] = beta2 * v[k] + one_minus_beta2 * g * g;
      w[k] -= step_size * m[k] / (std::sqrt(v[k]) / bias_correction2_sqrt + eps);
    }
  }
}

// ---- clip_grad_norm ---------------------------------------------------------

template <class T>
T clip_grad_norm(const std::vector<Tensor<T>>& params, double max_norm) {
  if (!(max_norm > 0)) throw Error(fmt::format("clip_grad_norm: max_norm = {} (expected > 0)", max_norm));
  double sum_sq = 0;
  for (const auto& p : params)
    if (p.has_grad()) sum_sq += fast::sum_lanes<double>(p.grad(), [](T g) { return double(g) * double(g); });
  const double norm = std::sqrt(sum_sq);
  const double scale = max_norm / (norm + 1e-6);
  if (std::isfinite(norm) && scale < 1)
    for (const auto& p : params)
      if (p.has_grad()) Tensor<T>(p).mutable_grad() *= T(scale);
  return static_cast<T>(norm);
}

template <class T>
T clip_grad_norm(const NamedTensors<T>& params, double max_norm) {
  std::vector<Tensor<T>> tensors;
  for (const auto& [_, p] : params) tensors.push_back(p);
  return clip_grad_norm(tensors, max_norm);
}

template <class T>
WeightAverage<T>::WeightAverage(NamedTensors<T> params, double decay) : params_(std::move(params)), decay_(decay) {
  if (!(decay > 0 && decay < 1)) throw Error(fmt::format("WeightAverage: decay {} is not in (0, 1)", decay));
  for (const auto& [_, p] : params_) sums_.push_back(xt::zeros<T>(p.value().shape()));
}

template <class T>
void WeightAverage<T>::update() {
  ++steps_;
  const auto d = T(decay_);
  for (std::size_t i = 0; i < sums_.size(); ++i)
    xt::noalias(sums_[i]) = d * sums_[i] + (T(1) - d) * params_[i].second.value();
}

template <class T>
void WeightAverage<T>::use_average() {
  if (steps_ == 0) throw Error("WeightAverage: use_average() before any update()");
  const auto scale = T(1 / (1 - std::pow(decay_, double(steps_))));
  trained_.clear();
  for (std::size_t i = 0; i < sums_.size(); ++i) {
    Array<T>& value = Tensor<T>(params_[i].second).mutable_value();
    trained_.push_back(value);
    value = sums_[i] * scale;
  }
}

template <class T>
void WeightAverage<T>::use_trained() {
  if (trained_.size() != sums_.size()) throw Error("WeightAverage: use_trained() without use_average()");
  for (std::size_t i = 0; i < sums_.size(); ++i) Tensor<T>(params_[i].second).mutable_value() = std::move(trained_[i]);
  trained_.clear();
}

#define TG_INSTANTIATE(T)                                                      \
  template class WeightAverage<T>;                                             \
  template class Optimizer<T>;                                                 \
  template class SGD<T>;                                                       \
  template class Adam<T>;                                                      \
  template T clip_grad_norm(const std::vector<Tensor<T>>&, double);            \
  template T clip_grad_norm(const NamedTensors<T>&, double);
TG_INSTANTIATE(float)
TG_INSTANTIATE(double)
#undef TG_INSTANTIATE

}  // namespace tg
