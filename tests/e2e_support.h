// Helpers for end-to-end tests: a `keel serve` child in a temporary
// directory, and small HTTP calls against it.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "app/child_server.h"
#include "app/db_peek.h"
#include "testing/temp_dir.h"

namespace keel::e2e {

class KeelUnderTest {
 public:
  // extraArgs are appended to `keel serve --db DIR/keel.db --listen 127.0.0.1:0`.
  explicit KeelUnderTest(std::vector<std::string> extraArgs = {});
  ~KeelUnderTest();

  void start();  // asserts that it started
  void kill9();  // a crash
  void stop();   // SIGTERM
  // Replaces the extra arguments for the next start() (not while running).
  void setExtraArgs(std::vector<std::string> extraArgs);
  // The next start() listens on the port of the last one (not while
  // running), so that clients holding url() find keel again.
  void keepPort();
  pid_t pid() const { return child_->pid(); }
  const std::string& url() const { return url_; }
  std::string db() const { return dir_.file("keel.db"); }
  const testing::TempDir& dir() const { return dir_; }

  // The admin token the server wrote beside its database on first start.
  std::string token() const;
  // A client that sends token().
  std::unique_ptr<httplib::Client> client() const;
  // POST a workflow's YAML; asserts 200/201.
  void apply(const std::string& yaml);
  // Triggers a run and returns the response (status, body as JSON).
  std::pair<int, nlohmann::json> trigger(const std::string& workflow, nlohmann::json body);
  nlohmann::json getRun(const std::string& id);
  // Polls until the run is finished or `seconds` pass; returns the last view.
  nlohmann::json waitForRun(const std::string& id, int seconds = 60);

 private:
  std::vector<std::string> serveArgs(const std::vector<std::string>& extraArgs) const;
  testing::TempDir dir_;
  std::unique_ptr<app::ChildServer> child_;
  std::string url_;
  std::string listen_ = "127.0.0.1:0";
  std::vector<std::string> extraArgs_;
};

using app::queryText;

// Polls `cond` every 20 ms until it holds (true) or `seconds` pass (false).
inline bool waitFor(const std::function<bool()>& cond, int seconds = 60) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
  while (!cond()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return true;
}

inline bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

// A `keel serve` that is expected to refuse to start.
struct ServeOutcome {
  bool served = false;  // it started serving (and was then stopped)
  int exitCode = -1;    // when it exited by itself
  std::string output;   // stdout and stderr
};
// Runs `keel serve ARGS...` until it exits, or until it prints that it
// serves (then it is stopped and `served` is true).
ServeOutcome serveUntilExit(const std::vector<std::string>& args);

// Starts `keel ARGS...` as a child with KEEL_TOKEN=token, its stdout and
// stderr in the files `out` and `err`; its pid.
pid_t startKeelCli(const std::vector<std::string>& args, const std::string& token,
                   const std::string& out, const std::string& err);
// The exit code of `pid` once it has ended (within `seconds`), or -1 (then
// it is killed).
int exitCodeOf(pid_t pid, int seconds);

struct CliResult {
  int code = -1;  // -1: killed after a minute, or ended by a signal
  std::string out;
  std::string err;
};
// Runs `keel --server URL ARGS...` against `keel` with its token, to its
// end (at most a minute).
CliResult runKeelCli(const KeelUnderTest& keel, const std::vector<std::string>& args);
// runKeelCli as the actor "alice" (`--as alice` first).
inline CliResult aliceCli(const KeelUnderTest& keel, std::vector<std::string> args) {
  args.insert(args.begin(), {"--as", "alice"});
  return runKeelCli(keel, args);
}
// The body of GET /metrics, or "" when it does not answer 200.
inline std::string scrapeMetrics(const KeelUnderTest& keel) {
  auto res = keel.client()->Get("/metrics");
  return res && res->status == 200 ? res->body : "";
}

}  // namespace keel::e2e
