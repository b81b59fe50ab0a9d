// Notification channel routes: the channels (secrets shown as ***), the
// notifications by state, and redelivery of dead ones.
#include <algorithm>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "api/body_json.h"
#include "api/json_codec.h"
#include "api/routes.h"
#include "audit/record.h"
#include "core/quote.h"
#include "observe/json_log.h"
#include "spec/channel.h"

namespace keel::api {
namespace {

using nlohmann::json;

const std::vector<std::string> kStates = {"pending", "delivered", "dead"};

// A channel as listed: what it serves and where it sends, never a secret
// (header values and URL passwords read ***; the password is only ever
// the name of a variable).
json channelJson(const store::ChannelRow& row) {
  json item = {{"name", row.name},         {"version", row.version},
               {"type", row.type},         {"teams", json::array()},
               {"default", row.isDefault}, {"created_at", formatRfc3339(row.createdAt)}};
  spec::ParseOptions po;
  po.fileName = "channel " + row.name;
  auto spec = spec::parseChannel(row.yaml, po);
  if (!spec.ok()) {
    item["error"] = spec.error().message();
    return item;
  }
  item["teams"] = spec->teams;
  if (spec->type == spec::ChannelType::kEmail) {
    item["smtp_url"] = spec::redactUrl(spec->smtpUrl);
    item["from"] = spec->from;
    item["to"] = spec->to;
    item["username"] = spec->username;
    item["password_env"] = spec->passwordEnv;
  } else {
    item["url"] = spec::redactUrl(spec->url);
    json headers = json::object();
    for (const auto& [name, value] : spec->headers) headers[name] = "***";
    item["headers"] = headers;
  }
  item["max_attempts"] = spec->retry.maxAttempts;
  return item;
}

json notificationJson(const store::NotificationRow& row) {
  json payload = json::parse(row.payloadJson, nullptr, false);
  if (payload.is_discarded()) payload = json::object();
  return {{"id", row.id},
          {"channel", row.channel},
          {"kind", row.kind},
          {"state", row.state},
          {"attempts", row.attempts},
          {"next_at", formatRfc3339(row.nextAt)},
          {"last_status", row.lastStatus},
          {"last_error", row.lastError},
          {"created_at", formatRfc3339(row.createdAt)},
          {"updated_at", formatRfc3339(row.updatedAt)},
          {"incident", payload}};
}

Reply listChannels(const RouteContext& ctx, const ApiRequest&) {
  auto rows = ctx.store.listChannels();
  if (!rows.ok()) return errorReply(rows.error());
  json list = json::array();
  for (const auto& row : *rows) list.push_back(channelJson(row));
  return jsonReply(200, {{"channels", std::move(list)}});
}

Reply listNotifications(const RouteContext& ctx, const ApiRequest& request) {
  std::string state = request.query("state");
  if (!state.empty() && std::find(kStates.begin(), kStates.end(), state) == kStates.end())
    return errorReply(Error(
        ErrorCode::kInvalidArgument,
        fmt::format("state {} is not one of pending, delivered, dead", quoteForMessage(state))));
  auto rows = ctx.store.listNotifications(state, kMaxListLimit);
  if (!rows.ok()) return errorReply(rows.error());
  json list = json::array();
  for (const auto& row : *rows) list.push_back(notificationJson(row));
  return jsonReply(200, {{"notifications", std::move(list)}});
}

// {"id": "..."} (one dead notification) or {"all": true}, and a reason.
Reply redeliverNotifications(const RouteContext& ctx, const ApiRequest& request) {
  auto body = parseJsonBody(request.body);
  if (!body.ok()) return errorReply(body.error());
  auto reason = takeReason(*body);
  if (!reason.ok()) return errorReply(reason.error());
  std::string id;
  bool all = false;
  for (auto it = body->begin(); it != body->end(); ++it) {
    if (it.key() == "id" && it->is_string() && !it->get<std::string>().empty()) {
      id = it->get<std::string>();
    } else if (it.key() == "all" && it->is_boolean()) {
      all = it->get<bool>();
    } else {
      return errorReply(Error(ErrorCode::kInvalidArgument,
                              fmt::format("field {}: this request takes \"id\" (a non-empty "
                                          "string) or \"all\": true, and \"reason\"",
                                          quoteForMessage(it.key()))));
    }
  }
  if (id.empty() == !all)
    return errorReply(Error(ErrorCode::kInvalidArgument,
                            "give either \"id\" (a dead notification) or \"all\": true"));
  RequestContext who = request.context;
  who.reason = *reason;
  WallTime at = ctx.clock.wallNow();
  audit::Entry entry = audit::record(
      who, "notification.redeliver", id.empty() ? std::string("all dead") : "notification " + id,
      at, json(id.empty() ? json{{"all", true}} : json{{"notification", id}}).dump());
  auto count = ctx.store.redeliverDeadNotifications(id, at, &entry);
  if (!count.ok()) return errorReply(count.error());
  if (*count == 0)
    return errorReply(Error(ErrorCode::kNotFound,
                            id.empty()
                                ? std::string("no dead notification")
                                : fmt::format("no dead notification {}", quoteForMessage(id))));
  observe::logFields(spdlog::level::info, "dead notifications made pending again",
                     {{"notification", id.empty() ? "*" : id},
                      {"count", *count},
                      {"actor", request.context.actor()},
                      {"reason", *reason}});
  if (ctx.onNotificationsChanged) ctx.onNotificationsChanged();
  return jsonReply(200, {{"redelivered", *count}});
}

}  // namespace

void addChannelRoutes(Router& router, const RouteContext& context) {
  router.add("GET", "/api/v1/channels",
             [context](const ApiRequest& request) { return listChannels(context, request); });
  router.add(
      "GET", "/api/v1/notifications",
      [context](const ApiRequest& request) { return listNotifications(context, request); },
      RouteOptions{.query = {"state"}});
  router.add("POST", "/api/v1/notifications/redeliver", [context](const ApiRequest& request) {
    return redeliverNotifications(context, request);
  });
}

}  // namespace keel::api
