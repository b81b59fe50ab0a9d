#include "engine/engine.h"

#include <algorithm>
#include <filesystem>
#include <map>
#include <tuple>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "audit/record.h"
#include "spec/parser.h"
#include "spec/template.h"

namespace keel::engine {

using nlohmann::json;

Engine::Engine(store::Store& store, exec::StepExecutor& executor, const Clock& clock,
               Random& random, EngineOptions options)
    : store_(store),

      clock_(clock),
      random_(random),
      options_(std::move(options)),
      processRunner_(executor, ProcessRunner::Options{options_.defaultWorkdir, options_.logCapBytes,
                                                      options_.outputCapBytes}),
      workflows_(store),
      loop_(clock),
      reader_(!options_.manual) {
  runners_[spec::StepKind::kRun] = &processRunner_;
  if (options_.spans) spans_ = std::make_unique<SpanRecorder>(*options_.spans);
  for (auto& [kind, runner] : options_.runners) runners_[kind] = runner;
  committer_ = std::make_unique<Committer>(store_, loop_, !options_.manual);
  makeFileWatcher();
  if (!options_.metrics) ownMetrics_ = std::make_unique<observe::MetricsRegistry>();
  registerMetrics(options_.metrics ? *options_.metrics : *ownMetrics_);
  loop_.setIdleHook([this] {
    flush();
    finishDrainIfIdle();
  });
}

Engine::~Engine() {
  // A manual-mode engine destroyed without stop() simulates a crash.
  if (options_.manual) started_ = false;
  stop();
}

Status Engine::start() {
  KEEL_TRY(workflows_.loadLatest());
  KEEL_TRY(loadLastSuccesses());
  KEEL_TRY(loadControls());
  KEEL_TRY(loadIncidents());
  auto claimed = store_.claimRuns();
  if (!claimed.ok()) return claimed.error();
  // Rebuild every run first, so the concurrency slots held by running runs
  // are counted before any pending run is admitted.
  std::vector<RunRt*> rebuilt;
  for (auto& active : *claimed) {
    auto wf = workflows_.version(active.run.workflow, active.run.version);
    if (!wf.ok()) {
      if (wf.error().code() != ErrorCode::kCorrupt && wf.error().code() != ErrorCode::kNotFound)
        return wf.error();  // the store cannot be read: try again later
      failUnloadable(std::move(active), wf.error());
      continue;
    }
    RunRt* run = rebuildRun(std::move(active), *wf);
    loadBudgets(*run);
    rebuilt.push_back(run);
  }
  // Runs waiting for a concurrency slot queue again oldest first, as they
  // were queued before, whatever order the store returned them in.
  std::stable_sort(rebuilt.begin(), rebuilt.end(), [](const RunRt* a, const RunRt* b) {
    return std::tie(a->row.createdAt, a->row.id) < std::tie(b->row.createdAt, b->row.id);
  });
  // The slots held when keel stopped are counted before any step passes
  // the concurrency gate again.
  for (RunRt* run : rebuilt)
    if (heldSlotWhenStopped(*run)) {
      slots_[slotKey(*run)].holders.push_back(run->row.id);
      run->holdsSlot = true;
    }
  for (RunRt* run : rebuilt) {
    // A run `pending` was queued whole by an older keel: it starts, and
    // its steps wait at the gate.
    armStepEscalations(*run);
    if (run->row.state == RunState::kPending)
      startRun(*run);
    else
      continueRun(*run);
  }
  if (!rebuilt.empty()) spdlog::info("resumed {} unfinished run(s) from the store", rebuilt.size());
  if (!reattached_.empty())
    spdlog::info("re-attaching {} step attempt(s) that were running when keel stopped",
                 reattached_.size());
  // Before any new attempt can start: what belongs to no running attempt goes.
  for (auto& [kind, runner] : runners_) {
    std::vector<exec::AttemptRef> keep;
    for (const auto& [k, ref] : reattached_)
      if (k == kind) keep.push_back(ref);
    runner->sweep(keep);
  }
  reattached_.clear();
  KEEL_TRY(loadSchedules());
  KEEL_TRY(loadSlos());
  armFileWatches();
  started_ = true;
  if (!options_.manual) loopThread_ = std::thread([this] { loop_.run(); });
  if (!options_.manual) fileWatcher_->start();
  ready_ = true;
  return okStatus();
}

Status Engine::readiness() const {
  if (!ready_.load() && !stopping_.load())
    return Error(ErrorCode::kUnavailable, "keel is starting");
  return health();
}

Status Engine::health() const {
  if (stopping_.load())
    return Error(ErrorCode::kUnavailable, "keel is stopping; try again once it has restarted");
  if (Status store = store_.health(); !store.ok()) return store;
  std::lock_guard lock(commitHealthMu_);
  if (!commitsFailingSince_) return okStatus();
  return Error(ErrorCode::kUnavailable,
               fmt::format("store commits failing since {}: {}",
                           formatRfc3339(*commitsFailingSince_), lastCommitError_));
}

int Engine::pump() {
  int total = 0;
  for (;;) {
    total += loop_.runUntilIdle();
    int reads = reader_.runPending();
    if (reads == 0) return total;
    total += reads;
  }
}

void Engine::stop(bool stopSteps) {
  stopping_ = true;  // from now on new work is refused (503)
  if (!started_.exchange(false)) return;
  ready_ = false;
  fileWatcher_->stop();  // no arrival is handed over from here on
  auto beginDrain = [this, stopSteps] {
    draining_ = true;
    if (!stopSteps) return;
    stopSteps_ = true;
    for (auto& [id, run] : runs_)
      for (auto& s : run->steps)
        if (s.handle && s.runner && s.row.state == StepState::kRunning)
          s.runner->stop(*s.handle, FailureClass::kLost);
  };
  if (options_.manual) {
    beginDrain();
    pump();
  } else if (loopThread_.joinable()) {
    // The loop writes what it holds, waits for the last commit, the reads
    // in flight and (with stopSteps) the stopped steps' outcomes, then stops.
    loop_.post(beginDrain);
    loopThread_.join();
  }
  reader_.stop();
  committer_->stop();
}

bool Engine::nothingToWrite() const {
  return pending_.empty() && dirtyRuns_.empty() && afterCommit_.empty() && failedBatch_.empty();
}

void Engine::finishDrainIfIdle() {
  if (!draining_ || committer_->busy() || !nothingToWrite() || readsInFlight_ > 0) return;
  if (stopSteps_ && runningProcs_ > 0) return;  // their outcomes are still to come
  if (!options_.manual) loop_.stop();
}

// ---------------------------------------------------------------- Control

namespace {
const json kEmptyObject = json::object();
}  // namespace

Result<json> Engine::effectiveParams(const LoadedWorkflow& wf, const json& given) {
  if (!given.is_object() && !given.is_null())
    return Error(ErrorCode::kInvalidArgument, "params must be a JSON object of strings");
  json out = json::object();
  std::vector<std::string> problems;
  const json& object = given.is_null() ? kEmptyObject : given;
  for (const auto& [k, v] : object.items()) {
    if (v.is_string())
      out[k] = v;
    else if (v.is_number() || v.is_boolean())
      out[k] = v.dump();
    else
      problems.push_back(fmt::format("param '{}' must be a string, number or boolean", k));
  }
  const auto& declared = wf.spec->params;
  if (!declared.empty()) {
    for (const auto& [k, v] : out.items()) {
      bool known = false;
      for (const auto& p : declared) known = known || p.name == k;
      if (!known) problems.push_back(fmt::format("unknown param '{}'", k));
    }
    for (const auto& p : declared)
      if (!out.contains(p.name) && p.defaultValue) out[p.name] = *p.defaultValue;
  }
  for (const auto& ref : wf.paramRefs)
    if (!out.contains(ref))
      problems.push_back(
          fmt::format("missing param '{}' (the workflow uses {{{{ params.{} }}}})", ref, ref));
  for (const auto& p : declared)
    if (!out.contains(p.name) && !wf.paramRefs.count(p.name))
      problems.push_back(fmt::format("missing param '{}'", p.name));
  // A value is data for a shell word, an environment variable or a path (G13).
  for (const auto& [k, v] : out.items())
    if (auto st = spec::checkParamValue(k, v.get_ref<const std::string&>()); !st.ok())
      problems.push_back(st.error().message());
  if (!problems.empty())
    return Error(ErrorCode::kInvalidArgument,
                 fmt::format("bad params for workflow '{}'", wf.row.name), problems);
  return out;
}

std::future<Result<TriggerResult>> Engine::trigger(TriggerRequest request) {
  auto reply = std::make_shared<std::promise<Result<TriggerResult>>>();
  auto future = reply->get_future();
  if (Status h = health(); !h.ok()) {
    reply->set_value(h.error());
    return future;
  }
  // The key first: a replay gets its run even if the workflow has since
  // changed in a way that would refuse these params now. Read here, on the
  // caller's thread: the loop only reconciles "not found" with the runs
  // made durable since `seen` (onTrigger).
  if (request.idempotencyKey.starts_with("event:")) {
    reply->set_value(Error(ErrorCode::kInvalidArgument,
                           "idempotency keys starting with 'event:' belong to runs started by "
                           "events; choose another key"));
    return future;
  }
  if (request.idempotencyKey.starts_with("cron:")) {
    reply->set_value(Error(ErrorCode::kInvalidArgument,
                           "idempotency keys starting with 'cron:' belong to runs started by "
                           "schedules; choose another key"));
    return future;
  }
  if (request.idempotencyKey.starts_with("file:")) {
    reply->set_value(Error(ErrorCode::kInvalidArgument,
                           "idempotency keys starting with 'file:' belong to runs started by "
                           "file triggers; choose another key"));
    return future;
  }
  if (request.idempotencyKey.starts_with("after:")) {
    reply->set_value(Error(ErrorCode::kInvalidArgument,
                           "idempotency keys starting with 'after:' belong to runs started by "
                           "after triggers; choose another key"));
    return future;
  }
  bool keyed = !request.idempotencyKey.empty();
  uint64_t seen = 0;
  auto answer = [&](Result<TriggerResult> result) {
    if (keyed) endKeyLookup(seen);
    reply->set_value(std::move(result));
    return std::move(future);
  };
  if (keyed) {
    seen = beginKeyLookup();
    auto found = store_.findRunByIdempotencyKey(request.workflow, request.idempotencyKey);
    if (!found.ok()) return answer(found.error());
    if (found->has_value()) return answer(replay(**found, request.params, request.idempotencyKey));
  }
  auto wf = workflows_.latest(request.workflow);
  if (!wf.ok()) return answer(wf.error());
  auto params = effectiveParams(**wf, request.params);
  if (!params.ok()) return answer(params.error());
  loop_.post([this, wf = *wf, given = std::move(request.params), params = std::move(*params),
              key = std::move(request.idempotencyKey), who = std::move(request.who), seen, reply,
              traceId = std::move(request.traceId)]() mutable {
    onTrigger(std::move(wf), std::move(given), std::move(params), std::move(key), std::move(who),
              seen, reply, std::move(traceId));
  });
  return future;
}

uint64_t Engine::beginKeyLookup() {
  std::lock_guard lock(keysMu_);
  keyLookups_.insert(durableSeq_);
  return durableSeq_;
}

void Engine::endKeyLookup(uint64_t seenSeq) {
  std::lock_guard lock(keysMu_);
  keyLookups_.erase(keyLookups_.find(seenSeq));
}

namespace {

// A param value as runs store it: strings as they are, numbers and
// booleans as their JSON text; nullopt for anything else.
std::optional<std::string> storedForm(const json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_number() || v.is_boolean()) return v.dump();
  return std::nullopt;
}

}  // namespace

