// StepExecutor: runs one attempt of a `run:` step off the engine loop.
//
// start() launches the attempt and returns at once; `done` is called exactly
// once, from an executor thread, when the attempt has ended. stop() ends a
// running attempt early (a timeout or a cancel decided by the engine):
// SIGTERM to the whole process group, SIGKILL after the grace period; the
// outcome then carries the class given to stop(). All methods are
// thread-safe. The real implementation is ProcessExecutor
// (process_executor.h); tests use FakeExecutor (fake_executor.h, library
// keel_exec_fake).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/result.h"
#include "core/states.h"

namespace keel::exec {

struct StepRequest {
  std::string runId;
  std::string step;
  int attempt = 1;
  std::string command;  // rendered; run by /bin/sh -c in its own process group
  std::string workdir;  // must exist; empty = the current directory
  // The step's environment is PATH, HOME, LANG, LC_ALL and TZ from the
  // server's (when set), the variables named in passEnv (when set), then env
  // on top. Nothing else of the server's environment reaches a step.
  std::map<std::string, std::string> env;
  std::vector<std::string> passEnv;
  // The attempt's time limit, enforced by its supervisor even while keel
  // is down (SIGTERM, then SIGKILL after killGrace); 0 means none.
  std::chrono::milliseconds timeout{0};
  std::chrono::milliseconds killGrace{10'000};
  size_t logCapBytes = 1 << 20;  // per stream; the head and the last 64 KiB are kept
  // The largest $KEEL_OUTPUT file accepted; a bigger one fails the attempt
  // (class error) rather than loading it into the server's memory.
  size_t outputCapBytes = 1 << 20;
};

struct StepOutcome {
  bool succeeded = false;
  FailureClass failureClass = FailureClass::kNone;
  std::optional<int> exitCode;
  std::optional<int> signal;  // the signal that ended the process, if any
  // Human summary: "exit code 3", "killed by signal 9 (SIGKILL)", "timed out
  // after 10s; SIGTERM sent, then SIGKILL after 10s grace" (classify.h).
  std::string message;
  std::string outputJson;  // the JSON the step wrote to $KEEL_OUTPUT; empty if none
  std::string stdoutText;  // capped
  std::string stderrText;
  int64_t stdoutBytes = 0;  // before capping
  int64_t stderrBytes = 0;
  // When the step's process ended, as its supervisor saw it: an attempt
  // collected after a restart of keel ended earlier than keel learnt of it.
  std::optional<std::chrono::system_clock::time_point> endedAt;
  // The earliest time for the next attempt, when the step's target said so
  // (an HTTP 429 or 503 with Retry-After): a retry never comes sooner.
  std::optional<std::chrono::system_clock::time_point> retryNotBefore;
  // keel stopped watching (detach()); the attempt goes on under its
  // supervisor and is re-attached by the next start. Nothing else is set.
  bool detached = false;
};

// Names an attempt that a previous keel process started (re-attach) or
// whose end is now committed (discard).
struct AttemptRef {
  std::string runId;
  std::string step;
  int attempt = 1;
  size_t outputCapBytes = 1 << 20;
};

using ExecHandle = uint64_t;

// What readLive() found of an attempt's output so far: the bytes from the
// offset asked for, stdout and stderr interleaved as the supervisor read
// them.
struct LiveOutput {
  std::string data;
  int64_t offset = 0;  // where the next read starts: the offset asked + data.size()
  // Nothing will follow `offset`: the attempt has ended and every byte up
  // to there was read.
  bool ended = false;
};

class StepExecutor {
 public:
  virtual ~StepExecutor() = default;
  virtual ExecHandle start(StepRequest request, std::function<void(StepOutcome)> done) = 0;
  // No effect if the attempt already ended.
  virtual void stop(ExecHandle handle, FailureClass why) = 0;
  // Stops every running attempt (class cancelled) and waits for them to end.
  virtual void shutdown() = 0;

  // Watches an attempt that was running when keel last stopped, as start()
  // would have: `done` gets its outcome once it ends, at once if it has
  // already ended, or class lost if nothing of it can be found (after
  // killing whatever it left). stop() works on the handle. By default an
  // executor keeps nothing across a restart: every attempt is lost.
  virtual ExecHandle attach(AttemptRef ref, std::function<void(StepOutcome)> done);
  // The attempt's end is durable: whatever the executor kept for it (its
  // folder) may go. No effect by default.
  virtual void discard(const AttemptRef& ref) { (void)ref; }
  // Called once after recovery, before any new attempt starts: removes what
  // belongs to no attempt in `keep` (attempts being re-attached), stopping a
  // supervisor still running for one. No effect by default.
  virtual void sweep(const std::vector<AttemptRef>& keep) { (void)keep; }
  // Stops watching every attempt without stopping it: `done` is called with
  // `detached` set; the attempts run on and the next start re-attaches them.
  // Further start()s are refused as after shutdown(). By default the same
  // as shutdown().
  virtual void detach() { shutdown(); }
  // The attempt's output from byte `offset` of its live copy, at most
  // `maxBytes`, while it runs and for a short while after its end. Any
  // thread; reads a file at most, never waits for the attempt. kNotFound
  // when the executor knows nothing of it (not started yet, or discarded);
  // kUnimplemented by default: this executor keeps no live output.
  virtual Result<LiveOutput> readLive(const AttemptRef& ref, int64_t offset, size_t maxBytes);
};

}  // namespace keel::exec
