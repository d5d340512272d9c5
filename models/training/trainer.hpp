// Training and evaluating the sentiment classifier: data encoding, the training
// recipes, the epoch loop with gradient clipping and Adam, best-model selection on
// the validation split, metrics and per-tweet predictions with attention weights.
#pragma once
#include <atomic>
#include <functional>
#include <string>
#include <vector>

#include "models/classifier/classifier.hpp"
#include "models/data/dataset.hpp"
#include "models/training/metrics.hpp"
#include "models/training/parallel_forward.hpp"
#include "models/data/text.hpp"

namespace tg {

// Tweets as the model reads them: token ids (each sequence non-empty) and labels.
struct EncodedData {
  std::vector<std::vector<std::int64_t>> ids;
  std::vector<std::int64_t> labels;
  std::vector<std::string> texts;  // the raw texts, for reports and predictions
};
EncodedData encode_dataset(const std::vector<LabelledText>& rows, const Vocabulary& vocab,
                           std::size_t max_tokens = kMaxTokens);

struct TrainOptions {
  double lr = 2e-3;
  std::size_t batch_size = 64;
  std::size_t epochs = 8;
  double clip_norm = 5;           // max gradient L2 norm; 0 disables clipping
  double weight_decay = 0;        // AdamW-style decoupled decay when decoupled_decay
  bool decoupled_decay = false;
  std::string schedule = "constant";  // "constant" | "cosine" (per batch, to 0 at the end)
  double warmup = 0;              // the first fraction of all steps ramps the lr linearly up to it
  std::size_t patience = 0;       // stop after this many epochs without a better validation score; 0: never
  std::size_t pad_to = 0;         // 0: pad each batch to its longest sequence
  std::uint64_t seed = 1;         // shuffling (and, through ClassifierConfig, initialisation)
  // Three regularisers of the training pass alone (Note [Word dropout, label smoothing, EMA]):
  double word_dropout = 0;        // each real token of a training batch becomes <unk> with this probability
  double label_smoothing = 0;     // ε: the target is (1 − ε)·one-hot + ε/C (PyTorch's label_smoothing)
  double ema = 0;                 // decay of a moving average of the weights, scored and kept instead of them; 0: off
  bool check_finite = false;      // anomaly mode: stop at the first non-finite value or gradient
  const std::atomic<bool>* stop = nullptr;  // set (e.g. by a signal handler) to stop after the current batch
  Cores* cores = nullptr;  // --threads: BLAS threads while training, workers while validating; null: as BLAS is set
};

// A model configuration and a training configuration that go together. The recipes
// leave model.vocab_size 0: set it to the training vocabulary's size.
struct Recipe {
  std::string name;
  ClassifierConfig model;
  TrainOptions train;
};
// Exactly the reference settings: Adam 2e-3, batch 64, 8 epochs, clip 5, no dropout.
Recipe canonical_recipe(const std::string& pooling, std::uint64_t seed);
// The project's defaults, tuned on the validation split: the canonical model made
// bidirectional, with dropout, AdamW, a cosine schedule and 10 epochs (see trainer.cpp).
// For an encoder whose registry entry has its own `default_training` (the Transformer's
// learning rate, warm-up and dropout), those replace the recipe's.
Recipe default_recipe(const std::string& pooling, std::uint64_t seed, const std::string& encoder = "lstm");
// "canonical" | "default", for `encoder` (model.encoder is set to it).
Recipe named_recipe(const std::string& name, const std::string& pooling, std::uint64_t seed,
                    const std::string& encoder = "lstm");
// The training loss: cross-entropy against the one-hot labels, or with label smoothing ε
// against (1 − ε)·one-hot + ε/C, (1 − ε)·CE + ε·mean_c(−log softmax(logits)_c) (PyTorch's
// cross_entropy(label_smoothing=ε)); ε = 0 is cross_entropy itself.
Tensor<float> classification_loss(const Tensor<float>& logits, const Ids& labels, double smoothing);
// The learning rate of optimiser step `step` (0-based) out of `total` (see trainer.cpp).
double scheduled_lr(const TrainOptions& options, std::size_t step, std::size_t total);

struct EpochRecord {
  std::size_t epoch = 0;  // 1-based
  double train_loss = 0, train_accuracy = 0;
  double valid_loss = 0, valid_accuracy = 0, valid_macro_f1 = 0;
  double seconds = 0, lr = 0;
};

struct TrainingHistory {
  std::vector<EpochRecord> epochs;
  std::size_t best_epoch = 0;  // 1-based; the model holds this epoch's weights after training
  Metrics best_valid;
  bool interrupted = false;    // options.stop was set
  bool finished = false;       // ran to its end (every epoch, or patience); false while running
};

struct ProgressEvent {
  std::size_t epoch = 0, epochs = 0, batch = 0, batches = 0;  // 1-based
  double loss = 0, accuracy = 0;   // running means over the epoch so far
  double tweets_per_second = 0;   // training tweets per second over the epoch so far
  double eta_seconds = 0;         // until this epoch's last batch, at that rate
};

struct TrainCallbacks {
  std::function<void(const ProgressEvent&)> on_batch;
  std::function<void(const EpochRecord&)> on_epoch;  // after validation
  // After validation, before on_epoch, when the epoch just finished is the best so far
  // (the first always is): the model holds exactly the weights training will end with
  // unless a later epoch beats it — the moment to save a checkpoint. The history is
  // the one so far (this epoch included, finished = false).
  std::function<void(const TrainingHistory&)> on_best;
};

// Trains in place; afterwards the model holds the weights of its best validation epoch
// (by accuracy; ties go to the earlier epoch) and is in evaluation mode. Epoch e's batch
// order is fixed by (options.seed, e). When options.stop is set, training ends after the
// current batch (an unfinished epoch is not scored) with history.interrupted; if no
// epoch had finished, the model keeps the weights it had reached. A non-finite loss or
// gradient norm throws a tg::Error naming the epoch and batch. With the same seed, data
// and OpenBLAS thread count, the weights are bitwise the same on every run.
TrainingHistory train_classifier(SentimentClassifier<float>& model, const EncodedData& train,
                                 const EncodedData& valid, const TrainOptions& options,
                                 const TrainCallbacks& callbacks = {});

struct Evaluation {
  Metrics metrics;
  double loss = 0;
  std::vector<int> predicted;  // per row of the data
};
// With a pool, each batch's rows are shared among its threads (forward_parallel; run BLAS
// single-threaded then); the results are those of one thread, to rounding.
Evaluation evaluate_classifier(SentimentClassifier<float>& model, const EncodedData& data,
                               std::size_t batch_size = 256, WorkerPool* pool = nullptr);

// Makes glibc's malloc, and mimalloc in the programs that link it, keep freed memory instead
// of handing it back to the kernel after every batch (Note [Keeping freed memory] in
// trainer.cpp). Training and evaluation call it.
void keep_freed_memory();

// The index of the largest value in row b of a (B,C) array of logits or probabilities: the
// predicted class. Ties go to the lower class.
int argmax_row(const Array<float>& x, std::size_t b);

struct Prediction {
  std::vector<std::string> tokens;  // what the model read, as tokenize() gives it; "<unk>" for a text with no token
  std::vector<bool> known;          // per token: false where the vocabulary maps it to <unk>
  std::vector<double> alpha;        // one weight per token
  std::vector<double> probabilities;  // per class
  int label = 0;                    // the most probable class
};
std::vector<Prediction> predict_texts(SentimentClassifier<float>& model, const Vocabulary& vocab,
                                      const std::vector<std::string>& texts, std::size_t max_tokens = kMaxTokens,
                                      WorkerPool* pool = nullptr);

// Note [Ensemble checkpoints] (models/checkpoint/sentiment_checkpoint.hpp): an ensemble's
// answer is p̄ = (1/N) Σ_k softmax(logits_k) and its α per word is (1/N) Σ_k α_k; its
// label is argmax p̄ and its loss −mean log p̄[label]. One member gives exactly that
// member's answer (evaluate_ensemble is then evaluate_classifier).
using Ensemble = std::vector<SentimentClassifier<float>*>;
std::vector<Prediction> predict_ensemble(const Ensemble& members, const Vocabulary& vocab,
                                         const std::vector<std::string>& texts, std::size_t max_tokens = kMaxTokens,
                                         WorkerPool* pool = nullptr);
Evaluation evaluate_ensemble(const Ensemble& members, const EncodedData& data, std::size_t batch_size = 256,
                             WorkerPool* pool = nullptr);

}  // namespace tg
