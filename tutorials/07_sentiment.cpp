// Lesson 7 — the sentiment flagship, piece by piece.
// Walks four built-in tweets through the whole model in order: tokenize → vocabulary →
// padded batch with mask → embedding → LSTM states → attention α → logits → loss → one
// training step, calling each layer of a SentimentClassifier (models/classifier/classifier.hpp) by
// hand. Prints shapes and values at every step and α per word, checks the invariants
// (padding embeds to 0 and gets exactly 0 state, α and gradient; α sums to 1 over the real
// tokens; the pieces make the same logits as model.forward; the loss falls on the batch),
// and ends with the `sentiment` program that runs the full experiment.
// Legend: B batch, T time, V vocabulary, E embedding, H hidden, D state size (= H), C classes.
// Run: ./07_sentiment [--step] [--trace] [--dot model.dot]
#include <cmath>
#include <string_view>
#include <vector>

#include <fmt/format.h>
#include <xtensor/xview.hpp>

#include "autograd/autograd.hpp"
#include "lesson.hpp"
#include "models/data/batch.hpp"
#include "models/classifier/classifier.hpp"
#include "models/data/dataset.hpp"
#include "nn/lstm.hpp"
#include "models/data/synthetic_tweets.hpp"
#include "models/data/text.hpp"
#include "nn/optim.hpp"

using tg::Array;
using Tensor = tg::Tensor<double>;

namespace {

// Four short tweets, in the order generated: two negative, one neutral, one positive
// (the real data's classes are 63% / 21% / 16%). None has a noisy label.
std::vector<tg::SyntheticTweet> four_tweets() {
  tg::SyntheticOptions options;
  options.long_rate = 0;
  options.max_tokens = 20;
  options.long_tokens = 20;  // unused with long_rate 0, but must lie in [min_tokens, max_tokens]
  std::vector<tg::SyntheticTweet> picked;
  int wanted[] = {2, 1, 1};  // per label
  for (const tg::SyntheticTweet& tweet : tg::generate_tweets(50, 7, options))
    if (!tweet.flipped && wanted[tweet.label] > 0) {
      --wanted[tweet.label];
      picked.push_back(tweet);
    }
  if (picked.size() != 4) throw tg::Error("07_sentiment: 50 generated tweets did not hold the four wanted");
  return picked;
}

// Items separated by spaces, wrapped before `width` characters, each line indented.
void print_wrapped(const std::vector<std::string>& items, std::size_t width = 96) {
  std::string line = "     ";
  for (const std::string& item : items) {
    if (line.size() + item.size() > width) {
      fmt::print("{}\n", line);
      line = "     ";
    }
    line += " " + item;
  }
  fmt::print("{}\n", line);
}

// True when every element of a (B,T,…) array at a padded position (mask false) is exactly 0.
bool zero_at_padding(const Array<double>& a, const tg::Mask& mask) {
  for (std::size_t b = 0; b < mask.shape()[0]; ++b)
    for (std::size_t t = 0; t < mask.shape()[1]; ++t)
      if (!mask(b, t) && xt::any(xt::not_equal(xt::view(a, b, t), 0.0))) return false;
  return true;
}

double l2(const Array<double>& a) { return std::sqrt(double(xt::sum(a * a)())); }

}  // namespace

