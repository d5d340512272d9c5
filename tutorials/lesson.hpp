// What every lesson shares: the command line (--step, --trace, --dot FILE), numbered
// step headings, checks that print ✓/✗ and set the exit code (so CTest fails a wrong
// lesson), the `tensor | tape | by hand | finite diff | max diff` table, and central
// differences to fill its last column. Header-only: tutorials/NN_*.cpp include it.
// A command-line mistake exits 2, as in `sentiment`; --help prints the lesson's one-line
// summary of what it teaches.
#pragma once
#include <unistd.h>
#include <spawn.h>
#include <sys/wait.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "autograd/autograd.hpp"

extern char** environ;

namespace tg {

// One row of a gradient comparison table: the same gradient three ways.
struct GradientRow {
  std::string tensor;
  Array<double> tape, by_hand, finite_diff;
};

// Central differences of the scalar loss() w.r.t. every element of x, in double
// (Note [Two scalar types] in autograd/tensor.hpp): (loss(x+eps) − loss(x−eps)) / 2eps.
inline Array<double> finite_diff(const std::function<double()>& loss, Tensor<double>& x, double eps = 1e-6) {
  NoGrad<double> no_grad;
  Array<double>& value = x.mutable_value();
  Array<double> grad = xt::zeros<double>(value.shape());
  for (std::size_t i = 0; i < value.size(); ++i) {
    const double saved = value.data()[i];
    value.data()[i] = saved + eps;
    const double plus = loss();
    value.data()[i] = saved - eps;
    const double minus = loss();
    value.data()[i] = saved;
    grad.data()[i] = (plus - minus) / (2 * eps);
  }
  return grad;
}

// Exit status for a command line that makes no sense (an unknown option, a missing value):
// 2, as `sentiment` and most Unix tools, not CLI11's own codes (109, 114, …).
inline constexpr int kLessonUsageExit = 2;

class Lesson {
 public:
  // `summary`: what the lesson teaches, one line, for --help ("the chain rule on one neuron: …").
  Lesson(std::string title, const std::string& summary) : title_(std::move(title)), app_(title_ + "\n  " + summary) {
    app_.add_flag("--step", step_mode_, "pause after each step (only when stdin is a terminal; otherwise the "
                                        "lesson runs straight through)");
    app_.add_flag("--trace", trace_, "print each node as backward runs");
    app_.add_option("--dot", dot_file_, "write the computation graph as Graphviz DOT (and an SVG if `dot` is installed)")
        ->type_name("FILE");
  }

  // Lessons may add their own options to app() before parse().
  CLI::App& app() { return app_; }

  // Returns an exit code when the lesson should stop: 0 after --help, kLessonUsageExit
  // (with CLI11's one-line message) for a mistake.
  std::optional<int> parse(int argc, char** argv) {
    try {
      app_.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
      return app_.exit(e) == 0 ? 0 : kLessonUsageExit;
    }
    fmt::print("{}\n{}\n", title_, std::string(display_width(title_), '='));
    if (step_mode_ && !isatty(STDIN_FILENO))
      fmt::print("(--step: standard input is not a terminal, so the lesson runs straight through)\n");
    return std::nullopt;
  }

  // Prints "Step N: title"; with --step, first waits for Enter after the previous step.
  void step(const std::string& title) {
    if (step_mode_ && steps_ > 0 && isatty(STDIN_FILENO)) {
      fmt::print("\n[Enter: next step] ");
      std::fflush(stdout);
      std::string ignored;
      std::getline(std::cin, ignored);
    }
    fmt::print("\nStep {}: {}\n", ++steps_, title);
  }

  // With --trace, the tape prints each node as its backward runs.
  template <class T>
  void attach(Tape<T>& tape) const {
    if (trace_) tape.trace = &std::cout;
  }

  // |got − want| ≤ tol, or a ✗ line and a non-zero exit code from finish().
  bool check(const std::string& name, double got, double want, double tol) {
    return report(name, std::abs(got - want), tol, fmt::format("got {:.10g}, want {:.10g}", got, want));
  }

  template <class T>
  bool check(const std::string& name, const Array<T>& got, const Array<T>& want, double tol) {
    if (!shapes_equal(got.shape(), want.shape()))
      return report(name, INFINITY, tol, fmt::format("shape {} vs {}", shape_str(got.shape()), shape_str(want.shape())));
    return report(name, max_abs_diff(got, want), tol, "");
  }

  // Prints the table `tensor | tape | by hand | finite diff | max diff`, one tensor to
  // three lines so that it fits 100 columns: its tape values, then by hand and finite
  // diff under them, each with its max |diff| from the tape. Each row is a check.
  void gradient_table(const std::vector<GradientRow>& rows, double tol) {
    std::size_t name_width = 6;
    for (const auto& r : rows) name_width = std::max(name_width, display_width(r.tensor));
    // The values column gets what is left of kColumns; each value takes up to 10 characters.
    const std::size_t values_width = kColumns > name_width + 30 ? kColumns - name_width - 30 : 20;
    const std::size_t shown = std::max<std::size_t>(2, values_width / 10);
    const auto line = [&](const std::string& name, const std::string& way, const std::string& vals,
                          const std::string& diff) {
      std::string out = "  " + name + std::string(name_width - display_width(name), ' ') + "  " + way +
                        std::string(11 - display_width(way), ' ') + "  " + vals;
      if (!diff.empty()) out += std::string(values_width > display_width(vals) ? values_width - display_width(vals) : 0, ' ') + "  " + diff;
      fmt::print("{}\n", out);
    };
    line("tensor", "way", "values", "max diff");
    fmt::print("  {}\n", std::string(std::min<std::size_t>(kColumns - 2, name_width + values_width + 25), '-'));
    std::vector<double> diffs;
    for (const auto& r : rows) {
      const double by_hand = max_abs_diff(r.tape, r.by_hand), numeric = max_abs_diff(r.tape, r.finite_diff);
      diffs.push_back(std::max(by_hand, numeric));
      line(r.tensor, "tape", values(r.tape, shown), "");
      line("", "by hand", values(r.by_hand, shown), fmt::format("{:.2e}", by_hand));
      line("", "finite diff", values(r.finite_diff, shown), fmt::format("{:.2e}", numeric));
    }
    for (std::size_t i = 0; i < rows.size(); ++i)
      report(fmt::format("d{} agrees three ways", rows[i].tensor), diffs[i], tol, "");
  }

