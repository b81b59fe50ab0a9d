// TaskRunner: `task:` steps, done by external workers (engine/step_runner.h
// for the engine's side, engine/task_broker.h for the workers').
//
// prepare() renders the step's input (string leaves are templates, rendered
// as JSON values) and its lease: the step's `heartbeat:` if it has one, else
// its `timeout:` (which every task step has). start() queues the task (the
// engine calls it once the `running` attempt is durable, so no worker ever
// sees an attempt keel could forget). poll() leases queued tasks, oldest
// first; heartbeat() extends a lease by the same length; complete() and
// fail() end the attempt and answer once the engine has made that end
// durable (discard() is the signal). A lease that lapses ends the attempt
// as `lost`, which the retry policy retries; the worker that held it gets
// kLeaseLost from then on.
//
// A poll answers only once the leases it hands out are durable (the
// TaskLeaseLog: a `task_leased` event in each attempt's timeline), so after
// a restart of keel attach() knows which tasks were handed out and to whom.
// One that was is leased again to the same worker for one lease length from
// the restart: that worker may heartbeat, complete or fail it, and if it
// does not, the lease lapses and the attempt is lost and retried. One that
// was not is queued again at once. (An attempt that cannot be prepared
// again is held for Options::defaultLease for whichever worker reports on
// it first.) Heartbeats are not written: a lease after a restart counts
// from the restart. Never lost, never handed to two workers.
//
// Time comes from the Clock; expireLeases() ends lapsed leases. With
// Options::reaper a thread calls it as leases fall due; tests call it
// themselves with a manual clock. Thread-safe.
#pragma once

#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <thread>
#include <unordered_map>

#include "core/clock.h"
#include "engine/step_runner.h"
#include "engine/task_broker.h"
#include "observe/metrics.h"

namespace keel::runners {

class TaskRunner final : public engine::StepRunner, public engine::TaskBroker {
 public:
  struct Options {
    // The lease of a re-attached attempt that cannot be prepared again.
    std::chrono::milliseconds defaultLease{5 * 60 * 1000};
    size_t outputCapBytes = 1 << 20;  // a larger output is refused (kTooLarge)
    size_t logCapBytes = 1 << 20;     // a longer log is cut, head kept
    // Finished attempts remembered for repeated reports, at most.
    size_t rememberFinished = 100'000;
    bool reaper = true;  // a thread ends lapsed leases
    // How long a poll waits for its leases to become durable.
    std::chrono::milliseconds recordTimeout{30'000};
    // Where keel_tasks_* are registered; none: not registered.
    observe::MetricsRegistry* metrics = nullptr;
  };
  TaskRunner(const Clock& clock, Options options);
  ~TaskRunner() override;

  // Where leases are made durable before a poll answers; without one (unit
  // tests) they are not recorded.
  void setLeaseLog(engine::TaskLeaseLog* log) { leaseLog_ = log; }

  // StepRunner
  Result<std::shared_ptr<const engine::PreparedAttempt>> prepare(
      const engine::AttemptInput& in) override;
  Handle start(std::shared_ptr<const engine::PreparedAttempt> attempt, Done done) override;
  void stop(Handle handle, FailureClass why) override;
  Handle attach(const exec::AttemptRef& ref,
                std::shared_ptr<const engine::PreparedAttempt> prepared, Done done) override;
  void discard(const exec::AttemptRef& ref) override;
  void sweep(const std::vector<exec::AttemptRef>&) override {}

  // TaskBroker
  Result<std::vector<engine::TaskView>> poll(const engine::PollRequest& request) override;
  Result<engine::TaskView> heartbeat(const std::string& id, const std::string& worker) override;
  std::vector<Status> report(const std::string& worker, std::vector<engine::TaskReport> reports,
                             std::chrono::milliseconds waitDurable) override;
  ReportsAndTasks reportAndPoll(const std::string& worker, std::vector<engine::TaskReport> reports,
                                const engine::PollRequest& poll,
                                std::chrono::milliseconds waitDurable) override;
  std::vector<engine::TaskView> list(const std::string& queue) const override;

  // Ends every lease that has lapsed by now. Returns how many.
  int expireLeases();
  // keel is stopping: poll and the reports answer kUnavailable (a worker
  // reports again once keel is back), waiting polls return at once.
  void close();
  // The engine has stopped: reports still waiting for their end to become
  // durable answer kUnavailable now (the worker reports again after the
  // restart, when the attempt is re-found).
  void release();

