// ProcessExecutor: the real StepExecutor. Runs each attempt as
// `/bin/sh -c COMMAND` under a supervisor process of its own (keel-shim,
// see shim_main.cc), at most `maxParallel` at once; further attempts wait in
// a FIFO queue. The supervisor owns the step: it captures its output into
// the attempt's folder under `attemptsDir`, enforces its timeout, kills
// everything it started, and writes the result there, whether or not keel
// is still running. So keel may stop (detach()) or die without stopping a
// step, and a later process re-attaches it (attach()).
//
// Each running attempt has one worker thread (created when first needed,
// at most maxParallel, kept until shutdown) that starts the supervisor and
// waits for its end; see shim_client.h. Each re-attached attempt has a
// thread of its own (they were already running: no queue applies). `done` is called on that worker
// thread, or, for an attempt stopped before it started, on a small notifier thread. No lock is held
// while `done` runs, so it may call start() or stop().
//
// stop() never blocks: it records the request and wakes the attempt's
// thread, which sends SIGTERM to the group and SIGKILL after killGrace.
// shutdown() stops everything (class cancelled), waits until every `done`
// has been called and joins the threads; it must not be called from a
// `done` callback. detach() does the same without stopping the running
// steps. start() after either calls `done` at once, on the caller's
// thread, with class cancelled.
//
// Process-wide effect: the constructor sets SIGPIPE to "ignore", so that a
// peer closing a socket or pipe early gives the server EPIPE instead of
// killing it; children get the default action back (spawn.h). The server
// must not set SIGCHLD to "ignore" (children would then be reaped by the
// kernel and their status lost; attempts still end, with an unknown status).
// All methods are thread-safe.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "exec/executor.h"
#include "exec/shim_client.h"

namespace keel::exec {

struct ProcessExecutorOptions {
  size_t maxParallel = 32;  // 0 is taken as 1
  std::string shimPath;     // the keel-shim program
  // One folder per attempt, created when missing; keel's is the database
  // path with ".steps" appended.
  std::string attemptsDir;
};

class ProcessExecutor final : public StepExecutor {
 public:
  explicit ProcessExecutor(ProcessExecutorOptions options);
  ~ProcessExecutor() override;
  ProcessExecutor(const ProcessExecutor&) = delete;
  ProcessExecutor& operator=(const ProcessExecutor&) = delete;

  ExecHandle start(StepRequest request, std::function<void(StepOutcome)> done) override;
  void stop(ExecHandle handle, FailureClass why) override;
  void shutdown() override;
  ExecHandle attach(AttemptRef ref, std::function<void(StepOutcome)> done) override;
  void discard(const AttemptRef& ref) override;
  void sweep(const std::vector<AttemptRef>& keep) override;
  void detach() override;
  // Reads DIR/live of the attempt's folder (attempt_files.h); `ended` once
  // its status exists and the read reached the end. The live copy of an
  // attempt that was read live is kept in memory when its folder is
  // discarded (the last kLiveKeptAfterEnd such attempts), so that a
  // follower gets the rest after the engine has recorded the end.
  Result<LiveOutput> readLive(const AttemptRef& ref, int64_t offset, size_t maxBytes) override;

  static constexpr size_t kLiveKeptAfterEnd = 16;

  // Attempts accepted and not yet finished (queued or running).
  size_t inFlight() const;

 private:
  struct Job;

  void workerLoop();
  void notifierLoop();
  void addWorkerIfNeededLocked();
  void handOverUnstartedLocked(std::shared_ptr<Job> job, FailureClass why);
  void stopAll(bool leaveRunning);
  void queueRemoval(std::string dir, bool ended);
  void removeDir(const std::string& dir, bool ended);
  void keepLiveIfFollowed(const std::string& dir);

  const size_t maxParallel_;
  const ShimConfig shim_;
  mutable std::mutex mu_;
  std::condition_variable workCv_;    // queue_ grew, or shutting down
  std::condition_variable notifyCv_;  // unstarted_ grew, or shutting down
  std::deque<std::shared_ptr<Job>> queue_;
  std::deque<std::shared_ptr<Job>> unstarted_;  // stopped before they started
  // Folders to remove on the notifier thread: discarded attempts' (true:
  // their supervisor has ended) and those a sweep found (false: check first).
  std::deque<std::pair<std::string, bool>> toRemove_;
  std::unordered_map<ExecHandle, std::shared_ptr<Job>> jobs_;  // queued or running
  std::vector<std::thread> workers_;
  std::vector<std::thread> attached_;  // one per re-attached attempt
  size_t idleWorkers_ = 0;
  std::thread notifier_;
  bool shuttingDown_ = false;
  ExecHandle nextHandle_ = 1;
  std::once_flag shutdownOnce_;
  // Folder names of attempts readLive() was asked about, and the live
  // copies of those discarded since (oldest first, at most
  // kLiveKeptAfterEnd).
  std::set<std::string> followed_;
  std::deque<std::pair<std::string, std::string>> endedLive_;
};

}  // namespace keel::exec
