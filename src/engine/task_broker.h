// TaskBroker: what the API asks of the `task:` steps' queues, on behalf of
// external workers. A pure interface (like control.h), implemented by
// runners::TaskRunner, so the API links no engine.
//
// A task is one attempt of a `task:` step. It is queued once its `running`
// attempt is durable, handed to one worker at a time under a lease (handed
// out only once the lease is durable: TaskLeaseLog), and ends
// when its worker completes or fails it (answered once that end is durable),
// when its lease lapses (the attempt is `lost` and retried by policy), or
// when the engine stops it (timeout, cancel). A worker that reports on an
// attempt it no longer holds gets kLeaseLost and changes nothing.
//
// Task ids are "RUN_ID.STEP.ATTEMPT": the same before and after a restart
// of keel, so a worker holding a lease can still report once keel is back.
//
// Thread-safe; poll() blocks its caller up to `wait`.
#pragma once

#include <charconv>
#include <chrono>
#include <future>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/clock.h"
#include "core/ids.h"
#include "core/result.h"
#include "core/states.h"

namespace keel::engine {

// The attempt a task id names: "RUN_ID.STEP.N" (taskId()), parsed back by
// parseTaskId() (nullopt: not a task id). A step name may hold dots.
struct TaskKey {
  std::string runId;
  std::string step;
  int attempt = 1;
};

inline std::string taskId(const std::string& runId, const std::string& step, int attempt) {
  return runId + "." + step + "." + std::to_string(attempt);
}

inline std::optional<TaskKey> parseTaskId(const std::string& id) {
  // RUN_ID (26 characters) '.' STEP '.' N
  if (id.size() < 30 || id[26] != '.') return std::nullopt;
  auto runId = id.substr(0, 26);
  if (!looksLikeRunId(runId)) return std::nullopt;
  auto lastDot = id.rfind('.');
  if (lastDot <= 27 || lastDot + 1 >= id.size()) return std::nullopt;
  int n = 0;
  const char* b = id.data() + lastDot + 1;
  const char* e = id.data() + id.size();
  auto [end, ec] = std::from_chars(b, e, n);
  if (ec != std::errc() || end != e || n < 1) return std::nullopt;
  return TaskKey{std::move(runId), id.substr(27, lastDot - 27), n};
}

struct TaskView {
  std::string id;
  std::string queue;  // empty for a task re-found after a restart of keel
  std::string runId;
  std::string workflow;
  std::string step;
  int attempt = 1;
  nlohmann::json input = nlohmann::json::object();
  std::string idempotencyKey;  // RUN_ID/STEP: the same for every attempt of the step
  bool leased = false;
  std::string worker;  // the lease holder; empty when queued, or re-found and unclaimed
  std::optional<WallTime> leaseExpiresAt;
  WallTime queuedAt;
  // "00-TRACE-SPAN-01": the run's trace id and the attempt's span id, for
  // the worker to continue the trace; empty for a task re-found after a
  // restart whose attempt could not be prepared again.
  std::string traceparent;
};

struct PollRequest {
  std::vector<std::string> queues;  // at least one
  std::string worker;
  int max = 1;
  std::chrono::milliseconds wait{0};  // long-poll: how long to wait for a first task
};

struct TaskFailure {
  FailureClass failureClass = FailureClass::kError;
  std::string message;
  std::chrono::milliseconds retryAfter{0};  // 0: the step's retry policy alone decides
};

// A worker's result for one task: completed with an output, or failed.
struct TaskReport {
  std::string id;
  bool completed = false;
  nlohmann::json output;  // completed: the step's output (null: none)
  TaskFailure failure;    // not completed
  std::string log;        // kept as the attempt's log (capped)
};

// One task handed to a worker.
struct TaskLease {
  std::string runId;
  std::string step;
  int attempt = 1;
  std::string worker;
};

// Where the leases handed out are made durable (the engine: an event
// `task_leased` in the attempt's timeline), so that after a restart keel
// knows which tasks were handed out, and to whom, and which were not.
class TaskLeaseLog {
 public:
  virtual ~TaskLeaseLog() = default;
  // Resolves once every lease whose attempt is still running is durable.
  virtual std::future<Status> recordTaskLeases(std::vector<TaskLease> leases) = 0;
};

// The event kind of a lease in a run's timeline; its message is
// "leased to worker 'NAME'".
inline constexpr const char* kTaskLeasedEvent = "task_leased";
inline std::string leasedMessage(const std::string& worker) {
  return "leased to worker '" + worker + "'";
}
inline std::optional<std::string> leasedWorkerOf(const std::string& message) {
  static const std::string kPrefix = "leased to worker '";
  if (message.rfind(kPrefix, 0) != 0 || message.size() <= kPrefix.size() + 1 ||
      message.back() != '\'')
    return std::nullopt;
  return message.substr(kPrefix.size(), message.size() - kPrefix.size() - 1);
}

class TaskBroker {
 public:
  virtual ~TaskBroker() = default;
  // Leases up to `max` queued tasks of `queues` (in the order given, oldest
  // first in each) to `worker`; waits up to `wait` while there is none.
  // Errors: kUnavailable once keel is stopping.
  virtual Result<std::vector<TaskView>> poll(const PollRequest& request) = 0;
  // Extends the lease by the step's heartbeat. Errors: kNotFound (not a task
  // id), kLeaseLost.
  virtual Result<TaskView> heartbeat(const std::string& id, const std::string& worker) = 0;
  // Ends attempts (one report each, in one call so their ends are made
  // durable together); returns, for each report in order, once its end is
  // durable (or kUnavailable after `waitDurable`: send the same report
  // again). A report repeated by the same worker answers the same. The
  // report's `log` is kept as the attempt's log. Errors per report:
  // kNotFound (not a task id), kLeaseLost, kTooLarge (output), kUnavailable.
  virtual std::vector<Status> report(const std::string& worker, std::vector<TaskReport> reports,
                                     std::chrono::milliseconds waitDurable) = 0;
  Status complete(const std::string& id, const std::string& worker, nlohmann::json output,
                  std::string log, std::chrono::milliseconds waitDurable) {
    std::vector<TaskReport> one(1);
    one[0].id = id;
    one[0].completed = true;
    one[0].output = std::move(output);
    one[0].log = std::move(log);
    return std::move(report(worker, std::move(one), waitDurable).at(0));
  }
  Status fail(const std::string& id, const std::string& worker, TaskFailure failure,
              std::string log, std::chrono::milliseconds waitDurable) {
    std::vector<TaskReport> one(1);
    one[0].id = id;
    one[0].failure = std::move(failure);
    one[0].log = std::move(log);
    return std::move(report(worker, std::move(one), waitDurable).at(0));
  }
  // report(), then poll() for the same worker, as one call: the ends and
  // the new leases are made durable together, so a worker that reports a
  // batch and asks for the next one waits for one write instead of two.
  // Answers the reports' statuses and the poll's tasks (or its error).
  struct ReportsAndTasks {
    std::vector<Status> reports;
    Result<std::vector<TaskView>> tasks = std::vector<TaskView>{};
  };
  virtual ReportsAndTasks reportAndPoll(const std::string& worker, std::vector<TaskReport> reports,
                                        const PollRequest& poll,
                                        std::chrono::milliseconds waitDurable) {
    ReportsAndTasks out;
    out.reports = report(worker, std::move(reports), waitDurable);
    out.tasks = this->poll(poll);
    return out;
  }
  // Queued and leased tasks, in queue order; every queue when `queue` is empty.
  virtual std::vector<TaskView> list(const std::string& queue) const = 0;
};

}  // namespace keel::engine
