// StepRunner: how the engine runs one attempt of a step of a given kind.
//
// The engine keeps the durable record (attempts, retries, timeouts, the
// run's DAG) and knows no kind: it picks the runner by the step's kind and
// gets back one outcome type (exec::StepOutcome: succeeded with an output,
// or failed with a class, a message and an optional earliest next attempt).
// One implementation per kind: ProcessRunner for `run:` (a process under
// its supervisor); HttpRunner and TaskRunner (src/runners/) for `http:` and
// `task:`. `noop` and
// `sleep` need no runner: the engine completes a noop at once and a sleep
// on its own durable timer.
//
// The engine calls prepare() and everything else on its loop thread;
// start()'s `done` may come from any thread (the engine posts it back to
// its loop). A runner never blocks the caller: slow work happens on its
// own threads.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/result.h"
#include "exec/executor.h"
#include "spec/workflow.h"

namespace keel::engine {

// Everything a runner may use to build one attempt.
struct AttemptInput {
  std::string runId;
  std::string workflow;
  int attempt = 1;
  const spec::WorkflowSpec* workflowSpec = nullptr;
  const spec::StepSpec* step = nullptr;
  const nlohmann::json* params = nullptr;
  // The outputs of the steps this one needs (directly or further up).
  const std::map<std::string, nlohmann::json>* outputs = nullptr;
  std::chrono::milliseconds timeout{0};  // 0 = none
  // The run's trace (RunRow::traceId; empty for a run stored before runs
  // kept one) and this attempt's span in it (attemptSpanId), for the
  // step's TRACEPARENT and traceparent header.
  std::string traceId;
  std::string spanId;
  std::string requestId;  // the X-Request-Id that created the run; empty if none
  // Re-attach of a `task:` attempt only: the worker its task was handed to,
  // from the run's timeline (empty: it was never handed out).
  std::string leasedTo;
};

// What prepare() made of an AttemptInput, handed back to start().
struct PreparedAttempt {
  virtual ~PreparedAttempt() = default;
};

class StepRunner {
 public:
  using Handle = exec::ExecHandle;
  using Done = std::function<void(exec::StepOutcome)>;
  virtual ~StepRunner() = default;

  // Renders what the attempt will do. An error (kInvalidArgument) fails the
  // attempt as bad input before anything starts: the same input would fail
  // the same way on every attempt.
  virtual Result<std::shared_ptr<const PreparedAttempt>> prepare(const AttemptInput& in) = 0;
  // Starts it, once its `running` record is durable. `done` is called
  // exactly once.
  virtual Handle start(std::shared_ptr<const PreparedAttempt> attempt, Done done) = 0;
  // Ends a started attempt early (timeout, cancel, keel stopping its steps);
  // its outcome carries `why`. No effect once it has ended.
  virtual void stop(Handle handle, FailureClass why) = 0;
  // Recovery: an attempt recorded as running when keel stopped. `prepared`
  // is what prepare() makes of it now (null when that fails): a runner that
  // must hand the attempt out again has its input.
  virtual Handle attach(const exec::AttemptRef& ref,
                        std::shared_ptr<const PreparedAttempt> prepared, Done done) = 0;
  // The attempt's end is durable: what the runner kept for it may go.
  virtual void discard(const exec::AttemptRef& ref) = 0;
  // Once after recovery, before new attempts: `keep` are being re-attached.
  virtual void sweep(const std::vector<exec::AttemptRef>& keep) = 0;
  // The attempt's output so far, from `offset` (exec::StepExecutor::readLive).
  // Any thread. kUnimplemented by default: this kind keeps no live output.
  virtual Result<exec::LiveOutput> readLive(const exec::AttemptRef& ref, int64_t offset,
                                            size_t maxBytes) {
    (void)ref;
    (void)offset;
    (void)maxBytes;
    return Error(ErrorCode::kUnimplemented, "this step kind has no live output");
  }
};

// The `run:` kind: renders the command (every template value one quoted
// shell word), working directory and environment, and runs them on a
// StepExecutor (a process under its supervisor).
class ProcessRunner final : public StepRunner {
 public:
  struct Options {
    std::string defaultWorkdir;  // for workflows applied without a source path
    size_t logCapBytes = 1 << 20;
    size_t outputCapBytes = 1 << 20;
  };
  ProcessRunner(exec::StepExecutor& executor, Options options)
      : executor_(executor), options_(std::move(options)) {}

  Result<std::shared_ptr<const PreparedAttempt>> prepare(const AttemptInput& in) override;
  Handle start(std::shared_ptr<const PreparedAttempt> attempt, Done done) override;
  void stop(Handle handle, FailureClass why) override { executor_.stop(handle, why); }
  Handle attach(const exec::AttemptRef& ref, std::shared_ptr<const PreparedAttempt>,
                Done done) override {
    return executor_.attach(ref, std::move(done));
  }
  void discard(const exec::AttemptRef& ref) override { executor_.discard(ref); }
  void sweep(const std::vector<exec::AttemptRef>& keep) override { executor_.sweep(keep); }
  Result<exec::LiveOutput> readLive(const exec::AttemptRef& ref, int64_t offset,
                                    size_t maxBytes) override {
    return executor_.readLive(ref, offset, maxBytes);
  }

 private:
  exec::StepExecutor& executor_;
  Options options_;
};

}  // namespace keel::engine
