// A child process for tests of the hookd binary: started with arguments and extra
// environment, stdout readable line by line, stopped by a signal.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace hookd::test {

class child_process {
 public:
  // Starts `argv[0]` with `argv`, the current environment plus `env` ("K=V").
  // stderr goes to `stderr_file` when given (so logs can be shown on failure).
  child_process(std::vector<std::string> argv, std::vector<std::string> env = {},
                std::string stderr_file = {});
  ~child_process();  // kills (SIGKILL) and reaps the child if still running
  child_process(const child_process&) = delete;
  child_process& operator=(const child_process&) = delete;

  // The next line of stdout without its newline; nullopt at end of output. Throws if
  // no line arrives within `limit` (a safety net, not a synchronisation).
  std::optional<std::string> read_line(std::chrono::seconds limit = std::chrono::seconds(60));
  // All remaining stdout until the child closes it.
  std::string read_all(std::chrono::seconds limit = std::chrono::seconds(60));

  void signal(int sig);
  // Waits for the child to exit; returns the exit code, or 128+signal if killed.
  int wait();
  pid_t pid() const noexcept { return pid_; }

 private:
  pid_t pid_ = -1;
  int stdout_fd_ = -1;
  std::string pending_;
  bool reaped_ = false;
  int status_ = 0;
};

// Runs a command to completion; returns {exit code, stdout}. stderr is captured into
// the returned pair's second element after stdout when `merge_stderr`.
struct run_result {
  int exit_code = -1;
  std::string out;
  std::string err;
};
run_result run_command(std::vector<std::string> argv, std::vector<std::string> env = {});

}  // namespace hookd::test
