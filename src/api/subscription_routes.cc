// Webhook subscription routes: the subscriptions, the dead deliveries, and
// redelivery.
#include <algorithm>

#include <fmt/format.h>

#include "api/body_json.h"
#include "api/json_codec.h"
#include "api/routes.h"
#include "audit/record.h"
#include "core/quote.h"

namespace keel::api {
namespace {

using nlohmann::json;

// The URL without the credentials it may carry (`https://user:pass@host/`
// reads `https://***@host/`): a listing is not the place for a password.
std::string withoutCredentials(const std::string& url) {
  const size_t scheme = url.find("://");
  if (scheme == std::string::npos) return url;
  const size_t start = scheme + 3;
  const size_t end = std::min(url.find_first_of("/?#", start), url.size());
  const size_t at = url.rfind('@', end == 0 ? 0 : end - 1);
  if (at == std::string::npos || at < start) return url;
  return url.substr(0, start) + "***" + url.substr(at);
}

Reply listSubscriptions(const RouteContext& ctx, const ApiRequest&) {
  auto rows = ctx.store.listSubscriptions();
  if (!rows.ok()) return errorReply(rows.error());
  json list = json::array();
  for (const auto& row : *rows)
    list.push_back({{"name", row.name},
                    {"version", row.version},
                    {"topic", row.topic},
                    {"url", withoutCredentials(row.url)},
                    {"created_at", formatRfc3339(row.createdAt)}});
  return jsonReply(200, {{"subscriptions", std::move(list)}});
}

Reply listDead(const RouteContext& ctx, const ApiRequest&) {
  auto rows = ctx.store.listWebhookDeliveries("dead", kMaxListLimit);
  if (!rows.ok()) return errorReply(rows.error());
  json list = json::array();
  for (const auto& row : *rows)
    list.push_back({{"subscription", row.subscription},
                    {"event_id", row.eventId},
                    {"topic", row.topic},
                    {"attempts", row.attempts},
                    {"last_status", row.lastStatus},
                    {"last_error", row.lastError},
                    {"dead_at", formatRfc3339(row.updatedAt)}});
  return jsonReply(200, {{"dead", std::move(list)}});
}

Reply redeliverDeliveries(const RouteContext& ctx, const ApiRequest& request) {
  auto body = parseJsonBody(request.body);
  if (!body.ok()) return errorReply(body.error());
  auto reason = takeReason(*body);
  if (!reason.ok()) return errorReply(reason.error());
  RequestContext who = request.context;
  who.reason = std::move(*reason);
  auto text = [&](const char* key) -> std::optional<std::string> {
    auto it = body->find(key);
    if (it == body->end()) return std::nullopt;
    if (!it->is_string() || it->get<std::string>().empty()) return std::string();
    return it->get<std::string>();
  };
  auto id = text("id");
  auto topic = text("topic");
  if (id.has_value() == topic.has_value() || (id && id->empty()) || (topic && topic->empty()))
    return errorReply(Error(ErrorCode::kInvalidArgument,
                            "give either \"id\" (an event id) or \"topic\", a non-empty string"));
  WallTime at = ctx.clock.wallNow();
  audit::Entry entry =
      audit::record(who, "webhook.redeliver", id ? "event " + *id : "topic " + *topic, at,
                    json(id ? json{{"event_id", *id}} : json{{"topic", *topic}}).dump());
  auto count = ctx.store.redeliverDead(id.value_or(""), topic.value_or(""), at, &entry);
  if (!count.ok()) return errorReply(count.error());
  if (*count == 0)
    return errorReply(
        Error(ErrorCode::kNotFound,
              id ? fmt::format("no dead delivery of event {}", quoteForMessage(*id))
                 : fmt::format("no dead delivery on topic {}", quoteForMessage(*topic))));
  if (ctx.onWebhooksChanged) ctx.onWebhooksChanged();
  return jsonReply(200, {{"redelivered", *count}});
}

}  // namespace

void addSubscriptionRoutes(Router& router, const RouteContext& context) {
  router.add("GET", "/api/v1/subscriptions",
             [context](const ApiRequest& request) { return listSubscriptions(context, request); });
  router.add("GET", "/api/v1/events/dead",
             [context](const ApiRequest& request) { return listDead(context, request); });
  router.add("POST", "/api/v1/events/dead/redeliver", [context](const ApiRequest& request) {
    return redeliverDeliveries(context, request);
  });
}

}  // namespace keel::api
