// Engine: keel's durable execution core.
//
// The engine keeps the state of active runs in memory, owned by one
// EventLoop thread; the Store is the durable record of every transition.
// Transitions accumulate into a batch that the Committer writes as one
// transaction (group commit); whatever depends on a transition (starting a
// process, a dependant step, answering the API) happens only once the
// batch holding it is durable. Blocking work (processes) runs on the
// StepExecutor; results come back as posted messages. On start() the
// engine rebuilds its memory from the store and resumes every unfinished
// run: attempts that were running when keel died are closed as `lost` and
// retried by policy; completed steps never run again.
//
// The loop never reads the store: trigger() looks an idempotency key up on
// the caller's thread, and the StoreReader reads a finished run for cancel
// and retry; what they find is reconciled with memory on the loop.
//
// The Control methods are thread-safe. start() and stop() are called by the
// owner. In manual mode (tests) no thread is started: the test drives
// pump() after advancing its ManualClock or completing fake attempts.
#pragma once

#include <array>
#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <unordered_map>

#include "core/clock.h"
#include "core/random.h"
#include "engine/committer.h"
#include "engine/control.h"
#include "engine/event_loop.h"
#include "engine/gates.h"
#include "engine/run_state.h"
#include "engine/span_recorder.h"
#include "engine/step_runner.h"
#include "engine/store_reader.h"
#include "engine/task_broker.h"
#include "engine/workflow_cache.h"
#include "engine/workflow_metrics.h"
#include "exec/executor.h"
#include "incidents/escalation.h"
#include "observe/metrics.h"
#include "observe/span.h"
#include "spec/parser.h"
#include "store/store.h"
#include "triggers/file_watcher.h"

namespace keel::engine {

struct EngineOptions {
  bool manual = false;              // tests: no threads, drive with pump()
  std::string defaultWorkdir;       // for workflows applied without a source path
  size_t logCapBytes = 1 << 20;     // per stream per attempt
  size_t outputCapBytes = 1 << 20;  // the largest $KEEL_OUTPUT accepted
  // `run:` attempts executing at once. A ready step beyond it stays
  // `ready` (with the reason) until a slot frees, so an attempt is
  // recorded as running only while its process really runs.
  int maxParallelSteps = 32;
  std::chrono::milliseconds commitRetryMax{5000};
  // Runners of further step kinds (http, task), by kind; `run:` steps use
  // the executor given to the engine. Not owned; they outlive the engine.
  std::map<spec::StepKind, StepRunner*> runners;
  // Called on the loop thread once a batch holding new outbox events to
  // deliver is durable (wakes the outbox delivery). Must not block.
  std::function<void()> onOutboxWritten;
  // Called on the loop thread once a batch holding new notifications (an
  // incident escalated or resolved) is durable: wakes the notification
  // delivery. Must not block.
  std::function<void()> onNotificationsWritten;
  // Called on the loop thread once a run's end is durable (benchmarks,
  // tests). Must not block.
  std::function<void(const store::RunRow&)> onRunFinished;
  // Where the engine registers its metrics (keel_runs_*, keel_attempts_*,
  // keel_store_commit*, keel_engine_timers_pending); not owned, outlives
  // the engine. Null: a registry of the engine's own, which nobody reads.
  observe::MetricsRegistry* metrics = nullptr;
  // How file triggers list a directory; null: triggers::listDirectory
  // (tests hand in a fake). Called on the file watcher's thread.
  triggers::FileWatcher::Lister listDirectory;
  // Where the spans of ended runs, steps and attempts go (span_recorder.h),
  // on the loop thread once durable; not owned, outlives the engine. Null:
  // no spans are made.
  observe::SpanSink* spans = nullptr;
};

struct EngineStats {
  uint64_t commits = 0;
  uint64_t runsCreated = 0;
  uint64_t runsFinished = 0;
  uint64_t activeRuns = 0;
};

class Engine final : public Control, public TaskLeaseLog {
 public:
  Engine(store::Store& store, exec::StepExecutor& executor, const Clock& clock, Random& random,
         EngineOptions options);
  ~Engine() override;

  // Loads workflows, claims and resumes unfinished runs, starts the threads.
  Status start();
  // Stops taking work (trigger, cancel, retry and apply answer
  // kUnavailable "keel is stopping" from the first instant), writes
  // everything the loop already holds (results already reported,
  // transitions queued behind an in-flight commit) and waits for that last
  // commit, then stops the loop and the writer. No process is started while
  // stopping: a step that becomes ready stays `ready` for the next start.
  // Running steps are left running (under their supervisors): the next
  // start re-attaches them. With `stopSteps`, every running step is stopped
  // instead (class lost, so retried by policy at the next start) and the
  // loop waits for their outcomes and writes them. If a commit fails while
  // stopping, what it held is dropped (logged) and the restart resumes from
  // the last durable state. Destroying a manual-mode engine without stop()
  // is a crash: nothing pending is written.
  void stop(bool stopSteps = false);
  // ok while the engine takes new work. Otherwise kUnavailable saying why,
  // for /readyz and operators: still starting; the store unhealthy (its
  // file deleted or replaced); or commits failing since a given time.
  // While the store is unhealthy or commits fail, trigger, cancel, retry
  // and applyWorkflow answer that error at once instead of queueing work
  // that cannot become durable. Any thread.
  Status readiness() const;
  bool ready() const { return readiness().ok(); }

