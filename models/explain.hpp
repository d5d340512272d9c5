// Three answers to "which words decided this prediction?", per token of one text:
//
//   α          the attention weights: where the pooling looked (s = Σ_t α_t h_t). Only an
//              answer when the pooling learned them; "last" (one-hot) and "mean" (1/T)
//              fix them by construction, so for those α is absent and `alpha_note` says why.
//   saliency   gradient × input: Σ_e x_te · ∂p_ŷ/∂x_te, with x the embedded tokens (T,E)
//              and p_ŷ the probability of the predicted class. It is the first-order
//              estimate of how much p_ŷ falls when x_t is set to 0 (the <pad> embedding).
//   occlusion  leave one out: p_ŷ(text) − p_ŷ(text without token t), the model re-run on
//              T−1 tokens. Exact where saliency is a linearisation, at the cost of a
//              forward over T shortened copies (one batch).
//
// Both saliency and occlusion are signed: > 0 means the token supports the predicted
// class, < 0 that it argues against it. They can disagree with α and with each other:
// tutorials/10_explanation.cpp is the experiment, and the literature (Jain & Wallace 2019,
// "Attention is not Explanation"; Wiegreffe & Pinter 2019, "Attention is not not
// Explanation") is summarised there.
// Legend: T tokens, E embedding, C classes.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "models/classifier/classifier.hpp"
#include "models/data/text.hpp"

namespace tg {

struct Explanation {
  std::vector<std::string> tokens;    // as tokenize() gives them ("<unk>" for a text with none)
  std::vector<bool> known;            // false where the vocabulary maps the token to <unk>
  std::vector<double> probabilities;  // (C)
  int label = 0;                      // ŷ, the most probable class (ties: the lower)
  std::optional<std::vector<double>> alpha;  // (T) learned attention weights, or absent
  std::string alpha_note;             // what α is for this pooling, one line
  std::vector<double> saliency;       // (T) gradient × input of p_ŷ
  std::vector<double> occlusion;      // (T) p_ŷ − p_ŷ without token t
};

// True when the pooling's weights α are learned (it has parameters), so that α is a
// candidate explanation; false for "last" and "mean", whose α is fixed.
template <class T>
bool pooling_learns_alpha(const SentimentClassifier<T>& model);

// Explains the model's prediction on one sequence of token ids (non-empty; the model is put
// in evaluation mode). `tokens`/`known` of the result are left empty: explain_text fills them.
// Occlusion of a one-token sequence compares with the sequence [<unk>], which is what the
// model reads for an empty text. `tokens`, one per id, are needed when the model reads
// subwords (Note [Subword features]): their n-grams are part of its input.
template <class T>
Explanation explain_ids(SentimentClassifier<T>& model, const std::vector<std::int64_t>& ids,
                        const std::vector<std::string>& tokens = {});

// The same for a text, encoded as `predict` does (at most max_tokens tokens).
template <class T>
Explanation explain_text(SentimentClassifier<T>& model, const Vocabulary& vocab, const std::string& text,
                         std::size_t max_tokens = kMaxTokens);

}  // namespace tg
