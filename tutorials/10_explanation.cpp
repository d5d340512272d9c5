// Lesson 10 — is attention an explanation?
// Attention pooling hands back α, one weight per word, and it is tempting to read α as
// "the words that decided". This lesson tests that reading on the built-in tweets, whose
// deciding words are known (each positive or negative tweet holds one cue phrase, such as
// "lost my bag" or "not bad"). It trains two small models, a one-directional LSTM and a
// bidirectional one, both with attention pooling, and puts α (before and after training)
// beside two other answers to "which words mattered?" (models/explain.hpp):
//   gradient × input  Σ_e x_te ∂p_ŷ/∂x_te, the first-order change in the predicted class's
//                     probability if word t's embedding were zeroed;
//   leave-one-out     p_ŷ − p_ŷ(the tweet without word t), the model re-run.
// It checks each the other way round (saliency by central differences in double, occlusion by
// a direct forward of each shortened tweet), counts over held-out tweets how often each answer
// points into the cue, and ends with what the literature says (Jain & Wallace 2019; Wiegreffe &
// Pinter 2019). Exits non-zero when a check fails.
// Legend: T tokens, E embedding, H hidden, D state size (H, or 2H bidirectional), C classes.
// Run: ./10_explanation [--step] (about 10 s on one core)
#include <algorithm>
#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <xtensor/xview.hpp>

#include "autograd/autograd.hpp"
#include "lesson.hpp"
#include "models/data/batch.hpp"
#include "models/classifier/classifier.hpp"
#include "models/data/dataset.hpp"
#include "models/explain.hpp"
#include "models/data/synthetic_tweets.hpp"
#include "models/data/text.hpp"
#include "models/training/trainer.hpp"

extern "C" void openblas_set_num_threads(int);

using tg::Array;

namespace {

constexpr std::size_t kTrain = 3000, kValid = 600, kHeldOut = 300;  // tweets
constexpr std::size_t kEmbedding = 16, kHidden = 16, kEpochs = 6;

// Where the cue phrase sits among a tweet's tokens: positions [first, last].
struct CueSpan {
  bool found = false;
  std::size_t first = 0, last = 0;
  bool contains(std::size_t t) const { return found && t >= first && t <= last; }
};

CueSpan find_cue(const std::vector<std::string>& tokens, const std::vector<std::string>& cue) {
  if (cue.empty() || cue.size() > tokens.size()) return {};
  for (std::size_t start = 0; start + cue.size() <= tokens.size(); ++start)
    if (std::equal(cue.begin(), cue.end(), tokens.begin() + std::ptrdiff_t(start)))
      return {true, start, start + cue.size() - 1};
  return {};
}

std::size_t argmax(const std::vector<double>& v) {
  return std::size_t(std::max_element(v.begin(), v.end()) - v.begin());
}

// Kendall's τ_b between two scorings of the same words: +1 same order, 0 unrelated, −1 reversed.
double kendall_tau(const std::vector<double>& a, const std::vector<double>& b) {
  double concordant = 0, discordant = 0, ties_a = 0, ties_b = 0;
  for (std::size_t i = 0; i < a.size(); ++i)
    for (std::size_t j = i + 1; j < a.size(); ++j) {
      const double da = a[i] - a[j], db = b[i] - b[j];
      if (da == 0 && db == 0) continue;
      if (da == 0) ++ties_a;
      else if (db == 0) ++ties_b;
      else if ((da > 0) == (db > 0)) ++concordant;
      else ++discordant;
    }
  const double denominator = std::sqrt((concordant + discordant + ties_a) * (concordant + discordant + ties_b));
  return denominator > 0 ? (concordant - discordant) / denominator : 0;
}

std::vector<tg::LabelledText> rows(const std::vector<tg::SyntheticTweet>& tweets, std::size_t from, std::size_t to) {
  std::vector<tg::LabelledText> out;
  for (std::size_t i = from; i < to; ++i) out.push_back({tweets[i].text, tweets[i].label, i + 1});
  return out;
}

// The same model in double, for checks at 1e-8 (Note [Two scalar types] in autograd/tensor.hpp).
std::unique_ptr<tg::SentimentClassifier<double>> in_double(const tg::SentimentClassifier<float>& model) {
  auto copy = std::make_unique<tg::SentimentClassifier<double>>(model.config());
  const tg::NamedTensors<float> from = model.named_parameters();
  tg::NamedTensors<double> to = copy->named_parameters();
  for (std::size_t i = 0; i < from.size(); ++i) to[i].second.mutable_value() = xt::cast<double>(from[i].second.value());
  copy->eval();
  return copy;
}

// p (1,C) from the embedded tokens x (1,T,E): the classifier's forward after its embedding.
Array<double> probabilities_from_x(tg::SentimentClassifier<double>& model, const Array<double>& x, const tg::Mask& mask) {
  tg::NoGrad<double> no_grad;
  const tg::Tensor<double> states = model.encoder->encode(tg::Tensor<double>(x), mask);
  return tg::softmax(model.classifier.forward(model.pooling->forward(states, mask).pooled), 1).value();
}

// A text's words, wrapped before 96 columns, indented.
void print_wrapped(const std::string& text) {
  std::string line = "      ";
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find(' ', start);
    if (end == std::string::npos) end = text.size();
    const std::string word = text.substr(start, end - start);
    if (line.size() > 6 && line.size() + 1 + word.size() > 96) {
      fmt::print("{}\n", line);
      line = "      ";
    }
    line += (line.size() > 6 ? " " : "") + word;
    start = end + 1;
  }
  fmt::print("{}\n", line);
}