  // Manual mode: runs everything ready now, commits and store reads
  // included.
  int pump();

  std::future<Result<TriggerResult>> trigger(TriggerRequest request) override;
  std::future<Result<store::RunRow>> cancel(const std::string& runId, RequestContext who) override;
  std::future<Result<store::RunRow>> cancelAndCompensate(const std::string& runId,
                                                         RequestContext who) override;
  std::future<Result<store::RunRow>> retry(const std::string& runId, RequestContext who) override;
  // Operator actions on one step (engine_operator.cc).
  std::future<Result<store::RunRow>> skipStep(const std::string& runId, const std::string& step,
                                              RequestContext who) override;
  std::future<Result<store::RunRow>> rerunFrom(const std::string& runId, const std::string& step,
                                               RequestContext who) override;
  std::future<Result<store::RunRow>> cancelStep(const std::string& runId, const std::string& step,
                                                RequestContext who) override;
  // engine_approvals.cc
  std::future<Result<store::RunRow>> decideApproval(const std::string& runId,
                                                    const std::string& step, bool approve,
                                                    RequestContext who) override;
  // TaskLeaseLog: an event `task_leased` per lease whose attempt still runs.
  std::future<Status> recordTaskLeases(std::vector<TaskLease> leases) override;
  std::future<Result<ApplyResult>> applyWorkflow(std::string yaml, std::string sourceName,
                                                 RequestContext who = {}) override;
  std::future<Result<std::vector<ApplyResult>>> applyWorkflows(std::string text,
                                                               std::string sourceName,
                                                               RequestContext who = {}) override;
  std::future<Result<EventResult>> emitEvent(EventRequest request) override;
  // Pause and disable (engine_pause.cc).
  std::future<Result<WorkflowControlResult>> pauseWorkflow(const std::string& name,
                                                           RequestContext who) override;
  std::future<Result<WorkflowControlResult>> resumeWorkflow(const std::string& name,
                                                            RequestContext who) override;
  std::future<Result<WorkflowControlResult>> disableWorkflow(const std::string& name,
                                                             RequestContext who) override;
  std::future<Result<WorkflowControlResult>> enableWorkflow(const std::string& name,
                                                            RequestContext who) override;
  std::future<Result<store::RunRow>> pauseRun(const std::string& runId,
                                              RequestContext who) override;
  std::future<Result<store::RunRow>> resumeRun(const std::string& runId,
                                               RequestContext who) override;

  // engine_incidents.cc
  std::future<Result<incidents::Incident>> incidentAction(IncidentRequest request,
                                                          RequestContext who) override;

  // Where every file trigger of the latest versions stands. Any thread.
  std::vector<FileTriggerStatus> fileTriggers() const override;
  // Asks each runner in turn (engine_live.cc); runners_ never changes after
  // construction, so no loop is involved.
  Result<LiveLog> liveLog(const LiveLogRequest& request) const override;
  // Manual mode: the file watcher lists every watched directory once, on
  // the caller's thread (then pump() handles what settled).
  void scanFiles();

  EngineStats stats() const;
  // Timers waiting in the engine loop: a timeout per running attempt, one
  // per step waiting on a backoff or a sleep, and a commit retry. Any thread.
  size_t pendingTimers() const { return loop_.pendingTimers(); }

 private:
  // How a workflow applied from `sourceName` (an absolute file path, or
  // empty for the API) is parsed: its name in errors, its default workdir.
  spec::ParseOptions applyOptions(const std::string& sourceName) const;
  // The slots of one concurrency key (of one workflow).
  struct SlotQueue {
    std::vector<std::string> holders;  // run ids, in the order they took a slot
    std::deque<std::string> waiting;   // run ids, in the order they first waited
  };
  using AfterCommit = std::function<void()>;
  using KeyId = std::pair<std::string, std::string>;  // workflow, idempotency key
  // A key whose first run became durable in commit number `seq`, and that
  // run as it was written then.
  struct DurableKey {
    uint64_t seq = 0;
    store::RunRow run;
  };