int main(int argc, char** argv) {
  tg::Lesson lesson("Lesson 7: the sentiment flagship, piece by piece",
                    "four tweets through the classifier layer by layer: tokens, batch, LSTM, attention, loss, Adam");
  if (auto code = lesson.parse(argc, argv)) return *code;

  // Step 1: the data. models/data/synthetic_tweets.hpp generates airline tweets with known labels.
  lesson.step("four built-in tweets");
  const std::vector<tg::SyntheticTweet> tweets = four_tweets();
  std::vector<std::string_view> texts;
  for (const auto& tweet : tweets) {
    texts.push_back(tweet.text);
    fmt::print("  [{}] {:<8} {}\n", texts.size() - 1, tg::kSentimentLabels[tweet.label], tweet.text);
  }

  // Step 2: the canonical tokenizer: lowercase runs of [a-z0-9'], every URL one <url> token.
  lesson.step("tokenize");
  std::vector<std::vector<std::string>> tokens;
  for (const auto text : texts) {
    tokens.push_back(tg::tokenize(text));
    fmt::print("  [{}] {} tokens:\n", tokens.size() - 1, tokens.back().size());
    print_wrapped(tokens.back());
  }

  // Step 3: ids by descending count after <pad> = 0 and <unk> = 1. The flagship keeps
  // tokens seen twice in training; for four tweets we keep every token.
  lesson.step("the vocabulary: token → id");
  const tg::Vocabulary vocab = tg::Vocabulary::build(texts, {.min_count = 1});
  std::vector<std::vector<std::int64_t>> ids;
  std::vector<std::int64_t> labels;
  for (std::size_t i = 0; i < texts.size(); ++i) {
    ids.push_back(vocab.encode(texts[i]));
    labels.push_back(tweets[i].label);
  }
  fmt::print("  V = {}: {} = 0, {} = 1, {} = 2, {} = 3, …\n", vocab.size(), vocab.token(0), vocab.token(1),
             vocab.token(2), vocab.token(3));
  fmt::print("  [0] ids: {}\n", fmt::join(ids[0], " "));

  // Step 4: right-padded with id 0 to the longest tweet; the mask marks the real tokens.
  lesson.step("a padded batch with its mask");
  const tg::Batch batch = tg::make_batch(ids, labels, std::vector<std::size_t>{0, 1, 2, 3});
  const std::size_t B = batch.ids.shape()[0], T = batch.ids.shape()[1];
  fmt::print("  ids (B,T) = {}, lengths {}, labels {}\n", tg::shape_str(batch.ids.shape()),
             fmt::join(batch.lengths, " "), fmt::join(batch.labels, " "));
  for (std::size_t b = 0; b < B; ++b) {
    std::string row, mask;
    for (std::size_t t = 0; t < T; ++t) {
      row += fmt::format("{:>4}", batch.ids(b, t));
      mask += batch.mask(b, t) ? "1" : "0";
    }
    fmt::print("  [{}] {}   mask {}\n", b, row, mask);
  }

  // Step 5: the model, E = H = 8, attention pooling, in double so every number is exact to print.
  lesson.step("embedding: ids (B,T) → x (B,T,E)");
  tg::SentimentClassifier<double> model(
      {.vocab_size = vocab.size(), .embedding_dim = 8, .hidden_size = 8, .pooling = "attention"});
  fmt::print("{}", model.summary());
  tg::Tape<double> tape;
  lesson.attach(tape);
  const Tensor x = model.embedding.forward(batch.ids);
  fmt::print("  x {}\n  x[0,0] is row {} of embedding.weight: {}\n", tg::summarize(x.value()), batch.ids(0, 0),
             tg::summarize(Array<double>(xt::view(x.value(), 0, 0))));
  lesson.check("x[0,0] is the embedding row of its id",
               Array<double>(xt::view(x.value(), 0, 0)),
               Array<double>(xt::view(model.embedding.weight.value(), batch.ids(0, 0))), 0);
  lesson.check("padding embeds to 0 (row 0 of the table)", zero_at_padding(x.value(), batch.mask), 1, 0);

  // Step 6: h_t = LSTM(x_t, h_{t−1}) along T; at padding the state is carried and the output is 0.
  lesson.step("LSTM: x (B,T,E) → states (B,T,H)");
  // The model holds its encoder by the Encoder interface (models/classifier/registry.hpp); this one is the LSTM.
  const auto& lstm_layer = dynamic_cast<const tg::LSTM<double>&>(*model.encoder);
  const tg::LSTMOutput<double> lstm = lstm_layer.forward(x, batch.mask);
  fmt::print("  states {}\n  |h_t| of tweet 0, per token:\n", tg::summarize(lstm.states.value()));
  std::vector<std::string> norms;
  for (std::size_t t = 0; t < T; ++t)
    norms.push_back(fmt::format("{}:{:.3f}", t < tokens[0].size() ? tokens[0][t] : "<pad>",
                                l2(xt::view(lstm.states.value(), 0, t))));
  print_wrapped(norms);
  lesson.check("states are exactly 0 at padding", zero_at_padding(lstm.states.value(), batch.mask), 1, 0);

  // Step 7: u_t = tanh(W h_t + b), e_t = u_t · u_w, α = softmax(e) over real tokens, s = Σ α_t h_t.
  lesson.step("attention: states (B,T,H) → α (B,T) and s (B,D)");
  const tg::Pooled<double> pooled = model.pooling->forward(lstm.states, batch.mask);
  const Array<double>& alpha = pooled.alpha.value();
  for (std::size_t b = 0; b < B; ++b) {
    std::vector<std::string> words;
    std::size_t top = 0;
    for (std::size_t t = 0; t < T; ++t) {
      words.push_back(fmt::format("{}:{:.3f}", t < tokens[b].size() ? tokens[b][t] : "<pad>", alpha(b, t)));
      if (alpha(b, t) > alpha(b, top)) top = t;
    }
    const std::string cue = tweets[b].cue_words.empty() ? "none: a neutral tweet has no cue"
                                                        : fmt::format("\"{}\"", fmt::join(tweets[b].cue_words, " "));
    fmt::print("  [{}] α per word (most: \"{}\"; the cue: {}):\n", b, tokens[b][top], cue);
    print_wrapped(words);
  }
  fmt::print("  (untrained, α is close to uniform: 1/length. Training on these four tweets alone would not\n"
             "   move it onto the cue words: it drifts onto each tweet's last tokens. Where a trained model\n"
             "   puts α, and whether that explains its answer, is lesson 10's experiment.)\n"
             "  s {}\n", tg::summarize(pooled.pooled.value()));
  lesson.check("α sums to 1 over each tweet's real tokens", Array<double>(xt::sum(alpha, {1})),
               Array<double>(xt::ones<double>({B})), 1e-12);
  lesson.check("α is exactly 0 at padding", double(xt::sum(xt::where(batch.mask, 0.0, alpha))()), 0, 0);

  // Step 8: logits = s Wᵀ + b, one score per class; softmax turns them into probabilities.
  lesson.step("classifier: s (B,D) → logits (B,C)");
  const Tensor logits = model.classifier.forward(pooled.pooled);
  const Array<double> p = tg::softmax(logits, 1).value();
  for (std::size_t b = 0; b < B; ++b)
    fmt::print("  [{}] logits {:+.4f} {:+.4f} {:+.4f}   p {:.4f} {:.4f} {:.4f}   label {}\n", b, logits.value()(b, 0),
               logits.value()(b, 1), logits.value()(b, 2), p(b, 0), p(b, 1), p(b, 2), batch.labels(b));
  {
    tg::NoGrad<double> no_grad;
    lesson.check("the pieces give model.forward's logits", logits.value(),
                 model.forward(batch.ids, batch.mask).logits.value(), 1e-12);
  }

  // Step 9: L = −(1/B) Σ_b log p[b, y_b]; at the start p ≈ 1/3, so L ≈ ln 3 ≈ 1.0986.
  lesson.step("loss: cross-entropy of the logits and the labels");
  const Tensor loss = tg::cross_entropy(logits, batch.labels);
  double by_hand = 0;
  for (std::size_t b = 0; b < B; ++b) by_hand -= std::log(p(b, std::size_t(batch.labels(b)))) / double(B);
  fmt::print("  L = {:.6f}\n", loss.item());
  lesson.check("L = −mean log p[label], by hand", loss.item(), by_hand, 1e-12);

  // Step 10: backward through every piece above, in reverse; then clip and one Adam step.
  lesson.step("backward and one training step");
  tape.backward(loss);
  fmt::print("  {:<28} {:<8} |grad|\n", "parameter", "shape");
  for (const auto& [name, param] : model.named_parameters())
    fmt::print("  {:<28} {:<8} {:.6f}\n", name, tg::shape_str(param.shape()), l2(param.grad()));
  lesson.check("no gradient reaches x at padding", zero_at_padding(x.grad(), batch.mask), 1, 0);
  lesson.check("the padding row of the embedding gets exactly 0 gradient",
               l2(xt::view(model.embedding.weight.grad(), 0)), 0, 0);
  lesson.write_dot(loss);
  const tg::NamedTensors<double> params = model.named_parameters();
  tg::Adam<double> adam(params, {.lr = 1e-2});
  const double norm = tg::clip_grad_norm(params, 5.0);
  adam.step();
  const auto loss_now = [&] {
    tg::NoGrad<double> no_grad;
    return tg::cross_entropy(model.forward(batch.ids, batch.mask).logits, batch.labels).item();
  };
  const double first = loss.item(), after_one = loss_now();
  fmt::print("  gradient norm {:.4f} (clipped to at most 5); Adam lr 1e-2: L {:.6f} → {:.6f}\n", norm, first,
             after_one);

  // Step 11: the same step, repeated: forward on a tape, backward, clip, Adam.
  lesson.step("nineteen more steps on the same four tweets");
  for (int step = 2; step <= 20; ++step) {
    model.zero_grad();
    {
      tg::Tape<double> step_tape;
      step_tape.backward(tg::cross_entropy(model.forward(batch.ids, batch.mask).logits, batch.labels));
    }
    tg::clip_grad_norm(params, 5.0);
    adam.step();
    if (step % 5 == 0) fmt::print("  after step {:>2}: L = {:.6f}\n", step, loss_now());
  }
  const double last = loss_now();
  lesson.check(fmt::format("the loss falls ({:.4f} → {:.4f} → {:.4f})", first, after_one, last),
               first > after_one && after_one > last, 1, 0);

  // Step 12: the full experiment lives in the `sentiment` program (tutorials/sentiment/).
  lesson.step("the full experiment: the `sentiment` program");
  fmt::print(
      "  sentiment            the demo: writes sentiment-demo/ (the built-in tweets as train/valid/\n"
      "                       test.csv), compares last-state, mean and attention pooling over 3 seeds,\n"
      "                       saves the best attention model to sentiment-demo/model/, writes\n"
      "                       report.html, predicts a few tweets\n"
      "  sentiment train      --train sentiment-demo/train.csv --valid sentiment-demo/valid.csv\n"
      "                       --out my-model: one model (--pooling last|mean|attention); keeps its best\n"
      "                       validation epoch\n"
      "  sentiment compare    --split Tweets.csv --seeds 3: every pooling with the same seeds, the\n"
      "                       article's experiment on the real data\n"
      "  sentiment evaluate   --checkpoint sentiment-demo/model --data sentiment-demo/test.csv:\n"
      "                       accuracy, macro-F1, per-class scores and the confusion matrix\n"
      "  sentiment predict    --checkpoint sentiment-demo/model \"@united not bad at all, thanks\":\n"
      "                       the label, its probabilities and α per word (--explain: beside gradient ×\n"
      "                       input and leave-one-out, lesson 10)\n"
      "  sentiment report     --checkpoint sentiment-demo/model --data sentiment-demo/test.csv\n"
      "                       --out report.html: one self-contained HTML page: settings, curves,\n"
      "                       metrics, tweets shaded by α\n"
      "  (Tweets.csv is Kaggle's Twitter US Airline Sentiment file; sentiment COMMAND --help lists\n"
      "   every option.)\n");
  return lesson.finish();
}
