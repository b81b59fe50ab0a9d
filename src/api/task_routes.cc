// Task routes: external workers poll for `task:` steps, heartbeat their
// leases and report results (engine/task_broker.h). Every request names its
// worker; a report on a task the worker no longer holds is 409 lease_lost.
#include <algorithm>
#include <atomic>
#include <memory>

#include <fmt/format.h>

#include "api/body_json.h"
#include "api/routes.h"
#include "api/task_codec.h"
#include "core/quote.h"

namespace keel::api {
namespace {

using nlohmann::json;
using namespace taskfield;

constexpr size_t kMaxNameBytes = 128;
constexpr int kMaxTasksPerPoll = 1000;
constexpr int64_t kMaxWaitMs = 60'000;
constexpr int64_t kMaxRetryAfterMs = 24LL * 3600 * 1000;
constexpr size_t kMaxReportsPerCall = 1000;

Error bad(std::string message) { return Error(ErrorCode::kInvalidArgument, std::move(message)); }

// Worker and queue names: 1-128 of A-Z a-z 0-9 . _ : @ / - (they land in
// log lines and messages).
Status checkName(const json& value, const std::string& what) {
  if (!value.is_string()) return bad(fmt::format("'{}' must be a string", what));
  const auto& s = value.get_ref<const std::string&>();
  bool ok = !s.empty() && s.size() <= kMaxNameBytes;
  for (char c : s)
    ok = ok && (std::isalnum(static_cast<unsigned char>(c)) ||
                std::string_view("._:@/-").find(c) != std::string_view::npos);
  if (!ok)
    return bad(
        fmt::format("'{}' must be 1 to {} of the characters A-Z a-z 0-9 . _ : @ / -, "
                    "got {}",
                    what, kMaxNameBytes, quoteForMessage(s)));
  return okStatus();
}

Status checkFields(const json& body, std::initializer_list<const char*> allowed,
                   const std::string& where = "") {
  for (const auto& [key, value] : body.items()) {
    bool known = false;
    for (const char* a : allowed) known = known || key == a;
    if (!known) {
      std::string names;
      for (const char* a : allowed) names += std::string(names.empty() ? "" : ", ") + a;
      return bad(fmt::format("unknown field {}{} (the fields are {})", quoteForMessage(key), where,
                             names));
    }
  }
  return okStatus();
}

Result<int64_t> intField(const json& body, const char* name, int64_t lo, int64_t hi,
                         int64_t fallback, const std::string& where = "") {
  if (!body.contains(name)) return fallback;
  const json& v = body[name];
  if (!v.is_number_integer() || v.get<int64_t>() < lo || v.get<int64_t>() > hi)
    return bad(fmt::format("'{}'{} must be an integer from {} to {}", name, where, lo, hi));
  return v.get<int64_t>();
}

Result<json> objectBody(const ApiRequest& request) {
  auto body = parseJsonBody(request.body);
  if (!body.ok()) return body.error();
  if (!body->is_object()) return bad("the body must be a JSON object");
  return body;
}

Result<std::string> workerOf(const json& body) {
  if (!body.contains(kWorker)) return bad("'worker' is required: the name of the worker");
  if (auto ok = checkName(body[kWorker], kWorker); !ok.ok()) return ok.error();
  return body[kWorker].get<std::string>();
}

Reply unavailable(const RouteContext&) {
  return errorReply(Error(ErrorCode::kUnavailable, "this keel hands out no tasks"));
}

// Polls that may wait at once: each holds one of the server's threads.
struct PollSlots {
  std::atomic<int> waiting{0};
  int max = 16;
};

// {queues, max, wait_ms} (`where` names the object in messages).
Result<engine::PollRequest> readPoll(const json& j, const std::string& worker,
                                     const std::string& where) {
  engine::PollRequest poll;
  poll.worker = worker;
  const json& queues = j.contains(kQueues) ? j[kQueues] : json();
  if (!queues.is_array() || queues.empty() || queues.size() > 100)
    return bad(fmt::format("'queues'{} must be a list of 1 to 100 queue names", where));
  for (size_t i = 0; i < queues.size(); ++i) {
    if (auto ok = checkName(queues[i], fmt::format("queues[{}]{}", i, where)); !ok.ok())
      return ok.error();
    poll.queues.push_back(queues[i].get<std::string>());
  }
  auto max = intField(j, kMax, 1, kMaxTasksPerPoll, 1, where);
  if (!max.ok()) return max.error();
  poll.max = static_cast<int>(*max);
  auto wait = intField(j, kWaitMs, 0, kMaxWaitMs, 0, where);
  if (!wait.ok()) return wait.error();
  poll.wait = std::chrono::milliseconds(*wait);
  return poll;
}

// A poll that would wait while every slot for waiting polls is taken is
// told to come back (429): the other requests (heartbeats, reports) keep
// their threads. Holds a slot while it lives when it took one.
class PollSlot {
 public:
  PollSlot(PollSlots& slots, bool waits) : slots_(slots), taken_(waits) {
    if (taken_ && slots_.waiting.fetch_add(1) >= slots_.max) {
      slots_.waiting.fetch_sub(1);
      taken_ = false;
      refused_ = true;
    }
  }
  ~PollSlot() {
    if (taken_) slots_.waiting.fetch_sub(1);
  }
  PollSlot(const PollSlot&) = delete;
  PollSlot& operator=(const PollSlot&) = delete;
  std::optional<Reply> refusal() const {
    if (!refused_) return std::nullopt;
    Reply busy = errorReply(
        429, "too_many_polls",
        fmt::format("{} polls are already waiting, the most this keel serves at once; poll "
                    "again after Retry-After, or use fewer, longer-lived workers",
                    slots_.max));
    busy.headers.emplace_back("Retry-After", "1");
    return busy;
  }