  // --- triggers and run lifecycle (engine_runs.cc) ---
  // `seenSeq`: the durable commit count observed before the caller looked
  // the key up in the store and did not find it.
  void onTrigger(std::shared_ptr<const LoadedWorkflow> wf, nlohmann::json given,
                 nlohmann::json params, std::string key, RequestContext who, uint64_t seenSeq,
                 std::shared_ptr<std::promise<Result<TriggerResult>>> reply,
                 std::string traceId = {});
  // Keyed triggers between their store lookup and their handling on the
  // loop: keeps the keys made durable meanwhile (durableKeys_) until none
  // of them can need one. Any thread.
  uint64_t beginKeyLookup();
  void endKeyLookup(uint64_t seenSeq);
  // Loop: forgets the durable keys no keyed trigger in flight can need.
  void pruneDurableKeys();
  // The answer to a trigger whose idempotency key belongs to `original`:
  // that run if `given` are the params it was triggered with, else
  // kIdempotencyConflict naming it.
  Result<TriggerResult> replay(const store::RunRow& original, const nlohmann::json& given,
                               const std::string& key);
  // `who`: the person or token that asked (a trigger through the API);
  // null for keel's own (a schedule, a file, an event, an after trigger).
  // `traceId`: the trace the run joins (the caller's); empty: a new one.
  RunRt& createRun(std::shared_ptr<const LoadedWorkflow> wf, nlohmann::json params, std::string key,
                   const RequestContext* who = nullptr, std::string traceId = {});
  void startRun(RunRt& run);
  // The run's concurrency key as the gate sees it; nullopt without one.
  std::optional<ConcurrencySlots> concurrencyOf(const RunRt& run) const;
  // The slots_ entry of a run's key.
  static std::string slotKey(const RunRt& run);
  // The run takes a slot of its key (a step of it passed the gate).
  void takeSlot(RunRt& run);
  // A step of the run waits for its key: the run queues for it (once) and
  // says the wait.
  void waitForSlot(RunRt& run, const GateDecision& why);
  // The runs waiting for a key whose slot freed: their held steps are
  // dispatched again, oldest run first, while slots are free.
  void admitWaiting(const std::string& key);
  // Approval steps (engine_approvals.cc): the wait starts at dispatch; a
  // decision or its deadline ends it.
  void startApproval(RunRt& run, int idx);
  void approvalTimedOut(RunRt& run, int idx);
  void onDecideApproval(const std::string& runId, const std::string& step, bool approve,
                        RequestContext who,
                        std::shared_ptr<std::promise<Result<store::RunRow>>> reply);
  void onCancel(const std::string& runId, RequestContext who,
                std::shared_ptr<std::promise<Result<store::RunRow>>> reply,
                bool compensate = false);
  void onRetry(const std::string& runId, RequestContext who,
               std::shared_ptr<std::promise<Result<store::RunRow>>> reply);
  // The loop's half of a retry of a run that was not in memory, with what
  // the StoreReader found; `retriesSeen` is retries_ when the read began.
  // `events`: the run's timeline (for the after triggers it fired).
  void retryFromStore(const std::string& runId, RequestContext who, uint64_t retriesSeen,
                      Result<std::optional<store::RunDetail>> found,
                      Result<std::shared_ptr<const LoadedWorkflow>> wf,
                      Result<std::vector<store::EventRow>> events,
                      std::shared_ptr<std::promise<Result<store::RunRow>>> reply);
  // Attempts a step had before its current retry budget began (a manual
  // retry gives a fresh one).
  int budgetStart(RunRt& run, int idx);
  // After a restart: the budgets and the after triggers already fired
  // (afterFired), from the run's events. Not on the loop.
  void loadBudgets(RunRt& run);
  void maybeFinishRun(RunRt& run);

  // --- compensation (engine_compensate.cc) ---
  // Called by maybeFinishRun once every step of the run is final: true when
  // the run may end now (no compensation due, or all of them ran), false
  // while one runs (it starts the next one when none does).
  bool compensationsFinished(RunRt& run, bool allSucceeded);
  // A compensation was dead: loud (event, metric, log at error).
  void compensationFailed(RunRt& run, int idx);
  // StepRt::completedSeq from the run's step_succeeded events.
  static void collectCompletions(RunRt& run, const std::vector<store::EventRow>& events);
  // What a re-built run needs from its timeline: the after triggers its
  // ends fired, the order its steps succeeded in (compensations), and the
  // retry budgets that manual re-runs began (step_rerun events), and the
  // cancels of one step requested but not yet applied.
  static void collectFromTimeline(RunRt& run, const std::vector<store::EventRow>& events);
  // StepRt::cancelledBy of every running step whose current attempt an
  // operator asked to stop (keel cancel --step) before keel stopped.
  static void collectStepCancels(RunRt& run, const std::vector<store::EventRow>& events);
  // Cancel: every step that has not started (or waits for a retry or a
  // timer) becomes skipped; running steps and finished ones are left alone.
  void skipUnstartedSteps(RunRt& run);
  // A run that ended gives its slot back (or leaves the key's queue).
  void releaseSlot(RunRt& run);

