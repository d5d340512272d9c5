// The sentiment classifier's configuration: the sizes, the encoder and the pooling by
// name (models/classifier/registry.hpp), and the encoder's own settings. A plain struct, so that
// the registry, the resource limits and the checkpoint reader can use it without the
// classifier (and the classifier can use them).
// Legend: V vocabulary, E embedding, H hidden, C classes.
#pragma once
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>

namespace tg {

struct ClassifierConfig {
  std::size_t vocab_size = 0;      // V
  std::size_t embedding_dim = 100; // E
  std::size_t hidden_size = 128;   // H: the recurrent encoders' state size
  std::size_t classes = 3;         // C
  std::string encoder = "lstm";    // a registered encoder's name
  std::string pooling = "attention";  // a registered pooling's name
  bool bidirectional = false;      // the recurrent encoders: a second direction (D = 2H)
  double embedding_dropout = 0;    // on the embedded tokens (B,T,E)
  double state_dropout = 0;        // on the pooled vector s (B,D), before the classifier
  std::uint64_t seed = 1;          // initial weights and dropout masks
  // Rows of the hashed character n-gram table whose mean joins each word's embedding
  // (Note [Subword features], models/data/subwords.hpp); 0: none, the model reads word ids alone.
  std::size_t subword_buckets = 0;
  // Settings an encoder declares beyond the ones above (EncoderEntry::settings), by name.
  // A setting left out takes the entry's default.
  std::map<std::string, double> encoder_settings = {};
};

}  // namespace tg
