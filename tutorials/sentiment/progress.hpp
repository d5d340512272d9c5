// Live training progress for the `sentiment` program: a bar redrawn in place when
// stdout is a terminal (batch, loss, accuracy, tweets/s, ETA), plain lines otherwise,
// and the per-epoch table (train and valid loss/accuracy, valid macro-F1, time, best).
#pragma once
#include <chrono>
#include <string>

#include "models/training/trainer.hpp"

namespace tg::cli {

struct ProgressStyle {
  bool live = false;          // redraw one line with \r (stdout is a terminal)
  std::size_t log_every = 0;  // not live: a plain line every this many batches (0: none)
  bool epoch_table = true;    // a table row per epoch
  std::string label;          // before the bar, e.g. "attention seed 2"
};

class TrainingProgress {
 public:
  explicit TrainingProgress(ProgressStyle style) : style_(std::move(style)) {}
  TrainingProgress(const TrainingProgress&) = delete;  // the callbacks point at this object
  TrainingProgress& operator=(const TrainingProgress&) = delete;

  TrainCallbacks callbacks();
  void print_table_header() const;
  void clear_line();  // erases the live bar, if one is drawn

 private:
  void on_batch(const ProgressEvent& e);
  void on_epoch(const EpochRecord& r);
  std::string status(const ProgressEvent& e) const;

  ProgressStyle style_;
  double best_accuracy_ = -1;
  double last_epoch_seconds_ = 0;
  std::chrono::steady_clock::time_point last_draw_{};
  bool line_drawn_ = false;
};

}  // namespace tg::cli