  // Output lines stay within this many columns (a test checks every lesson's).
  static constexpr std::size_t kColumns = 100;

  // --dot FILE: the graph behind root, plus FILE.svg when Graphviz's `dot` is on PATH.
  // A file that cannot be written counts as a failed check.
  template <class T>
  void write_dot(const Tensor<T>& root) {
    if (dot_file_.empty()) return;
    std::ofstream out(dot_file_);
    out << graph_dot(root);
    if (!out.flush()) {
      report(fmt::format("--dot {}: written", dot_file_), INFINITY, 0, "cannot open the file for writing");
      return;
    }
    fmt::print("wrote {}\n", dot_file_);
    const std::string svg = std::filesystem::path(dot_file_).replace_extension(".svg").string();
    if (!on_path("dot")) {
      fmt::print("(Graphviz `dot` is not on PATH: no SVG; try `dot -Tsvg {} -o {}`)\n", dot_file_, svg);
      return;
    }
    if (run({"dot", "-Tsvg", dot_file_, "-o", svg}) == 0) fmt::print("wrote {}\n", svg);
    else fmt::print("dot -Tsvg failed on {}\n", dot_file_);
  }

  // The exit code: 0 when every check passed.
  int finish() const {
    if (failures_ == 0) fmt::print("\nAll {} checks passed.\n", checks_);
    else fmt::print("\n{} of {} checks FAILED.\n", failures_, checks_);
    return failures_ == 0 ? 0 : 1;
  }

 private:
  bool report(const std::string& name, double diff, double tol, const std::string& detail) {
    const bool ok = diff <= tol;  // false for NaN, as it should be
    ++checks_;
    if (!ok) ++failures_;
    fmt::print("  {} {}  (diff {:.2e}, tol {:.0e}){}\n", ok ? "✓" : "✗", name, diff, tol,
               detail.empty() || ok ? "" : ": " + detail);
    return ok;
  }

  template <class T>
  static double max_abs_diff(const Array<T>& a, const Array<T>& b) {
    if (!shapes_equal(a.shape(), b.shape())) return INFINITY;
    double d = 0;
    for (std::size_t i = 0; i < a.size(); ++i)
      d = std::max(d, std::abs(static_cast<double>(a.data()[i]) - static_cast<double>(b.data()[i])));
    return std::isnan(d) ? INFINITY : d;
  }

  // "[0.1234 -0.5 … (12)]": the first few values, enough to eyeball a row, and how many there are.
  static std::string values(const Array<double>& a, std::size_t shown = 4) {
    std::string out = "[";
    for (std::size_t i = 0; i < std::min(a.size(), shown); ++i)
      out += fmt::format("{}{:.6f}", i ? " " : "", a.data()[i]);
    return out + (a.size() > shown ? fmt::format(" … ({})]", a.size()) : "]");
  }

  // Code points, not bytes, so that "…" pads like one character.
  static std::size_t display_width(const std::string& s) {
    return static_cast<std::size_t>(std::count_if(s.begin(), s.end(), [](char ch) { return (ch & 0xC0) != 0x80; }));
  }

  static bool on_path(const std::string& program) {
    const char* path = std::getenv("PATH");
    if (!path) return false;
    std::string dirs = path;
    for (std::size_t start = 0, end; start <= dirs.size(); start = end + 1) {
      end = std::min(dirs.find(':', start), dirs.size());
      const auto candidate = std::filesystem::path(dirs.substr(start, end - start)) / program;
      if (end > start && access(candidate.c_str(), X_OK) == 0) return true;
    }
    return false;
  }

  // Runs a program without a shell (file names need no quoting); returns its exit status.
  static int run(std::vector<std::string> args) {
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    pid_t pid = 0;
    if (posix_spawnp(&pid, argv[0], nullptr, nullptr, argv.data(), environ) != 0) return -1;
    int status = 0;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }

  std::string title_;
  CLI::App app_;
  bool step_mode_ = false, trace_ = false;
  std::string dot_file_;
  int steps_ = 0, checks_ = 0, failures_ = 0;
};

// tg::tape_listing for a 100-column terminal: a node whose line is longer continues on a
// second line from its "grad".
template <class T>
std::string wrapped_tape_listing(const Tape<T>& tape, std::size_t columns = 100) {
  const auto width = [](const std::string& s) { return std::count_if(s.begin(), s.end(), [](char ch) { return (ch & 0xC0) != 0x80; }); };
  std::string out, line;
  std::istringstream in(tape_listing(tape));
  while (std::getline(in, line)) {
    const std::size_t grad = line.find("  grad ");
    if (std::size_t(width(line)) <= columns || grad == std::string::npos) out += line + "\n";
    else out += line.substr(0, grad) + "\n" + std::string(6, ' ') + line.substr(grad + 2) + "\n";
  }
  return out;
}

}  // namespace tg