 private:
  PollSlots& slots_;
  bool taken_;
  bool refused_ = false;
};

json taskList(const std::vector<engine::TaskView>& tasks) {
  json list = json::array();
  for (const auto& t : tasks) list.push_back(taskJson(t));
  return list;
}

Reply poll(const RouteContext& ctx, PollSlots& slots, const ApiRequest& request) {
  if (!ctx.tasks) return unavailable(ctx);
  auto body = objectBody(request);
  if (!body.ok()) return errorReply(body.error());
  if (auto ok = checkFields(*body, {kQueues, kWorker, kMax, kWaitMs}); !ok.ok())
    return errorReply(ok.error());
  auto worker = workerOf(*body);
  if (!worker.ok()) return errorReply(worker.error());
  auto poll = readPoll(*body, *worker, "");
  if (!poll.ok()) return errorReply(poll.error());
  PollSlot slot(slots, poll->wait.count() > 0);
  if (auto busy = slot.refusal()) return *busy;
  auto tasks = ctx.tasks->poll(*poll);
  if (!tasks.ok()) return errorReply(tasks.error());
  return jsonReply(200, {{kTasks, taskList(*tasks)}});
}

Reply heartbeat(const RouteContext& ctx, const ApiRequest& request) {
  if (!ctx.tasks) return unavailable(ctx);
  auto body = objectBody(request);
  if (!body.ok()) return errorReply(body.error());
  if (auto ok = checkFields(*body, {kWorker}); !ok.ok()) return errorReply(ok.error());
  auto worker = workerOf(*body);
  if (!worker.ok()) return errorReply(worker.error());
  auto task = ctx.tasks->heartbeat(request.pathParams[0], *worker);
  if (!task.ok()) return errorReply(task.error());
  return jsonReply(200, taskJson(*task));
}

// One report as a worker sends it: {id?, output, log} for a completion,
// {id?, class, message, retry_after_ms, log} for a failure.
Result<engine::TaskReport> readReport(const json& j, bool completed, const std::string& where) {
  engine::TaskReport r;
  r.completed = completed;
  if (completed) {
    if (auto ok = checkFields(j, {kId, kWorker, kOutput, kLog}, where); !ok.ok()) return ok.error();
    if (j.contains(kOutput)) r.output = j[kOutput];
  } else {
    if (auto ok = checkFields(j, {kId, kWorker, kClass, kMessage, kRetryAfterMs, kLog}, where);
        !ok.ok())
      return ok.error();
    std::string cls = "error";
    if (j.contains(kClass)) {
      if (!j[kClass].is_string()) return bad(fmt::format("'class'{} must be a string", where));
      cls = j[kClass].get<std::string>();
    }
    auto parsed = parseFailureClass(cls);
    if (!parsed || (*parsed != FailureClass::kError && *parsed != FailureClass::kBadInput &&
                    *parsed != FailureClass::kDependencyUnavailable &&
                    *parsed != FailureClass::kRateLimited && *parsed != FailureClass::kTimeout))
      return bad(
          fmt::format("'class'{} must be one of error, bad_input, dependency_unavailable, "
                      "rate_limited, timeout; got {}",
                      where, quoteForMessage(cls)));
    r.failure.failureClass = *parsed;
    if (j.contains(kMessage)) {
      if (!j[kMessage].is_string()) return bad(fmt::format("'message'{} must be a string", where));
      r.failure.message = j[kMessage].get<std::string>();
    }
    auto after = intField(j, kRetryAfterMs, 0, kMaxRetryAfterMs, 0, where);
    if (!after.ok()) return after.error();
    r.failure.retryAfter = std::chrono::milliseconds(*after);
  }
  if (j.contains(kLog)) {
    if (!j[kLog].is_string()) return bad(fmt::format("'log'{} must be a string", where));
    r.log = j[kLog].get<std::string>();
  }
  return r;
}

// After a restart of keel a repeated report finds no task; the attempt's
// stored end, and the worker its task was handed to (its `task_leased`
// event), say whether it was this worker's report that ended it.
bool alreadyRecorded(const RouteContext& ctx, const engine::TaskReport& r,
                     const std::string& worker) {
  auto key = engine::parseTaskId(r.id);
  if (!key) return false;
  const std::string& runId = key->runId;
  const std::string& step = key->step;
  auto detail = ctx.store.getRun(runId);
  if (!detail.ok() || !detail->has_value()) return false;
  bool ended = false;
  for (const auto& a : (**detail).attempts) {
    if (a.step != step || a.n != key->attempt) continue;
    ended = r.completed
                ? a.state == AttemptState::kSucceeded
                : a.state == AttemptState::kFailed && a.failureClass == r.failure.failureClass;
  }
  if (!ended) return false;
  auto events = ctx.store.runEvents(runId);
  if (!events.ok()) return false;
  std::optional<std::string> holder;
  for (const auto& e : *events)
    if (e.kind == engine::kTaskLeasedEvent && e.step == step && e.attempt == key->attempt)
      holder = engine::leasedWorkerOf(e.message);
  return holder && *holder == worker;
}

// The reports (and, with `poll`, the next tasks in the same call).
engine::TaskBroker::ReportsAndTasks sendReports(const RouteContext& ctx, const std::string& worker,
                                                std::vector<engine::TaskReport> reports,
                                                const engine::PollRequest* poll = nullptr) {
  // What alreadyRecorded() reads of each report, kept without the outputs
  // and logs, which move into the broker.
  std::vector<engine::TaskReport> keys(reports.size());
  for (size_t i = 0; i < reports.size(); ++i) {
    keys[i].id = reports[i].id;
    keys[i].completed = reports[i].completed;
    keys[i].failure.failureClass = reports[i].failure.failureClass;
  }
  engine::TaskBroker::ReportsAndTasks answer;
  if (poll)
    answer = ctx.tasks->reportAndPoll(worker, std::move(reports), *poll, ctx.engineTimeout);
  else
    answer.reports = ctx.tasks->report(worker, std::move(reports), ctx.engineTimeout);
  auto& results = answer.reports;
  for (size_t i = 0; i < results.size(); ++i)
    if (!results[i].ok() && results[i].error().code() == ErrorCode::kLeaseLost &&
        alreadyRecorded(ctx, keys[i], worker))
      results[i] = okStatus();
  return answer;
}

Reply reportOne(const RouteContext& ctx, const ApiRequest& request, bool completed) {
  if (!ctx.tasks) return unavailable(ctx);
  auto body = objectBody(request);
  if (!body.ok()) return errorReply(body.error());
  auto worker = workerOf(*body);
  if (!worker.ok()) return errorReply(worker.error());
  auto report = readReport(*body, completed, "");
  if (!report.ok()) return errorReply(report.error());
  if (body->contains(kId)) return errorReply(bad("'id' goes in the path, not the body"));
  report->id = request.pathParams[0];
  std::vector<engine::TaskReport> one;
  one.push_back(std::move(*report));
  auto result = sendReports(ctx, *worker, std::move(one)).reports.at(0);
  if (!result.ok()) return errorReply(result.error());
  return jsonReply(200, {{kId, request.pathParams[0]}, {kOk, true}});
}

Reply complete(const RouteContext& ctx, const ApiRequest& request) {
  return reportOne(ctx, request, true);
}

Reply fail(const RouteContext& ctx, const ApiRequest& request) {
  return reportOne(ctx, request, false);
}

// {"worker", "results": [{"id", "output", "log"} | {"id", "fail": {...}}]}
// -> {"results": [{"id", "ok": true} | {"id", "ok": false, "error": {...}}]}
Reply reportMany(const RouteContext& ctx, PollSlots& slots, const ApiRequest& request) {
  if (!ctx.tasks) return unavailable(ctx);
  auto body = objectBody(request);
  if (!body.ok()) return errorReply(body.error());
  if (auto ok = checkFields(*body, {kWorker, kResults, kPoll}); !ok.ok())
    return errorReply(ok.error());
  auto worker = workerOf(*body);
  if (!worker.ok()) return errorReply(worker.error());
  const json& results = (*body)[kResults];
  if (!body->contains(kResults) || !results.is_array() || results.empty() ||
      results.size() > kMaxReportsPerCall)
    return errorReply(
        bad(fmt::format("'results' must be a list of 1 to {} results", kMaxReportsPerCall)));
  std::vector<engine::TaskReport> reports;
  for (size_t i = 0; i < results.size(); ++i) {
    const json& item = results[i];
    const std::string where = fmt::format(" in results[{}]", i);
    if (!item.is_object())
      return errorReply(bad("results[" + std::to_string(i) + "] must be an object"));
    if (!item.contains(kId) || !item[kId].is_string())
      return errorReply(bad(fmt::format("'id'{} is required: the task's id", where)));
    Result<engine::TaskReport> r = Error(ErrorCode::kInternal, "");
    if (item.contains(kFail)) {
      if (item.contains(kOutput))
        return errorReply(bad(fmt::format("results[{}] has both 'output' and 'fail'", i)));
      if (auto ok = checkFields(item, {kId, kFail, kLog}, where); !ok.ok())
        return errorReply(ok.error());
      json failure = item[kFail];
      if (!failure.is_object())
        return errorReply(bad(fmt::format("'fail'{} must be an object", where)));
      if (item.contains(kLog)) failure[kLog] = item[kLog];
      r = readReport(failure, false, where);
    } else {
      r = readReport(item, true, where);
    }
    if (!r.ok()) return errorReply(r.error());
    r->id = item[kId].get<std::string>();
    reports.push_back(std::move(*r));
  }
  std::optional<engine::PollRequest> poll;
  if (body->contains(kPoll)) {
    const json& p = (*body)[kPoll];
    if (!p.is_object()) return errorReply(bad("'poll' must be an object {queues, max, wait_ms}"));
    if (auto ok = checkFields(p, {kQueues, kMax, kWaitMs}, " in poll"); !ok.ok())
      return errorReply(ok.error());
    auto read = readPoll(p, *worker, " in poll");
    if (!read.ok()) return errorReply(read.error());
    poll = std::move(*read);
  }
  PollSlot slot(slots, poll && poll->wait.count() > 0);
  if (auto busy = slot.refusal()) return *busy;
  std::vector<std::string> ids;
  for (const auto& r : reports) ids.push_back(r.id);
  auto answer = sendReports(ctx, *worker, std::move(reports), poll ? &*poll : nullptr);
  const auto& statuses = answer.reports;
  json out = json::array();
  for (size_t i = 0; i < statuses.size(); ++i) {
    json item = {{kId, ids[i]}, {kOk, statuses[i].ok()}};
    if (!statuses[i].ok())
      item[kError] = {{"code", errorCodeName(statuses[i].error().code())},
                      {"message", statuses[i].error().message()}};
    out.push_back(std::move(item));
  }
  json reply = {{kResults, std::move(out)}};
  if (poll) {
    // The reports stand whatever the poll says; a poll that failed leaves
    // no task leased, and says why.
    if (answer.tasks.ok()) {
      reply[kTasks] = taskList(*answer.tasks);
    } else {
      reply[kTasks] = json::array();
      reply["poll_error"] = {{"code", errorCodeName(answer.tasks.error().code())},
                             {"message", answer.tasks.error().message()}};
    }
  }
  return jsonReply(200, reply);
}

Reply listTasks(const RouteContext& ctx, const ApiRequest& request) {
  if (!ctx.tasks) return jsonReply(200, {{kTasks, json::array()}});
  std::string queue = request.query("queue");
  if (!queue.empty())
    if (auto ok = checkName(queue, "queue"); !ok.ok()) return errorReply(ok.error());
  json list = json::array();
  for (const auto& t : ctx.tasks->list(queue)) list.push_back(taskJson(t));
  return jsonReply(200, {{kTasks, std::move(list)}});
}

}  // namespace

void addTaskRoutes(Router& router, const RouteContext& context) {
  auto bind = [context](Reply (*fn)(const RouteContext&, const ApiRequest&)) {
    return [context, fn](const ApiRequest& request) { return fn(context, request); };
  };
  router.add("GET", "/api/v1/tasks", bind(listTasks), {.query = {"queue"}});
  auto slots = std::make_shared<PollSlots>();
  slots->max = std::max(1, context.maxWaitingPolls);
  // Polls and heartbeats change no run's course: no span of their own.
  const RouteOptions untraced{.untraced = true};
  router.add(
      "POST", "/api/v1/tasks/poll",
      [context, slots](const ApiRequest& request) { return poll(context, *slots, request); },
      untraced);
  router.add("POST", "/api/v1/tasks/results", [context, slots](const ApiRequest& request) {
    return reportMany(context, *slots, request);
  });
  router.add("POST", "/api/v1/tasks/{id}/heartbeat", bind(heartbeat), untraced);
  router.add("POST", "/api/v1/tasks/{id}/complete", bind(complete));
  router.add("POST", "/api/v1/tasks/{id}/fail", bind(fail));
}

}  // namespace keel::api