  // --- operator actions on one step (engine_operator.cc) ---
  enum class StepAction { kSkip, kRerunFrom, kCancel };
  std::future<Result<store::RunRow>> postStepAction(StepAction action, const std::string& runId,
                                                    const std::string& step, RequestContext who);
  void onStepAction(StepAction action, const std::string& runId, const std::string& step,
                    RequestContext who, std::shared_ptr<std::promise<Result<store::RunRow>>> reply);
  // The loop's half for a run that was not in memory (finished, durable),
  // with what the StoreReader found; like retryFromStore.
  void stepActionFromStore(StepAction action, const std::string& runId, const std::string& step,
                           RequestContext who, uint64_t retriesSeen,
                           Result<std::optional<store::RunDetail>> found,
                           Result<std::shared_ptr<const LoadedWorkflow>> wf,
                           Result<std::vector<store::EventRow>> events,
                           std::shared_ptr<std::promise<Result<store::RunRow>>> reply);
  // Why `action` cannot act on step `idx` now (kConflict saying why); ok
  // when it can. `rows`: the run's steps in workflow order.
  static Status checkStepAction(StepAction action, const store::RunRow& runRow,
                                bool cancelRequested, const LoadedWorkflow& wf,
                                const std::vector<store::StepRow>& rows, int idx);
  // Applies a checked action to a run in memory.
  void applySkip(RunRt& run, int idx, const RequestContext& who);
  void applyRerunFrom(RunRt& run, int idx, const RequestContext& who);
  void applyCancelStep(RunRt& run, int idx, const RequestContext& who);
  // After a skip or rerun: pending steps that need a step that did not
  // succeed are skipped; every step's pendingNeeds is counted again; with
  // the run running, the pending steps with nothing to wait for become ready.
  void settleSteps(RunRt& run);
  // An event an operator caused about one step, with an attempt number.
  void operatorEvent(const RunRt& run, std::string kind, const RequestContext& who,
                     const std::string& step, int attempt, std::string message);

  // --- events in (engine_events.cc) ---
  // A run an event will start, planned on the caller's thread.
  struct PlannedRun {
    std::shared_ptr<const LoadedWorkflow> wf;
    nlohmann::json params;
    std::string key;                        // event:TOPIC:ID:INDEX
    size_t trigger = 0;                     // its index in the workflow's triggers
    std::optional<store::RunRow> existing;  // already in the store under `key`
  };
  using EventKey = std::pair<std::string, std::string>;  // topic, id
  struct DurableEvent {
    uint64_t seq = 0;
    store::InboundEventRow row;
  };
  // The loop's half of emitEvent(): reconciles the caller's "not found"
  // with the events being created and made durable since `seenSeq`, then
  // creates the runs and the event in one batch.
  void onEvent(EventRequest request, std::vector<PlannedRun> plan, std::vector<EventError> errors,
               uint64_t seenSeq, std::shared_ptr<std::promise<Result<EventResult>>> reply);
  // The answer to a repeated delivery: its runs, or kIdempotencyConflict
  // when the payload differs.
  static Result<EventResult> replayEvent(const store::InboundEventRow& row,
                                         const nlohmann::json& payload);
  // A delivery from the outbox answered without writing the event (it was
  // received already): the outbox event is marked delivered, then `result`
  // is the answer.
  void markOutboxThenReply(const std::string& id, Result<EventResult> result,
                           std::shared_ptr<std::promise<Result<EventResult>>> reply);
  // The key of a run created on the loop becomes durable: kept in
  // durableKeys_ for the lookups in flight.
  void keyMadeDurable(const KeyId& keyId, const store::RunRow& row);

  // --- schedules (engine_schedules.cc) ---
  // Where one cron trigger of a workflow's latest version stands, on the
  // loop: the last instant handled (fired or skipped; durable or in the
  // pending batch), the last run it started, the fire queued until that run
  // ends (overlap: queue), and its timer.
  struct ScheduleRt {
    std::shared_ptr<const LoadedWorkflow> wf;
    size_t index = 0;
    WallTime after;
    std::string lastRunId;
    std::optional<WallTime> queued;
    std::optional<EventLoop::TimerId> timer;
    uint64_t generation = 0;
  };
  using ScheduleKey = std::pair<std::string, size_t>;  // workflow, trigger index
  // start(): every latest version's cron triggers from the durable schedule
  // state; the instants missed while keel was down follow their misfire.
  Status loadSchedules();
  // A workflow applied (loop): its triggers replace the previous version's.
  void rearmSchedules(std::shared_ptr<const LoadedWorkflow> wf);
  // Starts the runs of the instants due now, in one batch with the state.
  void fireDue(ScheduleRt& s, bool atStart);
  // Records a fire that starts no run.
  void recordSkip(ScheduleRt& s, WallTime instant, const std::string& reason);
  // Starts the run of one instant (false: its params failed, recorded as
  // skipped); `note` ends its started_by_schedule message.
  bool startScheduledRun(ScheduleRt& s, WallTime instant, const std::string& note);
  // overlap: queue: `instant` waits for s.lastRunId to end, replacing the
  // fire queued before it (recorded as skipped).
  void queueFire(ScheduleRt& s, WallTime instant);
  // A queued fire whose run has ended starts (not while stopping: the next
  // start finds it queued in the store).
  void startQueuedFire(ScheduleRt& s);
  // A run ended: the queued fire of the trigger that started it starts.
  void startQueuedFires(const RunRt& run);
  // A timer for the next instant (at most a minute away, so that a wall
  // clock stepped either way is seen within a minute).
  void armSchedule(ScheduleRt& s);
  void onScheduleTimer(const ScheduleKey& key, uint64_t generation);
  // --- file triggers (engine_files.cc) ---
  struct PlannedArrival {
    triggers::FileEntry file;
    std::string key;  // file:WORKFLOW:INDEX:...
  };
  void makeFileWatcher();
  // start(): the file triggers of every latest version are watched.
  void armFileWatches();
  // A workflow applied: its file triggers replace the previous version's.
  void rearmFileWatches(const LoadedWorkflow& wf);
  // The watcher's thread: looks the settled files up in the store and
  // posts those not yet recorded to the loop; returns the paths to report
  // again (a lookup failed).
  std::vector<std::string> onFilesSettled(const triggers::FileWatch& watch,
                                          std::vector<triggers::FileEntry> settled,
                                          std::vector<std::string> gone,
                                          const std::vector<triggers::FileEntry>* first);
  // Loop: one run per arrival not created meanwhile, each with its
  // arrival row, and the prune of the files gone.
  void onFileArrivals(const triggers::FileWatch& watch, std::vector<PlannedArrival> plan,
                      std::vector<std::string> gone, uint64_t seenSeq);

