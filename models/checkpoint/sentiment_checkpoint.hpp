// A trained sentiment model on disk: a directory holding weights.npz (PyTorch
// state_dict names), vocab.txt (one token a line; line number − 1 = id) and
// config.json (hyper-parameters, label names, tokenizer settings, history, metrics).
#pragma once
#include <filesystem>
#include <memory>

#include <nlohmann/json.hpp>

#include "models/training/trainer.hpp"

namespace tg {

struct SentimentCheckpoint {
  ClassifierConfig model;       // filled by loading; saving writes the model's own config()
  TrainOptions train;           // the options it was trained with (stop/callbacks not saved)
  std::string recipe;           // "canonical", "default", …
  std::vector<std::string> labels{"negative", "neutral", "positive"};
  std::size_t max_tokens = kMaxTokens;  // the tokenizer's, as the model was trained
  std::size_t min_count = 2;            // the vocabulary's (VocabOptions::min_count)
  TrainingHistory history;
  nlohmann::json extra;         // anything else worth keeping (data files, test metrics)
};

// Writes the directory atomically: everything goes into a fresh sibling directory, is
// fsynced, then swapped with `dir` in one rename (RENAME_EXCHANGE), so a crash or kill -9
// at any moment leaves `dir` holding the old complete checkpoint or the new one, never
// a mix (a kill may leave a `dir.tmp-XXXXXX` sibling behind: safe to delete). The
// directory holds config.json, vocab.txt, weights.npz and SHA256SUMS (their hashes: the
// proof that tapegrad wrote them). `dir` must pass check_checkpoint_destination; on
// failure `dir` is left as it was. Replacing an old checkpoint deletes only its files.
void save_sentiment_checkpoint(const std::filesystem::path& dir, const SentimentClassifier<float>& model,
                               const Vocabulary& vocab, const SentimentCheckpoint& info);

// Throws a tg::Error, one line naming the file at fault, unless a checkpoint could be
// saved at `dir` without losing anything: `dir` is absent (its nearest existing parent
// writable), an empty directory, or a checkpoint tapegrad wrote (exactly its files, each
// matching SHA256SUMS). Refused: an empty name, the current directory or one above it, a
// symbolic link, a file, a directory holding anything else (named), a read-only place.
// save_sentiment_checkpoint runs this same check; call it before training to fail early.
void check_checkpoint_destination(const std::filesystem::path& dir);

// Note [Deterministic kill tests]: the steps of save_sentiment_checkpoint, reported to a
// hook so that a test can kill a saving process at a chosen step instead of at a random
// moment (tests/test_interrupt.cpp). `begin`: checked, nothing written yet; `written`: the
// new checkpoint complete beside `dir`, not yet swapped in; `published`: swapped in, the
// old one deleted. No hook by default; one process-wide hook (tests only).
enum class SaveStep { begin, written, published };
using SaveStepHook = void (*)(SaveStep);
void set_save_step_hook(SaveStepHook hook);

struct LoadedSentimentModel {
  SentimentCheckpoint info;  // an ensemble's: its first member's
  Vocabulary vocab;          // an ensemble's members share it
  std::unique_ptr<SentimentClassifier<float>> model;  // in evaluation mode; an ensemble's first member
  std::vector<std::unique_ptr<SentimentClassifier<float>>> more_members;  // an ensemble's 2nd..Nth; else empty
  nlohmann::json ensemble;   // an ensemble's ensemble.json; null for a single model

  // The model, then the other members: what predict_ensemble and evaluate_ensemble average.
  std::vector<SentimentClassifier<float>*> members() const;
};
// A directory holding ensemble.json loads as an ensemble (Note [Ensemble checkpoints]):
// a member missing, damaged, or with another vocabulary or tokenizer throws naming its file.
// Throws a tg::Error naming the file (and parameter or field) at fault: a missing
// directory or file, a config with the wrong label count or with sizes over the resource
// limits (refused before anything is allocated: Note [Resource limits]), a vocabulary
// whose size is not the embedding's, a weight missing, extra, mis-shaped, of the wrong
// dtype or not finite.
LoadedSentimentModel load_sentiment_checkpoint(const std::filesystem::path& dir);

// Note [Ensemble checkpoints]: an ensemble of N models trained on the same data (seeds
// s..s+N−1) is one directory holding ensemble.json (its format, N and how members are
// combined) and member-1/ … member-N/, each a complete single-model checkpoint written by
// the same code as save_sentiment_checkpoint, and each sharing one vocabulary. The whole
// directory is written beside `dir` and swapped in as one (the same rules and hook steps as
// above); replacing a single-model checkpoint by an ensemble, or the reverse, is allowed.
// Members' class probabilities are averaged; the α shown per word is the mean of the
// members' α. Resource limits apply to the sum over members (Note [Resource limits]).
inline constexpr std::size_t kMaxEnsembleMembers = 16;
void save_sentiment_ensemble(const std::filesystem::path& dir,
                             const std::vector<const SentimentClassifier<float>*>& members, const Vocabulary& vocab,
                             const std::vector<SentimentCheckpoint>& infos, const nlohmann::json& ensemble_extra);

// config.json's content (`source` names it in errors) as the checkpoint's description,
// with every field checked; not checked against vocab.txt or weights.npz. Throws a
// tg::Error naming `source` and the field at fault. (load_sentiment_checkpoint reads
// config.json through this; tests/fuzz feeds it arbitrary bytes.)
SentimentCheckpoint parse_sentiment_config(std::string_view text, const std::string& source);

}  // namespace tg
