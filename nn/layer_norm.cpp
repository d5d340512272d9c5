// LayerNorm module (see layer_norm.hpp).
#include "nn/layer_norm.hpp"

#include <fmt/format.h>

namespace tg {

template <class T>
LayerNorm<T>::LayerNorm(std::size_t features, double eps) : features(features), eps(eps) {
  if (features == 0) throw Error("LayerNorm: features must be positive");
  weight = this->register_parameter("weight", xt::ones<T>({features}));
  bias = this->register_parameter("bias", xt::zeros<T>({features}));
}

template <class T>
Tensor<T> LayerNorm<T>::forward(const Tensor<T>& x) const {
  if (x.dim() == 0 || x.shape().back() != features)
    throw Error(fmt::format("LayerNorm({}): input {} does not end in {}", features, shape_str(x.shape()), features));
  return layer_norm(x, weight, bias, static_cast<T>(eps));
}

template class LayerNorm<float>;
template class LayerNorm<double>;

}  // namespace tg
