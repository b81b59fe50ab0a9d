// Run routes: list and show runs, their timeline and logs; cancel, retry.
#include <atomic>
#include <charconv>
#include <chrono>
#include <memory>
#include <thread>

#include <fmt/format.h>

#include "api/body_json.h"
#include "api/engine_call.h"
#include "api/json_codec.h"
#include "api/routes.h"
#include "core/ids.h"
#include "core/quote.h"
#include "spec/fire_times.h"
#include "spec/parser.h"

namespace keel::api {
namespace {

using nlohmann::json;

constexpr int kMaxFollowWaitMs = 30'000;
constexpr size_t kFollowReadBytes = 256 * 1024;
constexpr auto kFollowTick = std::chrono::milliseconds(50);

// Follows that may wait at once (each holds a server thread).
struct FollowSlots {
  std::atomic<int> waiting{0};
  int max = 16;
};

class FollowSlot {
 public:
  FollowSlot(FollowSlots& slots, bool waits) : slots_(slots), taken_(waits) {
    if (taken_ && slots_.waiting.fetch_add(1) >= slots_.max) {
      slots_.waiting.fetch_sub(1);
      taken_ = false;
      refused_ = true;
    }
  }
  ~FollowSlot() {
    if (taken_) slots_.waiting.fetch_sub(1);
  }
  FollowSlot(const FollowSlot&) = delete;
  FollowSlot& operator=(const FollowSlot&) = delete;
  bool refused() const { return refused_; }

