// Event routes: POST /api/v1/events/{topic} — an event received on a topic
// starts the runs of the workflows whose event triggers match it.
#include <fmt/format.h>

#include "api/body_json.h"
#include "api/engine_call.h"
#include "api/routes.h"

namespace keel::api {
namespace {

using nlohmann::json;

// The body {"id": "...", "payload": {...}, "reason": "..."} as an
// EventRequest sent by the caller; the engine checks the topic, the id and
// the payload's size and shape.
Result<engine::EventRequest> parseEvent(const ApiRequest& request) {
  auto body = parseJsonBody(request.body);
  if (!body.ok()) return body.error();
  auto reason = takeReason(*body);
  if (!reason.ok()) return reason.error();
  engine::EventRequest event;
  event.who = request.context;
  event.who.reason = std::move(*reason);
  event.traceId = request.trace.traceId;
  event.topic = request.pathParams[0];
  for (const auto& [key, value] : body->items()) {
    if (key == "id") {
      if (!value.is_string())
        return Error(ErrorCode::kInvalidArgument,
                     fmt::format("'id' must be a string, got {}", value.type_name()));
      event.id = value.get<std::string>();
    } else if (key == "payload") {
      if (!value.is_object())
        return Error(ErrorCode::kInvalidArgument,
                     fmt::format("'payload' must be a JSON object, got {}", value.type_name()));
      event.payload = value;
    } else {
      return Error(ErrorCode::kInvalidArgument,
                   fmt::format("unknown field '{}' (expected 'id', 'payload', 'reason')", key));
    }
  }
  if (!body->contains("id"))
    return Error(ErrorCode::kInvalidArgument,
                 "'id' is missing: every event needs an id that is unique within its topic, so "
                 "that a second delivery starts nothing");
  return event;
}

Reply emitEvent(const RouteContext& ctx, const ApiRequest& request) {
  auto event = parseEvent(request);
  if (!event.ok()) return errorReply(event.error());
  auto result = awaitEngine(ctx.control.emitEvent(std::move(*event)), ctx.engineTimeout);
  if (!result.ok()) return errorReply(result.error());
  json errors = json::array();
  for (const auto& e : result->errors)
    errors.push_back({{"workflow", e.workflow}, {"message", e.message}});
  return jsonReply(result->created ? 202 : 200, {{"id", result->id},
                                                 {"topic", result->topic},
                                                 {"runs", result->runIds},
                                                 {"errors", std::move(errors)}});
}

}  // namespace

void addEventRoutes(Router& router, const RouteContext& context) {
  router.add("POST", "/api/v1/events/{topic}",
             [context](const ApiRequest& request) { return emitEvent(context, request); });
}

}  // namespace keel::api
