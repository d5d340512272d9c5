// Per-token explanations of one prediction (see explain.hpp).
#include "models/explain.hpp"

#include <optional>

#include <fmt/format.h>

#include "autograd/tape.hpp"
#include "models/data/batch.hpp"
#include "models/data/subwords.hpp"
#include "models/training/trainer.hpp"

namespace tg {
namespace {

// A batch of one sequence (label unused).
Batch one_sequence(const std::vector<std::int64_t>& ids) {
  const std::size_t row = 0;
  return make_batch({ids}, {0}, std::span<const std::size_t>(&row, 1));
}

// The subword bags of sequences of `tokens` when the model reads them (Note [Subword features]).
template <class T>
std::optional<Ids> bags_of(const SentimentClassifier<T>& model, const std::vector<std::vector<std::string>>& tokens,
                           std::size_t steps) {
  const std::size_t buckets = model.config().subword_buckets;
  if (buckets == 0) return std::nullopt;
  for (const std::vector<std::string>& row : tokens)
    if (row.empty()) throw Error("explain: a model with subwords needs each id's token, to read its n-grams");
  return subword_bags(tokens, steps, buckets);
}

}  // namespace

template <class T>
bool pooling_learns_alpha(const SentimentClassifier<T>& model) {
  return !model.pooling->named_parameters().empty();
}

template <class T>
Explanation explain_ids(SentimentClassifier<T>& model, const std::vector<std::int64_t>& ids,
                        const std::vector<std::string>& tokens) {
  if (ids.empty()) throw Error("explain: an empty sequence has nothing to explain");
  if (!tokens.empty() && tokens.size() != ids.size())
    throw Error(fmt::format("explain: {} tokens for {} ids", tokens.size(), ids.size()));
  model.eval();  // dropout off: the explanation is of the prediction `predict` makes
  Explanation out;
  const Batch batch = one_sequence(ids);
  const std::size_t T_len = ids.size();
  const std::optional<Ids> bags = bags_of(model, {tokens}, T_len);

  // The classifier's forward (models/classifier/classifier.cpp), piece by piece, on a tape, to keep
  // hold of x, the embedded tokens (1,T,E), whose gradient saliency needs.
  {
    Tape<T> tape;
    const Tensor<T> x = model.embedding_dropout.forward(model.embed(batch.ids, bags ? &*bags : nullptr));
    const Pooled<T> pooled = model.pooling->forward(model.encoder->encode(x, batch.mask), batch.mask);
    const Tensor<T> logits = model.classifier.forward(model.state_dropout.forward(pooled.pooled));
    const Tensor<T> p = softmax(logits, 1);  // (1,C)
    for (std::size_t c = 0; c < p.value().shape()[1]; ++c) out.probabilities.push_back(double(p.value()(0, c)));
    out.label = argmax_row(Array<float>(xt::cast<float>(p.value())), 0);
    if (pooling_learns_alpha(model)) {
      out.alpha.emplace();
      for (std::size_t t = 0; t < T_len; ++t) out.alpha->push_back(double(pooled.alpha.value()(0, t)));
      out.alpha_note = fmt::format("α: the weights the \"{}\" pooling learned", model.config().pooling);
    } else {
      out.alpha_note = fmt::format("α: none, the \"{}\" pooling's weights are fixed, not learned",
                                   model.config().pooling);
    }
    // saliency_t = Σ_e x_te · ∂p_ŷ/∂x_te
    tape.backward(select(select(p, 1, std::size_t(out.label)), 0, 0));
    for (std::size_t t = 0; t < T_len; ++t) {
      double s = 0;
      for (std::size_t e = 0; e < x.value().shape()[2]; ++e)
        s += double(x.value()(0, t, e)) * double(x.grad()(0, t, e));
      out.saliency.push_back(s);
    }
  }
  model.zero_grad();  // backward accumulated into the parameters; leave them as found

  // occlusion_t = p_ŷ − p_ŷ(ids without position t): the T shortened sequences in one batch.
  std::vector<std::vector<std::int64_t>> without(T_len, ids);
  std::vector<std::vector<std::string>> tokens_without(T_len, tokens);
  std::vector<std::size_t> rows(T_len);
  for (std::size_t t = 0; t < T_len; ++t) {
    without[t].erase(without[t].begin() + std::ptrdiff_t(t));
    if (!tokens.empty()) tokens_without[t].erase(tokens_without[t].begin() + std::ptrdiff_t(t));
    if (without[t].empty()) {
      without[t].push_back(Vocabulary::kUnk);
      tokens_without[t].assign(1, std::string(kUnkToken));
    }
    rows[t] = t;
  }
  const Batch shortened = make_batch(without, std::vector<std::int64_t>(T_len, 0), rows);
  const std::optional<Ids> shortened_bags = bags_of(model, tokens_without, shortened.ids.shape()[1]);
  const Ids* bags_without = shortened_bags ? &*shortened_bags : nullptr;
  Array<T> p_without;
  {
    NoGrad<T> no_grad;
    p_without = softmax(model.forward(shortened.ids, shortened.mask, bags_without).logits, 1).value();
  }
  const double p_label = out.probabilities[std::size_t(out.label)];
  for (std::size_t t = 0; t < T_len; ++t) out.occlusion.push_back(p_label - double(p_without(t, std::size_t(out.label))));
  return out;
}

template <class T>
Explanation explain_text(SentimentClassifier<T>& model, const Vocabulary& vocab, const std::string& text,
                         std::size_t max_tokens) {
  const std::vector<std::int64_t> ids = vocab.encode(text, max_tokens);
  std::vector<std::string> tokens = tokenize(text, max_tokens);
  if (tokens.empty()) tokens.emplace_back(kUnkToken);
  Explanation out = explain_ids(model, ids, tokens);
  out.tokens = std::move(tokens);
  for (const std::int64_t id : ids) out.known.push_back(id != Vocabulary::kUnk);
  return out;
}

template bool pooling_learns_alpha(const SentimentClassifier<float>&);
template bool pooling_learns_alpha(const SentimentClassifier<double>&);
template Explanation explain_ids(SentimentClassifier<float>&, const std::vector<std::int64_t>&,
                                 const std::vector<std::string>&);
template Explanation explain_ids(SentimentClassifier<double>&, const std::vector<std::int64_t>&,
                                 const std::vector<std::string>&);
template Explanation explain_text(SentimentClassifier<float>&, const Vocabulary&, const std::string&, std::size_t);
template Explanation explain_text(SentimentClassifier<double>&, const Vocabulary&, const std::string&, std::size_t);

}  // namespace tg
