// Approval routes: a person decides an `approval:` step of a run.
//   POST /api/v1/runs/{id}/steps/{step}/approve  {"reason": "..."}  (reason optional)
//   POST /api/v1/runs/{id}/steps/{step}/reject   {"reason": "..."}  (reason required)
// Both answer the run (200) once the decision is durable; 404 for an
// unknown run or step, 409 (code "conflict") when the step was decided
// already or does not wait for approval. keel has no team directory yet:
// any admin token may decide, whoever the step names as approvers.
#include <fmt/format.h>

#include "api/body_json.h"
#include "api/engine_call.h"
#include "api/json_codec.h"
#include "api/routes.h"
#include "core/quote.h"

namespace keel::api {
namespace {

Reply decide(const RouteContext& ctx, const ApiRequest& request, bool approve) {
  auto body = parseJsonBody(request.body);
  if (!body.ok()) return errorReply(body.error());
  auto reason = takeReason(*body);
  if (!reason.ok()) return errorReply(reason.error());
  if (!body->empty())
    return errorReply(Error(ErrorCode::kInvalidArgument,
                            fmt::format("unknown field {} (this request takes only 'reason')",
                                        quoteForMessage(body->begin().key()))));
  if (!approve && reason->empty())
    return errorReply(Error(ErrorCode::kInvalidArgument,
                            "a rejection needs a reason: send {\"reason\": \"...\"}"));
  RequestContext who = request.context;
  who.reason = std::move(*reason);
  auto row = awaitEngine(ctx.control.decideApproval(request.pathParams[0], request.pathParams[1],
                                                    approve, std::move(who)),
                         ctx.engineTimeout);
  if (!row.ok()) return errorReply(row.error());
  return jsonReply(200, runJson(*row));
}

}  // namespace

void addApprovalRoutes(Router& router, const RouteContext& context) {
  router.add("POST", "/api/v1/runs/{id}/steps/{step}/approve",
             [context](const ApiRequest& request) { return decide(context, request, true); });
  router.add("POST", "/api/v1/runs/{id}/steps/{step}/reject",
             [context](const ApiRequest& request) { return decide(context, request, false); });
}

}  // namespace keel::api
