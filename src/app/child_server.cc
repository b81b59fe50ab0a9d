#include "app/child_server.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <climits>

namespace keel::app {

std::string selfExecutable() {
  char buf[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);
  return n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string("keel");
}

ChildServer::~ChildServer() {
  if (pid_ > 0) kill();
}

Result<std::string> ChildServer::start() {
  int out[2];
  if (pipe2(out, O_CLOEXEC) != 0) return Error(ErrorCode::kIo, "pipe failed");
  std::vector<std::string> argv{binary_, "serve"};
  argv.insert(argv.end(), args_.begin(), args_.end());
  pid_ = fork();
  if (pid_ < 0) return Error(ErrorCode::kIo, "fork failed");
  if (pid_ == 0) {
    dup2(out[1], 1);
    std::vector<char*> cargv;
    for (auto& a : argv) cargv.push_back(a.data());
    cargv.push_back(nullptr);
    execv(binary_.c_str(), cargv.data());
    _exit(127);
  }
  close(out[1]);
  std::string line;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (line.find('\n') == std::string::npos) {
    pollfd p{out[0], POLLIN, 0};
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                    deadline - std::chrono::steady_clock::now())
                    .count();
    if (left <= 0 || poll(&p, 1, static_cast<int>(left)) <= 0) break;
    char buf[256];
    ssize_t n = read(out[0], buf, sizeof(buf));
    if (n <= 0) break;
    line.append(buf, static_cast<size_t>(n));
  }
  stdoutFd_ = out[0];
  auto at = line.find("http://");
  if (at == std::string::npos) {
    kill();
    return Error(ErrorCode::kUnavailable, "keel serve did not start: '" + line + "'");
  }
  auto end = line.find_first_of(" \n", at);
  return line.substr(at, end - at);
}

void ChildServer::kill() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  reap();
}

void ChildServer::terminate() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGTERM);
  reap();
}

void ChildServer::reap() {
  int status = 0;
  while (waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  pid_ = -1;
  if (stdoutFd_ >= 0) close(stdoutFd_);
  stdoutFd_ = -1;
}

}  // namespace keel::app