  // --- after triggers (engine_chains.cc) ---
  // A run ended: the matching after triggers of the latest workflow
  // versions it has not fired yet start their runs, in the same batch.
  void startAfterTriggers(RunRt& upstream);
  // The after triggers a run's timeline says it fired, into afterFired.
  static void collectAfterFired(RunRt& run, const std::vector<store::EventRow>& events);
  // At apply: kInvalidArgument naming an after-trigger cycle `spec` would
  // close with the latest versions of the other workflows; a warning per
  // after trigger naming a workflow that does not exist yet.
  // `pending` are workflows of the same file, checked before `spec` and
  // not stored yet: they count as the latest versions of their names.
  Status checkAfterTriggers(const spec::WorkflowSpec& spec, const std::string& file,
                            std::vector<std::string>& warnings,
                            const std::vector<const spec::WorkflowSpec*>& pending = {});
  // Stores a checked spec as a new version (unless identical to the latest),
  // loads it, and re-arms its schedules and file watches. Under applyMu_.
  Result<ApplyResult> storeWorkflow(const spec::WorkflowSpec& spec, const RequestContext& who,
                                    std::string yaml, const std::string& workdir);

  // --- events out (engine_outbox.cc) ---
  // A step succeeded: its `emit:` goes to the outbox, in the step's batch.
  void emitStepEvent(RunRt& run, int idx);
  // A run ended: each matching `on_end:` item goes to the outbox, in the
  // batch of the end.
  void emitEndEvents(RunRt& run);
  // Renders `emit` and queues it as outbox event `id`; one that cannot be
  // made is recorded as failed with the reason (and in the run's timeline).
  void queueOutboxEvent(RunRt& run, const spec::EmitSpec& emit, std::string id, std::string source,
                        const std::string& step);

  // --- steps (engine_steps.cc) ---
  void readyStep(RunRt& run, int idx);
  void dispatchStep(RunRt& run, int idx);
  // Keeps a step `ready` with the wait a gate gave it.
  void holdStep(RunRt& run, int idx, const GateDecision& why);
  // Starts a prepared attempt once its `running` record is durable.
  void launchAttempt(const std::string& runId, int idx, int attempt,
                     std::shared_ptr<const PreparedAttempt> prepared);
  // The running attempt's timeout timer: the executor is told to stop it
  // (class timeout) when it fires.
  void armTimeout(RunRt& run, int idx, std::chrono::milliseconds timeout);
  // Recovery: watches again an attempt that was running when keel stopped
  // (its supervisor may still run, or have left its result).
  void reattachStep(RunRt& run, int idx);
  void onStepFinished(const std::string& runId, int idx, int attempt, exec::StepOutcome outcome);
  void onTimer(const std::string& runId, int idx, uint64_t token);
  void succeedStep(RunRt& run, int idx, std::string outputJson);
  // `endedAt`: when the attempt really ended, if earlier than now (one
  // collected after a restart); otherwise now.
  // `notBefore`: the earliest next attempt the step's target asked for
  // (Retry-After); the retry waits at least until then (at most a day).
  void failAttempt(RunRt& run, int idx, FailureClass cls, std::optional<int> exitCode,
                   std::string message, std::optional<WallTime> endedAt = std::nullopt,
                   std::optional<WallTime> notBefore = std::nullopt);
  void killStep(RunRt& run, int idx, std::string reason);
  void skipDependants(RunRt& run, int idx);
  void armStepTimer(RunRt& run, int idx, WallTime due);
  void releaseProcSlot(StepRt& s);
  // Drops the step's timeout and backoff/sleep timers from the loop.
  void cancelTimers(StepRt& s);
  void startQueuedSteps();
  // The step's inputs (params, the outputs of the steps it needs) rendered
  // by its runner into what the attempt will do.
  Result<std::shared_ptr<const PreparedAttempt>> prepareAttempt(RunRt& run, int idx,
                                                                StepRunner& runner,
                                                                std::string leasedTo = {});
  // Recovery: the worker the running attempt's task was handed to, from the
  // run's timeline; empty when it was not handed out.
  std::string leasedWorker(const RunRt& run, int idx);
  // The runner of a kind; nullptr for noop and sleep (the engine's own) and
  // for a kind this keel cannot run.
  StepRunner* runnerFor(spec::StepKind kind) const {
    auto it = runners_.find(kind);
    return it == runners_.end() ? nullptr : it->second;
  }

