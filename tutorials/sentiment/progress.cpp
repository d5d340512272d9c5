// Training progress output (see progress.hpp): the live bar, the plain log lines and
// the per-epoch table, all fed by the trainer's callbacks.
#include "progress.hpp"

#include <cstdio>

#include <fmt/format.h>

#include "sentiment.hpp"

namespace tg::cli {
namespace {

constexpr int kBarWidth = 24;
constexpr auto kRedrawInterval = std::chrono::milliseconds(100);  // a terminal need not redraw faster

std::string bar(double fraction) {
  const int full = int(fraction * kBarWidth + 0.5);
  std::string out;
  for (int i = 0; i < kBarWidth; ++i) out += i < full ? "█" : "░";
  return out;
}

}  // namespace

TrainCallbacks TrainingProgress::callbacks() {
  return {[this](const ProgressEvent& e) { on_batch(e); }, [this](const EpochRecord& r) { on_epoch(r); }, {}};
}

void TrainingProgress::print_table_header() const {
  fmt::print("{:>5}  {:>10}  {:>9}  {:>10}  {:>9}  {:>8}  {:>6}\n", "epoch", "train loss", "train acc", "valid loss",
             "valid acc", "valid F1", "time");
}

void TrainingProgress::clear_line() {
  if (!line_drawn_) return;
  fmt::print("\r\x1b[K");
  std::fflush(stdout);
  line_drawn_ = false;
}

// The whole run's ETA: this epoch's rest plus the later epochs at the last epoch's pace
// (or, in the first epoch, at this one's: elapsed + eta over the share done).
std::string TrainingProgress::status(const ProgressEvent& e) const {
  const double done = double(e.batch) / double(e.batches);
  const double epoch_seconds = last_epoch_seconds_ > 0 ? last_epoch_seconds_
                               : done < 1               ? e.eta_seconds / (1 - done)
                                                        : 0;
  const double eta = e.eta_seconds + double(e.epochs - e.epoch) * epoch_seconds;
  return fmt::format("loss {:.4f}  acc {:.3f}  {:.0f} tweets/s  ETA {}", e.loss, e.accuracy, e.tweets_per_second,
                     format_duration(eta));
}

void TrainingProgress::on_batch(const ProgressEvent& e) {
  if (style_.live) {
    const auto now = std::chrono::steady_clock::now();
    if (e.batch != e.batches && now - last_draw_ < kRedrawInterval) return;
    last_draw_ = now;
    const std::string label = style_.label.empty() ? "" : style_.label + "  ";
    fmt::print("\r{}epoch {}/{} {} {:>4}/{}  {}\x1b[K", label, e.epoch, e.epochs, bar(double(e.batch) / double(e.batches)),
               e.batch, e.batches, status(e));
    std::fflush(stdout);
    line_drawn_ = true;
  } else if (style_.log_every > 0 && (e.batch % style_.log_every == 0 || e.batch == e.batches)) {
    fmt::print("{}epoch {}/{} batch {}/{}  {}\n", style_.label.empty() ? "" : style_.label + "  ", e.epoch, e.epochs,
               e.batch, e.batches, status(e));
    std::fflush(stdout);
  }
}

void TrainingProgress::on_epoch(const EpochRecord& r) {
  last_epoch_seconds_ = r.seconds;
  const bool best = r.valid_accuracy > best_accuracy_;  // ties go to the earlier epoch, as in the trainer
  if (best) best_accuracy_ = r.valid_accuracy;
  if (!style_.epoch_table) return;
  clear_line();
  fmt::print("{:>5}  {:>10.4f}  {:>9.4f}  {:>10.4f}  {:>9.4f}  {:>8.4f}  {:>5.1f}s{}\n", r.epoch, r.train_loss,
             r.train_accuracy, r.valid_loss, r.valid_accuracy, r.valid_macro_f1, r.seconds, best ? "  * best" : "");
  std::fflush(stdout);
}

}  // namespace tg::cli