tg::Batch one(const std::vector<std::int64_t>& ids) {
  const std::size_t row = 0;
  return tg::make_batch({ids}, {0}, std::span<const std::size_t>(&row, 1));
}

struct Tally {  // over the held-out cue tweets a model gets right
  std::size_t tweets = 0, multiword = 0;
  std::size_t top_in_cue[3] = {};  // α, grad×input, leave-one-out
  std::size_t alpha_at[5] = {};    // α's top word in a 2+-word cue: first, inside, last, just after, elsewhere
  double tau_alpha_loo = 0, tau_saliency_loo = 0;
};

}  // namespace

int main(int argc, char** argv) {
  tg::Lesson lesson("Lesson 10: is attention an explanation?",
                    "α beside gradient × input and leave-one-out, before and after training, LSTM vs BiLSTM");
  if (auto code = lesson.parse(argc, argv)) return *code;
  openblas_set_num_threads(1);  // the same weights on every machine: one BLAS thread

  // Step 1: the built-in tweets; every positive or negative one holds a known cue phrase.
  lesson.step("the data: built-in tweets whose deciding words are known");
  const std::vector<tg::SyntheticTweet> tweets = tg::generate_tweets(kTrain + kValid + kHeldOut, 10);
  const std::vector<tg::LabelledText> train_rows = rows(tweets, 0, kTrain);
  const tg::Vocabulary vocab = tg::build_vocabulary(train_rows);
  const tg::EncodedData train = tg::encode_dataset(train_rows, vocab);
  const tg::EncodedData valid = tg::encode_dataset(rows(tweets, kTrain, kTrain + kValid), vocab);
  fmt::print("  {} train, {} valid, {} held out for the explanations; vocabulary {}\n", kTrain, kValid, kHeldOut,
             vocab.size());
  // Three short held-out tweets to look at word by word: a plain negative cue, a negated
  // cue (whose sentiment word alone says the opposite), and a positive one.
  std::vector<std::size_t> shown;
  for (const char* kind : {"negative", "negated", "positive"})
    for (std::size_t i = kTrain + kValid; i < tweets.size(); ++i) {
      const tg::SyntheticTweet& tw = tweets[i];
      const std::vector<std::string> tokens = tg::tokenize(tw.text);
      const bool negated = !tw.cue_words.empty() &&
                           (tw.cue_words[0] == "not" || tw.cue_words[0] == "never" || tw.cue_words[0] == "no");
      const bool wanted = std::string(kind) == "negated" ? negated
                          : std::string(kind) == "negative" ? tw.label == 0 && !negated
                                                             : tw.label == 2 && !negated;
      if (!tw.flipped && wanted && tokens.size() <= 13 && find_cue(tokens, tw.cue_words).found &&
          std::find(shown.begin(), shown.end(), i) == shown.end()) {
        shown.push_back(i);
        break;
      }
    }
  for (const std::size_t i : shown) {
    fmt::print("  [{}] {}, cue \"{}\":\n", i, tg::kSentimentLabels[tweets[i].label], fmt::join(tweets[i].cue_words, " "));
    print_wrapped(tweets[i].text);
  }
  lesson.check("three short held-out tweets to read", double(shown.size()), 3, 0);

  // Step 2: two models that differ only in direction: D = H one way, D = 2H both ways.
  lesson.step("two models: LSTM → attention, and BiLSTM ↔ attention (E = H = 16)");
  tg::ClassifierConfig config{.vocab_size = vocab.size(), .embedding_dim = kEmbedding, .hidden_size = kHidden};
  tg::SentimentClassifier<float> uni(config);
  config.bidirectional = true;
  tg::SentimentClassifier<float> bi(config);
  fmt::print("  LSTM → : {} parameters; BiLSTM ↔ : {} parameters\n", uni.parameter_count(), bi.parameter_count());
  // α before training: the attention parameters are random, so α is near 1/T, but not equal.
  std::vector<tg::Explanation> before;
  for (const std::size_t i : shown) before.push_back(tg::explain_text(uni, vocab, tweets[i].text));

  // Step 3: the library's training loop (models/training/trainer.hpp): Adam, clipping, best epoch.
  lesson.step(fmt::format("train both: {} epochs, Adam 5e-3, batch 32, best validation epoch kept", kEpochs));
  tg::TrainOptions options{.lr = 5e-3, .batch_size = 32, .epochs = kEpochs};
  double majority = 0;
  for (const auto label : valid.labels) majority += label == 0;
  majority /= double(valid.labels.size());
  for (const auto& [name, model] : {std::pair<const char*, tg::SentimentClassifier<float>*>{"LSTM → ", &uni},
                                    {"BiLSTM ↔", &bi}}) {
    const tg::TrainingHistory history = tg::train_classifier(*model, train, valid, options);
    fmt::print("  {}: valid accuracy {:.4f} (best of {} epochs: epoch {}); always \"negative\": {:.4f}\n", name,
               history.best_valid.accuracy, history.epochs.size(), history.best_epoch, majority);
    lesson.check(fmt::format("{} beats the majority class", name), history.best_valid.accuracy > majority + 0.1, 1, 0);
  }

  // Step 4: one tweet at a time, the three answers side by side for the LSTM → model.
  lesson.step("α before and after training, beside gradient × input and leave-one-out (LSTM →)");
  fmt::print("  grad×input and leave-one-out are changes in p(predicted class); > 0: the word supports it.\n"
             "  ◆ marks the cue's words.\n");
  for (std::size_t k = 0; k < shown.size(); ++k) {
    const tg::SyntheticTweet& tw = tweets[shown[k]];
    const tg::Explanation e = tg::explain_text(uni, vocab, tw.text);
    const CueSpan cue = find_cue(e.tokens, tw.cue_words);
    fmt::print("\n  [{}] {} tweet, predicted {} (p = {:.3f})\n", shown[k], tg::kSentimentLabels[tw.label],
               tg::kSentimentLabels[e.label], e.probabilities[std::size_t(e.label)]);
    fmt::print("    {:<12}    {:>8} {:>8} {:>12} {:>14}\n", "word", "α before", "α after", "grad×input",
               "leave-one-out");
    for (std::size_t t = 0; t < e.tokens.size(); ++t)
      fmt::print("    {:<12} {} {:>8.3f} {:>8.3f} {:>+12.4f} {:>+14.4f}\n", e.tokens[t], cue.contains(t) ? "◆" : " ",
                 (*before[k].alpha)[t], (*e.alpha)[t], e.saliency[t], e.occlusion[t]);
    fmt::print("    top word: α \"{}\", grad×input \"{}\", leave-one-out \"{}\"; 1/T = {:.3f}\n",
               e.tokens[argmax(*e.alpha)], e.tokens[argmax(e.saliency)], e.tokens[argmax(e.occlusion)],
               1.0 / double(e.tokens.size()));
  }

  // Step 5: each answer computed a second way, in double.
  //  - gradient × input is a directional derivative: Σ_e x_te ∂p/∂x_te = d/dε p(x with
  //    x_t scaled by 1 + ε) at ε = 0, so a central difference in ε must give the same number;
  //  - leave-one-out is a forward of the shortened tweet, done here one tweet at a time
  //    (explain_ids runs all T shortened copies as one padded batch).
  lesson.step("each answer the other way round: central differences, and one forward per word");
  const std::unique_ptr<tg::SentimentClassifier<double>> uni64 = in_double(uni);
  double saliency_diff = 0, occlusion_diff = 0, largest = 0;
  for (const std::size_t i : shown) {
    const std::vector<std::int64_t> ids = vocab.encode(tweets[i].text);
    const tg::Explanation e = tg::explain_ids(*uni64, ids);
    const std::size_t y = std::size_t(e.label);
    const tg::Batch batch = one(ids);
    const Array<double> x = [&] {
      tg::NoGrad<double> no_grad;
      return Array<double>(uni64->embedding.forward(batch.ids).value());
    }();
    constexpr double eps = 1e-6;
    for (std::size_t t = 0; t < ids.size(); ++t) {
      Array<double> plus = x, minus = x;
      xt::view(plus, 0, t) *= 1 + eps;
      xt::view(minus, 0, t) *= 1 - eps;
      const double by_differences = (probabilities_from_x(*uni64, plus, batch.mask)(0, y) -
                                     probabilities_from_x(*uni64, minus, batch.mask)(0, y)) / (2 * eps);
      saliency_diff = std::max(saliency_diff, std::abs(by_differences - e.saliency[t]));
      largest = std::max(largest, std::abs(e.saliency[t]));

      std::vector<std::int64_t> without = ids;
      without.erase(without.begin() + std::ptrdiff_t(t));
      const tg::Batch shorter = one(without);
      tg::NoGrad<double> no_grad;
      const double p_without = tg::softmax(uni64->forward(shorter.ids, shorter.mask).logits, 1).value()(0, y);
      occlusion_diff = std::max(occlusion_diff, std::abs(e.probabilities[y] - p_without - e.occlusion[t]));
    }
  }
  fmt::print("  grad×input, tape vs central differences: max diff {:.2e} (largest value {:.4f})\n", saliency_diff,
             largest);
  fmt::print("  leave-one-out, batched vs one forward per shortened tweet: max diff {:.2e}\n", occlusion_diff);
  lesson.check("gradient × input: tape = central differences", saliency_diff, 0, 1e-7);
  lesson.check("leave-one-out: batched = one tweet at a time", occlusion_diff, 0, 1e-12);
  {
    const tg::Explanation e32 = tg::explain_text(uni, vocab, tweets[shown[0]].text);
    const tg::Explanation e64 = tg::explain_text(*uni64, vocab, tweets[shown[0]].text);
    double d = 0;
    for (std::size_t t = 0; t < e32.saliency.size(); ++t)
      d = std::max({d, std::abs(e32.saliency[t] - e64.saliency[t]), std::abs(e32.occlusion[t] - e64.occlusion[t]),
                    std::abs((*e32.alpha)[t] - (*e64.alpha)[t])});
    lesson.check("float (what `sentiment predict --explain` runs) agrees with double", d, 0, 1e-4);
  }

  // Step 6: the same tweets through the bidirectional model. Each of its states h_t holds
  // the tweet read up to t *and* from the end back to t, so every word near the cue already
  // "contains" the cue: α can sit on one end of the phrase, or beside it, and still work.
  lesson.step("the same tweets, BiLSTM ↔: α against leave-one-out");
  for (const std::size_t i : shown) {
    const tg::Explanation u = tg::explain_text(uni, vocab, tweets[i].text);
    const tg::Explanation b = tg::explain_text(bi, vocab, tweets[i].text);
    const CueSpan cue = find_cue(b.tokens, tweets[i].cue_words);
    fmt::print("\n  [{}] predicted {} (p = {:.3f})\n", i, tg::kSentimentLabels[b.label],
               b.probabilities[std::size_t(b.label)]);
    fmt::print("    {:<12}    {:>9} {:>9} {:>11} {:>11}\n", "word", "α LSTM →", "α BiLSTM", "loo LSTM →", "loo BiLSTM");
    for (std::size_t t = 0; t < b.tokens.size(); ++t)
      fmt::print("    {:<12} {} {:>9.3f} {:>9.3f} {:>+11.4f} {:>+11.4f}\n", b.tokens[t], cue.contains(t) ? "◆" : " ",
                 (*u.alpha)[t], (*b.alpha)[t], u.occlusion[t], b.occlusion[t]);
  }

  // Step 7: counts over the held-out tweets with a cue that each model classifies correctly.
  lesson.step(fmt::format("how often each answer points into the cue ({} held-out tweets)", kHeldOut));
  Tally tallies[2];
  double max_alpha_before = 0, max_alpha_after = 0, inverse_length = 0;
  tg::SentimentClassifier<float> untrained(uni.config());  // the same seed: LSTM →'s initial weights
  std::size_t cue_tweets = 0;
  for (std::size_t i = kTrain + kValid; i < tweets.size(); ++i) {
    const tg::SyntheticTweet& tw = tweets[i];
    if (tw.flipped || tw.cue_words.empty()) continue;
    ++cue_tweets;
    for (int m = 0; m < 2; ++m) {
      tg::SentimentClassifier<float>& model = m == 0 ? uni : bi;
      const tg::Explanation e = tg::explain_text(model, vocab, tw.text);
      const CueSpan cue = find_cue(e.tokens, tw.cue_words);
      if (e.label != tw.label || !cue.found) continue;
      Tally& tally = tallies[m];
      ++tally.tweets;
      tally.top_in_cue[0] += cue.contains(argmax(*e.alpha));
      tally.top_in_cue[1] += cue.contains(argmax(e.saliency));
      tally.top_in_cue[2] += cue.contains(argmax(e.occlusion));
      tally.tau_alpha_loo += kendall_tau(*e.alpha, e.occlusion);
      tally.tau_saliency_loo += kendall_tau(e.saliency, e.occlusion);
      if (cue.last > cue.first) {
        const std::size_t top = argmax(*e.alpha);
        ++tally.multiword;
        ++tally.alpha_at[top == cue.first ? 0 : top == cue.last ? 2 : cue.contains(top) ? 1 : top == cue.last + 1 ? 3 : 4];
      }
      if (m == 0) {
        max_alpha_after += *std::max_element(e.alpha->begin(), e.alpha->end());
        const tg::Explanation e0 = tg::explain_text(untrained, vocab, tw.text);
        max_alpha_before += *std::max_element(e0.alpha->begin(), e0.alpha->end());
        inverse_length += 1.0 / double(e.tokens.size());
      }
    }
  }
  const double n_uni = double(tallies[0].tweets);
  fmt::print("  LSTM →, mean over its {} tweets: largest α {:.3f} before training, {:.3f} after; 1/T {:.3f}\n\n",
             tallies[0].tweets, max_alpha_before / n_uni, max_alpha_after / n_uni, inverse_length / n_uni);
  fmt::print("  share of the tweets whose top-scoring word lies in the cue, and each ranking's agreement\n"
             "  with leave-one-out's (Kendall τ over a tweet's words, averaged: 1 same order, 0 unrelated):\n");
  fmt::print("  {:<9} {:>6}  {:>6} {:>11} {:>14}  {:>10} {:>12}\n", "model", "tweets", "α", "grad×input",
             "leave-one-out", "τ(α, loo)", "τ(g×i, loo)");
  const char* names[2] = {"LSTM →", "BiLSTM ↔"};
  for (int m = 0; m < 2; ++m) {
    const Tally& t = tallies[m];
    const double n = double(t.tweets);
    fmt::print("  {:<9} {:>6}  {:>6.3f} {:>11.3f} {:>14.3f}  {:>+10.3f} {:>+12.3f}\n", names[m], t.tweets,
               double(t.top_in_cue[0]) / n, double(t.top_in_cue[1]) / n, double(t.top_in_cue[2]) / n,
               t.tau_alpha_loo / n, t.tau_saliency_loo / n);
  }
  fmt::print("\n  where α's largest weight sits, for cues of two or more words:\n");
  fmt::print("  {:<9} {:>6}  {:>10} {:>7} {:>9} {:>10} {:>9}\n", "model", "tweets", "first word", "inside",
             "last word", "just after", "elsewhere");
  for (int m = 0; m < 2; ++m) {
    const Tally& t = tallies[m];
    const double n = double(t.multiword);
    fmt::print("  {:<9} {:>6}  {:>10.3f} {:>7.3f} {:>9.3f} {:>10.3f} {:>9.3f}\n", names[m], t.multiword,
               double(t.alpha_at[0]) / n, double(t.alpha_at[1]) / n, double(t.alpha_at[2]) / n,
               double(t.alpha_at[3]) / n, double(t.alpha_at[4]) / n);
  }
  lesson.check("each model gets at least 80% of the held-out cue tweets right",
               std::min(tallies[0].tweets, tallies[1].tweets) >= 0.8 * double(cue_tweets), 1, 0);

  // Step 8: what the literature says.
  lesson.step("what the literature says");
  fmt::print(
      "  Jain & Wallace (NAACL 2019), \"Attention is not Explanation\": in BiLSTM text classifiers,\n"
      "  α agrees only weakly with gradient and leave-one-out importance (Kendall τ), and very\n"
      "  different α (permuted, or searched for adversarially) often leave the prediction nearly\n"
      "  unchanged, so α need not be *the* reason for an output.\n"
      "  Wiegreffe & Pinter (EMNLP 2019), \"Attention is not not Explanation\": an adversarial α\n"
      "  found per example is not one a trained model would produce; on some tasks uniform α does\n"
      "  as well (attention is not needed there, so it cannot explain); where it is needed, α\n"
      "  learned by one model helps another (an MLP without context): α carries real information.\n"
      "  Both agree: α shows where the pooling looked, a plausible account of the decision but not\n"
      "  a faithful one by construction.\n\n");
  // What this lesson measured, from the tallies above (so the text cannot go stale).
  const auto share = [&](int m, int k) { return double(tallies[m].top_in_cue[k]) / double(tallies[m].tweets); };
  fmt::print(
      "  Here, on tweets whose deciding words are known: α's top word is in the cue for {:.0f}% (LSTM →)\n"
      "  and {:.0f}% (BiLSTM ↔) of the tweets each model gets right, leave-one-out's for {:.0f}% and {:.0f}%.\n"
      "  α's ranking agrees with leave-one-out's less than gradient × input's does (τ {:+.2f} / {:+.2f}\n"
      "  against {:+.2f} / {:+.2f}). A state h_t summarises its neighbours (all of the tweet, in a\n"
      "  BiLSTM), so a weight on one word can stand for a phrase: α on \"crew\" may mean \"amazing\n"
      "  crew\". Read α as where the model looked; check it with gradient × input and leave-one-out,\n"
      "  as `sentiment predict --explain` does.\n",
      100 * share(0, 0), 100 * share(1, 0), 100 * share(0, 2), 100 * share(1, 2), tallies[0].tau_alpha_loo / n_uni,
      tallies[1].tau_alpha_loo / double(tallies[1].tweets), tallies[0].tau_saliency_loo / n_uni,
      tallies[1].tau_saliency_loo / double(tallies[1].tweets));
  return lesson.finish();
}
