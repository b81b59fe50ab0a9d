// Incident routes (incidents/): what keel opened, and the calls people make.
//   GET  /api/v1/incidents[?state=open|acknowledged|mitigated|resolved|unresolved
//                          &recurring=true&since=2d&limit=N]   -> {"incidents":[...]}
//   GET  /api/v1/incidents/{id}                                -> the whole incident
//   GET  /api/v1/incidents/stats[?since=30d]                   -> counts, MTTR, recurring
//   GET  /api/v1/incidents/{id}/postmortem                     -> Markdown post-mortem
//   POST /api/v1/incidents/{id}/ack|mitigate  {"reason"}
//   POST /api/v1/incidents/{id}/resolve  {"root_cause", "action_items":[{"text","owner","due"}]
//                                         | "no_action_reason", "reason"}
//   POST /api/v1/incidents/{id}/workaround  {"text", "expires", "reason"}
//   POST /api/v1/incidents/{id}/actions/{n}/done  {"reason"}
// Reads come from the store; calls are decided by the engine and answered
// (200, the incident) once durable: 400 saying what is missing, 404, 409.
#include <charconv>
#include <chrono>

#include <fmt/format.h>

#include "api/body_json.h"
#include "api/engine_call.h"
#include "api/incident_detail.h"
#include "api/json_codec.h"
#include "api/routes.h"
#include "core/quote.h"
#include "incidents/incident_json.h"
#include "incidents/postmortem.h"
#include "incidents/stats.h"
#include "spec/fire_times.h"
#include "spec/parser.h"

