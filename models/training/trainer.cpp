// Training and evaluating the sentiment classifier (see trainer.hpp): the recipes,
// the epoch loop (Adam, clipping, schedule, best-epoch selection, early stopping,
// interruption), evaluation on a split and per-tweet predictions.
#include "models/training/trainer.hpp"

#include <malloc.h>
#if __has_include(<mimalloc.h>)
#include <mimalloc.h>
#pragma weak mi_option_set  // defined only in a program linked with mimalloc (tg_use_fast_allocator)
#endif

#include <chrono>
#include <cmath>
#include <numbers>
#include <optional>
#include <random>
#include <span>

#include <fmt/format.h>

#include "autograd/ops.hpp"
#include "models/data/batch.hpp"
#include "models/data/subwords.hpp"
#include "models/limits.hpp"
#include "models/classifier/registry.hpp"
#include "nn/optim.hpp"

namespace tg {

// Note [Keeping freed memory] (docs/benchmarks.md, "glibc's malloc"): glibc hands the top
// of its heap back to the kernel after a large free, and serves blocks of 128 KB and up
// from fresh mmaps. The tape makes a fresh temporary per op, so each op of a batch would
// page-fault its memory back in: that made one LSTM step ~12× slower. Keeping up to 256 MB
// of freed memory, and serving blocks under 64 MB from the heap, removes the faults. Called
// on entry by training and evaluation (it is idempotent and cheap). The programs allocate
// through mimalloc when it is present; it gives freed pages back to the kernel 25 ms after
// they empty (its decommit_delay), which for the LSTM's (N,4H) buffers of a long batch is
// between two uses: bench_engine --part lstm page-faulted 126,000 times in 30 repetitions,
// 34,000 with a delay of one second. So under mimalloc, freed pages stay for a second.
void keep_freed_memory() {
  static const bool tuned = [] {
    mallopt(M_TRIM_THRESHOLD, 256 << 20);
    mallopt(M_MMAP_THRESHOLD, 64 << 20);
#if __has_include(<mimalloc.h>)
    if (&mi_option_set != nullptr) mi_option_set(mi_option_decommit_delay, 1000);
#endif
    return true;
  }();
  (void)tuned;
}

int argmax_row(const Array<float>& x, std::size_t b) {
  int best = 0;
  for (std::size_t c = 1; c < x.shape()[1]; ++c)
    if (x(b, c) > x(b, static_cast<std::size_t>(best))) best = static_cast<int>(c);
  return best;
}

namespace {

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

// A NaN's sign bit depends on how it arose (and on the compiler's choices); it means nothing,
// so messages print every NaN as "nan", never "-nan".
double unsigned_nan(double v) { return std::isnan(v) ? std::fabs(v) : v; }


void check_options(const TrainOptions& o, const EncodedData& train, const EncodedData& valid) {
  const auto fail = [](const std::string& what) { throw Error("train_classifier: " + what); };
  if (train.ids.empty()) fail("the training split is empty");
  if (valid.ids.empty()) fail("the validation split is empty (it picks the best epoch)");
  if (o.epochs == 0 || o.epochs > kMaxEpochs)  // epochs × batches must fit the step counter
    fail(fmt::format("epochs = {} (expected 1 to {})", o.epochs, kMaxEpochs));
  if (!(std::isfinite(o.lr) && o.lr >= 0)) fail(fmt::format("lr = {} (expected a finite number >= 0)", o.lr));
  if (!(std::isfinite(o.clip_norm) && o.clip_norm >= 0))
    fail(fmt::format("clip_norm = {} (expected >= 0; 0 disables clipping)", o.clip_norm));
  if (o.schedule != "constant" && o.schedule != "cosine")
    fail(fmt::format("unknown schedule \"{}\" (expected constant or cosine)", o.schedule));
  if (!(o.warmup >= 0 && o.warmup < 1)) fail(fmt::format("warmup = {} (expected a fraction from 0 to below 1)", o.warmup));
  const auto fraction = [&](double v, const char* name) {
    if (!(v >= 0 && v < 1)) fail(fmt::format("{} = {} (expected a fraction from 0 to below 1)", name, v));
  };
  fraction(o.word_dropout, "word_dropout");
  fraction(o.label_smoothing, "label_smoothing");
  fraction(o.ema, "ema");
}

}  // namespace

Tensor<float> classification_loss(const Tensor<float>& logits, const Ids& labels, double smoothing) {
  const Tensor<float> ce = cross_entropy(logits, labels);
  if (smoothing == 0) return ce;
  const auto e = float(smoothing);
  return ce * (1 - e) - mean(log_softmax(logits, 1)) * e;
}

// The learning rate of optimiser step `step` (0-based) out of `total`. A warm-up over the
// first W = round(warmup·total) steps ramps it linearly, lr·(step + 1)/W; then it is
// constant, or cosine annealing over the remaining steps, lr·½(1 + cos(π·s/S)) with s
// the steps since the warm-up and S = total − W, which starts at lr and nears 0.
double scheduled_lr(const TrainOptions& o, std::size_t step, std::size_t total) {
  const auto warm = std::size_t(std::llround(o.warmup * double(total)));
  if (step < warm) return o.lr * double(step + 1) / double(warm);
  if (o.schedule == "constant") return o.lr;
  return o.lr * 0.5 * (1 + std::cos(std::numbers::pi * double(step - warm) / double(total - warm)));
}

namespace {

std::vector<Array<float>> copy_values(const NamedTensors<float>& params) {
  std::vector<Array<float>> out;
  for (const auto& [_, p] : params) out.push_back(p.value());
  return out;
}

void restore_values(const NamedTensors<float>& params, const std::vector<Array<float>>& values) {
  for (std::size_t i = 0; i < params.size(); ++i) Tensor<float>(params[i].second).mutable_value() = values[i];
}

bool stop_requested(const TrainOptions& o) { return o.stop && o.stop->load(); }

// A batch's subword bags when the model reads them (Note [Subword features]), from the
// texts its rows index.
std::optional<Ids> subword_bags_of(const SentimentClassifier<float>& model, const Batch& batch,
                                   std::span<const std::string> texts) {
  const std::size_t buckets = model.config().subword_buckets;
  if (buckets == 0) return std::nullopt;
  return batch_subword_bags(batch, texts, buckets);
}

// Note [Word dropout, label smoothing, EMA]: the default recipe's validation loss rises
// after its fifth epoch while training loss keeps falling. Three regularisers of the
// training pass, each off at 0 (docs/accuracy.md measures them):
// - Word dropout (drop_tokens, models/data/batch.hpp) makes each real token of a training
//   batch <unk> with probability p, so no single word carries a tweet and the model meets
//   <unk> in training as it will for unseen words later. The draws depend on (seed, epoch).
// - Label smoothing (classification_loss) trains towards (1 − ε)·one-hot + ε/C.
// - EMA (WeightAverage, nn/optim.hpp) averages the weights of the last ~1/(1 − d) steps;
//   validation scores the average, and the best epoch's average is what training keeps.

// One epoch's training pass: its running sums, and the clock and counts for progress.
struct EpochRun {
  double loss_sum = 0;
  std::size_t correct = 0, seen = 0;
  Clock::time_point start = Clock::now();
};

// One optimiser step on one batch: forward and backward on a tape, clipping, Adam;
// adds the batch's loss and correct predictions to the epoch's running sums.
void train_batch(SentimentClassifier<float>& model, Optimizer<float>& optimizer, const NamedTensors<float>& params,
                 const Batch& batch, std::optional<Ids> subwords, const TrainOptions& options, std::size_t epoch,
                 std::size_t index, EpochRun& run, std::mt19937_64& words) {
  model.train();
  model.zero_grad();
  float loss_value = 0;
  {
    Tape<float> tape;
    tape.check_finite = options.check_finite;
    tape.retain_grads = false;  // only the parameters' gradients are read: ops reuse the rest
    const bool drop = options.word_dropout > 0;  // Note [Word dropout, label smoothing, EMA]
    Ids* bags = subwords ? &*subwords : nullptr;  // a dropped word loses its n-grams too
    const Ids dropped = drop ? drop_tokens(batch, options.word_dropout, Vocabulary::kUnk, words, bags) : Ids();
    const ClassifierOutput<float> out = model.forward(drop ? dropped : batch.ids, batch.mask, bags);
    const Tensor<float> loss = classification_loss(out.logits, batch.labels, options.label_smoothing);
    loss_value = loss.item();
    if (!std::isfinite(loss_value))
      throw Error(fmt::format("train_classifier: epoch {} batch {}: the loss is {} (train with check_finite "
                              "on, the CLI's --check-finite, to find the op that made it)", epoch, index, unsigned_nan(loss_value)));
    tape.backward(loss);
    for (std::size_t b = 0; b < batch.rows.size(); ++b)
      run.correct += argmax_row(out.logits.value(), b) == batch.labels(b);
  }
  if (options.clip_norm > 0) {
    const float norm = clip_grad_norm(params, options.clip_norm);
    if (!std::isfinite(norm))
      throw Error(fmt::format("train_classifier: epoch {} batch {}: the gradient norm is {} (train with "
                              "check_finite on, the CLI's --check-finite, to find the op that made it)", epoch, index, unsigned_nan(norm)));
  }
  optimizer.step();
  run.loss_sum += double(loss_value) * double(batch.rows.size());
  run.seen += batch.rows.size();
}

ProgressEvent progress(const EpochRun& run, std::size_t epoch, std::size_t epochs, std::size_t batch,
                       std::size_t batches, std::size_t rows) {
  const double elapsed = seconds_since(run.start);
  const double rate = elapsed > 0 ? double(run.seen) / elapsed : 0;
  return {epoch, epochs, batch, batches, run.loss_sum / double(run.seen), double(run.correct) / double(run.seen),
          rate, rate > 0 ? double(rows - run.seen) / rate : 0};
}

}  // namespace

EncodedData encode_dataset(const std::vector<LabelledText>& rows, const Vocabulary& vocab, std::size_t max_tokens) {
  EncodedData out;
  for (const LabelledText& row : rows) {
    out.ids.push_back(vocab.encode(row.text, max_tokens));
    out.labels.push_back(row.label);
    out.texts.push_back(row.text);
  }
  return out;
}

Recipe canonical_recipe(const std::string& pooling, std::uint64_t seed) {
  Recipe r;
  r.name = "canonical";
  r.model.embedding_dim = 100;
  r.model.hidden_size = 128;
  r.model.pooling = pooling;
  r.model.seed = seed;
  r.train.lr = 2e-3;
  r.train.batch_size = 64;
  r.train.epochs = 8;
  r.train.clip_norm = 5;
  r.train.schedule = "constant";
  r.train.pad_to = 0;
  r.train.seed = seed;
  return r;
}

// The canonical model overfits by epoch 2-3 (training accuracy 0.98 by epoch 8 while
// validation loss doubles). Dropout on the embedded tokens and on the pooled state,
// AdamW decay and a cosine schedule that anneals to 0 over 10 epochs let it keep learning
// for longer, and a bidirectional LSTM gives attention context from both sides of each
// token: attention pooling then scores ~0.80 on the validation split against the
// canonical ~0.79 (mean of seeds 1-3), at about twice the cost per epoch. Word dropout
// 0.2 (Note [Word dropout, label smoothing, EMA]) adds about 0.003 alone and 0.006 to an
// ensemble of 5 on a held-out part of the training split.
Recipe default_recipe(const std::string& pooling, std::uint64_t seed, const std::string& encoder) {
  Recipe r = canonical_recipe(pooling, seed);
  r.model.encoder = encoder;
  r.name = "default";
  r.model.bidirectional = true;
  r.model.embedding_dropout = 0.3;
  r.model.state_dropout = 0.5;
  r.train.word_dropout = 0.2;  // chosen on a held-out part of train (docs/accuracy.md)
  r.model.subword_buckets = 20000;  // Note [Subword features]; chosen the same way
  r.train.weight_decay = 0.01;
  r.train.decoupled_decay = true;
  r.train.schedule = "cosine";
  r.train.epochs = 10;
  const EncoderTraining& own = encoder_entry(encoder).default_training;
  if (own.lr > 0) r.train.lr = own.lr;
  if (own.warmup > 0) r.train.warmup = own.warmup;
  return r;
}

Recipe named_recipe(const std::string& name, const std::string& pooling, std::uint64_t seed,
                    const std::string& encoder) {
  if (name == "canonical") {
    Recipe r = canonical_recipe(pooling, seed);
    r.model.encoder = encoder;
    return r;
  }
  if (name == "default") return default_recipe(pooling, seed, encoder);
  throw Error(fmt::format("unknown recipe \"{}\" (expected canonical or default)", name));
}

TrainingHistory train_classifier(SentimentClassifier<float>& model, const EncodedData& train,
                                 const EncodedData& valid, const TrainOptions& options,
                                 const TrainCallbacks& callbacks) {
  check_options(options, train, valid);
  keep_freed_memory();
  const NamedTensors<float> params = model.named_parameters();
  Adam<float> optimizer(params, AdamOptions{.lr = options.lr, .weight_decay = options.weight_decay,
                                            .decoupled_weight_decay = options.decoupled_decay});
  const Batcher batcher(train.ids, train.labels, {options.batch_size, true, options.seed, options.pad_to});
  const std::size_t batches = batcher.num_batches(), total_steps = options.epochs * batches;

  std::optional<WeightAverage<float>> average;
  if (options.ema > 0) average.emplace(params, options.ema);

  TrainingHistory history;
  std::vector<Array<float>> best_values;
  std::size_t step = 0, epochs_without_gain = 0;
  for (std::size_t epoch = 1; epoch <= options.epochs; ++epoch) {
    if ((history.interrupted = stop_requested(options))) break;
    if (options.cores) options.cores->for_training();
    EpochRun run;
    const std::vector<Batch> epoch_batches = batcher.epoch(epoch);
    std::seed_seq word_seed{options.seed, std::uint64_t(epoch), std::uint64_t(0x776f7264)};
    std::mt19937_64 words(word_seed);
    for (std::size_t i = 0; i < epoch_batches.size() && !history.interrupted; ++i, ++step) {
      optimizer.set_lr(scheduled_lr(options, step, total_steps));
      train_batch(model, optimizer, params, epoch_batches[i], subword_bags_of(model, epoch_batches[i], train.texts),
                  options, epoch, i + 1, run, words);
      if (average) average->update();
      if (callbacks.on_batch)
        callbacks.on_batch(progress(run, epoch, options.epochs, i + 1, batches, batcher.num_rows()));
      history.interrupted = stop_requested(options);
    }
    if (history.interrupted) break;  // a partial epoch is neither scored nor kept

    if (average) average->use_average();  // score, and keep, the averaged weights
    const Evaluation scored =
        evaluate_classifier(model, valid, 256, options.cores ? options.cores->for_evaluation() : nullptr);
    const EpochRecord record{epoch, run.loss_sum / double(run.seen), double(run.correct) / double(run.seen),
                             scored.loss, scored.metrics.accuracy, scored.metrics.macro_f1,
                             seconds_since(run.start), optimizer.lr()};
    history.epochs.push_back(record);
    if (history.best_epoch == 0 || record.valid_accuracy > history.best_valid.accuracy) {  // ties: the earlier
      history.best_epoch = epoch;
      history.best_valid = scored.metrics;
      best_values = copy_values(params);
      epochs_without_gain = 0;
      if (callbacks.on_best) callbacks.on_best(history);
    } else {
      ++epochs_without_gain;
    }
    if (callbacks.on_epoch) callbacks.on_epoch(record);
    if (average) average->use_trained();  // training goes on from its own weights
    if (options.patience > 0 && epochs_without_gain >= options.patience) break;
  }
  history.finished = !history.interrupted;
  if (!best_values.empty()) restore_values(params, best_values);
  model.eval();
  return history;
}

namespace {
ClassifierOutput<float> evaluate_batch(SentimentClassifier<float>& model, const Batch& batch,
                                       std::span<const std::string> texts, WorkerPool* pool) {
  const std::optional<Ids> subwords = subword_bags_of(model, batch, texts);
  const Ids* bags = subwords ? &*subwords : nullptr;
  if (pool) return forward_parallel(model, batch.ids, batch.mask, *pool, bags);
  return model.forward(batch.ids, batch.mask, bags);
}
}  // namespace

Evaluation evaluate_classifier(SentimentClassifier<float>& model, const EncodedData& data, std::size_t batch_size,
                               WorkerPool* pool) {
  Evaluation result;
  if (data.ids.empty()) return result;
  keep_freed_memory();
  NoGrad<float> no_grad;
  model.eval();
  const Batcher batcher(data.ids, data.labels, {batch_size, false, 0, 0});
  result.predicted.resize(data.ids.size());
  for (const Batch& batch : batcher.epoch(0)) {
    const ClassifierOutput<float> out = evaluate_batch(model, batch, data.texts, pool);
    result.loss += double(cross_entropy(out.logits, batch.labels).item()) * double(batch.rows.size());
    for (std::size_t b = 0; b < batch.rows.size(); ++b) result.predicted[batch.rows[b]] = argmax_row(out.logits.value(), b);
  }
  result.loss /= double(data.ids.size());
  const std::vector<int> truth(data.labels.begin(), data.labels.end());
  result.metrics = compute_metrics(truth, result.predicted, model.config().classes);
  return result;
}

namespace {
// The mean over members of softmax(logits) (B,C) and of α (B,T) for one batch.
struct Averaged {
  Array<float> probabilities, alpha;
};
Averaged average_members(const Ensemble& members, const Batch& batch, std::span<const std::string> texts,
                         WorkerPool* pool) {
  Averaged sum;
  for (SentimentClassifier<float>* model : members) {
    model->eval();
    const ClassifierOutput<float> out = evaluate_batch(*model, batch, texts, pool);
    const Array<float> p = softmax(out.logits, 1).value();
    if (sum.probabilities.size() == 0) {
      sum = {p, out.alpha.value()};
      continue;
    }
    sum.probabilities += p;
    sum.alpha += out.alpha.value();
  }
  const float n = float(members.size());
  if (members.size() > 1) {  // one member: its own numbers, untouched
    sum.probabilities /= n;
    sum.alpha /= n;
  }
  return sum;
}
}  // namespace

Evaluation evaluate_ensemble(const Ensemble& members, const EncodedData& data, std::size_t batch_size,
                             WorkerPool* pool) {
  if (members.size() == 1) return evaluate_classifier(*members.front(), data, batch_size, pool);
  Evaluation result;
  if (data.ids.empty()) return result;
  keep_freed_memory();
  NoGrad<float> no_grad;
  const Batcher batcher(data.ids, data.labels, {batch_size, false, 0, 0});
  result.predicted.resize(data.ids.size());
  for (const Batch& batch : batcher.epoch(0)) {
    const Averaged mean = average_members(members, batch, data.texts, pool);
    for (std::size_t b = 0; b < batch.rows.size(); ++b) {
      result.loss -= std::log(double(mean.probabilities(b, std::size_t(batch.labels(b)))));
      result.predicted[batch.rows[b]] = argmax_row(mean.probabilities, b);
    }
  }
  result.loss /= double(data.ids.size());
  const std::vector<int> truth(data.labels.begin(), data.labels.end());
  result.metrics = compute_metrics(truth, result.predicted, members.front()->config().classes);
  return result;
}

std::vector<Prediction> predict_texts(SentimentClassifier<float>& model, const Vocabulary& vocab,
                                      const std::vector<std::string>& texts, std::size_t max_tokens,
                                      WorkerPool* pool) {
  return predict_ensemble({&model}, vocab, texts, max_tokens, pool);
}

std::vector<Prediction> predict_ensemble(const Ensemble& members, const Vocabulary& vocab,
                                         const std::vector<std::string>& texts, std::size_t max_tokens,
                                         WorkerPool* pool) {
  constexpr std::size_t kChunk = 256;
  keep_freed_memory();
  NoGrad<float> no_grad;
  std::vector<Prediction> out;
  for (std::size_t start = 0; start < texts.size(); start += kChunk) {
    const std::size_t count = std::min(kChunk, texts.size() - start);
    std::vector<std::vector<std::int64_t>> ids;
    std::vector<std::size_t> rows;
    for (std::size_t i = 0; i < count; ++i) {
      ids.push_back(vocab.encode(texts[start + i], max_tokens));
      rows.push_back(i);
    }
    const Batch batch = make_batch(ids, std::vector<std::int64_t>(count, 0), rows);
    const Averaged mean = average_members(members, batch, std::span(texts).subspan(start, count), pool);
    for (std::size_t b = 0; b < count; ++b) {
      Prediction p;
      // encode() maps each token to one id, so the tokenizer's tokens line up with the ids;
      // showing their text (not <unk>) lets a reader see which word an unknown id was.
      p.tokens = tokenize(texts[start + b], max_tokens);
      if (p.tokens.empty()) p.tokens.emplace_back(kUnkToken);
      for (std::size_t t = 0; t < ids[b].size(); ++t) {
        p.known.push_back(ids[b][t] != Vocabulary::kUnk);
        p.alpha.push_back(mean.alpha(b, t));
      }
      for (std::size_t c = 0; c < mean.probabilities.shape()[1]; ++c) p.probabilities.push_back(mean.probabilities(b, c));
      p.label = argmax_row(mean.probabilities, b);
      out.push_back(std::move(p));
    }
  }
  return out;
}

}  // namespace tg
