// Operator actions on one step of a run: skip it, re-run the run from it,
// cancel it. Each takes the caller's reason and answers the run once the
// engine's transition is durable.
#include <fmt/format.h>

#include "api/body_json.h"
#include "api/engine_call.h"
#include "api/json_codec.h"
#include "api/routes.h"
#include "core/quote.h"

namespace keel::api {
namespace {

using nlohmann::json;

// The caller's context with the body's "reason"; `step`, when given, takes
// the body's "from" (required). Any other field is refused.
Result<RequestContext> readBody(const ApiRequest& request, std::string* step) {
  auto body = parseJsonBody(request.body);
  if (!body.ok()) return body.error();
  auto reason = takeReason(*body);
  if (!reason.ok()) return reason.error();
  if (step) {
    auto from = body->find("from");
    if (from == body->end() || !from->is_string() || from->get<std::string>().empty())
      return Error(ErrorCode::kInvalidArgument,
                   "field 'from' is required: the name of the step to re-run from");
    *step = from->get<std::string>();
    body->erase(from);
  }
  if (!body->empty())
    return Error(ErrorCode::kInvalidArgument,
                 fmt::format("unknown field {} (this request takes only {})",
                             quoteForMessage(body->begin().key()),
                             step ? "'from' and 'reason'" : "'reason'"));
  RequestContext who = request.context;
  who.reason = std::move(*reason);
  return who;
}

Reply skipStep(const RouteContext& ctx, const ApiRequest& request) {
  auto who = readBody(request, nullptr);
  if (!who.ok()) return errorReply(who.error());
  return runReply(awaitEngine(
      ctx.control.skipStep(request.pathParams[0], request.pathParams[1], std::move(*who)),
      ctx.engineTimeout));
}

Reply cancelStep(const RouteContext& ctx, const ApiRequest& request) {
  auto who = readBody(request, nullptr);
  if (!who.ok()) return errorReply(who.error());
  return runReply(awaitEngine(
      ctx.control.cancelStep(request.pathParams[0], request.pathParams[1], std::move(*who)),
      ctx.engineTimeout));
}

Reply rerunFrom(const RouteContext& ctx, const ApiRequest& request) {
  std::string step;
  auto who = readBody(request, &step);
  if (!who.ok()) return errorReply(who.error());
  return runReply(awaitEngine(ctx.control.rerunFrom(request.pathParams[0], step, std::move(*who)),
                              ctx.engineTimeout));
}

}  // namespace

void addStepRoutes(Router& router, const RouteContext& context) {
  auto bind = [context](Reply (*fn)(const RouteContext&, const ApiRequest&)) {
    return [context, fn](const ApiRequest& request) { return fn(context, request); };
  };
  router.add("POST", "/api/v1/runs/{id}/steps/{step}/skip", bind(skipStep));
  router.add("POST", "/api/v1/runs/{id}/steps/{step}/cancel", bind(cancelStep));
  router.add("POST", "/api/v1/runs/{id}/rerun", bind(rerunFrom));
}

}  // namespace keel::api