Result<TriggerResult> Engine::replay(const store::RunRow& original, const json& given,
                                     const std::string& key) {
  json stored = json::parse(original.paramsJson, nullptr, false);
  if (!stored.is_object()) stored = json::object();
  const json& asked = given.is_null() ? kEmptyObject : given;
  // The original request is the stored params less the defaults they were
  // completed with; a param equal to its default may be given or left out.
  std::map<std::string, std::string> defaults;
  if (auto wf = workflows_.version(original.workflow, original.version); wf.ok())
    for (const auto& p : (*wf)->spec->params)
      if (p.defaultValue) defaults[p.name] = *p.defaultValue;
  std::vector<std::string> differences;
  if (!asked.is_object()) {
    differences.push_back("params must be a JSON object");
  } else {
    for (const auto& [k, v] : asked.items()) {
      auto value = storedForm(v);
      if (!stored.contains(k))
        differences.push_back(fmt::format("param '{}': not in the original request", k));
      else if (!value || stored[k] != *value)
        differences.push_back(fmt::format("param '{}': differs from the original request", k));
    }
    for (const auto& [k, v] : stored.items()) {
      if (asked.contains(k)) continue;
      auto d = defaults.find(k);
      if (d == defaults.end() || v != d->second)
        differences.push_back(
            fmt::format("param '{}': in the original request, missing from this one", k));
    }
  }
  if (differences.empty()) return TriggerResult{original, false};
  return Error(ErrorCode::kIdempotencyConflict,
               fmt::format("idempotency key '{}' already belongs to run {} of workflow '{}', "
                           "triggered with other params; use a new key for a different request",
                           key, original.id, original.workflow),
               differences);
}