  struct Counts {
    uint64_t queued = 0, leased = 0;                                      // now
    uint64_t handedOut = 0, completed = 0, failed = 0, leasesLapsed = 0;  // since start
  };
  Counts counts() const;

 private:
  struct Task;
  // A report() call waiting for the ends it took to become durable: woken
  // once, when the last of them is, not at every end the engine records.
  struct Waiter {
    size_t remaining = 0;  // ends taken by this call and not yet durable
    std::condition_variable cv;
  };
  // An attempt that ended, kept to answer a repeated report the same way.
  struct Finished {
    enum How { kEnded, kCompleted, kFailed };  // kEnded: lapsed, stopped
    std::string worker;
    How how = kEnded;
    bool durable = false;      // the engine has recorded the end
    Waiter* waiter = nullptr;  // the report() call that took it, while it waits
  };
  using Lock = std::unique_lock<std::mutex>;

  // Checks one report against its task (lock held): takes the task, or
  // says why not. `repeat`: the same report as one already taken.
  Result<std::shared_ptr<Task>> takeReported(const engine::TaskReport& r, const std::string& worker,
                                             bool& repeat);
  exec::StepOutcome outcomeOf(engine::TaskReport& r) const;
  void leaseQueued(const engine::PollRequest& request, std::vector<engine::TaskView>& out);
  // poll() in three parts: lease (waiting up to request.wait for a task),
  // send the leases to be recorded, and wait for that (giving the tasks back
  // when they cannot be recorded).
  Result<std::vector<engine::TaskView>> lease(const engine::PollRequest& request);
  std::future<Status> recordLeases(const std::vector<engine::TaskView>& tasks);
  Result<std::vector<engine::TaskView>> awaitLeases(std::vector<engine::TaskView> tasks,
                                                    const std::string& worker,
                                                    std::future<Status> recorded);
  // report(); `whileEnding` runs once the ends are handed to the engine and
  // before their durability is waited for.
  std::vector<Status> reportThen(const std::string& worker, std::vector<engine::TaskReport> reports,
                                 std::chrono::milliseconds wait,
                                 const std::function<void()>& whileEnding);
  std::shared_ptr<Task> newTask(const exec::AttemptRef& ref,
                                const engine::PreparedAttempt* prepared, Done done) const;
  // Registers a task: leased (its lease from queuedAt) or queued.
  Handle add(std::shared_ptr<Task> task);
  // A poll whose leases could not be recorded: its tasks go back.
  void unlease(const std::vector<engine::TaskView>& tasks, const std::string& worker);
  bool isDurable(const std::string& id) const;
  // Removes a live task (lock held); its `done` is the caller's to call.
  std::shared_ptr<Task> take(std::string id);  // by value: callers pass ids of entries it erases
  void remember(const std::string& id, Finished f);
  engine::TaskView view(const Task& t) const;
  void reaperLoop();

  const Clock& clock_;
  const Options options_;
  mutable std::mutex mu_;
  std::condition_variable queued_;     // a task was queued, or closing
  std::condition_variable durable_;    // an end became durable, or closing (repeated reports)
  size_t repeatWaiters_ = 0;           // report() calls waiting on durable_
  std::set<Waiter*> waiters_;          // report() calls waiting for their own ends
  std::condition_variable reaper_cv_;  // a lease was taken or extended, or closing
  std::unordered_map<std::string, std::shared_ptr<Task>> tasks_;  // live, by id
  std::multimap<WallTime, std::string> leases_;                   // leased ids by expiry
  std::map<Handle, std::string> byHandle_;
  std::map<std::string, std::deque<std::string>> queues_;  // queued ids, oldest first
  std::unordered_map<std::string, Finished> finished_;
  std::deque<std::string> finishedOrder_;
  Handle next_ = 1;
  bool closed_ = false;
  bool released_ = false;
  bool stopReaper_ = false;
  Counts counts_;
  std::thread reaper_;
  engine::TaskLeaseLog* leaseLog_ = nullptr;
  std::vector<observe::MetricsCallback> metricCallbacks_;  // last: removed first
};

}  // namespace keel::runners
