// The `sentiment` program: the flagship LSTM + attention classifier as a command-line
// tool (train, compare, evaluate, predict, report; no arguments runs the demo). This
// file wires the subcommands into one CLI11 app and turns every failure into one
// `sentiment: error: ...` line on stderr and an exit status (sentiment.hpp).
#include <signal.h>
#include <unistd.h>

#include <charconv>
#include <cstdlib>
#include <cstring>
#include <algorithm>
#include <cstddef>
#include <cstdlib>
#include <new>

#include <fmt/format.h>

#include "sentiment.hpp"

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

constexpr const char* kOutOfMemory =
    "out of memory (std::bad_alloc): the input or model needs more memory than this process may use";

int main_with_handlers(int argc, char** argv) {
  using namespace tg::cli;
  CLI::App app{"Sentiment of airline tweets with an LSTM and attention, on tapegrad.\n"
               "With no arguments: the demo (built-in data, the pooling comparison, a report).",
               "sentiment"};
  app.require_subcommand(0, 1);
  const std::vector<Subcommand> commands = {add_train_command(app),   add_compare_command(app),
                                            add_evaluate_command(app), add_predict_command(app),
                                            add_report_command(app),   add_baseline_command(app),
                                            add_demo_command(app)};
  // --threads: how many cores this run may keep busy (docs/cli.md); auto: the idle ones.
  std::string threads = "auto";
  for (const Subcommand& command : commands)
    command.cli->add_option("--threads", threads,
                            "cores this run may keep busy: auto (the ones other processes leave idle) or 1-64")
        ->check(threads_option())->capture_default_str();

  std::vector<std::string> args;
  for (int i = argc - 1; i >= 1; --i) args.emplace_back(argv[i]);  // CLI11 wants them reversed
  if (args.empty()) args.emplace_back("demo");
  try {
    app.parse(args);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);  // --help
    return fail(kExitUsage, fmt::format("{} (see {})", e.what(), help_hint(app)));
  }
  // OpenBLAS's sums change in the last bits with its thread count, and so does training.
  // The demo's numbers are quoted in the README: unless told otherwise it uses one core.
  const CLI::App* demo = commands.back().cli;
  if (demo->parsed() && demo->get_option("--threads")->count() == 0) threads = "1";
  tg::cli::run_cores() = tg::Cores(tg::parse_threads(threads));
  tg::set_blas_threads(1);  // until a phase takes more (Cores::for_training)
  install_test_save_hook();
  try {
    for (const Subcommand& command : commands)
      if (command.cli->parsed()) return command.run();
    return fail(kExitUsage, "no subcommand given (see sentiment --help)");
  } catch (const UsageError& e) {
    return fail(kExitUsage, fmt::format("{} (see {})", e.what(), help_hint(app)));
  } catch (const std::bad_alloc&) {
    return fail(kExitFailure, kOutOfMemory);
  } catch (const std::exception& e) {  // tg::Error and anything from the standard library
    return fail(kExitFailure, e.what());
  } catch (...) {  // Note [Every failure is one line]: nothing reaches std::terminate
    return fail(kExitFailure, "an unexpected exception (not a std::exception) ended the program");
  }
}

}  // namespace

// Note [Every failure is one line]
// Running out of memory must end like any other error: one line and exit status 1.
// mimalloc (linked into this program by CMakeLists.txt's tg_use_fast_allocator) replaces
// operator new with one that aborts when an allocation fails: Debian's shared library
// does not see std::set_new_handler (its weak get_new_handler binds to its own stub), so
// a new-handler cannot help. The program therefore defines the throwing operator new
// itself (a program's own definition replaces every library's): malloc, which mimalloc
// serves, then the new-handler if one is set, else std::bad_alloc, as the standard's
// does. Deletes stay the library's: they free() what malloc gave. main catches
// bad_alloc, and anything else thrown (even a non-std::exception), below. The readers
// stop at their size limits first (Note [Input size limits]); this is what is left:
// `ulimit -v`, a machine already short of memory (tests/test_bad_input.cpp). Not under
// AddressSanitizer, whose own operator new throws and checks new/delete pairs (ours
// would look like malloc freed by delete).
#ifndef __SANITIZE_ADDRESS__
namespace {
void* allocate_or_throw(std::size_t size, std::size_t alignment) {
  size = std::max<std::size_t>(size, 1);
  while (true) {
    void* p = alignment <= alignof(std::max_align_t)
                  ? std::malloc(size)
                  : std::aligned_alloc(alignment, (size + alignment - 1) / alignment * alignment);
    if (p) return p;
    const std::new_handler handler = std::get_new_handler();
    if (!handler) throw std::bad_alloc();
    handler();
  }
}
}  // namespace

void* operator new(std::size_t size) { return allocate_or_throw(size, 0); }
void* operator new[](std::size_t size) { return allocate_or_throw(size, 0); }
void* operator new(std::size_t size, std::align_val_t a) { return allocate_or_throw(size, std::size_t(a)); }
void* operator new[](std::size_t size, std::align_val_t a) { return allocate_or_throw(size, std::size_t(a)); }
#endif

int main(int argc, char** argv) {
  try {
    return main_with_handlers(argc, argv);
  } catch (const std::bad_alloc&) {  // while building or parsing the command line
    return fail(tg::cli::kExitFailure, kOutOfMemory);
  } catch (...) {
    return fail(tg::cli::kExitFailure, "an unexpected exception ended the program");
  }
}
