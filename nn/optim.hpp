// Optimisers and gradient clipping in PyTorch 1.13's formulation and defaults
// (torch.optim.SGD, torch.optim.Adam, torch.nn.utils.clip_grad_norm_). They update
// the leaf tensors of nn/ modules in place, through their dotted names.
#pragma once
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "nn/module.hpp"

namespace tg {

// Note [Parameters without a gradient]
// PyTorch skips a parameter whose .grad is None: no update, no weight decay, and its
// step count and moments do not advance. Our None is !has_grad(): a tensor that no
// backward has reached. A tensor whose gradient is zero is not skipped — embedding
// rows a batch did not use still move under Adam's momentum, as in PyTorch — and
// zero_grad() keeps gradients, filled with zeros, as PyTorch 1.13's default
// zero_grad(set_to_none=False) does.

template <class T>
class Optimizer {
 public:
  // Tensors without a name are called "0", "1", … by position, as in PyTorch's state_dict.
  Optimizer(NamedTensors<T> params, double lr, const char* kind);
  Optimizer(const std::vector<Tensor<T>>& params, double lr, const char* kind);
  virtual ~Optimizer() = default;

  virtual void step() = 0;
  void zero_grad();

  const NamedTensors<T>& params() const { return params_; }
  double lr() const { return lr_; }
  void set_lr(double lr);  // for schedules; throws when negative or not finite

 protected:
  NamedTensors<T> params_;
  const char* kind_;  // "SGD", "Adam": error messages name the optimiser

 private:
  double lr_;
};

// lr has no default in PyTorch's SGD; NaN stands for "not given" and is rejected.
struct SGDOptions {
  double lr = std::numeric_limits<double>::quiet_NaN();
  double momentum = 0;
  double weight_decay = 0;
  double dampening = 0;
  bool nesterov = false;
};

// Per parameter p with gradient g, as torch.optim.SGD:
//   g ← g + weight_decay·p
//   buf ← g on the first step, else momentum·buf + (1 − dampening)·g     (momentum ≠ 0)
//   g ← g + momentum·buf if nesterov, else buf                          (momentum ≠ 0)
//   p ← p − lr·g
template <class T>
class SGD : public Optimizer<T> {
 public:
  SGD(NamedTensors<T> params, SGDOptions options);
  SGD(const std::vector<Tensor<T>>& params, SGDOptions options);
  void step() override;

 private:
  void validate() const;
  SGDOptions options_;
  std::vector<std::optional<Array<T>>> momentum_buffer_;  // none before the parameter's first step
};

// decoupled_weight_decay = true is AdamW (torch.optim.AdamW, whose default
// weight_decay is 1e-2: pass it explicitly).
struct AdamOptions {
  double lr = 1e-3;
  double beta1 = 0.9, beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 0;
  bool decoupled_weight_decay = false;
};

// Per parameter p with gradient g, at its t-th step (t = 1, 2, …), as torch.optim.Adam:
//   g ← g + weight_decay·p             (Adam: L2 decay enters the moments)
//   p ← p·(1 − lr·weight_decay)        (AdamW instead: decay bypasses the moments)
//   m ← β₁·m + (1 − β₁)·g              v ← β₂·v + (1 − β₂)·g²
//   denom = √v / √(1 − β₂ᵗ) + ε        step_size = lr / (1 − β₁ᵗ)
//   p ← p − step_size · m / denom
template <class T>
class Adam : public Optimizer<T> {
 public:
  Adam(NamedTensors<T> params, AdamOptions options = {});
  Adam(const std::vector<Tensor<T>>& params, AdamOptions options = {});
  void step() override;

 private:
  struct State {
    std::size_t step = 0;
    Array<T> exp_avg, exp_avg_sq;  // m and v
  };
  void validate() const;
  AdamOptions options_;
  std::vector<State> state_;
};

// The L2 norm of all gradients taken together (computed in double), returned as it
// was BEFORE clipping; then every gradient is scaled by min(1, max_norm/(norm + 1e-6)),
// as torch.nn.utils.clip_grad_norm_. Tensors without a gradient are left out. A
// non-finite norm is returned and nothing is scaled (PyTorch would multiply by 0 or
// NaN), so the caller sees it and the gradients still show where it came from.
template <class T>
T clip_grad_norm(const std::vector<Tensor<T>>& params, double max_norm);
template <class T>
T clip_grad_norm(const NamedTensors<T>& params, double max_norm);

// An exponential moving average of parameters' values (Polyak averaging, as
// torch.optim.swa_utils.AveragedModel with an EMA avg_fn, plus Adam's bias correction):
// update() after each optimiser step keeps s ← d·s + (1 − d)·w, s₀ = 0; use_average()
// puts w̄ = s / (1 − dᵗ) into the parameters after t updates (the weights of the last
// ~1/(1 − d) steps) and keeps the trained values aside; use_trained() puts those back.
template <class T>
class WeightAverage {
 public:
  WeightAverage(NamedTensors<T> params, double decay);  // decay d in (0, 1)
  void update();
  void use_average();  // after at least one update()
  void use_trained();  // after use_average()

 private:
  NamedTensors<T> params_;
  double decay_;
  std::size_t steps_ = 0;
  std::vector<Array<T>> sums_, trained_;  // s per parameter; the trained values while w̄ is in use
};

}  // namespace tg