 private:
  FollowSlots& slots_;
  bool taken_;
  bool refused_ = false;
};

Error noSuchRun(const std::string& id) {
  return Error(ErrorCode::kNotFound, fmt::format("no run '{}'", id));
}

// A whole decimal integer in [lo, hi], or an error naming the parameter.
Result<int> intParam(const std::string& name, const std::string& text, int lo, int hi) {
  int value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value < lo || value > hi)
    return Error(
        ErrorCode::kInvalidArgument,
        fmt::format("'{}' must be an integer from {} to {}, got '{}'", name, lo, hi, text));
  return value;
}

Result<store::RunFilter> parseRunFilter(const ApiRequest& request, WallTime now) {
  store::RunFilter filter;
  filter.workflow = request.query("workflow");
  // state=failed,cancelled: any of them.
  const std::string states = request.query("state");
  for (size_t from = 0; !states.empty() && from <= states.size();) {
    size_t comma = std::min(states.find(',', from), states.size());
    const std::string state = states.substr(from, comma - from);
    from = comma + 1;
    auto parsed = parseRunState(state);
    if (!parsed)
      return Error(
          ErrorCode::kInvalidArgument,
          fmt::format("'state': unknown run state '{}' (one of pending, running, "
                      "waiting, paused, succeeded, failed, cancelled; several separated "
                      "by commas){}",
                      state,
                      state == "dead" || state == "retrying" || state == "skipped"
                          ? "; '" + state + "' is a step state: a run with a dead step is 'failed'"
                          : ""));
    filter.states.push_back(*parsed);
  }
  // since=12h (that long before now) or an RFC 3339 instant.
  if (const std::string since = request.query("since"); !since.empty()) {
    if (auto ago = spec::parseDuration(since); ago.ok())
      filter.since = now - *ago;
    else if (auto at = spec::parseInstant(since))
      filter.since = *at;
    else
      return Error(ErrorCode::kInvalidArgument,
                   fmt::format("'since' must be a duration such as 12h or 30m, or an RFC 3339 "
                               "time such as 2026-11-28T02:00:00Z, got '{}'",
                               since));
  }
  filter.limit = kDefaultListLimit;
  if (request.hasQuery("limit")) {
    auto limit = intParam("limit", request.query("limit"), 1, kMaxListLimit);
    if (!limit.ok()) return limit.error();
    filter.limit = *limit;
  }
  filter.cursor = request.query("cursor");
  if (!filter.cursor.empty() && !looksLikeRunId(filter.cursor))
    return Error(
        ErrorCode::kInvalidArgument,
        fmt::format("'cursor' must be a run id (a next_cursor value), got '{}'", filter.cursor));
  return filter;
}

Reply listRuns(const RouteContext& ctx, const ApiRequest& request) {
  auto filter = parseRunFilter(request, ctx.clock.wallNow());
  if (!filter.ok()) return errorReply(filter.error());
  // One extra row tells whether another page exists, so a full last page
  // has no next_cursor.
  const int limit = filter->limit;
  store::RunFilter query = *filter;
  query.limit = limit + 1;
  auto runs = ctx.store.listRuns(query);
  if (!runs.ok()) return errorReply(runs.error());
  bool more = static_cast<int>(runs->size()) > limit;
  if (static_cast<int>(runs->size()) > limit) runs->resize(static_cast<size_t>(limit));
  json list = json::array();
  for (const auto& run : *runs) list.push_back(runSummaryJson(run));
  json next = nullptr;
  if (more && !runs->empty()) next = runs->back().id;
  return jsonReply(200, {{field::kRuns, std::move(list)}, {field::kNextCursor, std::move(next)}});
}

Result<store::RunDetail> loadRun(const RouteContext& ctx, const std::string& id) {
  auto detail = ctx.store.getRun(id);
  if (!detail.ok()) return detail.error();
  if (!detail->has_value()) return noSuchRun(id);
  return std::move(**detail);
}

// The owner, runbook and each step's needs and attempts in all, from the
// run's workflow version; nullopt when that version cannot be read or no
// longer parses.
std::optional<RunFacts> runFacts(const RouteContext& ctx, const store::RunRow& run) {
  auto row = ctx.store.getWorkflow(run.workflow, run.version);
  if (!row.ok() || !row->has_value()) return std::nullopt;
  spec::ParseOptions options;
  options.fileName = fmt::format("{}@v{}", run.workflow, run.version);
  auto parsed = spec::parseWorkflow((*row)->yaml, options);
  if (!parsed.ok()) return std::nullopt;
  const auto& spec = **parsed;
  RunFacts facts{spec.owner.team, spec.owner.contact, spec.runbook, {}};
  for (const auto& step : spec.steps) {
    facts.steps[step.name] = {step.needs, step.retry.maxAttempts};
    // A compensation is outside the DAG: it needs nothing there.
    if (step.compensation)
      facts.steps[step.compensation->name] = {{}, step.compensation->retry.maxAttempts};
  }
  return facts;
}

Reply getRun(const RouteContext& ctx, const ApiRequest& request) {
  auto detail = loadRun(ctx, request.pathParams[0]);
  if (!detail.ok()) return errorReply(detail.error());
  auto facts = runFacts(ctx, detail->run);
  return jsonReply(200, runDetailJson(*detail, facts ? &*facts : nullptr));
}

Reply runEvents(const RouteContext& ctx, const ApiRequest& request) {
  const auto& id = request.pathParams[0];
  auto events = ctx.store.runEvents(id);
  if (!events.ok()) return errorReply(events.error());
  // Every run has at least its creation event; only an empty timeline needs
  // the (heavier) check that the run exists.
  if (events->empty()) {
    auto detail = loadRun(ctx, id);
    if (!detail.ok()) return errorReply(detail.error());
  }
  json list = json::array();
  for (const auto& e : *events) list.push_back(eventJson(e));
  return jsonReply(200, {{field::kEvents, std::move(list)}});
}

Reply followLogs(const RouteContext& ctx, FollowSlots& slots, const ApiRequest& request,
                 std::optional<int> attempt);

Reply stepLogs(const RouteContext& ctx, FollowSlots& slots, const ApiRequest& request) {
  const auto& id = request.pathParams[0];
  const auto& step = request.pathParams[1];
  std::optional<int> attempt;
  if (request.hasQuery("attempt")) {
    auto n = intParam("attempt", request.query("attempt"), 1, 1'000'000);
    if (!n.ok()) return errorReply(n.error());
    attempt = *n;
  }
  if (request.hasQuery("follow")) {
    const std::string follow = request.query("follow");
    if (follow == "true") return followLogs(ctx, slots, request, attempt);
    if (follow != "false")
      return errorReply(
          Error(ErrorCode::kInvalidArgument,
                fmt::format("'follow' must be true or false, got {}", quoteForMessage(follow))));
  }
  if (request.hasQuery("offset") || request.hasQuery("wait_ms"))
    return errorReply(
        Error(ErrorCode::kInvalidArgument, "'offset' and 'wait_ms' go with follow=true"));
  auto detail = loadRun(ctx, id);
  if (!detail.ok()) return errorReply(detail.error());
  bool known = false;
  for (const auto& s : detail->steps) known = known || s.name == step;
  if (!known)
    return errorReply(
        Error(ErrorCode::kNotFound, fmt::format("run '{}' has no step '{}'", id, step)));
  auto logs = ctx.store.stepLogs(id, step, attempt);  // only that attempt's when given
  if (!logs.ok()) return errorReply(logs.error());
  json list = json::array();
  for (const auto& log : *logs) list.push_back(logJson(log));
  return jsonReply(200, {{field::kRun, id}, {field::kStep, step}, {field::kAttempts, list}});
}

// The length of `text` without a trailing, incomplete UTF-8 character, so
// that an answer never splits one (the next read starts at its first byte).
size_t completeUtf8Prefix(std::string_view text) {
  size_t back = 0;
  const size_t n = text.size();
  while (back < 3 && back < n && (static_cast<unsigned char>(text[n - 1 - back]) & 0xC0) == 0x80)
    ++back;
  if (back == n) return n;
  const auto lead = static_cast<unsigned char>(text[n - 1 - back]);
  const size_t need = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1;
  if (need == 1 || back + 1 >= need) return n;
  return n - back - 1;
}

Reply followAnswer(const std::string& id, const std::string& step, int attempt, std::string data,
                   int64_t offset, bool running, const std::string& message = "") {
  json body = {{field::kRun, id},          {field::kStep, step},
               {field::kAttempt, attempt}, {field::kData, std::move(data)},
               {field::kOffset, offset},   {field::kRunning, running}};
  if (!message.empty()) body[field::kMessage] = message;
  return jsonReply(200, body);
}

// GET .../logs?follow=true&offset=N&wait_ms=M[&attempt=K]: the output of the
// step's attempt K (its latest by default) past byte N of its live copy,
// answered as soon as there is some, when the attempt ends, or after M ms
// with no data. Once the attempt has ended and its live copy is gone, its
// stored logs (stdout, then stderr) are the answer to offset 0. Polls the
// live copy every kFollowTick; holds a server thread, so at most
// maxWaitingPolls follows wait at once (429 beyond).
Reply followLogs(const RouteContext& ctx, FollowSlots& slots, const ApiRequest& request,
                 std::optional<int> attempt) {
  const auto& id = request.pathParams[0];
  const auto& step = request.pathParams[1];
  int64_t offset = 0;
  if (request.hasQuery("offset")) {
    const std::string text = request.query("offset");
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), offset);
    if (ec != std::errc() || end != text.data() + text.size() || offset < 0)
      return errorReply(Error(
          ErrorCode::kInvalidArgument,
          fmt::format("'offset' must be a whole number of bytes, got {}", quoteForMessage(text))));
  }
  int waitMs = 0;
  if (request.hasQuery("wait_ms")) {
    auto w = intParam("wait_ms", request.query("wait_ms"), 0, kMaxFollowWaitMs);
    if (!w.ok()) return errorReply(w.error());
    waitMs = *w;
  }
  FollowSlot slot(slots, waitMs > 0);
  if (slot.refused()) {
    Reply busy = errorReply(
        429, "too_many_follows",
        fmt::format("{} log follows are already waiting, the most this keel serves at once; "
                    "try again after Retry-After",
                    slots.max));
    busy.headers.emplace_back("Retry-After", "1");
    return busy;
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(waitMs);
  auto waitATick = [&] {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(kFollowTick);
    return true;
  };
  for (;;) {
    auto detail = loadRun(ctx, id);
    if (!detail.ok()) return errorReply(detail.error());
    const store::StepRow* row = nullptr;
    for (const auto& s : detail->steps)
      if (s.name == step) row = &s;
    if (!row)
      return errorReply(
          Error(ErrorCode::kNotFound, fmt::format("run '{}' has no step '{}'", id, step)));
    const int k = attempt.value_or(row->attempts);
    if (k > row->attempts && attempt)
      return errorReply(Error(ErrorCode::kNotFound,
                              fmt::format("step '{}' of run '{}' has no attempt {} (it has {})",
                                          step, id, k, row->attempts)));
    bool running = false;
    for (const auto& a : detail->attempts)
      if (a.step == step && a.n == k) running = a.state == AttemptState::kRunning;
    if (k == 0) {  // not started yet: it may, while the run is active
      const bool mayStart = !isTerminal(detail->run.state) && !isTerminal(row->state);
      if (!mayStart || !waitATick())
        return followAnswer(id, step, 0, "", offset, mayStart,
                            mayStart ? "" : "the step never started");
      continue;
    }
    // Read until there is data or the attempt's end; the store is read again
    // only when the live copy says nothing (not started, or gone).
    for (;;) {
      auto live = ctx.control.liveLog({id, step, k, offset, kFollowReadBytes});
      if (live.ok()) {
        const size_t keep = live->ended ? live->data.size() : completeUtf8Prefix(live->data);
        if (keep > 0 || live->ended) {
          live->data.resize(keep);
          const int64_t next = offset + static_cast<int64_t>(keep);
          return followAnswer(id, step, k, std::move(live->data), next,
                              !(live->ended && next == live->offset));
        }
        if (!waitATick()) return followAnswer(id, step, k, "", offset, true);
        continue;
      }
      const ErrorCode code = live.error().code();
      if (code != ErrorCode::kNotFound && code != ErrorCode::kUnimplemented)
        return errorReply(live.error());
      break;
    }
    if (running) {  // no live copy (yet, or of this kind): wait for the end
      if (!waitATick()) return followAnswer(id, step, k, "", offset, true);
      continue;
    }
    // Ended, its live copy gone: the stored logs, which split stdout from
    // stderr, so their bytes line up with an offset only from the start.
    if (offset > 0)
      return followAnswer(
          id, step, k, "", offset, false,
          fmt::format("attempt {} ended; the rest of its output is in its stored logs "
                      "(without follow)",
                      k));
    auto logs = ctx.store.stepLogs(id, step, k);
    if (!logs.ok()) return errorReply(logs.error());
    std::string all;
    for (const auto& l : *logs) all += l.stdoutText + l.stderrText;
    const auto size = static_cast<int64_t>(all.size());
    return followAnswer(id, step, k, std::move(all), size, false);
  }
}

