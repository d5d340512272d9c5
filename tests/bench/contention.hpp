// --contention N for the benchmarks: N child processes that busy-loop while the benchmark
// runs, so "a busy machine" is a setting that can be measured again, not a guess about
// who else is running (issue 15). The children never outlive the benchmark:
//   - the destructor kills them (SIGKILL) and reaps them (waitpid), on a normal return
//     and when an exception unwinds main;
//   - each child asks the kernel to kill it when its parent dies (PR_SET_PDEATHSIG), which
//     covers a benchmark killed by a signal, std::exit or an abort, where no destructor runs.
// Make it in the main thread: the death signal follows the thread that forked.
#pragma once
#include <signal.h>
#include <sys/prctl.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

namespace bench {

class Contention {
 public:
  explicit Contention(int children) {
    const pid_t parent = getpid();
    for (int k = 0; k < children; ++k) {
      const pid_t pid = fork();
      if (pid < 0) {
        stop();
        throw std::runtime_error(std::string("--contention: fork failed: ") + std::strerror(errno));
      }
      if (pid == 0) spin(parent);  // never returns
      pids_.push_back(pid);
    }
  }
  ~Contention() { stop(); }
  Contention(const Contention&) = delete;
  Contention& operator=(const Contention&) = delete;

  const std::vector<pid_t>& pids() const { return pids_; }

  // Kills and reaps every child; afterwards there is none. Safe to call twice.
  void stop() {
    for (pid_t pid : pids_) kill(pid, SIGKILL);
    for (pid_t pid : pids_)
      while (waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
      }
    pids_.clear();
  }

 private:
  // The child: dies with its parent, then burns CPU until killed. Only async-signal-safe
  // calls after fork (the parent may have had other threads).
  [[noreturn]] static void spin(pid_t parent) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(0);  // the parent died before prctl took effect
    for (;;) asm volatile("");  // an endless loop the compiler must keep
  }

  std::vector<pid_t> pids_;
};

}  // namespace bench
