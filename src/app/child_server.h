// ChildServer: a `keel serve` in a child process, for the crash benchmark
// and the crash tests. start() waits for the "keel serving http://..." line
// and returns the URL; kill() sends SIGKILL (a crash, not a shutdown);
// terminate() asks it to stop (SIGTERM) and reaps it.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "core/result.h"

namespace keel::app {

class ChildServer {
 public:
  ChildServer(std::string binary, std::vector<std::string> serveArgs)
      : binary_(std::move(binary)), args_(std::move(serveArgs)) {}
  ~ChildServer();

  Result<std::string> start();  // the base URL, e.g. http://127.0.0.1:40123
  void kill();                  // SIGKILL and reap
  void terminate();             // SIGTERM and reap
  bool running() const { return pid_ > 0; }
  pid_t pid() const { return pid_; }

 private:
  void reap();
  std::string binary_;
  std::vector<std::string> args_;
  pid_t pid_ = -1;
  int stdoutFd_ = -1;  // kept open so the child never writes into a closed pipe
};

// The path of the running executable (/proc/self/exe).
std::string selfExecutable();

}  // namespace keel::app
