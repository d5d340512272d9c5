// The `sentiment` program: the flagship LSTM + attention classifier as a command-line
// tool (train, compare, evaluate, predict, report; no arguments runs the demo). This
// file wires the subcommands into one CLI11 app and turns every failure into one
// `sentiment: error: ...` line on stderr and an exit status (sentiment.hpp).
#include <signal.h>
#include <unistd.h>

#include <charconv>
#include <cstdlib>
#include <cstring>

#include <fmt/format.h>

#include "sentiment.hpp"

// OpenBLAS's own threads; no header declares it next to xtensor-blas (XTENSOR-NOTES, pitfall 4).
extern "C" void openblas_set_num_threads(int);

namespace {

// The subcommand CLI11 parsed, for the "see --help" hint of a usage error.
std::string help_hint(const CLI::App& app) {
  const auto chosen = app.get_subcommands();
  return chosen.empty() ? "sentiment --help" : "sentiment " + chosen.front()->get_name() + " --help";
}

int fail(int status, const std::string& message) {
  fmt::print(stderr, "sentiment: error: {}\n", message);
  return status;
}

// Note [Deterministic kill tests] (tests/test_interrupt.cpp): with TG_TEST_SAVE_STEPS set to
// an open file descriptor, each step of a checkpoint save is written there as one digit and
// the program stops itself (SIGSTOP) until continued, so a test can kill it at that step.
int g_save_steps_fd = -1;

void report_save_step(tg::SaveStep step) {
  const char digit = char('0' + int(step));
  if (::write(g_save_steps_fd, &digit, 1) == 1) ::raise(SIGSTOP);
}

void install_test_save_hook() {
  const char* value = std::getenv("TG_TEST_SAVE_STEPS");
  if (!value) return;
  int fd = -1;
  const char* end = value + std::strlen(value);
  if (std::from_chars(value, end, fd).ptr != end || fd < 3) return;  // never stdin, stdout or stderr
  g_save_steps_fd = fd;
  tg::set_save_step_hook(report_save_step);
}

}  // namespace

int main(int argc, char** argv) {
  using namespace tg::cli;
  CLI::App app{"Sentiment of airline tweets with an LSTM and attention, on tapegrad.\n"
               "With no arguments: the demo (built-in data, the pooling comparison, a report).",
               "sentiment"};
  app.require_subcommand(0, 1);
  const std::vector<Subcommand> commands = {add_train_command(app),   add_compare_command(app),
                                            add_evaluate_command(app), add_predict_command(app),
                                            add_report_command(app),   add_demo_command(app)};
  // One by default: on a shared or busy machine a second BLAS thread often waits more than
  // it works (tests/bench/README.md has the measurements on an idle one).
  int threads = 1;
  for (const Subcommand& command : commands)
    command.cli->add_option("--threads", threads,
                            "cores to use: BLAS threads when training, threads sharing each batch when evaluating")
        ->check(CLI::Range(1, 64))->capture_default_str();

  std::vector<std::string> args;
  for (int i = argc - 1; i >= 1; --i) args.emplace_back(argv[i]);  // CLI11 wants them reversed
  if (args.empty()) args.emplace_back("demo");
  try {
    app.parse(args);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);  // --help
    return fail(kExitUsage, fmt::format("{} (see {})", e.what(), help_hint(app)));
  }
  openblas_set_num_threads(threads);
  install_test_save_hook();
  try {
    for (const Subcommand& command : commands)
      if (command.cli->parsed()) return command.run(threads);
    return fail(kExitUsage, "no subcommand given (see sentiment --help)");
  } catch (const UsageError& e) {
    return fail(kExitUsage, fmt::format("{} (see {})", e.what(), help_hint(app)));
  } catch (const std::exception& e) {  // tg::Error and anything from the standard library
    return fail(kExitFailure, e.what());
  }
}