std::future<Result<store::RunRow>> Engine::cancel(const std::string& runId, RequestContext who) {
  return onLoopIfHealthy<Result<store::RunRow>>(
      [this, runId, who = std::move(who)](auto reply) { onCancel(runId, who, reply); });
}

std::future<Result<store::RunRow>> Engine::cancelAndCompensate(const std::string& runId,
                                                               RequestContext who) {
  return onLoopIfHealthy<Result<store::RunRow>>(
      [this, runId, who = std::move(who)](auto reply) { onCancel(runId, who, reply, true); });
}

std::future<Result<store::RunRow>> Engine::retry(const std::string& runId, RequestContext who) {
  // Decided on the loop from the run's current state, never from a
  // snapshot read here that another retry may have overtaken.
  return onLoopIfHealthy<Result<store::RunRow>>(
      [this, runId, who = std::move(who)](auto reply) { onRetry(runId, who, reply); });
}

spec::ParseOptions Engine::applyOptions(const std::string& sourceName) const {
  spec::ParseOptions opts;
  opts.fileName = sourceName.empty() ? "api" : sourceName;
  opts.defaultWorkdir = options_.defaultWorkdir;
  // A file's steps start in its folder unless they say otherwise.
  if (!sourceName.empty() && sourceName.front() == '/')
    opts.defaultWorkdir = std::filesystem::path(sourceName).parent_path().string();
  return opts;
}