  // --- pause and disable (engine_pause.cc) ---
  enum class ControlAction { kPause, kResume, kDisable, kEnable };
  Status loadControls();  // start(): the workflow_controls rows
  std::future<Result<WorkflowControlResult>> controlWorkflow(ControlAction action,
                                                             const std::string& name,
                                                             RequestContext who);
  void onControlWorkflow(ControlAction action, const std::string& name, RequestContext who,
                         std::shared_ptr<std::promise<Result<WorkflowControlResult>>> reply);
  void onControlRun(bool pause, const std::string& runId, RequestContext who,
                    std::shared_ptr<std::promise<Result<store::RunRow>>> reply);
  // Why the run is held at the paused gate; empty when it is not paused.
  std::string pauseHold(const RunRt& run) const;
  // "workflow W is disabled by ACTOR since T: REASON"; empty when enabled.
  std::string disabledReason(const std::string& workflow) const;
  // The run's state follows its holds: `paused` while held and nothing of
  // it runs, `running` again once it is no longer paused.
  void refreshPaused(RunRt& run);
  // A paused run's steps not yet dispatched hold as paused.
  void holdPaused(RunRt& run);
  // A resumed run's held steps are dispatched (and held sleeps end).
  void releasePaused(RunRt& run);

  // --- incidents (engine_incidents.cc) ---
  // start(): every incident, indexed by fingerprint; workaround timers armed.
  Status loadIncidents();
  // A user-facing symptom of `run`: step `idx` (-1: the run itself) went
  // dead, its compensation failed, or the run failed for good. Opens or
  // joins an incident in the batch of the symptom.
  void incidentSymptom(RunRt& run, int idx, const char* kind);
  // The latest workflows whose `after:` triggers name `workflow` (an
  // incident's "downstream"), each once.
  std::vector<std::string> workflowsAfter(const std::string& workflow);
  // A run succeeded: the incidents it is affected by and not yet mitigated
  // are mitigated by keel.
  void incidentRecovered(RunRt& run);
  // Whether a dead step is a symptom: not when it was cancelled or an
  // approver rejected it (a person decided).
  static bool raisesIncident(const RunRt& run, int idx);
  void onIncidentAction(IncidentRequest request, RequestContext who,
                        std::shared_ptr<std::promise<Result<incidents::Incident>>> reply);
  void armWorkaround(const incidents::Incident& incident);
  void onWorkaroundDue(const std::string& id);
  // The incident's current record goes into the pending batch.
  void writeIncident(const incidents::Incident& incident);
  // --- SLOs (engine_slo.cc) ---
  // start(), after the schedules: each SLO's deadlines from what is stored
  // (runs' first attempts, schedule fires, the last success), the misses
  // already recorded (the incidents' slo_missed entries), and one check of
  // the deadlines that passed while keel was down.
  Status loadSlos();
  // An apply (caller's thread): reads when the workflow was first applied,
  // then posts rearmSlo to the loop.
  void postSloRearm(std::shared_ptr<const LoadedWorkflow> wf);
  void rearmSlo(std::shared_ptr<const LoadedWorkflow> wf, WallTime firstApplied);
  // dispatchStep: a run's first attempt began (start_by).
  void sloAttemptStarted(const RunRt& run);
  // maybeFinishRun: a run succeeded (freshness; mitigates the workflow's
  // start_by and freshness incidents).
  void sloRunSucceeded(RunRt& run);
  // Checks every deadline due and arms the timer for the next one.
  void sloTick();
  void sloMiss(const LoadedWorkflow& wf, const char* kind, const std::string& message,
               const std::string& key, const std::string& detail, RunRt* run);
  struct SloState;
  std::shared_ptr<SloState> slo_;  // loop thread

  // --- incident metrics (engine_incident_metrics.cc) ---
  // keel_incidents_open{severity} and keel_action_items_overdue, set from
  // incidents_ at start, after each durable batch that wrote an incident, and
  // when an action item's due date passes (a loop timer).
  void registerIncidentMetrics(observe::MetricsRegistry& metrics);
  void refreshIncidentMetrics();
  // keel_incident_escalations_total{workflow,level}: one more, once the
  // batch that recorded a level firing is durable.
  void countEscalation(const std::string& workflow, int level);