// cancel also takes "compensate": true, which runs the compensations of
// the run's succeeded steps before it ends.
Reply cancelRun(const RouteContext& ctx, const ApiRequest& request) {
  auto body = parseJsonBody(request.body);
  if (!body.ok()) return errorReply(body.error());
  bool compensate = false;
  if (auto it = body->find("compensate"); body->is_object() && it != body->end()) {
    if (!it->is_boolean())
      return errorReply(
          Error(ErrorCode::kInvalidArgument, "field 'compensate' must be true or false"));
    compensate = it->get<bool>();
    body->erase(it);
  }
  auto who = withReason(request, std::move(body));
  if (!who.ok()) return errorReply(who.error());
  const std::string& id = request.pathParams[0];
  return runReply(awaitEngine(compensate ? ctx.control.cancelAndCompensate(id, std::move(*who))
                                         : ctx.control.cancel(id, std::move(*who)),
                              ctx.engineTimeout));
}

Reply retryRun(const RouteContext& ctx, const ApiRequest& request) {
  auto who = withReason(request);
  if (!who.ok()) return errorReply(who.error());
  return runReply(
      awaitEngine(ctx.control.retry(request.pathParams[0], std::move(*who)), ctx.engineTimeout));
}

}  // namespace

Reply runReply(Result<store::RunRow> row) {
  if (!row.ok()) return errorReply(row.error());
  return jsonReply(200, runJson(*row));
}

void addRunRoutes(Router& router, const RouteContext& context) {
  auto bind = [context](Reply (*fn)(const RouteContext&, const ApiRequest&)) {
    return [context, fn](const ApiRequest& request) { return fn(context, request); };
  };
  router.add("GET", "/api/v1/runs", bind(listRuns),
             {.query = {"workflow", "state", "since", "limit", "cursor"}});
  router.add("GET", "/api/v1/runs/{id}", bind(getRun));
  router.add("GET", "/api/v1/runs/{id}/events", bind(runEvents));
  auto follows = std::make_shared<FollowSlots>();
  follows->max = context.maxWaitingPolls;
  router.add("GET", "/api/v1/runs/{id}/steps/{step}/logs",
             [context, follows](const ApiRequest& request) {
               return stepLogs(context, *follows, request);
             },
             {.query = {"attempt", "follow", "offset", "wait_ms"}});
  router.add("POST", "/api/v1/runs/{id}/cancel", bind(cancelRun));
  router.add("POST", "/api/v1/runs/{id}/retry", bind(retryRun));
  addApprovalRoutes(router, context);
}

}  // namespace keel::api
