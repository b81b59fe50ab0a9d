// Steps on the engine loop: dispatch, completion, retries, timeouts and
// skipping the dependants of a step that failed for good.
#include <algorithm>
#include <filesystem>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "engine/engine.h"
#include "observe/json_log.h"
#include "observe/trace_context.h"
#include "resilience/retry.h"
#include "spec/parser.h"
#include "spec/template.h"

namespace keel::engine {

using nlohmann::json;

void Engine::readyStep(RunRt& run, int idx) {
  auto& s = run.steps[idx];
  s.row.state = StepState::kReady;
  s.row.reason.clear();
  markStep(run, idx);
  dispatchStep(run, idx);
}

namespace {

store::AttemptRow newAttempt(const RunRt& run, const StepRt& s, WallTime at) {
  store::AttemptRow a;
  a.runId = run.row.id;
  a.step = s.row.name;
  a.n = s.row.attempts;
  a.state = AttemptState::kRunning;
  a.startedAt = at;
  return a;
}

}  // namespace

void Engine::dispatchStep(RunRt& run, int idx) {
  auto& s = run.steps[idx];
  const auto& spec = run.wf->step(idx);
  StepRunner* runner = runnerFor(spec.kind);
  std::optional<ConcurrencySlots> slots = concurrencyOf(run);
  std::vector<std::string> passed;
  const std::string paused = pauseHold(run);
  GateDecision gate =
      stepGates_.check(GateInput{spec, runner != nullptr, draining_, runningProcs_,
                                 options_.maxParallelSteps, slots ? &*slots : nullptr, &paused},
                       &passed);
  // Past the concurrency gate the run holds its slot, even if a later gate
  // holds this step: its key's limit bounds runs, not attempts.
  if (slots && !run.holdsSlot &&
      std::find(passed.begin(), passed.end(), kWaitConcurrency) != passed.end())
    takeSlot(run);
  if (!gate.admit) {
    holdStep(run, idx, gate);
    return;
  }
  s.row.waitKind.clear();
  s.row.waitReason.clear();
  ++s.row.attempts;
  s.cancelledBy.reset();  // an operator's cancel applied to an earlier attempt
  s.attempt = newAttempt(run, s, now());
  ++attemptsStarted_;
  observeAttemptStarted(run, s);
  sloAttemptStarted(run);
  switch (spec.kind) {
    case spec::StepKind::kNoop:
      s.attempt->state = AttemptState::kSucceeded;
      s.attempt->finishedAt = s.attempt->startedAt;
      pending_.mutations.emplace_back(store::PutAttempt{*s.attempt});
      succeedStep(run, idx, {});
      return;
    case spec::StepKind::kSleep: {
      s.row.state = StepState::kWaiting;
      s.row.dueAt = now() + spec.sleep;
      s.row.reason = "sleeping until " + formatRfc3339(*s.row.dueAt);
      markStep(run, idx);
      pending_.mutations.emplace_back(store::PutAttempt{*s.attempt});
      event(run, "step_sleeping", s.row.name, s.attempt->n, s.row.reason);
      armStepTimer(run, idx, *s.row.dueAt);
      return;
    }
    case spec::StepKind::kApproval:
      startApproval(run, idx);
      return;
    default:
      break;
  }
  s.row.state = StepState::kRunning;
  s.row.dueAt.reset();
  s.row.reason.clear();
  // --max-parallel bounds processes; an http call costs no process.
  if (spec.kind == spec::StepKind::kRun) {
    s.holdsProcSlot = true;
    ++runningProcs_;
  }
  markStep(run, idx);
  pending_.mutations.emplace_back(store::PutAttempt{*s.attempt});
  event(run, "attempt_started", s.row.name, s.attempt->n);
  if (!runner) {
    // A stored workflow of a kind this keel cannot run (apply refuses it today).
    failAttempt(run, idx, FailureClass::kBadInput, std::nullopt,
                fmt::format("{} steps cannot run in this version of keel", toString(spec.kind)));
    return;
  }
  s.runner = runner;
  auto prepared = prepareAttempt(run, idx, *runner);
  if (!prepared.ok()) {
    failAttempt(run, idx, FailureClass::kBadInput, std::nullopt, prepared.error().message());
    return;
  }
  afterCommit([this, runId = run.row.id, idx, n = s.attempt->n, p = std::move(*prepared)] {
    launchAttempt(runId, idx, n, p);
  });
}

void Engine::holdStep(RunRt& run, int idx, const GateDecision& why) {
  auto& s = run.steps[idx];
  // Held again for the same reason: nothing to write.
  const bool same = s.row.state == StepState::kReady && s.row.waitKind == why.kind &&
                    s.row.waitReason == why.reason && s.row.reason == why.reason;
  s.row.state = StepState::kReady;
  s.row.reason = why.reason;
  s.row.waitKind = why.kind;
  s.row.waitReason = why.reason;
  if (!same) markStep(run, idx);
  // A step held for a slot goes when one frees (startQueuedSteps); one
  // held for its run's concurrency key when a run holding the key ends
  // (admitWaiting); one held because keel stops at the next start.
  if (why.kind == kWaitMaxParallel) readyQueue_.emplace_back(run.row.id, idx);
  if (why.kind == kWaitConcurrency) waitForSlot(run, why);
  // A resume dispatches it (releasePaused); its run shows `paused` once
  // nothing of it runs.
  if (why.kind == kWaitPaused) refreshPaused(run);
}

Result<std::shared_ptr<const PreparedAttempt>> Engine::prepareAttempt(RunRt& run, int idx,
                                                                      StepRunner& runner,
                                                                      std::string leasedTo) {
  const auto& spec = run.wf->step(idx);
  // Only the outputs of the steps this one needs (directly or further up):
  // which other steps happen to be done is a matter of timing.
  std::map<std::string, json> outputs;
  std::vector<int> todo = run.wf->needs[idx];
  std::vector<char> seen(run.steps.size(), 0);
  while (!todo.empty()) {
    int up = todo.back();
    todo.pop_back();
    if (seen[up]) continue;
    seen[up] = 1;
    todo.insert(todo.end(), run.wf->needs[up].begin(), run.wf->needs[up].end());
    auto& other = run.steps[up];
    if (other.row.state != StepState::kSucceeded || other.row.outputJson.empty()) continue;
    if (!other.output) {
      other.output = json::parse(other.row.outputJson, nullptr, false);
      if (other.output->is_discarded()) other.output = json();
    }
    outputs[other.row.name] = *other.output;
  }
  AttemptInput in;
  in.runId = run.row.id;
  in.workflow = run.row.workflow;
  in.attempt = run.steps[idx].row.attempts;
  in.workflowSpec = run.wf->spec.get();
  in.step = &spec;
  in.params = &run.params;
  in.outputs = &outputs;
  in.timeout = spec.timeout.value_or(Millis(0));
  in.leasedTo = std::move(leasedTo);
  in.traceId = observe::runTraceId(run.row.traceId, run.row.id);
  in.spanId = observe::attemptSpanId(in.runId, spec.name, in.attempt);
  in.requestId = run.row.requestId;
  auto prepared = runner.prepare(in);
  if (prepared.ok()) return prepared;
  // A step an operator skipped has no output: say so where a template
  // wanted it.
  std::string message = prepared.error().message();
  for (size_t up = 0; up < run.steps.size(); ++up) {
    const auto& other = run.steps[up].row;
    if (!seen[up] || !skippedByOperator(other)) continue;
    if (message.find("no output from step '" + other.name + "'") == std::string::npos) continue;
    message +=
        fmt::format("; step '{}' was skipped by an operator, so it has no output", other.name);
  }
  return Error(prepared.error().code(), message, prepared.error().details());
}

void Engine::launchAttempt(const std::string& runId, int idx, int n,
                           std::shared_ptr<const PreparedAttempt> prepared) {
  RunRt* run = findRun(runId);
  if (!run) return;
  auto& s = run->steps[idx];
  if (s.row.state != StepState::kRunning || !s.attempt || s.attempt->n != n || !s.runner) return;
  const bool runCancelled = run->cancelRequested && !run->wf->isCompensation(idx);
  if (runCancelled || s.cancelledBy) {
    failAttempt(*run, idx, FailureClass::kCancelled, std::nullopt,
                runCancelled ? "run cancelled before start" : "cancelled before start");
    return;
  }
  // Stopping: its attempt is durable as running with nothing started, so
  // the next start finds nothing of it, closes it as `lost` and retries it
  // by policy.
  if (draining_) return;
  s.handle = s.runner->start(std::move(prepared), [this, runId, idx, n](exec::StepOutcome o) {
    loop_.post([this, runId, idx, n, o = std::move(o)]() mutable {
      onStepFinished(runId, idx, n, std::move(o));
    });
  });
  armTimeout(*run, idx, run->wf->step(idx).timeout.value_or(kNoTimeout));
}

void Engine::armTimeout(RunRt& run, int idx, Millis timeout) {
  auto& s = run.steps[idx];
  const int n = s.attempt->n;
  // Cancelled when the attempt ends, so only running attempts hold one.
  s.timeoutTimer = loop_.runAt(clock_.monoNow() + timeout, [this, runId = run.row.id, idx, n] {
    RunRt* r = findRun(runId);
    if (!r) return;
    auto& st = r->steps[idx];
    if (st.row.state == StepState::kRunning && st.attempt && st.attempt->n == n) {
      st.timeoutTimer.reset();
      if (st.handle && st.runner) st.runner->stop(*st.handle, FailureClass::kTimeout);
    }
  });
}

void Engine::reattachStep(RunRt& run, int idx) {
  auto& s = run.steps[idx];
  const auto& spec = run.wf->step(idx);
  const int n = s.attempt->n;
  if (spec.kind == spec::StepKind::kRun) {
    s.holdsProcSlot = true;
    ++runningProcs_;
  }
  exec::AttemptRef ref{run.row.id, s.row.name, n, options_.outputCapBytes};
  reattached_.emplace_back(spec.kind, ref);
  event(run, "attempt_reattached", s.row.name, n,
        "keel restarted while this attempt was running; looking for it");
  s.runner = runnerFor(spec.kind);
  auto prepared = prepareAttempt(run, idx, *s.runner,
                                 spec.kind == spec::StepKind::kTask ? leasedWorker(run, idx) : "");
  std::shared_ptr<const PreparedAttempt> input;
  if (prepared.ok()) input = std::move(*prepared);
  s.handle = s.runner->attach(ref, std::move(input),
                              [this, runId = run.row.id, idx, n](exec::StepOutcome o) {
                                loop_.post([this, runId, idx, n, o = std::move(o)]() mutable {
                                  onStepFinished(runId, idx, n, std::move(o));
                                });
                              });
  // What is left of its time limit, counted from the attempt's start.
  auto limit = spec.timeout.value_or(kNoTimeout);
  auto left = std::chrono::duration_cast<Millis>(s.attempt->startedAt + limit - now());
  armTimeout(run, idx, std::max(Millis(0), left));
  // A cancel of the run, or of this step alone, asked before keel stopped.
  if ((run.cancelRequested && !run.wf->isCompensation(idx)) || s.cancelledBy)
    s.runner->stop(*s.handle, FailureClass::kCancelled);
}

void Engine::onStepFinished(const std::string& runId, int idx, int n, exec::StepOutcome outcome) {
  RunRt* run = findRun(runId);
  if (!run) return;
  auto& s = run->steps[idx];
  if (s.row.state != StepState::kRunning || !s.attempt || s.attempt->n != n) return;  // stale
  // keel is stopping and stopped watching: the step runs on, and the next
  // start re-attaches it. Nothing about it changes here.
  if (outcome.detached) return;
  s.handle.reset();
  cancelTimers(s);
  releaseProcSlot(s);
  // The attempt's folder goes once its end is durable.
  if (s.runner)
    afterCommit([runner = s.runner, ref = exec::AttemptRef{runId, s.row.name, n, 0}] {
      runner->discard(ref);
    });
  if (outcome.failureClass == FailureClass::kLost)
    event(*run, "attempt_lost", s.row.name, n, outcome.message);
  const bool noLogs = outcome.stdoutBytes == 0 && outcome.stderrBytes == 0 &&
                      outcome.stdoutText.empty() && outcome.stderrText.empty();
  if (!(noLogs && outcome.failureClass == FailureClass::kLost)) {
    store::LogRow log;
    log.runId = runId;
    log.step = s.row.name;
    log.attempt = n;
    log.stdoutText = std::move(outcome.stdoutText);
    log.stderrText = std::move(outcome.stderrText);
    log.stdoutBytes = outcome.stdoutBytes;
    log.stderrBytes = outcome.stderrBytes;
    pending_.mutations.emplace_back(store::PutLog{std::move(log)});
  }
  s.attempt->exitCode = outcome.exitCode;
  s.attempt->signal = outcome.signal;
  // Never before the attempt's start (a clock stepped back) nor after now.
  std::optional<WallTime> endedAt;
  if (outcome.endedAt)
    endedAt =
        std::clamp(*outcome.endedAt, s.attempt->startedAt, std::max(s.attempt->startedAt, now()));
  if (!outcome.succeeded) {
    failAttempt(*run, idx, outcome.failureClass, outcome.exitCode, outcome.message, endedAt,
                outcome.retryNotBefore);
    return;
  }
  s.attempt->state = AttemptState::kSucceeded;
  s.attempt->finishedAt = endedAt.value_or(now());
  s.attempt->message = outcome.message;
  pending_.mutations.emplace_back(store::PutAttempt{*s.attempt});
  event(*run, "attempt_succeeded", s.row.name, n, outcome.message);
  succeedStep(*run, idx, std::move(outcome.outputJson));
}

void Engine::succeedStep(RunRt& run, int idx, std::string outputJson) {
  auto& s = run.steps[idx];
  s.row.state = StepState::kSucceeded;
  s.row.outputJson = std::move(outputJson);
  s.output.reset();
  s.row.reason.clear();
  s.row.dueAt.reset();
  s.completedSeq = run.nextCompletedSeq++;
  markStep(run, idx);
  event(run, "step_succeeded", s.row.name, s.row.attempts);
  emitStepEvent(run, idx);
  for (int d : run.wf->dependants[idx]) {
    auto& dep = run.steps[d];
    if (--dep.pendingNeeds == 0 && dep.row.state == StepState::kPending && !run.cancelRequested)
      readyStep(run, d);
  }
  maybeFinishRun(run);
}

void Engine::failAttempt(RunRt& run, int idx, FailureClass cls, std::optional<int> exitCode,
                         std::string message, std::optional<WallTime> endedAt,
                         std::optional<WallTime> notBefore) {
  auto& s = run.steps[idx];
  const auto& spec = run.wf->step(idx);
  s.handle.reset();
  cancelTimers(s);
  releaseProcSlot(s);
  s.attempt->state = AttemptState::kFailed;
  s.attempt->finishedAt = endedAt.value_or(now());
  s.attempt->exitCode = exitCode;
  s.attempt->failureClass = cls;
  s.attempt->message = message;
  pending_.mutations.emplace_back(store::PutAttempt{*s.attempt});
  event(run, "attempt_failed", s.row.name, s.attempt->n,
        fmt::format("{}: {}", toString(cls), message));
  if (observe::logEnabled(spdlog::level::warn))
    observe::logFields(spdlog::level::warn, "attempt failed: " + message,
                       {{"run_id", run.row.id},
                        {"trace_id", observe::runTraceId(run.row.traceId, run.row.id)},
                        {"workflow", run.row.workflow},
                        {"step", s.row.name},
                        {"attempt", s.attempt->n},
                        {"class", toString(cls)}});
  if (run.cancelRequested && !run.wf->isCompensation(idx)) {
    killStep(run, idx, "run cancelled while the step was running");
    return;
  }
  if (s.cancelledBy) {
    // An operator cancelled this step alone (keel cancel --step): not retried.
    std::string why = *s.cancelledBy;
    s.cancelledBy.reset();
    killStep(run, idx, fmt::format("{} ({}: {})", why, toString(cls), message));
    return;
  }
  int made = s.row.attempts - budgetStart(run, idx);
  auto decision =
      resilience::decideRetry(spec.retry, made, cls, exitCode, s.lastDelay, random_.uniform01());
  if (decision.verdict != resilience::RetryVerdict::kRetry) {
    killStep(run, idx, fmt::format("{} ({}: {})", decision.reason, toString(cls), message));
    return;
  }
  s.lastDelay = decision.delay;
  s.row.state = StepState::kRetrying;
  s.row.dueAt = now() + decision.delay;
  s.row.reason = decision.reason;
  if (notBefore && *notBefore > *s.row.dueAt) {
    // The target said when to come back; a day at most, whatever it said.
    constexpr auto kLongestWait = std::chrono::hours(24);
    s.row.dueAt = std::min(*notBefore, now() + kLongestWait);
    s.row.reason += ", not before " + formatRfc3339(*s.row.dueAt) + " (Retry-After)";
  }
  markStep(run, idx);
  event(run, "step_retrying", s.row.name, s.attempt->n, decision.reason);
  armStepTimer(run, idx, *s.row.dueAt);
  stepRetrying(run, idx);
}

void Engine::killStep(RunRt& run, int idx, std::string reason) {
  auto& s = run.steps[idx];
  s.row.state = StepState::kDead;
  s.row.reason = std::move(reason);
  s.row.dueAt.reset();
  markStep(run, idx);
  event(run, "step_dead", s.row.name, s.row.attempts, s.row.reason);
  if (run.wf->isCompensation(idx)) {
    compensationFailed(run, idx);
    incidentSymptom(run, idx, "compensation_failed");
  } else if (raisesIncident(run, idx)) {
    incidentSymptom(run, idx, "step_dead");
  }
  skipDependants(run, idx);
  maybeFinishRun(run);
}

void Engine::skipDependants(RunRt& run, int idx) {
  std::vector<int> todo = run.wf->dependants[idx];
  while (!todo.empty()) {
    int d = todo.back();
    todo.pop_back();
    auto& s = run.steps[d];
    if (s.row.state != StepState::kPending) continue;
    s.row.state = StepState::kSkipped;
    s.row.reason =
        fmt::format("skipped: needs '{}', which did not succeed", run.steps[idx].row.name);
    markStep(run, d);
    event(run, "step_skipped", s.row.name, 0, s.row.reason);
    for (int dd : run.wf->dependants[d]) todo.push_back(dd);
  }
}

void Engine::armStepTimer(RunRt& run, int idx, WallTime due) {
  auto& s = run.steps[idx];
  cancelTimers(s);
  uint64_t token = ++s.timerToken;
  auto wait = std::max(WallTime::duration(0), due - now());
  s.stepTimer =
      loop_.runAt(clock_.monoNow() + std::chrono::duration_cast<std::chrono::nanoseconds>(wait),
                  [this, runId = run.row.id, idx, token] { onTimer(runId, idx, token); });
}

void Engine::onTimer(const std::string& runId, int idx, uint64_t token) {
  RunRt* run = findRun(runId);
  if (!run) return;
  auto& s = run->steps[idx];
  if (s.timerToken != token) return;
  s.stepTimer.reset();
  if (s.row.state == StepState::kRetrying) {
    dispatchStep(*run, idx);
  } else if (s.row.state == StepState::kWaiting && s.attempt &&
             run->wf->spec->steps[idx].kind == spec::StepKind::kApproval) {
    approvalTimedOut(*run, idx);
  } else if (s.row.state == StepState::kWaiting && s.attempt) {
    if (std::string why = pauseHold(*run); !why.empty()) {
      // Its run is paused: the sleep ends when it is resumed.
      s.heldByPause = true;
      s.row.reason = why;
      markStep(*run, idx);
      return;
    }
    s.attempt->state = AttemptState::kSucceeded;
    s.attempt->finishedAt = now();
    pending_.mutations.emplace_back(store::PutAttempt{*s.attempt});
    succeedStep(*run, idx, {});
  }
}

void Engine::cancelTimers(StepRt& s) {
  if (s.timeoutTimer) loop_.cancel(*s.timeoutTimer);
  if (s.stepTimer) loop_.cancel(*s.stepTimer);
  s.timeoutTimer.reset();
  s.stepTimer.reset();
  dropStepEscalation(s);
}

void Engine::releaseProcSlot(StepRt& s) {
  if (!s.holdsProcSlot) return;
  s.holdsProcSlot = false;
  --runningProcs_;
  // Started from the loop's next turn, not from inside this transition.
  if (!readyQueue_.empty()) loop_.post([this] { startQueuedSteps(); });
}

void Engine::startQueuedSteps() {
  if (draining_) return;  // they stay `ready` for the next start
  while (!readyQueue_.empty() && runningProcs_ < options_.maxParallelSteps) {
    auto [runId, idx] = readyQueue_.front();
    readyQueue_.pop_front();
    RunRt* run = findRun(runId);
    if (!run || (run->cancelRequested && !run->wf->isCompensation(idx)) ||
        run->steps[idx].row.state != StepState::kReady)
      continue;
    dispatchStep(*run, idx);
  }
}

}  // namespace keel::engine

