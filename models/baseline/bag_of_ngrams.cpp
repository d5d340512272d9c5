// The bag-of-n-grams logistic regression (see the header for its equations): hashed
// features, a masked weighted sum of gathered rows, Adam with L2 weight decay, and the
// choice of λ and epochs on a held-out part of the training split, never on valid.
#include "models/baseline/bag_of_ngrams.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "autograd/ops.hpp"
#include "autograd/tape.hpp"
#include "models/data/batch.hpp"
#include "nn/optim.hpp"

namespace tg {

namespace {

// FNV-1a, 64 bits: a fixed hash, so a feature's row is the same on every platform
// (std::hash is not specified).
std::uint64_t fnv1a(const std::string& text) {
  std::uint64_t h = 14695981039346656037ull;
  for (unsigned char c : text) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

std::vector<std::vector<std::int64_t>> features_of(const std::vector<LabelledText>& rows, std::size_t feature_rows) {
  std::vector<std::vector<std::int64_t>> out;
  out.reserve(rows.size());
  for (const LabelledText& row : rows) out.push_back(ngram_features(row.text, feature_rows));
  return out;
}

std::vector<std::int64_t> labels_of(const std::vector<LabelledText>& rows) {
  std::vector<std::int64_t> out;
  for (const LabelledText& row : rows) out.push_back(row.label);
  return out;
}

std::vector<int> truth_of(const std::vector<LabelledText>& rows) {
  std::vector<int> out;
  for (const LabelledText& row : rows) out.push_back(row.label);
  return out;
}

// One epoch of Adam steps over shuffled batches.
void train_epoch(const BagOfNgrams& model, Adam<float>& adam, const Batcher& batcher,
                 const std::vector<std::vector<std::int64_t>>& features, std::size_t epoch) {
  for (const Batch& batch : batcher.epoch(epoch)) {
    std::vector<std::vector<std::int64_t>> rows;
    for (std::size_t r : batch.rows) rows.push_back(features[r]);
    adam.zero_grad();
    Tape<float> tape;
    tape.backward(cross_entropy(model.forward(rows), batch.labels));
    adam.step();
  }
}

double accuracy(const BagOfNgrams& model, const std::vector<std::vector<std::int64_t>>& features,
                const std::vector<LabelledText>& rows) {
  return compute_metrics(truth_of(rows), model.predict(features), kSentimentLabels.size()).accuracy;
}

}  // namespace

std::vector<std::int64_t> ngram_features(const std::string& text, std::size_t rows) {
  if (rows < 2) throw Error(fmt::format("ngram_features: {} rows leave none beside the padding row", rows));
  std::vector<std::string> tokens = tokenize(text);
  if (tokens.empty()) tokens.emplace_back(kUnkToken);  // as Vocabulary::encode: never an empty sequence
  std::vector<std::string> grams = tokens;
  for (std::size_t i = 0; i + 1 < tokens.size(); ++i) grams.push_back(tokens[i] + " " + tokens[i + 1]);
  std::vector<std::int64_t> out;
  for (const std::string& gram : grams) out.push_back(std::int64_t(1 + fnv1a(gram) % (rows - 1)));
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

BagOfNgrams::BagOfNgrams(std::size_t rows, std::size_t classes)
    : weight(Array<float>(xt::zeros<float>({rows, classes})), true, "weight"),
      bias(Array<float>(xt::zeros<float>({classes})), true, "bias") {}

Tensor<float> BagOfNgrams::forward(const std::vector<std::vector<std::int64_t>>& features) const {
  std::vector<std::size_t> rows(features.size());
  for (std::size_t i = 0; i < rows.size(); ++i) rows[i] = i;
  const Batch batch = make_batch(features, std::vector<std::int64_t>(features.size(), 0), rows);
  // x (B,F,1): 1/√k at a tweet's k real features, 0 at padding (row 0 then gets no gradient).
  const std::size_t B = batch.ids.shape(0), F = batch.ids.shape(1);
  Array<float> x = xt::zeros<float>({B, F, std::size_t(1)});
  for (std::size_t b = 0; b < B; ++b)
    for (std::size_t f = 0; f < F; ++f)
      if (batch.mask(b, f)) x(b, f, 0) = 1.0f / std::sqrt(float(batch.lengths(b)));
  const Tensor<float> rows_bfc = gather(weight, batch.ids);                   // (B,F,C)
  const Tensor<float> summed = sum(mul(rows_bfc, Tensor<float>(std::move(x))), 1);  // (B,C)
  return add(summed, bias);
}

std::vector<int> BagOfNgrams::predict(const std::vector<std::vector<std::int64_t>>& features) const {
  NoGrad<float> no_grad;
  std::vector<int> out;
  constexpr std::size_t kChunk = 1024;
  for (std::size_t start = 0; start < features.size(); start += kChunk) {
    const std::size_t stop = std::min(features.size(), start + kChunk);
    const std::vector<std::vector<std::int64_t>> chunk(features.begin() + long(start), features.begin() + long(stop));
    const Array<float> logits = forward(chunk).value();
    for (std::size_t b = 0; b < chunk.size(); ++b) {
      int best = 0;
      for (std::size_t c = 1; c < logits.shape(1); ++c)
        if (logits(b, c) > logits(b, std::size_t(best))) best = int(c);
      out.push_back(best);
    }
  }
  return out;
}

Metrics evaluate_baseline(const BagOfNgrams& model, const std::vector<LabelledText>& rows, std::size_t feature_rows) {
  if (rows.empty()) throw Error("baseline: no rows to evaluate");
  return compute_metrics(truth_of(rows), model.predict(features_of(rows, feature_rows)), kSentimentLabels.size());
}

BaselineResult train_baseline(const std::vector<LabelledText>& train, const std::vector<LabelledText>& valid,
                              const BaselineOptions& options) {
  if (valid.empty()) throw Error("baseline: the validation split is empty");
  if (options.weight_decays.empty() || options.epochs == 0) throw Error("baseline: nothing to choose from");
  const DatasetSplit parts = split_dataset(train, options.seed, options.held_out, 0);
  if (parts.train.empty() || parts.valid.empty())
    throw Error(fmt::format("baseline: {} training rows are too few to hold some out for choosing settings",
                            train.size()));
  const BatchOptions batching{.batch_size = options.batch_size, .shuffle = true, .seed = options.seed};
  const std::size_t classes = kSentimentLabels.size();

  // Choose λ and the epoch count on the held-out part: train on the rest, score each epoch.
  BaselineResult result{.model = BagOfNgrams(options.rows, classes)};
  result.held_out_accuracy = -1;
  const auto fit_features = features_of(parts.train, options.rows);
  const auto held_features = features_of(parts.valid, options.rows);
  const Batcher fit_batches(fit_features, labels_of(parts.train), batching);
  for (double decay : options.weight_decays) {
    const BagOfNgrams model(options.rows, classes);
    Adam<float> adam(std::vector<Tensor<float>>{model.weight, model.bias}, {.lr = options.lr, .weight_decay = decay});
    for (std::size_t epoch = 1; epoch <= options.epochs; ++epoch) {
      train_epoch(model, adam, fit_batches, fit_features, epoch);
      const double held = accuracy(model, held_features, parts.valid);
      if (held > result.held_out_accuracy) {
        result.held_out_accuracy = held;
        result.weight_decay = decay;
        result.epochs = epoch;
      }
    }
  }

  // Retrain on all of train with the chosen settings; score valid once.
  const auto all_features = features_of(train, options.rows);
  const Batcher all_batches(all_features, labels_of(train), batching);
  Adam<float> adam(std::vector<Tensor<float>>{result.model.weight, result.model.bias},
                   {.lr = options.lr, .weight_decay = result.weight_decay});
  for (std::size_t epoch = 1; epoch <= result.epochs; ++epoch)
    train_epoch(result.model, adam, all_batches, all_features, epoch);
  result.valid = evaluate_baseline(result.model, valid, options.rows);
  return result;
}

}  // namespace tg
