// Transformer encoder layer, stack and encoder (see transformer.hpp).
#include "nn/transformer.hpp"

#include <fmt/format.h>

#include "nn/init.hpp"

namespace tg {

namespace {
void check_settings(const TransformerSettings& s) {
  if (s.d_model == 0 || s.heads == 0 || s.d_model % s.heads != 0)
    throw Error(fmt::format("Transformer: {} heads do not divide d_model = {}", s.heads, s.d_model));
  if (s.feedforward == 0 || s.layers == 0 || s.max_positions == 0)
    throw Error(fmt::format("Transformer: feedforward ({}), layers ({}) and max_positions ({}) must be positive",
                            s.feedforward, s.layers, s.max_positions));
}
}  // namespace

template <class T>
TransformerEncoderLayer<T>::TransformerEncoderLayer(const TransformerSettings& s, std::mt19937_64& rng)
    : self_attn(s.d_model, s.heads, rng, s.dropout),
      linear1(s.d_model, s.feedforward, rng),
      linear2(s.feedforward, s.d_model, rng),
      norm1(s.d_model),
      norm2(s.d_model),
      dropout_(s.dropout, rng()),
      dropout1_(s.dropout, rng()),
      dropout2_(s.dropout, rng()) {
  // PyTorch's state_dict order for this layer.
  this->register_module("self_attn", self_attn);
  this->register_module("linear1", linear1);
  this->register_module("dropout", dropout_);
  this->register_module("linear2", linear2);
  this->register_module("norm1", norm1);
  this->register_module("norm2", norm2);
  this->register_module("dropout1", dropout1_);
  this->register_module("dropout2", dropout2_);
}

template <class T>
AttentionOutput<T> TransformerEncoderLayer<T>::forward(const Tensor<T>& x, const Mask& mask) const {
  AttentionOutput<T> attention = self_attn.forward(norm1.forward(x), mask);
  const Tensor<T> x1 = x + dropout1_.forward(attention.output);                          // x′
  const Tensor<T> hidden = dropout_.forward(relu(linear1.forward(norm2.forward(x1))));  // (B,T,F)
  return {x1 + dropout2_.forward(linear2.forward(hidden)), attention.weights};            // x″
}

template <class T>
TransformerStack<T>::TransformerStack(const TransformerSettings& s, std::mt19937_64& rng) : norm(s.d_model) {
  check_settings(s);
  for (std::size_t l = 0; l < s.layers; ++l) {
    layers.push_back(std::make_unique<TransformerEncoderLayer<T>>(s, rng));
    this->register_module(fmt::format("layers.{}", l), *layers.back());
  }
  this->register_module("norm", norm);
}

template <class T>
TransformerEncoder<T>::TransformerEncoder(const TransformerSettings& s, std::mt19937_64& rng)
    : settings(s), transformer(s, rng) {
  position = this->register_parameter("position.weight", normal_init<T>({s.max_positions, s.d_model}, rng));
  this->register_module("transformer", transformer);
}

template <class T>
TransformerOutput<T> TransformerEncoder<T>::forward(const Tensor<T>& x, const Mask& mask) const {
  const std::size_t d = settings.d_model;
  if (x.dim() != 3 || x.shape()[2] != d || mask.dimension() != 2 || mask.shape()[0] != x.shape()[0] ||
      mask.shape()[1] != x.shape()[1])
    throw Error(fmt::format("TransformerEncoder(d_model={}): x {} and mask {} are not (B,T,{}) and (B,T)", d,
                            shape_str(x.shape()), shape_str(mask.shape()), d));
  const std::size_t steps = x.shape()[1];
  if (steps > settings.max_positions)
    throw Error(fmt::format("TransformerEncoder: {} positions, but max_positions is {}", steps,
                            settings.max_positions));
  // Rows 0…T−1 of the table, broadcast over the batch; rows T… get exactly zero gradient.
  Tensor<T> h = x + slice(position, 0, 0, steps);
  TransformerOutput<T> out;
  for (const auto& layer : transformer.layers) {
    AttentionOutput<T> step = layer->forward(h, mask);
    h = step.output;
    out.attention.push_back(step.weights);
  }
  out.states = transformer.norm.forward(h);
  return out;
}

template class TransformerEncoderLayer<float>;
template class TransformerEncoderLayer<double>;
template struct TransformerStack<float>;
template struct TransformerStack<double>;
template class TransformerEncoder<float>;
template class TransformerEncoder<double>;

}  // namespace tg
