// The "mean" pooling: the mean of the states over real positions (nn/pooling.hpp).
// Registered by its line in models/classifier/entries.def.
#include "models/classifier/registry.hpp"

namespace tg {

PoolingEntry mean_pooling() {
  return {
      .name = "mean",
      .description = "the mean of the states over the real positions",
      .module_name = "pooling",
      .make = {[](const ClassifierConfig&, std::size_t, bool, std::mt19937_64&) -> std::unique_ptr<Pooling<float>> {
                 return std::make_unique<MeanPooling<float>>();
               },
               [](const ClassifierConfig&, std::size_t, bool, std::mt19937_64&) -> std::unique_ptr<Pooling<double>> {
                 return std::make_unique<MeanPooling<double>>();
               }},
      .parameter_count = [](std::size_t) { return std::uint64_t{0}; },
      .activation_floats = [](std::size_t, std::size_t, bool) { return std::uint64_t{0}; },
  };
}

}  // namespace tg
