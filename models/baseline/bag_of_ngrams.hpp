// The linear baseline (models/ layer, above autograd/ and nn/): logistic regression on a
// bag of word 1–2-grams, trained with tapegrad's own ops and Adam. The reference row a
// neural model has to beat on the same split, tokenizer and metrics.
//
//   features(tweet) = the distinct unigrams and bigrams of tokenize(tweet), each hashed
//                     (FNV-1a, the same on every platform) to a row 1..R−1 of the table
//   x = those rows with weight 1/√k each (k features: a unit-length vector, as TF-IDF's
//       L2 normalisation), 0 at padding
//   logits = Σ_f x_f · W[f] + b        W (R,C), b (C)
//   loss = cross-entropy + ½ λ ‖W‖²    (λ: Adam's coupled weight decay)
// Legend: B batch, F features per tweet (padded), R hashed rows, C classes.
#pragma once
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "autograd/tensor.hpp"
#include "models/data/dataset.hpp"
#include "models/training/metrics.hpp"

namespace tg {

struct BaselineOptions {
  std::size_t rows = std::size_t(1) << 18;  // hashed feature rows R (row 0 is padding)
  std::size_t epochs = 5;                   // the most epochs; the held-out split picks how many
  double lr = 0.01;
  std::size_t batch_size = 64;
  std::vector<double> weight_decays = {0.0, 1e-6, 1e-5, 1e-4};  // λ candidates
  double held_out = 0.1;  // the part of the TRAINING split that chooses λ and epochs
  std::uint64_t seed = 1;
};

// The feature rows of one text: its distinct unigrams and bigrams, hashed into 1..rows−1.
std::vector<std::int64_t> ngram_features(const std::string& text, std::size_t rows);

class BagOfNgrams {
 public:
  BagOfNgrams(std::size_t rows, std::size_t classes);
  // (B,C) logits of the feature rows of B texts (each non-empty).
  Tensor<float> forward(const std::vector<std::vector<std::int64_t>>& features) const;
  std::vector<int> predict(const std::vector<std::vector<std::int64_t>>& features) const;

  Tensor<float> weight;  // (R,C), starts at zero (a convex problem: no symmetry to break)
  Tensor<float> bias;    // (C)
};

struct BaselineResult {
  BagOfNgrams model;         // trained on all of train with the chosen settings
  double weight_decay = 0;   // the chosen λ
  std::size_t epochs = 0;    // the chosen number of epochs
  double held_out_accuracy = 0;
  Metrics valid;             // the final model on the validation split
};

// Chooses λ and the number of epochs on a stratified held-out part of `train`, retrains on
// all of `train` with them and scores `valid` once. Throws tg::Error when `train` has fewer
// than 2 rows per class or `valid` is empty.
BaselineResult train_baseline(const std::vector<LabelledText>& train, const std::vector<LabelledText>& valid,
                              const BaselineOptions& options = {});

// The trained model on other rows (e.g. a test split).
Metrics evaluate_baseline(const BagOfNgrams& model, const std::vector<LabelledText>& rows, std::size_t feature_rows);

}  // namespace tg