namespace keel::api {
namespace {

using incidents::ActionItem;
using incidents::Incident;

nlohmann::json incidentJson(const Incident& i, bool full, WallTime now) {
  return incidents::toJson(i, full, now);
}

Reply listIncidents(const RouteContext& ctx, const ApiRequest& request) {
  store::IncidentFilter filter;
  const WallTime now = ctx.clock.wallNow();
  if (std::string state = request.query("state"); state == "unresolved") {
    filter.unresolvedOnly = true;
  } else if (!state.empty()) {
    filter.state = incidents::parseIncidentState(state);
    if (!filter.state)
      return errorReply(Error(ErrorCode::kInvalidArgument,
                              fmt::format("'state' must be open, acknowledged, mitigated, "
                                          "resolved or unresolved, not {}",
                                          quoteForMessage(state))));
  }
  if (std::string recurring = request.query("recurring"); !recurring.empty()) {
    if (recurring != "true" && recurring != "false")
      return errorReply(Error(ErrorCode::kInvalidArgument, "'recurring' must be true or false"));
    filter.recurringOnly = recurring == "true";
  }
  if (const std::string since = request.query("since"); !since.empty()) {
    if (auto ago = spec::parseDuration(since); ago.ok())
      filter.since = now - *ago;
    else if (auto at = spec::parseInstant(since))
      filter.since = *at;
    else
      return errorReply(Error(ErrorCode::kInvalidArgument,
                              fmt::format("'since' must be a duration such as 2d or 12h, or an "
                                          "RFC 3339 instant, not {}",
                                          quoteForMessage(since))));
  }
  if (const std::string limit = request.query("limit"); !limit.empty()) {
    int n = 0;
    auto [end, ec] = std::from_chars(limit.data(), limit.data() + limit.size(), n);
    if (ec != std::errc() || end != limit.data() + limit.size() || n < 1 || n > kMaxListLimit)
      return errorReply(
          Error(ErrorCode::kInvalidArgument, fmt::format("'limit' must be 1..{}", kMaxListLimit)));
    filter.limit = n;
  }
  auto rows = ctx.store.listIncidents(filter);
  if (!rows.ok()) return errorReply(rows.error());
  auto items = nlohmann::json::array();
  for (const auto& i : *rows) items.push_back(incidentJson(i, false, now));
  return jsonReply(200, {{"incidents", items}});
}

Reply getIncident(const RouteContext& ctx, const ApiRequest& request) {
  auto row = ctx.store.getIncident(request.pathParams[0]);
  if (!row.ok()) return errorReply(row.error());
  if (!*row)
    return errorReply(Error(ErrorCode::kNotFound,
                            fmt::format("no incident {}", quoteForMessage(request.pathParams[0]))));
  completeIncident(ctx.store, **row);
  return jsonReply(200, incidentJson(**row, true, ctx.clock.wallNow()));
}

// Counts and MTTR by workflow and class, and the top recurring
// fingerprints, over the incidents first seen within ?since= (default 30d).
Reply getStats(const RouteContext& ctx, const ApiRequest& request) {
  const WallTime now = ctx.clock.wallNow();
  std::string since = request.query("since");
  if (since.empty()) since = "30d";
  WallTime from;
  if (auto ago = spec::parseDuration(since); ago.ok())
    from = now - *ago;
  else if (auto at = spec::parseInstant(since))
    from = *at;
  else
    return errorReply(Error(ErrorCode::kInvalidArgument,
                            fmt::format("'since' must be a duration such as 30d or 12h, or an "
                                        "RFC 3339 instant, not {}",
                                        quoteForMessage(since))));
  store::IncidentFilter all;
  all.limit = 1'000'000;
  auto rows = ctx.store.listIncidents(all);
  if (!rows.ok()) return errorReply(rows.error());
  auto stats = incidents::incidentStats(*rows, from);
  auto table = [](const std::vector<incidents::StatsRow>& rows, const char* key) {
    auto out = nlohmann::json::array();
    for (const auto& r : rows) {
      nlohmann::json j = {{key, r.key}, {"count", r.count}, {"resolved", r.resolved}};
      j["mttr_seconds"] =
          r.mttr ? nlohmann::json(std::chrono::duration<double>(*r.mttr).count()) : nullptr;
      out.push_back(std::move(j));
    }
    return out;
  };
  auto recurring = nlohmann::json::array();
  for (const auto& f : stats.recurring)
    recurring.push_back({{"fingerprint", f.fingerprint},
                         {"normalized", f.normalized},
                         {"workflow", f.workflow},
                         {"step", f.step},
                         {"incidents", f.incidents}});
  return jsonReply(200, {{"since", formatRfc3339(from)},
                         {"total", stats.total},
                         {"by_workflow", table(stats.byWorkflow, "workflow")},
                         {"by_class", table(stats.byClass, "class")},
                         {"recurring", recurring}});
}

// The incident's post-mortem, as Markdown (incidents/postmortem.h).
Reply getPostmortem(const RouteContext& ctx, const ApiRequest& request) {
  auto row = ctx.store.getIncident(request.pathParams[0]);
  if (!row.ok()) return errorReply(row.error());
  if (!*row)
    return errorReply(Error(ErrorCode::kNotFound,
                            fmt::format("no incident {}", quoteForMessage(request.pathParams[0]))));
  completeIncident(ctx.store, **row);
  Reply reply;
  reply.body = incidents::renderPostmortem(**row, ctx.clock.wallNow());
  reply.contentType = "text/markdown; charset=utf-8";
  return reply;
}

Reply act(const RouteContext& ctx, engine::IncidentRequest r, RequestContext who) {
  auto done =
      awaitEngine(ctx.control.incidentAction(std::move(r), std::move(who)), ctx.engineTimeout);
  if (!done.ok()) return errorReply(done.error());
  completeIncident(ctx.store, *done);
  return jsonReply(200, incidentJson(*done, true, ctx.clock.wallNow()));
}

Reply simpleAction(const RouteContext& ctx, const ApiRequest& request,
                   engine::IncidentAction action) {
  auto who = withReason(request);
  if (!who.ok()) return errorReply(who.error());
  engine::IncidentRequest r;
  r.id = request.pathParams[0];
  r.action = action;
  if (action == engine::IncidentAction::kActionDone) {
    const std::string& n = request.pathParams[1];
    auto [end, ec] = std::from_chars(n.data(), n.data() + n.size(), r.actionItem);
    if (ec != std::errc() || end != n.data() + n.size() || r.actionItem < 1)
      return errorReply(
          Error(ErrorCode::kInvalidArgument,
                fmt::format("action item {} is not a number from 1", quoteForMessage(n))));
  }
  return act(ctx, std::move(r), std::move(*who));
}

// A string field of the body, removed from it; "" when absent. Text with
// a NUL or another control character (but tab and line breaks) is refused.
Result<std::string> takeString(nlohmann::json& body, const char* name) {
  auto it = body.find(name);
  if (it == body.end() || it->is_null()) {
    if (it != body.end()) body.erase(it);
    return std::string();
  }
  if (!it->is_string())
    return Error(ErrorCode::kInvalidArgument, fmt::format("'{}' must be a string", name));
  std::string out = it->get<std::string>();
  body.erase(it);
  KEEL_TRY(checkText(name, out, true));
  return out;
}

Status refuseOthers(const nlohmann::json& body, std::string_view takes) {
  if (body.empty()) return okStatus();
  return Error(ErrorCode::kInvalidArgument,
               fmt::format("unknown field {} (this request takes {})",
                           quoteForMessage(body.begin().key()), takes));
}

Reply resolveIncident(const RouteContext& ctx, const ApiRequest& request) {
  auto body = parseJsonBody(request.body);
  if (!body.ok()) return errorReply(body.error());
  auto reason = takeReason(*body);
  if (!reason.ok()) return errorReply(reason.error());
  engine::IncidentRequest r;
  r.id = request.pathParams[0];
  r.action = engine::IncidentAction::kResolve;
  auto cause = takeString(*body, "root_cause");
  if (!cause.ok()) return errorReply(cause.error());
  auto none = takeString(*body, "no_action_reason");
  if (!none.ok()) return errorReply(none.error());
  r.resolve.rootCause = *cause;
  r.resolve.noActionReason = *none;
  if (auto it = body->find("action_items"); it != body->end()) {
    if (!it->is_array())
      return errorReply(Error(ErrorCode::kInvalidArgument,
                              "'action_items' must be a list of {text, owner, due}"));
    for (size_t k = 0; k < it->size(); ++k) {
      nlohmann::json item = (*it)[k];
      if (!item.is_object())
        return errorReply(
            Error(ErrorCode::kInvalidArgument,
                  fmt::format("action item {}: expected {{text, owner, due}}", k + 1)));
      ActionItem a;
      for (auto [field, out] :
           {std::pair{"text", &a.text}, std::pair{"owner", &a.owner}, std::pair{"due", &a.due}}) {
        auto v = takeString(item, field);
        if (!v.ok())
          return errorReply(Error(ErrorCode::kInvalidArgument,
                                  fmt::format("action item {}: {}", k + 1, v.error().message())));
        *out = *v;
      }
      if (Status s = refuseOthers(item, "text, owner and due"); !s.ok())
        return errorReply(Error(ErrorCode::kInvalidArgument,
                                fmt::format("action item {}: {}", k + 1, s.error().message())));
      r.resolve.actionItems.push_back(std::move(a));
    }
    body->erase(it);
  }
  if (Status s = refuseOthers(*body, "root_cause, action_items, no_action_reason and reason");
      !s.ok())
    return errorReply(s.error());
  // Checked here too, so a refusal needs no trip to the engine.
  if (Status s = incidents::checkResolve(r.resolve); !s.ok()) return errorReply(s.error());
  RequestContext who = request.context;
  who.reason = std::move(*reason);
  return act(ctx, std::move(r), std::move(who));
}

Reply workaround(const RouteContext& ctx, const ApiRequest& request) {
  auto body = parseJsonBody(request.body);
  if (!body.ok()) return errorReply(body.error());
  auto reason = takeReason(*body);
  if (!reason.ok()) return errorReply(reason.error());
  auto text = takeString(*body, "text");
  if (!text.ok()) return errorReply(text.error());
  auto expires = takeString(*body, "expires");
  if (!expires.ok()) return errorReply(expires.error());
  if (Status s = refuseOthers(*body, "text, expires and reason"); !s.ok())
    return errorReply(s.error());
  if (text->empty())
    return errorReply(Error(ErrorCode::kInvalidArgument, "workaround: 'text' is required"));
  engine::IncidentRequest r;
  r.id = request.pathParams[0];
  r.action = engine::IncidentAction::kWorkaround;
  r.workaround = *text;
  if (auto d = spec::parseDuration(*expires); !expires->empty() && d.ok())
    r.expires = ctx.clock.wallNow() + *d;
  else if (auto at = spec::parseInstant(*expires))
    r.expires = *at;
  else
    return errorReply(Error(ErrorCode::kInvalidArgument,
                            fmt::format("workaround: 'expires' must be a duration from now such "
                                        "as 3d or an RFC 3339 instant, not {}",
                                        quoteForMessage(*expires))));
  RequestContext who = request.context;
  who.reason = std::move(*reason);
  return act(ctx, std::move(r), std::move(who));
}

}  // namespace

void addIncidentRoutes(Router& router, const RouteContext& context) {
  auto bind = [context](Reply (*fn)(const RouteContext&, const ApiRequest&)) {
    return [context, fn](const ApiRequest& request) { return fn(context, request); };
  };
  router.add("GET", "/api/v1/incidents", bind(listIncidents),
             {.query = {"state", "recurring", "since", "limit"}});
  router.add("GET", "/api/v1/incidents/stats", bind(getStats), {.query = {"since"}});
  router.add("GET", "/api/v1/incidents/{id}", bind(getIncident));
  router.add("GET", "/api/v1/incidents/{id}/postmortem", bind(getPostmortem));
  auto simple = [context](engine::IncidentAction action) {
    return [context, action](const ApiRequest& request) {
      return simpleAction(context, request, action);
    };
  };
  router.add("POST", "/api/v1/incidents/{id}/ack", simple(engine::IncidentAction::kAcknowledge));
  router.add("POST", "/api/v1/incidents/{id}/mitigate", simple(engine::IncidentAction::kMitigate));
  router.add("POST", "/api/v1/incidents/{id}/actions/{n}/done",
             simple(engine::IncidentAction::kActionDone));
  router.add("POST", "/api/v1/incidents/{id}/resolve", bind(resolveIncident));
  router.add("POST", "/api/v1/incidents/{id}/workaround", bind(workaround));
}

}  // namespace keel::api
