// Run lifecycle on the engine loop: creation, the slots of concurrency keys,
// completion, cancel and retry.
#include <algorithm>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "core/ids.h"
#include "engine/engine.h"
#include "observe/json_log.h"
#include "observe/trace_context.h"
#include "spec/template.h"

namespace keel::engine {

using nlohmann::json;

// A keyed trigger arrives here only if the store did not have its key when
// trigger() looked, after it had seen `seenSeq` commits. Since then another
// trigger may have created a run with the key: either not durable yet
// (uncommittedKeys_) or made durable by a later commit (durableKeys_).
void Engine::onTrigger(std::shared_ptr<const LoadedWorkflow> wf, json given, json params,
                       std::string key, RequestContext who, uint64_t seenSeq,
                       std::shared_ptr<std::promise<Result<TriggerResult>>> reply,
                       std::string traceId) {
  KeyId keyId{wf->row.name, key};
  if (!key.empty()) {
    if (uncommittedKeys_.count(keyId)) {
      // The first run with this key is not durable yet: ask again once it is.
      afterCommit([this, wf, given, params, key, who, seenSeq, reply, traceId]() mutable {
        onTrigger(std::move(wf), std::move(given), std::move(params), std::move(key),
                  std::move(who), seenSeq, reply, std::move(traceId));
      });
      return;
    }
    endKeyLookup(seenSeq);
    auto durable = durableKeys_.find(keyId);
    if (durable != durableKeys_.end() && durable->second.seq > seenSeq) {
      reply->set_value(replay(durable->second.run, given, key));
      return;
    }
  }
  if (std::string why = disabledReason(wf->row.name); !why.empty()) {
    reply->set_value(Error(ErrorCode::kConflict, why));
    return;
  }
  RunRt& run =
      createRun(std::move(wf), std::move(params), std::move(key), &who, std::move(traceId));
  auditRun(run, who, "run.trigger");
  if (!keyId.second.empty()) {
    uncommittedKeys_[keyId] = run.row.id;
    replyWhenDurable(run, [this, keyId](const store::RunRow& row) { keyMadeDurable(keyId, row); });
  }
  replyWhenDurable(run, [reply](const store::RunRow& row) {
    reply->set_value(TriggerResult{row, true});
  });
  startRun(run);
}

void Engine::keyMadeDurable(const KeyId& keyId, const store::RunRow& row) {
  uncommittedKeys_.erase(keyId);
  uint64_t seq;
  {
    std::lock_guard lock(keysMu_);
    seq = durableSeq_;
  }
  durableKeys_[keyId] = DurableKey{seq, row};
  durableKeyOrder_.emplace_back(seq, keyId);
}

void Engine::pruneDurableKeys() {
  uint64_t oldestSeen;
  {
    std::lock_guard lock(keysMu_);
    // A key made durable at or before every seen count was in the store
    // when each trigger in flight looked.
    oldestSeen = keyLookups_.empty() ? durableSeq_ : *keyLookups_.begin();
  }
  while (!durableKeyOrder_.empty() && durableKeyOrder_.front().first <= oldestSeen) {
    auto it = durableKeys_.find(durableKeyOrder_.front().second);
    if (it != durableKeys_.end() && it->second.seq == durableKeyOrder_.front().first)
      durableKeys_.erase(it);
    durableKeyOrder_.pop_front();
  }
  while (!durableEventOrder_.empty() && durableEventOrder_.front().first <= oldestSeen) {
    auto it = durableEvents_.find(durableEventOrder_.front().second);
    if (it != durableEvents_.end() && it->second.seq == durableEventOrder_.front().first)
      durableEvents_.erase(it);
    durableEventOrder_.pop_front();
  }
}

RunRt& Engine::createRun(std::shared_ptr<const LoadedWorkflow> wf, json params, std::string key,
                         const RequestContext* who, std::string traceId) {
  auto owned = std::make_unique<RunRt>();
  RunRt& run = *owned;
  run.wf = std::move(wf);
  run.params = std::move(params);
  // Ids sort in creation order, which recovery queues waiting runs by.
  run.row.id = nextRunId(now(), random_, lastRunId_);
  lastRunId_ = run.row.id;
  run.row.workflow = run.wf->row.name;
  run.row.version = run.wf->row.version;
  run.row.state = RunState::kPending;
  run.row.paramsJson = run.params.dump();
  run.row.idempotencyKey = std::move(key);
  run.row.createdAt = now();
  // The run keeps the trace it was triggered in (observe/trace_context.h),
  // or starts its own; its steps' spans and traceparents all carry it.
  run.row.traceId = observe::isTraceId(traceId) ? std::move(traceId) : observe::newTraceId(random_);
  if (who) run.row.requestId = who->requestId;
  // Its run span hangs under the span of the request that created it.
  if (who && observe::isSpanId(who->spanId)) run.row.parentSpanId = who->spanId;
  initSteps(run);
  for (size_t i = 0; i < run.steps.size(); ++i)
    run.steps[i].pendingNeeds = static_cast<int>(run.wf->needs[i].size());
  if (run.wf->spec->concurrency) {
    spec::TemplateContext ctx;
    ctx.params = &run.params;
    ctx.runId = run.row.id;
    ctx.workflow = run.row.workflow;
    auto rendered = spec::renderTemplate(run.wf->spec->concurrency->key, ctx);
    // Params were checked at trigger time, so rendering cannot fail.
    run.row.concurrencyKey = rendered.ok() ? *rendered : run.wf->spec->concurrency->key;
  }
  markRun(run);
  if (who)
    event(run, "run_created", *who, {}, fmt::format("version {}", run.row.version));
  else
    event(run, "run_created", {}, 0, fmt::format("version {}", run.row.version));
  ++runsCreated_;
  if (workflowMetrics_) workflowMetrics_->known(run.row.workflow);
  runs_.emplace(run.row.id, std::move(owned));
  activeRuns_ = runs_.size();
  // A finish_by shorter than the SLO timer's minute is armed now.
  if (slo_ && run.wf->spec->slo.finishDeadline()) sloTick();
  return run;
}

void Engine::startRun(RunRt& run) {
  run.row.state = RunState::kRunning;
  run.row.reason.clear();
  // Its steps say again what they wait for, if anything.
  run.row.waitKind.clear();
  run.row.waitReason.clear();
  if (!run.row.startedAt) run.row.startedAt = now();
  markRun(run);
  for (int i = 0; i < run.wf->stepCount; ++i) {
    auto& s = run.steps[i];
    if (s.row.state == StepState::kPending && s.pendingNeeds == 0) readyStep(run, i);
  }
  maybeFinishRun(run);
}

std::string Engine::slotKey(const RunRt& run) {
  return run.row.workflow + '\x1f' + run.row.concurrencyKey;
}

std::optional<ConcurrencySlots> Engine::concurrencyOf(const RunRt& run) const {
  if (run.row.concurrencyKey.empty() || !run.wf->spec->concurrency) return std::nullopt;
  ConcurrencySlots c;
  c.key = run.row.concurrencyKey;
  c.limit = run.wf->spec->concurrency->limit;
  c.runHolds = run.holdsSlot;
  if (c.runHolds) return c;
  auto it = slots_.find(slotKey(run));
  if (it == slots_.end()) return c;
  c.holders = it->second.holders;
  const auto& waiting = it->second.waiting;
  c.ahead =
      static_cast<int>(std::find(waiting.begin(), waiting.end(), run.row.id) - waiting.begin());
  return c;
}

void Engine::takeSlot(RunRt& run) {
  auto& q = slots_[slotKey(run)];
  q.holders.push_back(run.row.id);
  auto w = std::find(q.waiting.begin(), q.waiting.end(), run.row.id);
  if (w != q.waiting.end()) q.waiting.erase(w);
  run.holdsSlot = true;
  if (run.row.waitKind == kWaitConcurrency) {
    run.row.waitKind.clear();
    run.row.waitReason.clear();
    markRun(run);
    event(run, "run_admitted", {}, 0,
          fmt::format("took a slot of concurrency key '{}'", run.row.concurrencyKey));
  }
}

void Engine::waitForSlot(RunRt& run, const GateDecision& why) {
  auto& q = slots_[slotKey(run)];
  if (std::find(q.waiting.begin(), q.waiting.end(), run.row.id) == q.waiting.end())
    q.waiting.push_back(run.row.id);
  if (run.row.waitKind == why.kind && run.row.waitReason == why.reason) return;
  const bool first = run.row.waitKind != kWaitConcurrency;
  run.row.waitKind = why.kind;
  run.row.waitReason = why.reason;
  markRun(run);
  if (first) event(run, "run_queued", {}, 0, why.reason);
}

void Engine::releaseSlot(RunRt& run) {
  auto it = slots_.find(slotKey(run));
  if (it == slots_.end()) return;
  auto& q = it->second;
  if (run.holdsSlot) {
    run.holdsSlot = false;
    auto h = std::find(q.holders.begin(), q.holders.end(), run.row.id);
    if (h != q.holders.end()) q.holders.erase(h);
  }
  // A cancelled run leaves the queue: the runs behind it move up.
  auto w = std::find(q.waiting.begin(), q.waiting.end(), run.row.id);
  if (w != q.waiting.end()) q.waiting.erase(w);
  if (q.holders.empty() && q.waiting.empty()) {
    slots_.erase(it);
    return;
  }
  // Dispatched from the loop's next turn, not from inside this transition.
  if (!q.waiting.empty()) loop_.post([this, key = it->first] { admitWaiting(key); });
}

namespace {

bool waitsForKey(const StepRt& s) {
  return s.row.state == StepState::kReady && s.row.waitKind == kWaitConcurrency;
}

}  // namespace

void Engine::admitWaiting(const std::string& key) {
  if (draining_) return;  // they wait for the next start
  while (true) {
    // Looked up each time: a run finishing below may have erased it.
    auto it = slots_.find(key);
    if (it == slots_.end() || it->second.waiting.empty()) return;
    std::string id = it->second.waiting.front();
    RunRt* run = findRun(id);
    if (!run || isTerminal(run->row.state) || !run->wf->spec->concurrency) {
      it->second.waiting.pop_front();
      continue;
    }
    if (static_cast<int>(it->second.holders.size()) >= run->wf->spec->concurrency->limit) break;
    for (size_t i = 0; i < run->steps.size(); ++i)
      if (waitsForKey(run->steps[i]) &&
          (!run->cancelRequested || run->wf->isCompensation(static_cast<int>(i))))
        dispatchStep(*run, static_cast<int>(i));
    if (run->holdsSlot) continue;
    // Nothing of it passed and nothing of it waits for the key any more:
    // it leaves the queue rather than block the runs behind it.
    bool stillWaits = std::any_of(run->steps.begin(), run->steps.end(), waitsForKey);
    if (stillWaits) break;
    it = slots_.find(key);
    if (it == slots_.end()) return;
    auto w = std::find(it->second.waiting.begin(), it->second.waiting.end(), id);
    if (w != it->second.waiting.end()) it->second.waiting.erase(w);
  }
  // The runs still waiting say the key's new holders.
  auto it = slots_.find(key);
  if (it == slots_.end()) return;
  std::vector<std::string> waiting(it->second.waiting.begin(), it->second.waiting.end());
  for (const auto& id : waiting) {
    RunRt* run = findRun(id);
    if (!run || run->cancelRequested || isTerminal(run->row.state)) continue;
    for (size_t i = 0; i < run->steps.size(); ++i)
      if (waitsForKey(run->steps[i])) dispatchStep(*run, static_cast<int>(i));
  }
}

void Engine::maybeFinishRun(RunRt& run) {
  if (isTerminal(run.row.state) || run.row.state == RunState::kPending) return;
  bool allSucceeded = true;
  const StepRt* firstDead = nullptr;
  for (int i = 0; i < run.wf->stepCount; ++i) {
    const auto& s = run.steps[i];
    if (!isTerminal(s.row.state)) return;
    // A step an operator skipped counts as done (keel skip).
    if (!satisfiesNeeds(s.row)) allSucceeded = false;
    if (s.row.state == StepState::kDead && !firstDead) firstDead = &s;
  }
  // Its compensations run first, one after another (engine_compensate.cc).
  if (!compensationsFinished(run, allSucceeded)) return;
  if (run.cancelRequested) {
    run.row.state = RunState::kCancelled;
    run.row.reason = "cancelled";
  } else if (allSucceeded) {
    run.row.state = RunState::kSucceeded;
    run.row.reason.clear();
  } else {
    run.row.state = RunState::kFailed;
    run.row.reason =
        firstDead ? fmt::format("step '{}' failed: {}", firstDead->row.name, firstDead->row.reason)
                  : "a step did not succeed";
  }
  if (!run.row.compensation.empty()) {
    if (!run.row.reason.empty()) run.row.reason += "; ";
    run.row.reason += "compensation " + run.row.compensation;
  }
  run.row.finishedAt = now();
  markRun(run);
  event(run, std::string("run_") + std::string(toString(run.row.state)), {}, 0, run.row.reason);
  if (run.row.state == RunState::kFailed)
    incidentSymptom(run, firstDead ? static_cast<int>(firstDead - run.steps.data()) : -1,
                    "run_failed");
  if (run.row.state == RunState::kSucceeded) {
    incidentRecovered(run);
    sloRunSucceeded(run);
  }
  auto level = run.row.state == RunState::kFailed ? spdlog::level::warn : spdlog::level::info;
  if (observe::logEnabled(level)) {
    nlohmann::json fields{{"run_id", run.row.id},
                          {"trace_id", observe::runTraceId(run.row.traceId, run.row.id)},
                          {"workflow", run.row.workflow},
                          {"state", toString(run.row.state)}};
    if (firstDead) {
      fields["step"] = firstDead->row.name;
      if (firstDead->attempt) fields["class"] = toString(firstDead->attempt->failureClass);
    }
    observe::logFields(level,
                       fmt::format("run {}{}{}", toString(run.row.state),
                                   run.row.reason.empty() ? "" : ": ", run.row.reason),
                       fields);
  }
  ++runsFinished_;
  finished_.push_back(run.row.id);
  if (options_.onRunFinished)
    replyWhenDurable(run, [hook = options_.onRunFinished](const store::RunRow& row) { hook(row); });
  releaseSlot(run);
  emitEndEvents(run);
  startAfterTriggers(run);
  startQueuedFires(run);
}

void Engine::onCancel(const std::string& runId, RequestContext who,
                      std::shared_ptr<std::promise<Result<store::RunRow>>> reply, bool compensate) {
  RunRt* run = findRun(runId);
  if (run && run->row.compensation == kCompensationRunning) {
    reply->set_value(
        Error(ErrorCode::kConflict, fmt::format("run {} is running its compensations; they end by "
                                                "themselves",
                                                runId)));
    return;
  }
  if (run && isTerminal(run->row.state)) {
    // Finished; the store may not show it yet.
    reply->set_value(Error(ErrorCode::kConflict, fmt::format("run {} already finished ({})", runId,
                                                             toString(run->row.state))));
    return;
  }
  if (!run) {
    // Finished and durable, or unknown: the StoreReader says which.
    ++readsInFlight_;
    reader_.post([this, runId, who, reply, compensate] {
      auto detail = store_.getRun(runId);
      loop_.post([this, runId, who, reply, compensate, detail = std::move(detail)] {
        --readsInFlight_;
        if (findRun(runId)) {
          onCancel(runId, who, reply, compensate);  // retried meanwhile
        } else if (!detail.ok()) {
          reply->set_value(detail.error());
        } else if (!detail->has_value()) {
          reply->set_value(Error(ErrorCode::kNotFound, "no run " + runId));
        } else if (!isTerminal((*detail)->run.state)) {
          // Read while a retry of it was running: decide again once the
          // store has moved on.
          afterCommit(
              [this, runId, who, reply, compensate] { onCancel(runId, who, reply, compensate); });
        } else {
          reply->set_value(Error(
              ErrorCode::kConflict,
              fmt::format("run {} already finished ({})", runId, toString((*detail)->run.state))));
        }
      });
    });
    return;
  }
  replyWhenDurable(*run, [reply](const store::RunRow& row) { reply->set_value(row); });
  if (run->cancelRequested) return;
  run->cancelRequested = true;
  run->compensateOnCancel = compensate;
  run->row.reason = kCancelRequested;
  run->row.cancelReason = compensate ? kCancelCompensate : kCancelRequested;
  markRun(*run);
  event(*run, compensate ? "run_cancel_and_compensate_requested" : "run_cancel_requested", who);
  auditRun(*run, who, compensate ? "run.cancel_and_compensate" : "run.cancel");
  skipUnstartedSteps(*run);
  for (auto& s : run->steps)
    if (s.row.state == StepState::kRunning && s.handle && s.runner)
      afterCommit([runner = s.runner, handle = *s.handle] {
        runner->stop(handle, FailureClass::kCancelled);
      });
  // A run left `pending` by an older keel has nothing running.
  if (run->row.state == RunState::kPending) run->row.state = RunState::kRunning;
  maybeFinishRun(*run);
}

void Engine::skipUnstartedSteps(RunRt& run) {
  for (int i = 0; i < run.wf->stepCount; ++i) {
    auto& s = run.steps[i];
    if (isTerminal(s.row.state) || s.row.state == StepState::kRunning) continue;
    if (s.attempt && s.attempt->state == AttemptState::kRunning) {
      // A sleep: its attempt ends with the run, not left `running`.
      s.attempt->state = AttemptState::kFailed;
      s.attempt->failureClass = FailureClass::kCancelled;
      s.attempt->finishedAt = now();
      s.attempt->message = "run cancelled";
      pending_.mutations.emplace_back(store::PutAttempt{*s.attempt});
    }
    s.row.state = StepState::kSkipped;
    s.row.reason = "run cancelled";
    s.row.dueAt.reset();
    ++s.timerToken;  // a pending retry or sleep no longer applies
    cancelTimers(s);
    markStep(run, static_cast<int>(i));
  }
}

void Engine::onRetry(const std::string& id, RequestContext who,
                     std::shared_ptr<std::promise<Result<store::RunRow>>> reply) {
  if (RunRt* live = findRun(id)) {
    if (isTerminal(live->row.state)) {
      // Its end is not durable yet: decide once it is.
      afterCommit([this, id, who, reply] { onRetry(id, who, reply); });
      return;
    }
    reply->set_value(Error(ErrorCode::kConflict,
                           fmt::format("run {} is still {}; retry applies to finished runs", id,
                                       toString(live->row.state))));
    return;
  }
  // Not in memory: finished, and its end is durable. The StoreReader reads
  // it (and its workflow version) and hands it back to the loop.
  ++readsInFlight_;
  reader_.post([this, id, who, reply, retriesSeen = retries_] {
    auto found = store_.getRun(id);
    Result<std::shared_ptr<const LoadedWorkflow>> wf =
        Error(ErrorCode::kNotFound, "no workflow version read");
    Result<std::vector<store::EventRow>> events = std::vector<store::EventRow>{};
    if (found.ok() && found->has_value() && (*found)->run.state != RunState::kSucceeded) {
      wf = workflows_.version((*found)->run.workflow, (*found)->run.version);
      // Which after triggers its earlier end fired (engine_chains.cc).
      events = store_.runEvents(id);
    }
    loop_.post([this, id, who, reply, retriesSeen, found = std::move(found), wf = std::move(wf),
                events = std::move(events)]() mutable {
      --readsInFlight_;
      retryFromStore(id, std::move(who), retriesSeen, std::move(found), std::move(wf),
                     std::move(events), reply);
    });
  });
}

void Engine::retryFromStore(const std::string& id, RequestContext who, uint64_t retriesSeen,
                            Result<std::optional<store::RunDetail>> found,
                            Result<std::shared_ptr<const LoadedWorkflow>> wf,
                            Result<std::vector<store::EventRow>> events,
                            std::shared_ptr<std::promise<Result<store::RunRow>>> reply) {
  if (findRun(id) || retriesSeen != retries_) {
    // A retry overtook this one while the store was read: decide again.
    onRetry(id, std::move(who), reply);
    return;
  }
  if (!found.ok()) {
    reply->set_value(found.error());
    return;
  }
  if (!found->has_value()) {
    reply->set_value(Error(ErrorCode::kNotFound, "no run " + id));
    return;
  }
  store::RunDetail detail = std::move(**found);
  if (detail.run.state == RunState::kSucceeded) {
    reply->set_value(
        Error(ErrorCode::kConflict, fmt::format("run {} succeeded; nothing to retry", id)));
    return;
  }
  if (!detail.run.compensation.empty()) {
    reply->set_value(Error(ErrorCode::kConflict,
                           fmt::format("run {} ran its compensations (compensation {}): what its "
                                       "steps did was undone; trigger a new run instead",
                                       id, detail.run.compensation)));
    return;
  }
  if (!wf.ok()) {
    reply->set_value(wf.error());
    return;
  }
  if (!events.ok()) {
    // Without its timeline its next end could start an after trigger's run twice.
    reply->set_value(events.error());
    return;
  }
  store::ActiveRun active;
  active.run = std::move(detail.run);
  active.run.state = RunState::kPending;
  active.run.finishedAt.reset();
  active.run.reason.clear();
  active.run.cancelReason.clear();  // a retried run is no longer cancelled
  active.run.pauseReason.clear();   // nor paused by itself
  std::vector<std::string> rerun;
  for (auto& s : detail.steps) {
    // A step an operator skipped stays skipped (keel skip).
    if (s.state != StepState::kSucceeded && !skippedByOperator(s)) {
      s.state = StepState::kPending;
      s.reason.clear();
      s.dueAt.reset();
      s.waitKind.clear();
      s.waitReason.clear();
      rerun.push_back(s.name);
    }
    active.steps.push_back(std::move(s));
  }
  active.attempts = std::move(detail.attempts);
  RunRt* run = rebuildRun(std::move(active), std::move(*wf));
  collectAfterFired(*run, *events);
  collectCompletions(*run, *events);
  ++retries_;
  event(*run, "run_retried", who, {}, "failed and dead steps re-run");
  auditRun(*run, who, "run.retry");
  for (auto& s : run->steps) {
    s.budgetStart = 0;
    if (std::find(rerun.begin(), rerun.end(), s.row.name) == rerun.end()) continue;
    // A fresh budget: max_attempts more attempts, numbered on from the last.
    s.budgetStart = s.row.attempts;
    s.lastDelay = Millis(0);
    event(*run, kStepRerunEvent, s.row.name, s.row.attempts,
          "re-run by a manual retry with a fresh retry budget");
  }
  markRun(*run);
  for (size_t i = 0; i < run->steps.size(); ++i) markStep(*run, static_cast<int>(i));
  replyWhenDurable(*run, [reply](const store::RunRow& row) { reply->set_value(row); });
  startRun(*run);
}

int Engine::budgetStart(RunRt& run, int idx) { return run.steps[idx].budgetStart.value_or(0); }

void Engine::loadBudgets(RunRt& run) {
  for (auto& s : run.steps) s.budgetStart = 0;
  // Read even for a run without attempts: one cancelled before any step
  // started, then retried, may have fired an after trigger (finished).
  auto events = store_.runEvents(run.row.id);
  if (!events.ok()) {
    // Counting from the first attempt only ever retries less.
    spdlog::warn(
        "run {}: cannot read its events to find retry budgets and the after triggers "
        "it fired: {}",
        run.row.id, events.error().message());
    run.afterFiredUnknown = true;
    return;
  }
  collectFromTimeline(run, *events);
}

void Engine::collectFromTimeline(RunRt& run, const std::vector<store::EventRow>& events) {
  collectAfterFired(run, events);
  collectCompletions(run, events);
  for (auto& s : run.steps) s.budgetStart = 0;
  for (const auto& e : events) {
    if (e.kind != kStepRerunEvent) continue;
    for (auto& s : run.steps)
      if (s.row.name == e.step) s.budgetStart = e.attempt;
  }
  collectStepCancels(run, events);
  collectFirstFailures(run, events);
}

}  // namespace keel::engine
