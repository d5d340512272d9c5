// Tests of tests/bench/contention.hpp (the benchmarks' --contention N): the busy children
// run while the object lives and are gone afterwards — killed and reaped, also when the
// benchmark itself is killed and no destructor runs. Timing is not tested.
#include <doctest/doctest.h>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <string>
#include <thread>

#include "bench/contention.hpp"

namespace {

// The process state letter from /proc/PID/stat (R running, S sleeping, Z zombie, ...), or
// 0 when there is no such process.
char process_state(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(stat, line)) return 0;
  const std::size_t close = line.rfind(')');  // the command name may hold spaces
  return close + 2 < line.size() ? line[close + 2] : 0;
}

// Gone or dead (a zombie waiting for a parent that is not us), within `limit`.
bool ends_within(pid_t pid, std::chrono::milliseconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    const char state = process_state(pid);
    if (state == 0 || state == 'Z' || state == 'X') return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

}  // namespace

TEST_CASE("contention: N busy children while it lives, none (reaped) after") {
  std::vector<pid_t> pids;
  {
    const bench::Contention busy(2);
    pids = busy.pids();
    REQUIRE(pids.size() == 2);
    for (pid_t pid : pids) {
      CHECK(process_state(pid) != 0);
      CHECK(process_state(pid) != 'Z');
    }
  }
  for (pid_t pid : pids) {
    CHECK(waitpid(pid, nullptr, WNOHANG) == -1);  // already reaped: not our child any more
    CHECK(process_state(pid) == 0);              // and no zombie left behind
  }
  const bench::Contention none(0);
  CHECK(none.pids().empty());
}

TEST_CASE("contention: an exception unwinding past it stops the children") {
  std::vector<pid_t> pids;
  try {
    const bench::Contention busy(1);
    pids = busy.pids();
    throw std::runtime_error("the benchmark failed");
  } catch (const std::runtime_error&) {
  }
  REQUIRE(pids.size() == 1);
  CHECK(process_state(pids[0]) == 0);
}

TEST_CASE("contention: the children die with a benchmark killed by a signal") {
  int fds[2];
  REQUIRE(pipe(fds) == 0);
  const pid_t benchmark = fork();
  REQUIRE(benchmark >= 0);
  if (benchmark == 0) {  // a stand-in benchmark: starts two children, reports them, waits to be killed
    close(fds[0]);
    const bench::Contention busy(2);
    const pid_t pids[2] = {busy.pids()[0], busy.pids()[1]};
    if (write(fds[1], pids, sizeof pids) != sizeof pids) _exit(1);
    for (;;) pause();
  }
  close(fds[1]);
  pid_t pids[2] = {0, 0};
  const ssize_t got = read(fds[0], pids, sizeof pids);
  close(fds[0]);
  kill(benchmark, SIGKILL);  // no destructor runs
  int status = 0;
  REQUIRE(waitpid(benchmark, &status, 0) == benchmark);
  REQUIRE(got == sizeof pids);
  for (pid_t pid : pids) CHECK(ends_within(pid, std::chrono::seconds(5)));
}