std::future<Result<ApplyResult>> Engine::applyWorkflow(std::string yaml, std::string sourceName,
                                                       RequestContext who) {
  std::promise<Result<ApplyResult>> reply;
  auto future = reply.get_future();
  if (Status h = health(); !h.ok()) {
    reply.set_value(h.error());
    return future;
  }
  spec::ParseOptions opts = applyOptions(sourceName);
  auto parsed = spec::parseWorkflow(yaml, opts);
  if (!parsed.ok()) {
    reply.set_value(parsed.error());
    return future;
  }
  ApplyResult result;
  auto runnable = spec::checkRunnable(**parsed, opts.fileName);
  result.warnings = std::move(runnable.warnings);
  std::vector<std::string> problems = std::move(runnable.problems);
  if (!problems.empty()) {
    reply.set_value(Error(
        ErrorCode::kInvalidArgument,
        fmt::format("workflow {} cannot go live: {} problem(s)", opts.fileName, problems.size()),
        problems));
    return future;
  }
  // Checked and stored under one lock: see applyMu_.
  std::lock_guard applying(applyMu_);
  if (Status chains = checkAfterTriggers(**parsed, opts.fileName, result.warnings); !chains.ok()) {
    reply.set_value(chains.error());
    return future;
  }
  auto stored = storeWorkflow(**parsed, who, std::move(yaml), opts.defaultWorkdir);
  if (!stored.ok()) {
    reply.set_value(stored.error());
    return future;
  }
  result.workflow = stored->workflow;
  result.changed = stored->changed;
  reply.set_value(std::move(result));
  return future;
}

Result<ApplyResult> Engine::storeWorkflow(const spec::WorkflowSpec& spec, const RequestContext& who,
                                          std::string yaml, const std::string& workdir) {
  auto previous = workflows_.latest(spec.name);
  store::WorkflowVersionRow row;
  row.name = spec.name;
  row.ns = spec.ns;
  row.yaml = std::move(yaml);
  row.workdir = workdir;
  row.createdAt = now();
  row.appliedBy = who.actor();
  // Its audit entry is written in the version's own transaction (the store
  // fills in the version it assigns); none when nothing changed.
  audit::Entry entry = audit::record(who, "workflow.apply", spec.name, row.createdAt);
  auto stored = store_.putWorkflow(row, &entry);
  if (!stored.ok()) return stored.error();
  auto loaded = loadWorkflow(*stored);
  if (!loaded.ok()) return loaded.error();
  workflows_.put(*loaded);
  ApplyResult result;
  result.workflow = *stored;
  result.changed = !previous.ok() || (*previous)->row.version != stored->version;
  if (result.changed) {
    loop_.post([this, wf = *loaded] { rearmSchedules(wf); });
    postSloRearm(*loaded);
    rearmFileWatches(**loaded);
  }
  return result;
}

