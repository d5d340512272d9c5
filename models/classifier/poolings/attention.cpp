// The "attention" pooling: Hierarchical Attention Networks' (nn/pooling.hpp). Its module
// is called "attention", as in PyTorch's model. Registered by its line in models/classifier/entries.def.
#include "models/classifier/registry.hpp"

namespace tg {

PoolingEntry attention_pooling() {
  return {
      .name = "attention",
      .description = "a learned softmax weighting of the states (Yang et al. 2016)",
      .module_name = "attention",
      .make = {[](const ClassifierConfig&, std::size_t dim, bool, std::mt19937_64& rng) -> std::unique_ptr<Pooling<float>> {
                 return std::make_unique<AttentionPooling<float>>(dim, rng);
               },
               [](const ClassifierConfig&, std::size_t dim, bool, std::mt19937_64& rng) -> std::unique_ptr<Pooling<double>> {
                 return std::make_unique<AttentionPooling<double>>(dim, rng);
               }},
      .parameter_count = [](std::size_t dim) { return std::uint64_t{dim} * dim + dim + dim; },  // proj, its bias, u_w
      // A few D-sized values per token, inside the encoders' measured constants.
      .activation_floats = [](std::size_t, std::size_t, bool) { return std::uint64_t{0}; },
  };
}

}  // namespace tg
