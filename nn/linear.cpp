// Linear layer (see linear.hpp).
#include "nn/linear.hpp"

#include <cmath>

#include <fmt/format.h>

#include "nn/init.hpp"

namespace tg {

template <class T>
Linear<T>::Linear(std::size_t in, std::size_t out, std::mt19937_64& rng, bool with_bias)
    : in_features(in), out_features(out) {
  const double bound = 1.0 / std::sqrt(static_cast<double>(in));
  weight = this->register_parameter("weight", uniform_init<T>({out, in}, bound, rng));
  if (with_bias) bias = this->register_parameter("bias", uniform_init<T>({out}, bound, rng));
}

template <class T>
Tensor<T> Linear<T>::forward(const Tensor<T>& x) const {
  if (x.dim() == 0 || x.shape().back() != in_features)
    throw Error(fmt::format("Linear({}→{}): input {} does not end in {}", in_features, out_features,
                            shape_str(x.shape()), in_features));
  Shape out_shape(x.shape().begin(), x.shape().end());
  out_shape.back() = out_features;
  Tensor<T> rows = x.dim() == 2 ? x : reshape(x, {x.size() / in_features, in_features});
  Tensor<T> y = bias.defined() ? linear(rows, weight, bias) : matmul_transposed(rows, weight);
  return x.dim() == 2 ? y : reshape(std::move(y), out_shape);
}

template class Linear<float>;
template class Linear<double>;

}  // namespace tg