// ------------------------------------------------------------ durability

RunRt* Engine::findRun(const std::string& runId) {
  auto it = runs_.find(runId);
  return it == runs_.end() ? nullptr : it->second.get();
}

void Engine::markRun(RunRt& run) {
  run.dirty = true;
  if (!run.queuedForFlush) {
    run.queuedForFlush = true;
    dirtyRuns_.push_back(&run);
  }
}

void Engine::markStep(RunRt& run, int idx) {
  run.steps[idx].dirty = true;
  if (!run.queuedForFlush) {
    run.queuedForFlush = true;
    dirtyRuns_.push_back(&run);
  }
  // A paused run's state follows its steps (engine_pause.cc).
  if (pausedWorkflows_ > 0 || !run.row.pauseReason.empty() || run.row.state == RunState::kPaused)
    refreshPaused(run);
}

void Engine::replyWhenDurable(RunRt& run, std::function<void(const store::RunRow&)> reply) {
  run.onDurable.push_back(std::move(reply));
  markRun(run);
}

void Engine::event(const RunRt& run, std::string kind, std::string step, int attempt,
                   std::string message) {
  store::EventRow e;
  e.runId = run.row.id;
  e.at = now();
  e.kind = std::move(kind);
  e.step = std::move(step);
  e.attempt = attempt;
  e.message = std::move(message);
  pending_.mutations.emplace_back(store::AppendEvent{std::move(e)});
}

void Engine::event(const RunRt& run, std::string kind, const RequestContext& who, std::string step,
                   std::string message) {
  store::EventRow e;
  e.runId = run.row.id;
  e.at = now();
  e.kind = std::move(kind);
  e.step = std::move(step);
  e.message = std::move(message);
  e.actor = who.actor();
  e.reason = who.reason;
  pending_.mutations.emplace_back(store::AppendEvent{std::move(e)});
}

void Engine::flush() {
  if (committer_->busy()) return;
  if (nothingToWrite()) return;
  if (clock_.monoNow() < flushNotBefore_ && !draining_) return;
  store::Batch batch = std::move(failedBatch_);
  failedBatch_ = {};
  std::vector<AfterCommit> actions = std::move(failedActions_);
  failedActions_.clear();
  // Rows before the attempts and events that refer to them.
  for (RunRt* run : dirtyRuns_) {
    run->queuedForFlush = false;
    if (run->dirty) {
      // Only an unfinished run waits (for its concurrency key), only a
      // ready step at a gate.
      if (isTerminal(run->row.state)) {
        run->row.waitKind.clear();
        run->row.waitReason.clear();
      }
      batch.mutations.emplace_back(store::PutRun{run->row});
      run->dirty = false;
      for (auto& reply : run->onDurable)
        actions.push_back([reply = std::move(reply), row = run->row] { reply(row); });
      run->onDurable.clear();
    }
    for (auto& s : run->steps) {
      if (!s.dirty) continue;
      // A ready step waits at a gate; a waiting one for an approval.
      if (s.row.state != StepState::kReady && s.row.state != StepState::kWaiting) {
        s.row.waitKind.clear();
        s.row.waitReason.clear();
      }
      batch.mutations.emplace_back(store::PutStep{s.row});
      s.dirty = false;
    }
  }
  dirtyRuns_.clear();
  for (auto& m : pending_.mutations) batch.mutations.push_back(std::move(m));
  pending_ = {};
  for (auto& a : afterCommit_) actions.push_back(std::move(a));
  afterCommit_.clear();
  if (!finished_.empty())
    actions.push_back([this, ids = std::move(finished_)] { evictFinished(ids); });
  finished_.clear();
  committer_->commit(std::move(batch),
                     [this, actions = std::move(actions)](Status status, store::Batch b) mutable {
                       onCommitted(status, std::move(actions), std::move(b));
                     });
}

