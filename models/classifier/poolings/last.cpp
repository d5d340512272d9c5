// The "last" pooling: the state at each sequence's last real token (nn/pooling.hpp).
// Registered by its line in models/classifier/entries.def.
#include "models/classifier/registry.hpp"

namespace tg {

PoolingEntry last_pooling() {
  return {
      .name = "last",
      .description = "the state at the last real token (a reverse half: at the first)",
      .module_name = "pooling",
      .make = {[](const ClassifierConfig&, std::size_t, bool reversed_half, std::mt19937_64&)
                   -> std::unique_ptr<Pooling<float>> { return std::make_unique<LastStatePooling<float>>(reversed_half); },
               [](const ClassifierConfig&, std::size_t, bool reversed_half, std::mt19937_64&)
                   -> std::unique_ptr<Pooling<double>> { return std::make_unique<LastStatePooling<double>>(reversed_half); }},
      .parameter_count = [](std::size_t) { return std::uint64_t{0}; },
      .activation_floats = [](std::size_t, std::size_t, bool) { return std::uint64_t{0}; },
  };
}

}  // namespace tg