namespace keel::engine {

std::string Engine::leasedWorker(const RunRt& run, int idx) {
  const auto& s = run.steps[idx];
  auto events = store_.runEvents(run.row.id);
  if (!events.ok()) {
    spdlog::warn("cannot read the timeline of run {} to find who holds task {}.{}: {}", run.row.id,
                 s.row.name, s.attempt->n, events.error().toString());
    return {};
  }
  std::string worker;
  for (const auto& e : *events)
    if (e.kind == kTaskLeasedEvent && e.step == s.row.name && e.attempt == s.attempt->n)
      if (auto w = leasedWorkerOf(e.message)) worker = *w;
  return worker;
}

std::future<Status> Engine::recordTaskLeases(std::vector<TaskLease> leases) {
  return onLoopIfHealthy<Status>([this, leases = std::move(leases)](auto reply) {
    for (const auto& l : leases) {
      RunRt* run = findRun(l.runId);
      if (!run) continue;
      for (auto& s : run->steps)
        if (s.row.name == l.step && s.row.state == StepState::kRunning && s.attempt &&
            s.attempt->n == l.attempt)
          event(*run, kTaskLeasedEvent, s.row.name, l.attempt, leasedMessage(l.worker));
    }
    afterCommit([reply] { reply->set_value(okStatus()); });
  });
}

}  // namespace keel::engine
