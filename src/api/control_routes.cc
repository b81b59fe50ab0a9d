// Pause, resume, disable and enable: POST /api/v1/workflows/{name}/pause,
// .../resume, .../disable, .../enable and /api/v1/runs/{id}/pause,
// .../resume, each with an optional {"reason": "..."}; and the `paused` and
// `disabled` fields the workflow reads show.
#include <fmt/format.h>

#include "api/body_json.h"
#include "api/engine_call.h"
#include "api/json_codec.h"
#include "api/routes.h"
#include "core/quote.h"

namespace keel::api {

using nlohmann::json;

namespace {

json stateJson(bool on, const std::string& by, const std::optional<WallTime>& at,
               const std::string& reason) {
  if (!on) return nullptr;
  return {{"by", by}, {"at", timeJson(at)}, {"reason", reason}};
}

using WorkflowCall = std::future<Result<engine::WorkflowControlResult>> (engine::Control::*)(
    const std::string&, RequestContext);
using RunCall = std::future<Result<store::RunRow>> (engine::Control::*)(const std::string&,
                                                                        RequestContext);

Reply workflowControl(const RouteContext& ctx, WorkflowCall call, const ApiRequest& request) {
  auto who = withReason(request);
  if (!who.ok()) return errorReply(who.error());
  auto result =
      awaitEngine((ctx.control.*call)(request.pathParams[0], std::move(*who)), ctx.engineTimeout);
  if (!result.ok()) return errorReply(result.error());
  json body = workflowControlJson(result->control);
  body["changed"] = result->changed;
  return jsonReply(200, body);
}

Reply runControl(const RouteContext& ctx, RunCall call, const ApiRequest& request) {
  auto who = withReason(request);
  if (!who.ok()) return errorReply(who.error());
  auto row =
      awaitEngine((ctx.control.*call)(request.pathParams[0], std::move(*who)), ctx.engineTimeout);
  if (!row.ok()) return errorReply(row.error());
  return jsonReply(200, runJson(*row));
}

}  // namespace

json workflowControlJson(const store::WorkflowControlRow& row) {
  json out{{"name", row.name}};
  putControlFields(out, &row);
  return out;
}

void putControlFields(json& item, const store::WorkflowControlRow* row) {
  item["paused"] =
      row ? stateJson(row->paused, row->pausedBy, row->pausedAt, row->pausedReason) : json(nullptr);
  item["disabled"] =
      row ? stateJson(row->disabled, row->disabledBy, row->disabledAt, row->disabledReason)
          : json(nullptr);
}

Result<std::map<std::string, store::WorkflowControlRow>> readControls(store::Store& store) {
  std::map<std::string, store::WorkflowControlRow> out;
  auto rows = store.listWorkflowControls();
  if (!rows.ok()) {
    if (rows.error().code() == ErrorCode::kUnimplemented) return out;
    return rows.error();
  }
  for (auto& r : *rows) out.emplace(r.name, std::move(r));
  return out;
}

void addControlRoutes(Router& router, const RouteContext& context) {
  auto onWorkflow = [context](WorkflowCall call) {
    return [context, call](const ApiRequest& request) {
      return workflowControl(context, call, request);
    };
  };
  auto onRun = [context](RunCall call) {
    return
        [context, call](const ApiRequest& request) { return runControl(context, call, request); };
  };
  router.add("POST", "/api/v1/workflows/{name}/pause", onWorkflow(&engine::Control::pauseWorkflow));
  router.add("POST", "/api/v1/workflows/{name}/resume",
             onWorkflow(&engine::Control::resumeWorkflow));
  router.add("POST", "/api/v1/workflows/{name}/disable",
             onWorkflow(&engine::Control::disableWorkflow));
  router.add("POST", "/api/v1/workflows/{name}/enable",
             onWorkflow(&engine::Control::enableWorkflow));
  router.add("POST", "/api/v1/runs/{id}/pause", onRun(&engine::Control::pauseRun));
  router.add("POST", "/api/v1/runs/{id}/resume", onRun(&engine::Control::resumeRun));
}

}  // namespace keel::api