  // --- escalation (engine_escalation.cc) ---
  // The workflow's escalate_after and levels (latest version; the default
  // when it is gone).
  incidents::EscalationPolicy escalationPolicy(const std::string& workflow);
  // A step failed an attempt and will be retried: its first failure is
  // noted and its escalate_after timer armed.
  void stepRetrying(RunRt& run, int idx);
  void armStepEscalation(RunRt& run, int idx);
  void onStepEscalationDue(const std::string& runId, int idx);
  // cancelTimers(): a step that ended drops its escalation timer.
  void dropStepEscalation(StepRt& s);
  // Whether the step's failure in this run already raised a (not
  // resolved) step_not_recovered incident: its end joins that one.
  bool joinedStepIncident(const RunRt& run, const std::string& step) const;
  // A restart: each step's first failed attempt, from the run's events.
  static void collectFirstFailures(RunRt& run, const std::vector<store::EventRow>& events);
  void armStepEscalations(RunRt& run);
  // The next level of an incident: fired now (once the channels are read)
  // or a timer for when it is due.
  void escalate(const incidents::Incident& incident);
  void armEscalation(const std::string& id, WallTime due);
  void onEscalationDue(const std::string& id);
  void readChannelsThenFire(const std::string& id, int level);
  void fireLevel(const std::string& id, int level, Result<std::vector<store::ChannelRow>> rows);
  // A resolution: a "resolved" notification to each channel escalated to.
  void notifyResolved(const incidents::Incident& incident);
  nlohmann::json incidentPayload(const incidents::Incident& incident, const char* event);
  void queueNotification(std::string id, const std::string& channel, const char* kind,
                         const nlohmann::json& payload);

  // --- recovery (engine_recovery.cc) ---
  RunRt* rebuildRun(store::ActiveRun active, std::shared_ptr<const LoadedWorkflow> wf);
  // Whether a rebuilt run held a slot of its concurrency key when keel
  // stopped: it had passed the concurrency gate (a step of it started or
  // waits at a later gate) and none of its steps waits for the key.
  static bool heldSlotWhenStopped(const RunRt& run);
  void continueRun(RunRt& run);
  // A run whose workflow version can no longer be loaded fails with the
  // reason; the other runs recover as usual.
  void failUnloadable(store::ActiveRun active, const Error& why);

  // --- durability (engine.cc) ---
  void markRun(RunRt& run);
  void markStep(RunRt& run, int idx);
  void event(const RunRt& run, std::string kind, std::string step = {}, int attempt = 0,
             std::string message = {});
  // An event an operator caused: with their actor and reason.
  void event(const RunRt& run, std::string kind, const RequestContext& who, std::string step = {},
             std::string message = {});
  // The audit entry of an action `who` asked for (engine_audit.cc), queued
  // into the batch of the change it records, so both commit together.
  // `detail`: a small object (run id, workflow, version), never a secret.
  void audit(const RequestContext& who, std::string action, std::string target,
             nlohmann::json detail = nlohmann::json::object());
  // The same for an action on a run: its id is the target, and the detail
  // names its workflow and version (and `step`, if any).
  void auditRun(const RunRt& run, const RequestContext& who, std::string action,
                const std::string& step = {});
  // The entry of what keel decided by itself in a person's place (an
  // incident mitigated when its run recovered, reopened when its
  // workaround lapsed): actor `keel`, `reason` why.
  void auditKeel(std::string action, const incidents::Incident& incident, std::string reason);
  void afterCommit(AfterCommit action) { afterCommit_.push_back(std::move(action)); }
  void flush();
  // While stopping: stops the loop once nothing is pending or in flight.
  void finishDrainIfIdle();
  bool nothingToWrite() const;
  void onCommitted(Status status, std::vector<AfterCommit> actions, store::Batch batch);
  void replyWhenDurable(RunRt& run, std::function<void(const store::RunRow&)> reply);
  Result<nlohmann::json> effectiveParams(const LoadedWorkflow& wf, const nlohmann::json& given);
  void evictFinished(const std::vector<std::string>& ids);
  RunRt* findRun(const std::string& runId);
  // readiness() without "starting": what refuses new work.
  Status health() const;
  // An entry point's answer: when keel is healthy, `onLoop(reply)` runs on
  // the loop and answers through `reply`; otherwise the health error is the
  // answer at once.
  template <typename T, typename OnLoop>
  std::future<T> onLoopIfHealthy(OnLoop onLoop) {
    auto reply = std::make_shared<std::promise<T>>();
    auto future = reply->get_future();
    if (Status h = health(); !h.ok()) {
      reply->set_value(h.error());
      return future;
    }
    loop_.post([onLoop = std::move(onLoop), reply]() mutable { onLoop(reply); });
    return future;
  }
  WallTime now() const { return clock_.wallNow(); }
  // Registers the engine's metrics, read from the counters below.
  void registerMetrics(observe::MetricsRegistry& metrics);
  // The metrics by workflow (engine_metrics.cc): what a durable batch says
  // ended, a run's first attempt, each workflow's last success at start.
  void observeCommitted(const store::Batch& batch);
  void observeAttemptStarted(const RunRt& run, const StepRt& step);
  Status loadLastSuccesses();

  store::Store& store_;
  const Clock& clock_;
  Random& random_;
  EngineOptions options_;
  ProcessRunner processRunner_;
  std::map<spec::StepKind, StepRunner*> runners_;
  WorkflowCache workflows_;
  EventLoop loop_;
  std::unique_ptr<Committer> committer_;
  StoreReader reader_;
  std::thread loopThread_;
  std::atomic<bool> ready_{false};
  std::atomic<bool> started_{false};
  std::atomic<bool> stopping_{false};
  // Serialises applies, so that two workflows applied at once cannot close
  // an after-trigger cycle that neither check saw.
  std::mutex applyMu_;
  // The current run of failed commits, set on the loop, read by health().
  mutable std::mutex commitHealthMu_;
  std::optional<WallTime> commitsFailingSince_;  // guarded by commitHealthMu_
  std::string lastCommitError_;                  // guarded by commitHealthMu_

