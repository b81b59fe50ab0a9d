#include "runners/task_runner.h"

#include <algorithm>

#include <fmt/format.h>

#include "observe/trace_context.h"
#include "spec/parser.h"
#include "spec/template.h"

namespace keel::runners {
namespace {

using nlohmann::json;
using Millis = std::chrono::milliseconds;

struct TaskAttempt final : engine::PreparedAttempt {
  std::string queue;
  std::string runId;
  std::string workflow;
  std::string step;
  int attempt = 1;
  json input;
  Millis lease{0};
  std::string leasedTo;     // re-attach: the worker it was handed to
  std::string traceparent;  // the run's trace, the attempt's span
};

Error leaseLost(const std::string& id, const std::string& why) {
  return Error(ErrorCode::kLeaseLost, fmt::format("task '{}' is not yours to report on: {}; "
                                                  "nothing was changed",
                                                  id, why));
}

Error stopping() {
  return Error(ErrorCode::kUnavailable,
               "keel is stopping; report again once it has restarted (the lease is kept)");
}

std::string capLog(std::string log, size_t cap, int64_t& bytes) {
  bytes = static_cast<int64_t>(log.size());
  if (log.size() > cap) {
    log.resize(cap);
    log += fmt::format("\n[keel: log cut at {} of {} bytes]\n", cap, bytes);
  }
  return log;
}

}  // namespace

struct TaskRunner::Task {
  std::string id;
  std::string queue;
  std::string runId;
  std::string workflow;
  std::string step;
  int attempt = 1;
  json input = json::object();
  Millis lease{0};
  WallTime queuedAt;
  std::string traceparent;  // empty when nothing could be prepared
  bool leased = false;
  bool refound = false;  // re-found after a restart of keel, not reported on since
  std::string worker;
  std::multimap<WallTime, std::string>::iterator leaseIt;  // valid while leased
  Handle handle = 0;
  Done done;
};

TaskRunner::TaskRunner(const Clock& clock, Options options)
    : clock_(clock), options_(std::move(options)) {
  if (options_.reaper) reaper_ = std::thread([this] { reaperLoop(); });
  if (!options_.metrics) return;
  auto& m = *options_.metrics;
  auto series = [&](bool counter, const char* name, const char* help, uint64_t Counts::*field) {
    auto read = [this, field] { return static_cast<double>(counts().*field); };
    metricCallbacks_.push_back(counter ? m.counterCallback(name, help, read)
                                       : m.gaugeCallback(name, help, read));
  };
  series(false, "keel_tasks_queued", "Tasks of task: steps waiting for a worker.", &Counts::queued);
  series(false, "keel_tasks_leased", "Tasks of task: steps leased to a worker now.",
         &Counts::leased);
  series(true, "keel_tasks_handed_out_total", "Tasks handed to workers since keel started.",
         &Counts::handedOut);
  series(true, "keel_tasks_completed_total", "Tasks completed by their worker since keel started.",
         &Counts::completed);
  series(true, "keel_tasks_failed_total",
         "Tasks failed by their worker (a class they chose) since keel started.", &Counts::failed);
  series(true, "keel_task_leases_lapsed_total",
         "Task leases that lapsed (no heartbeat or result in time; the attempt is lost and "
         "retried) since keel started.",
         &Counts::leasesLapsed);
}

TaskRunner::~TaskRunner() {
  metricCallbacks_.clear();
  {
    std::lock_guard lock(mu_);
    stopReaper_ = true;
    closed_ = true;
  }
  reaper_cv_.notify_all();
  queued_.notify_all();
  durable_.notify_all();
  if (reaper_.joinable()) reaper_.join();
}

Result<std::shared_ptr<const engine::PreparedAttempt>> TaskRunner::prepare(
    const engine::AttemptInput& in) {
  const auto& spec = *in.step;
  auto attempt = std::make_shared<TaskAttempt>();
  attempt->queue = spec.task.queue;
  attempt->runId = in.runId;
  attempt->workflow = in.workflow;
  attempt->step = spec.name;
  attempt->attempt = in.attempt;
  attempt->input = json::object();
  attempt->leasedTo = in.leasedTo;
  // The worker continues the run's trace under the attempt's span, the one
  // the attempt's span in the engine's export carries.
  std::string trace = observe::runTraceId(in.traceId, in.runId);
  std::string span = observe::isSpanId(in.spanId)
                         ? in.spanId
                         : observe::attemptSpanId(in.runId, spec.name, in.attempt);
  attempt->traceparent = observe::formatTraceparent(trace, span);
  if (spec.task.input) {
    spec::TemplateContext ctx;
    ctx.params = in.params;
    ctx.stepOutputs = in.outputs;
    ctx.runId = in.runId;
    ctx.workflow = in.workflow;
    auto input = spec::renderJsonTemplate(*spec.task.input, ctx, "task.input");
    if (!input.ok()) return Error(ErrorCode::kInvalidArgument, input.error().message());
    attempt->input = std::move(*input);
  }
  if (spec.heartbeat)
    attempt->lease = *spec.heartbeat;
  else if (in.timeout.count() > 0)
    attempt->lease = in.timeout;
  else
    attempt->lease = options_.defaultLease;
  return std::shared_ptr<const engine::PreparedAttempt>(std::move(attempt));
}

std::shared_ptr<TaskRunner::Task> TaskRunner::newTask(const exec::AttemptRef& ref,
                                                      const engine::PreparedAttempt* prepared,
                                                      Done done) const {
  auto t = std::make_shared<Task>();
  t->id = engine::taskId(ref.runId, ref.step, ref.attempt);
  t->runId = ref.runId;
  t->step = ref.step;
  t->attempt = ref.attempt;
  t->lease = options_.defaultLease;
  if (prepared) {
    const auto& a = static_cast<const TaskAttempt&>(*prepared);
    t->queue = a.queue;
    t->workflow = a.workflow;
    t->input = a.input;
    t->lease = a.lease;
    t->worker = a.leasedTo;
    t->traceparent = a.traceparent;
  }
  t->queuedAt = clock_.wallNow();
  t->done = std::move(done);
  return t;
}

TaskRunner::Handle TaskRunner::add(std::shared_ptr<Task> t) {
  const bool leased = t->leased;
  Handle h;
  {
    std::lock_guard lock(mu_);
    h = t->handle = next_++;
    byHandle_[h] = t->id;
    if (leased)
      t->leaseIt = leases_.emplace(t->queuedAt + t->lease, t->id);
    else
      queues_[t->queue].push_back(t->id);
    tasks_[t->id] = std::move(t);
  }
  if (leased)
    reaper_cv_.notify_all();
  else
    queued_.notify_all();
  return h;
}

TaskRunner::Handle TaskRunner::start(std::shared_ptr<const engine::PreparedAttempt> prepared,
                                     Done done) {
  const auto& a = static_cast<const TaskAttempt&>(*prepared);
  return add(
      newTask(exec::AttemptRef{a.runId, a.step, a.attempt}, prepared.get(), std::move(done)));
}

TaskRunner::Handle TaskRunner::attach(const exec::AttemptRef& ref,
                                      std::shared_ptr<const engine::PreparedAttempt> prepared,
                                      Done done) {
  auto t = newTask(ref, prepared.get(), std::move(done));
  // Handed out before the restart (or unknown: nothing could be prepared):
  // leased for one lease length to its worker. Never handed out: queued.
  t->leased = !prepared || !t->worker.empty();
  t->refound = true;
  return add(std::move(t));
}

std::shared_ptr<TaskRunner::Task> TaskRunner::take(std::string id) {
  auto it = tasks_.find(id);
  if (it == tasks_.end()) return nullptr;
  auto t = std::move(it->second);
  tasks_.erase(it);
  byHandle_.erase(t->handle);
  if (t->leased) {
    leases_.erase(t->leaseIt);
  } else {
    auto& q = queues_[t->queue];
    q.erase(std::remove(q.begin(), q.end(), id), q.end());
    if (q.empty()) queues_.erase(t->queue);
  }
  return t;
}

void TaskRunner::remember(const std::string& id, Finished f) {
  finished_[id] = std::move(f);
  finishedOrder_.push_back(id);
  while (finishedOrder_.size() > options_.rememberFinished) {
    finished_.erase(finishedOrder_.front());
    finishedOrder_.pop_front();
  }
}

void TaskRunner::stop(Handle handle, FailureClass why) {
  std::shared_ptr<Task> t;
  {
    std::lock_guard lock(mu_);
    auto h = byHandle_.find(handle);
    if (h == byHandle_.end()) return;  // it has ended already
    t = take(h->second);
    remember(t->id, Finished{t->worker, Finished::kEnded, false});
  }
  exec::StepOutcome o;
  o.failureClass = why;
  std::string where = !t->leased          ? "while queued, before any worker took it"
                      : t->worker.empty() ? "while its holder was unknown after a restart"
                                          : "while leased to worker '" + t->worker + "'";
  switch (why) {
    case FailureClass::kTimeout:
      o.message = "timed out " + where;
      break;
    case FailureClass::kCancelled:
      o.message = "cancelled " + where;
      break;
    default:
      o.message = fmt::format("stopped ({}) {}", toString(why), where);
  }
  t->done(std::move(o));
}

void TaskRunner::discard(const exec::AttemptRef& ref) {
  bool wakeRepeats;
  {
    std::lock_guard lock(mu_);
    auto it = finished_.find(engine::taskId(ref.runId, ref.step, ref.attempt));
    if (it == finished_.end()) return;
    Finished& f = it->second;
    f.durable = true;
    // The report that took this end waits on its own condition, woken
    // with its last end; notified under the lock, as it lives on that
    // call's stack.
    if (f.waiter && --f.waiter->remaining == 0) f.waiter->cv.notify_one();
    f.waiter = nullptr;
    wakeRepeats = repeatWaiters_ > 0;
  }
  if (wakeRepeats) durable_.notify_all();
}

engine::TaskView TaskRunner::view(const Task& t) const {
  engine::TaskView v;
  v.id = t.id;
  v.queue = t.queue;
  v.runId = t.runId;
  v.workflow = t.workflow;
  v.step = t.step;
  v.attempt = t.attempt;
  v.input = t.input;
  v.idempotencyKey = t.runId + "/" + t.step;
  v.leased = t.leased;
  v.worker = t.worker;
  if (t.leased) v.leaseExpiresAt = t.leaseIt->first;
  v.queuedAt = t.queuedAt;
  v.traceparent = t.traceparent;
  return v;
}

void TaskRunner::leaseQueued(const engine::PollRequest& request,
                             std::vector<engine::TaskView>& out) {
  const WallTime now = clock_.wallNow();
  for (const auto& name : request.queues) {
    auto q = queues_.find(name);
    if (q == queues_.end()) continue;
    while (static_cast<int>(out.size()) < request.max && !q->second.empty()) {
      Task& t = *tasks_.at(q->second.front());
      q->second.pop_front();
      t.leased = true;
      t.worker = request.worker;
      t.leaseIt = leases_.emplace(now + t.lease, t.id);
      out.push_back(view(t));
    }
    if (q->second.empty()) queues_.erase(q);
  }
  counts_.handedOut += out.size();
}

Result<std::vector<engine::TaskView>> TaskRunner::lease(const engine::PollRequest& request) {
  std::vector<engine::TaskView> out;
  {
    Lock lock(mu_);
    const auto deadline = std::chrono::steady_clock::now() + request.wait;
    for (;;) {
      if (closed_) return stopping();
      leaseQueued(request, out);
      if (!out.empty() || std::chrono::steady_clock::now() >= deadline) break;
      queued_.wait_until(lock, deadline);
    }
  }
  if (!out.empty()) reaper_cv_.notify_all();
  return out;
}

std::future<Status> TaskRunner::recordLeases(const std::vector<engine::TaskView>& tasks) {
  if (tasks.empty() || !leaseLog_) {
    std::promise<Status> none;
    none.set_value(okStatus());
    return none.get_future();
  }
  std::vector<engine::TaskLease> leases;
  leases.reserve(tasks.size());
  for (const auto& t : tasks) leases.push_back({t.runId, t.step, t.attempt, t.worker});
  return leaseLog_->recordTaskLeases(std::move(leases));
}

Result<std::vector<engine::TaskView>> TaskRunner::awaitLeases(std::vector<engine::TaskView> tasks,
                                                              const std::string& worker,
                                                              std::future<Status> recorded) {
  if (tasks.empty()) return tasks;
  Status st = Error(ErrorCode::kUnavailable, "the leases were not recorded in time");
  if (recorded.wait_for(options_.recordTimeout) == std::future_status::ready) {
    try {
      st = recorded.get();
    } catch (const std::future_error&) {
      st = Error(ErrorCode::kUnavailable, "keel is stopping");
    }
  }
  if (!st.ok()) {
    unlease(tasks, worker);
    return Error(
        ErrorCode::kUnavailable,
        fmt::format("tasks could not be handed out: {}; poll again", st.error().message()));
  }
  return tasks;
}

Result<std::vector<engine::TaskView>> TaskRunner::poll(const engine::PollRequest& request) {
  auto leased = lease(request);
  if (!leased.ok()) return leased;
  auto recorded = recordLeases(*leased);
  return awaitLeases(std::move(*leased), request.worker, std::move(recorded));
}

TaskRunner::ReportsAndTasks TaskRunner::reportAndPoll(const std::string& worker,
                                                      std::vector<engine::TaskReport> reports,
                                                      const engine::PollRequest& poll,
                                                      Millis waitDurable) {
  ReportsAndTasks out;
  std::vector<engine::TaskView> leased;
  std::future<Status> recorded;
  // The new leases go to the engine right behind the ends, so that one
  // commit usually makes both durable.
  out.reports = reportThen(worker, std::move(reports), waitDurable, [&] {
    auto got = lease(poll);
    if (!got.ok()) {
      out.tasks = got.error();
      return;
    }
    leased = std::move(*got);
    recorded = recordLeases(leased);
  });
  if (out.tasks.ok()) out.tasks = awaitLeases(std::move(leased), poll.worker, std::move(recorded));
  return out;
}

void TaskRunner::unlease(const std::vector<engine::TaskView>& tasks, const std::string& worker) {
  {
    std::lock_guard lock(mu_);
    // Back to the front of their queues, in their order, unless already
    // ended or reported on.
    for (auto v = tasks.rbegin(); v != tasks.rend(); ++v) {
      auto it = tasks_.find(v->id);
      if (it == tasks_.end()) continue;
      Task& t = *it->second;
      if (!t.leased || t.worker != worker) continue;
      leases_.erase(t.leaseIt);
      t.leased = false;
      t.worker.clear();
      queues_[t.queue].push_front(t.id);
    }
  }
  queued_.notify_all();
}

Result<engine::TaskView> TaskRunner::heartbeat(const std::string& id, const std::string& worker) {
  if (!engine::parseTaskId(id))
    return Error(ErrorCode::kNotFound, fmt::format("'{}' is not a task id (RUN_ID.STEP.N)", id));
  engine::TaskView v;
  {
    std::lock_guard lock(mu_);
    if (closed_) return stopping();
    auto it = tasks_.find(id);
    if (it == tasks_.end()) return leaseLost(id, "its attempt has ended");
    Task& t = *it->second;
    if (!t.leased) return leaseLost(id, "it is queued, not leased to anyone");
    if (!t.worker.empty() && t.worker != worker)
      return leaseLost(id, fmt::format("it is leased to worker '{}'", t.worker));
    t.worker = worker;  // a task re-found after a restart is claimed by its first report
    t.refound = false;
    leases_.erase(t.leaseIt);
    t.leaseIt = leases_.emplace(clock_.wallNow() + t.lease, t.id);
    v = view(t);
  }
  reaper_cv_.notify_all();
  return v;
}

exec::StepOutcome TaskRunner::outcomeOf(engine::TaskReport& r) const {
  exec::StepOutcome o;
  if (r.completed) {
    o.succeeded = true;
    if (!r.output.is_null())
      o.outputJson = r.output.dump(-1, ' ', false, json::error_handler_t::replace);
    o.stdoutText = capLog(std::move(r.log), options_.logCapBytes, o.stdoutBytes);
  } else {
    o.failureClass = r.failure.failureClass;
    o.message = r.failure.message.empty() ? "the worker reported a failure" : r.failure.message;
    if (r.failure.retryAfter.count() > 0)
      o.retryNotBefore = clock_.wallNow() + r.failure.retryAfter;
    o.stderrText = capLog(std::move(r.log), options_.logCapBytes, o.stderrBytes);
  }
  return o;
}

Result<std::shared_ptr<TaskRunner::Task>> TaskRunner::takeReported(const engine::TaskReport& r,
                                                                   const std::string& worker,
                                                                   bool& repeat) {
  repeat = false;
  const auto how = r.completed ? Finished::kCompleted : Finished::kFailed;
  auto it = tasks_.find(r.id);
  if (it == tasks_.end()) {
    auto f = finished_.find(r.id);
    // The same report again (its answer was lost): the same answer.
    if (f != finished_.end() && f->second.how == how && f->second.worker == worker) {
      repeat = true;
      return std::shared_ptr<Task>();
    }
    if (f == finished_.end()) return leaseLost(r.id, "its attempt has ended");
    if (f->second.how == Finished::kEnded)
      return leaseLost(r.id, "its attempt has ended (lease lapsed, timed out or cancelled)");
    return leaseLost(r.id, fmt::format("worker '{}' already reported it", f->second.worker));
  }
  Task& t = *it->second;
  if (!t.leased) return leaseLost(r.id, "it is queued, not leased to anyone");
  if (!t.worker.empty() && t.worker != worker)
    return leaseLost(r.id, fmt::format("it is leased to worker '{}'", t.worker));
  auto taken = take(r.id);
  remember(r.id, Finished{worker, how, false});
  if (how == Finished::kCompleted)
    ++counts_.completed;
  else
    ++counts_.failed;
  return taken;
}

std::vector<Status> TaskRunner::report(const std::string& worker,
                                       std::vector<engine::TaskReport> reports, Millis wait) {
  return reportThen(worker, std::move(reports), wait, {});
}

std::vector<Status> TaskRunner::reportThen(const std::string& worker,
                                           std::vector<engine::TaskReport> reports, Millis wait,
                                           const std::function<void()>& whileEnding) {
  std::vector<Status> out(reports.size());
  std::vector<char> waiting(reports.size(), 0);
  std::vector<std::pair<std::shared_ptr<Task>, exec::StepOutcome>> ends;
  Waiter mine;  // the ends taken here; a repeated report waits on durable_
  bool repeats = false;
  Lock lock(mu_);
  for (size_t i = 0; i < reports.size(); ++i) {
    auto& r = reports[i];
    if (!engine::parseTaskId(r.id)) {
      out[i] =
          Error(ErrorCode::kNotFound, fmt::format("'{}' is not a task id (RUN_ID.STEP.N)", r.id));
      continue;
    }
    if (closed_) {
      out[i] = stopping();
      continue;
    }
    exec::StepOutcome o = outcomeOf(r);
    if (o.outputJson.size() > options_.outputCapBytes) {
      out[i] = Error(ErrorCode::kTooLarge,
                     fmt::format("task '{}': output is {} bytes, more than the {} a step may "
                                 "keep; the task is still yours",
                                 r.id, o.outputJson.size(), options_.outputCapBytes));
      continue;
    }
    bool repeat = false;
    auto taken = takeReported(r, worker, repeat);
    if (!taken.ok()) {
      out[i] = taken.error();
      continue;
    }
    waiting[i] = 1;
    if (repeat) {
      repeats = true;
    } else {
      finished_[r.id].waiter = &mine;
      ++mine.remaining;
      ends.emplace_back(std::move(*taken), std::move(o));
    }
  }
  if (mine.remaining > 0) waiters_.insert(&mine);
  lock.unlock();
  for (auto& [t, o] : ends) t->done(std::move(o));
  if (whileEnding) whileEnding();
  lock.lock();
  const auto deadline = std::chrono::steady_clock::now() + wait;
  mine.cv.wait_until(lock, deadline, [&] { return mine.remaining == 0 || released_; });
  if (repeats) {
    ++repeatWaiters_;
    for (size_t i = 0; i < reports.size(); ++i)
      if (waiting[i])
        durable_.wait_until(lock, deadline, [&] { return isDurable(reports[i].id) || released_; });
    --repeatWaiters_;
  }
  waiters_.erase(&mine);
  for (size_t i = 0; i < reports.size(); ++i) {
    if (!waiting[i]) continue;
    const auto& id = reports[i].id;
    // No end may point at this call once it returns.
    if (auto f = finished_.find(id); f != finished_.end() && f->second.waiter == &mine)
      f->second.waiter = nullptr;
    if (!isDurable(id))
      out[i] = Error(ErrorCode::kUnavailable,
                     fmt::format("task '{}': the report was taken but is not yet recorded; "
                                 "send the same report again",
                                 id));
  }
  return out;
}

bool TaskRunner::isDurable(const std::string& id) const {
  auto f = finished_.find(id);
  return f != finished_.end() && f->second.durable;
}

std::vector<engine::TaskView> TaskRunner::list(const std::string& queue) const {
  std::vector<engine::TaskView> out;
  std::lock_guard lock(mu_);
  for (const auto& [name, ids] : queues_)
    if (queue.empty() || name == queue)
      for (const auto& id : ids) out.push_back(view(*tasks_.at(id)));
  for (const auto& [at, id] : leases_) {
    const Task& t = *tasks_.at(id);
    if (queue.empty() || t.queue == queue) out.push_back(view(t));
  }
  return out;
}

int TaskRunner::expireLeases() {
  std::vector<std::shared_ptr<Task>> lapsed;
  {
    std::lock_guard lock(mu_);
    const WallTime now = clock_.wallNow();
    while (!leases_.empty() && leases_.begin()->first <= now) {
      auto t = take(leases_.begin()->second);
      remember(t->id, Finished{t->worker, Finished::kEnded, false});
      ++counts_.leasesLapsed;
      lapsed.push_back(std::move(t));
    }
  }
  for (auto& t : lapsed) {
    exec::StepOutcome o;
    o.failureClass = FailureClass::kLost;
    const std::string lease = spec::formatDuration(t->lease);
    if (t->worker.empty())
      o.message = fmt::format(
          "lease lapsed: keel restarted and no worker reported on this task within {}", lease);
    else if (t->refound)
      o.message = fmt::format(
          "lease lapsed: keel restarted and worker '{}' did not report on this task within {}",
          t->worker, lease);
    else
      o.message = fmt::format("lease lapsed: worker '{}' sent no heartbeat or result for {}",
                              t->worker, lease);
    t->done(std::move(o));
  }
  return static_cast<int>(lapsed.size());
}

void TaskRunner::reaperLoop() {
  Lock lock(mu_);
  while (!stopReaper_) {
    Millis wait(250);
    if (!leases_.empty()) {
      auto due = std::chrono::duration_cast<Millis>(leases_.begin()->first - clock_.wallNow());
      wait = std::clamp(due, Millis(0), Millis(250));
    }
    if (wait.count() > 0) reaper_cv_.wait_for(lock, wait);
    if (stopReaper_) break;
    lock.unlock();
    expireLeases();
    lock.lock();
  }
}

void TaskRunner::close() {
  {
    std::lock_guard lock(mu_);
    closed_ = true;
  }
  queued_.notify_all();
}

void TaskRunner::release() {
  {
    std::lock_guard lock(mu_);
    closed_ = true;
    released_ = true;
  }
  queued_.notify_all();
  durable_.notify_all();
  std::lock_guard lock(mu_);
  for (Waiter* w : waiters_) w->cv.notify_one();
}

TaskRunner::Counts TaskRunner::counts() const {
  std::lock_guard lock(mu_);
  Counts c = counts_;
  c.queued = 0;
  for (const auto& [name, ids] : queues_) c.queued += ids.size();
  c.leased = leases_.size();
  return c;
}

}  // namespace keel::runners