void Engine::onCommitted(Status status, std::vector<AfterCommit> actions, store::Batch batch) {
  if (status.ok()) {
    if (commitBackoff_.count() > 0) spdlog::info("store writes succeed again");
    commitBackoff_ = Millis(0);
    {
      std::lock_guard lock(commitHealthMu_);
      commitsFailingSince_.reset();
      lastCommitError_.clear();
    }
    {
      std::lock_guard lock(keysMu_);
      ++durableSeq_;
    }
    if (spans_) {
      // Before the actions, which may evict the runs the spans read.
      spans_->committed(
          batch,
          [this](const std::string& id) -> const store::RunRow* {
            auto it = runs_.find(id);
            return it == runs_.end() ? nullptr : &it->second->row;
          },
          now());
    }
    observeCommitted(batch);  // before the actions evict the runs that ended
    for (auto& a : actions) a();
    pruneDurableKeys();
    return;
  }
  if (status.error().code() == ErrorCode::kAlreadyExists) {
    // Only this engine creates runs in this store, and it checks keys
    // first: a conflict means the store was shared behind keel's back.
    spdlog::critical(
        "store refused a run with a duplicate idempotency key: {}; stopping so "
        "that recovery rebuilds a consistent state",
        status.error().message());
    std::abort();
  }
  ++commitFailures_;
  if (draining_) {
    spdlog::error(
        "keel is stopping and could not write {} change(s): {}; the next start resumes from "
        "the last durable state",
        batch.mutations.size(), status.error().message());
    return;
  }
  {
    std::lock_guard lock(commitHealthMu_);
    if (!commitsFailingSince_) commitsFailingSince_ = now();
    lastCommitError_ = status.error().message();
  }
  commitBackoff_ = std::min(options_.commitRetryMax,
                            commitBackoff_.count() == 0 ? Millis(100) : commitBackoff_ * 2);
  spdlog::error("commit of {} change(s) failed, retrying in {} ms: {}", batch.mutations.size(),
                commitBackoff_.count(), status.error().message());
  failedBatch_ = std::move(batch);
  failedActions_ = std::move(actions);
  flushNotBefore_ = clock_.monoNow() + commitBackoff_;
  loop_.runAt(flushNotBefore_, [] {});  // wakes the loop, whose idle hook flushes
}

void Engine::evictFinished(const std::vector<std::string>& ids) {
  for (const auto& id : ids) {
    auto it = runs_.find(id);
    if (it != runs_.end() && isTerminal(it->second->row.state)) runs_.erase(it);
  }
  activeRuns_ = runs_.size();
}

EngineStats Engine::stats() const {
  EngineStats s;
  s.commits = committer_->commits();
  s.runsCreated = runsCreated_;
  s.runsFinished = runsFinished_;
  s.activeRuns = activeRuns_;
  return s;
}

void Engine::registerMetrics(observe::MetricsRegistry& metrics) {
  // Runs finished and attempts failed are counted by workflow there.
  workflowMetrics_ = std::make_unique<WorkflowMetrics>(metrics);
  registerIncidentMetrics(metrics);
  auto counter = [&](const char* name, const char* help, const std::atomic<uint64_t>& value) {
    metricCallbacks_.push_back(metrics.counterCallback(
        name, help, [&value] { return static_cast<double>(value.load()); }));
  };
  counter("keel_runs_created_total", "Runs created (triggered) since keel started.", runsCreated_);
  counter("keel_attempts_started_total", "Step attempts started since keel started.",
          attemptsStarted_);
  counter("keel_compensations_failed_total",
          "Compensations that ran out of attempts (the run ends with compensation failed) since "
          "keel started.",
          compensationsFailed_);
  counter("keel_outbox_emitted_total",
          "Events written to the outbox to deliver (a step's emit:, a run's on_end:) since keel "
          "started.",
          outboxEmitted_);
  counter("keel_outbox_failed_total",
          "Events recorded as failed (their payload could not be made) since keel started.",
          outboxFailed_);
  counter("keel_outbox_delivered_total",
          "Outbox events delivered to the event triggers (marked delivered) since keel started.",
          outboxDelivered_);
  counter("keel_store_commit_failures_total",
          "Store commits that failed since keel started (the engine retries them with backoff).",
          commitFailures_);
  metricCallbacks_.push_back(metrics.counterCallback(
      "keel_store_commits_total", "Store transactions committed by the engine since keel started.",
      [this] { return static_cast<double>(committer_->commits()); }));
  metricCallbacks_.push_back(metrics.gaugeCallback(
      "keel_runs_active",
      "Runs the engine holds in memory: unfinished ones, and finished ones until their end is "
      "durable.",
      [this] { return static_cast<double>(activeRuns_.load()); }));
  metricCallbacks_.push_back(
      metrics.gaugeCallback("keel_engine_timers_pending",
                            "Timers waiting in the engine loop: attempt timeouts, retry backoffs, "
                            "sleeps, a commit retry.",
                            [this] { return static_cast<double>(loop_.pendingTimers()); }));
}

}  // namespace keel::engine