  // Loop-thread state.
  std::unordered_map<std::string, std::unique_ptr<RunRt>> runs_;
  std::vector<RunRt*> dirtyRuns_;
  // Terminal runs, evicted once the batch holding their end is durable:
  // until then the store may still show an earlier state.
  std::vector<std::string> finished_;
  std::map<std::string, SlotQueue> slots_;
  std::string lastRunId_;  // the last id createRun made
  // Keys whose first run is not durable yet (run id).
  std::map<KeyId, std::string> uncommittedKeys_;
  // Keys made durable while a keyed trigger was between its store lookup
  // and the loop, by commit, so that its "not found" is corrected.
  std::map<KeyId, DurableKey> durableKeys_;
  std::deque<std::pair<uint64_t, KeyId>> durableKeyOrder_;
  // Events whose batch is not durable yet, and those made durable while an
  // emitEvent() was between its store lookup and the loop (as keys above).
  std::set<EventKey> uncommittedEvents_;
  std::map<EventKey, DurableEvent> durableEvents_;
  std::deque<std::pair<uint64_t, EventKey>> durableEventOrder_;
  std::map<ScheduleKey, ScheduleRt> schedules_;
  uint64_t scheduleGeneration_ = 0;
  std::unique_ptr<triggers::FileWatcher> fileWatcher_;  // thread-safe
  int readsInFlight_ = 0;                               // StoreReader jobs not yet back on the loop
  uint64_t retries_ = 0;                                // runs rebuilt by a retry
  // Successful commits, and the counts seen by keyed triggers in flight.
  std::mutex keysMu_;
  uint64_t durableSeq_ = 0;             // guarded by keysMu_
  std::multiset<uint64_t> keyLookups_;  // guarded by keysMu_
  store::Batch pending_;
  std::vector<AfterCommit> afterCommit_;
  store::Batch failedBatch_;  // a batch whose commit failed, retried first
  std::vector<AfterCommit> failedActions_;
  MonoTime flushNotBefore_{};
  bool draining_ = false;  // stop() is writing what is left; no new process
  std::chrono::milliseconds commitBackoff_{0};
  int runningProcs_ = 0;
  // Attempts handed to a runner's attach() by recovery, kept by its sweep.
  std::vector<std::pair<spec::StepKind, exec::AttemptRef>> reattached_;
  bool stopSteps_ = false;  // stop(true): the loop ends once no step runs
  std::deque<std::pair<std::string, int>> readyQueue_;  // steps waiting for a slot
  GateChain stepGates_ = defaultStepGates();            // consulted by dispatchStep
  // What operators set on workflows, by name (loop thread; loaded by start()).
  std::map<std::string, store::WorkflowControlRow> controls_;
  int pausedWorkflows_ = 0;  // of controls_, those paused
  // Every incident by id, and the ids of each fingerprint oldest first
  // (loop thread; loaded by start()). The loop decides joins from these,
  // never from the store.
  std::map<std::string, incidents::Incident> incidents_;
  std::map<std::string, std::vector<std::string>> incidentsByFingerprint_;
  int lastIncidentNumber_ = 0;
  std::set<std::string> escalationReads_;  // incidents whose channels are being read
  // The incident gauges (SEV1..SEV4, then overdue action items), and when
  // the overdue timer is armed for (loop thread).
  std::array<observe::Gauge*, 4> incidentsOpenGauges_{};
  observe::Gauge* overdueGauge_ = nullptr;
  observe::MetricsRegistry* incidentMetrics_ = nullptr;  // for the escalation counters
  std::optional<WallTime> overdueTimerAt_;

  std::atomic<uint64_t> runsCreated_{0};
  std::atomic<uint64_t> runsFinished_{0};
  std::atomic<uint64_t> activeRuns_{0};
  std::atomic<uint64_t> attemptsStarted_{0};
  std::atomic<uint64_t> compensationsFailed_{0};
  std::atomic<uint64_t> commitFailures_{0};
  std::atomic<uint64_t> outboxEmitted_{0};    // durable, to deliver
  std::atomic<uint64_t> outboxFailed_{0};     // durable, payload could not be made
  std::atomic<uint64_t> outboxDelivered_{0};  // marked delivered, durable
  std::unique_ptr<SpanRecorder> spans_;       // when options_.spans is set
  // Last, so the callbacks reading the members above go first.
  std::unique_ptr<observe::MetricsRegistry> ownMetrics_;  // when options_.metrics is null
  std::vector<observe::MetricsCallback> metricCallbacks_;
  std::unique_ptr<WorkflowMetrics> workflowMetrics_;  // on options_.metrics or ownMetrics_
};

}  // namespace keel::engine
