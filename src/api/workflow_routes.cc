// Workflow routes: apply a spec, list and show workflows, trigger a run.
#include <fmt/format.h>

#include "api/body_json.h"
#include "api/channel_apply.h"
#include "api/engine_call.h"
#include "api/json_codec.h"
#include "api/routes.h"
#include "api/subscription_apply.h"
#include "core/quote.h"
#include "spec/parser.h"
#include "spec/subscription.h"

namespace keel::api {
namespace {

using nlohmann::json;

// The optional header naming the file a workflow came from (`keel apply`
// sends its absolute path); the engine uses it in error positions and to
// default the workdir to the file's directory.
constexpr char kSourceHeader[] = "X-Keel-Source";
constexpr char kIdempotencyHeader[] = "Idempotency-Key";

Reply applyWorkflow(const RouteContext& ctx, const ApiRequest& request) {
  std::string source = request.http.get_header_value(kSourceHeader);
  // The source path becomes the default workdir of the workflow's steps:
  // a relative one would mean "wherever keel serve happens to run".
  if (request.http.has_header(kSourceHeader) && (source.empty() || source.front() != '/'))
    return errorReply(
        Error(ErrorCode::kInvalidArgument, fmt::format("{} must be an absolute path, got {}",
                                                       kSourceHeader, quoteForMessage(source))));
  if (source.find('\0') != std::string::npos)
    return errorReply(
        Error(ErrorCode::kInvalidArgument, fmt::format("{} holds a NUL byte", kSourceHeader)));
  if (source.empty()) source = "api";
  // The body is the YAML text: why it is applied comes as ?reason=.
  RequestContext who = request.context;
  if (request.http.has_param("reason")) {
    json holder = {{"reason", request.query("reason")}};
    auto reason = takeReason(holder);
    if (!reason.ok()) return errorReply(reason.error());
    who.reason = std::move(*reason);
  }
  auto kind = spec::fileKind(request.body, source);
  if (!kind.ok()) return errorReply(kind.error());
  if (*kind == spec::DocumentKind::kSubscription) {
    auto applied = applySubscription(ctx.store, request.body, source, ctx.clock.wallNow(), who);
    if (!applied.ok()) return errorReply(applied.error());
    if (ctx.onWebhooksChanged) ctx.onWebhooksChanged();
    return jsonReply(applied->changed ? 201 : 200, {{"kind", "subscription"},
                                                    {field::kName, applied->row.name},
                                                    {field::kVersion, applied->row.version},
                                                    {field::kChanged, applied->changed},
                                                    {field::kWarnings, json::array()}});
  }
  if (*kind == spec::DocumentKind::kChannel) {
    auto applied = applyChannel(ctx.store, request.body, source, ctx.clock.wallNow(), who);
    if (!applied.ok()) return errorReply(applied.error());
    return jsonReply(applied->changed ? 201 : 200, {{"kind", "channel"},
                                                    {field::kName, applied->row.name},
                                                    {field::kVersion, applied->row.version},
                                                    {field::kChanged, applied->changed},
                                                    {field::kWarnings, json::array()}});
  }
  auto result =
      awaitEngine(ctx.control.applyWorkflows(std::string(request.body), source, std::move(who)),
                  ctx.engineTimeout);
  if (!result.ok()) return errorReply(result.error());
  auto appliedJson = [](const engine::ApplyResult& applied) {
    return json{{field::kName, applied.workflow.name},
                {field::kVersion, applied.workflow.version},
                {field::kChanged, applied.changed},
                {field::kWarnings, applied.warnings}};
  };
  // One document: the workflow's answer, as always. Several: one answer
  // per document, in file order, under "workflows".
  if (result->size() == 1)
    return jsonReply(result->front().changed ? 201 : 200, appliedJson(result->front()));
  json list = json::array();
  bool anyChanged = false;
  for (const auto& applied : *result) {
    list.push_back(appliedJson(applied));
    anyChanged = anyChanged || applied.changed;
  }
  return jsonReply(anyChanged ? 201 : 200, {{field::kWorkflows, std::move(list)}});
}

// The newest run of `workflow` among `states` (all when empty), if any:
// one index search of the store.
Result<std::optional<store::RunRow>> newestRun(const RouteContext& ctx, const std::string& workflow,
                                               std::vector<RunState> states) {
  store::RunFilter filter;
  filter.workflow = workflow;
  filter.states = std::move(states);
  filter.limit = 1;
  auto runs = ctx.store.listRuns(filter);
  if (!runs.ok()) return runs.error();
  if (runs->empty()) return std::optional<store::RunRow>();
  return std::optional<store::RunRow>(std::move(runs->front()));
}

// Each workflow's latest version with what an operator asks first: who
// owns it, its runbook, how its last run went and when it last succeeded.
Reply listWorkflows(const RouteContext& ctx, const ApiRequest&) {
  auto rows = ctx.store.listWorkflows();
  if (!rows.ok()) return errorReply(rows.error());
  auto controls = readControls(ctx.store);
  if (!controls.ok()) return errorReply(controls.error());
  json list = json::array();
  for (const auto& row : *rows) {
    json item = workflowSummaryJson(row);
    auto control = controls->find(row.name);
    putControlFields(item, control == controls->end() ? nullptr : &control->second);
    spec::ParseOptions opts;
    opts.fileName = row.name + "@v" + std::to_string(row.version);
    opts.defaultWorkdir = row.workdir;
    if (auto parsed = spec::parseWorkflow(row.yaml, opts); parsed.ok()) {
      const auto& spec = **parsed;
      item[field::kDescription] = spec.description;
      item[field::kOwner] = {{field::kTeam, spec.owner.team},
                             {field::kContact, spec.owner.contact}};
      item[field::kRunbook] = spec.runbook;
    } else {
      item[field::kOwner] = nullptr;
      item[field::kError] = parsed.error().message();
    }
    auto last = newestRun(ctx, row.name, {});
    if (!last.ok()) return errorReply(last.error());
    item[field::kLastRun] = *last ? runSummaryJson(**last) : json(nullptr);
    auto success = newestRun(ctx, row.name, {RunState::kSucceeded});
    if (!success.ok()) return errorReply(success.error());
    item[field::kLastSuccessAt] = *success ? timeJson((*success)->finishedAt) : json(nullptr);
    list.push_back(std::move(item));
  }
  return jsonReply(200, {{field::kWorkflows, std::move(list)}});
}

Reply getWorkflow(const RouteContext& ctx, const ApiRequest& request) {
  const auto& name = request.pathParams[0];
  auto latest = ctx.store.getWorkflow(name, 0);
  if (!latest.ok()) return errorReply(latest.error());
  if (!latest->has_value())
    return errorReply(Error(ErrorCode::kNotFound, fmt::format("no workflow named '{}'", name)));
  auto versions = ctx.store.workflowVersions(name);
  if (!versions.ok()) return errorReply(versions.error());
  auto controls = readControls(ctx.store);
  if (!controls.ok()) return errorReply(controls.error());
  json detail = workflowDetailJson(**latest, *versions);
  auto control = controls->find(name);
  putControlFields(detail, control == controls->end() ? nullptr : &control->second);
  return jsonReply(200, detail);
}

Status checkParams(const json& params) {
  if (!params.is_object())
    return Error(ErrorCode::kInvalidArgument,
                 fmt::format("'params' must be an object, got {}", params.type_name()));
  for (const auto& [name, value] : params.items()) {
    if (!value.is_string() && !value.is_number() && !value.is_boolean())
      return Error(ErrorCode::kInvalidArgument,
                   fmt::format("param '{}' must be a string, number or boolean, got {}", name,
                               value.type_name()));
  }
  return okStatus();
}

// The body {"params": {...}, "idempotency_key": "..."} and the
// Idempotency-Key header, checked, as a TriggerRequest.
Result<engine::TriggerRequest> parseTrigger(const ApiRequest& request) {
  auto body = parseJsonBody(request.body);
  if (!body.ok()) return body.error();
  engine::TriggerRequest trigger;
  trigger.workflow = request.pathParams[0];
  trigger.who = request.context;
  trigger.traceId = request.trace.traceId;
  auto reason = takeReason(*body);
  if (!reason.ok()) return reason.error();
  trigger.who.reason = std::move(*reason);
  for (const auto& [key, value] : body->items()) {
    if (key == "params") {
      if (value.is_null()) continue;
      KEEL_TRY(checkParams(value));
      trigger.params = value;
    } else if (key == "idempotency_key") {
      if (!value.is_string() && !value.is_null())
        return Error(ErrorCode::kInvalidArgument, "'idempotency_key' must be a string");
      if (value.is_string()) trigger.idempotencyKey = value.get<std::string>();
    } else {
      return Error(ErrorCode::kInvalidArgument,
                   fmt::format("unknown field '{}' (expected 'params', 'idempotency_key', "
                               "'reason')",
                               key));
    }
  }
  if (body->contains("idempotency_key") && trigger.idempotencyKey.empty() &&
      !(*body)["idempotency_key"].is_null())
    return Error(ErrorCode::kInvalidArgument,
                 "'idempotency_key' is empty; leave it out, or give a non-empty key");
  if (request.http.has_header(kIdempotencyHeader) &&
      request.http.get_header_value(kIdempotencyHeader).empty())
    return Error(ErrorCode::kInvalidArgument,
                 "the Idempotency-Key header is empty; leave it out, or give a non-empty key");
  std::string header = request.http.get_header_value(kIdempotencyHeader);
  if (!header.empty()) {
    if (!trigger.idempotencyKey.empty() && trigger.idempotencyKey != header)
      return Error(ErrorCode::kInvalidArgument,
                   fmt::format("the Idempotency-Key header ('{}') and the body's "
                               "idempotency_key ('{}') differ; send one, or the same in both",
                               header, trigger.idempotencyKey));
    trigger.idempotencyKey = header;
  }
  if (trigger.idempotencyKey.size() > kMaxIdempotencyKeyBytes)
    return Error(ErrorCode::kInvalidArgument,
                 fmt::format("the idempotency key is {} bytes long; at most {} are allowed",
                             trigger.idempotencyKey.size(), kMaxIdempotencyKeyBytes));
  return trigger;
}

Reply triggerRun(const RouteContext& ctx, const ApiRequest& request) {
  auto trigger = parseTrigger(request);
  if (!trigger.ok()) return errorReply(trigger.error());
  auto result = awaitEngine(ctx.control.trigger(std::move(*trigger)), ctx.engineTimeout);
  if (!result.ok()) return errorReply(result.error());
  return jsonReply(result->created ? 201 : 200, runJson(result->run));
}

}  // namespace

void addWorkflowRoutes(Router& router, const RouteContext& context) {
  auto bind = [context](Reply (*fn)(const RouteContext&, const ApiRequest&)) {
    return [context, fn](const ApiRequest& request) { return fn(context, request); };
  };
  router.add("POST", "/api/v1/workflows", bind(applyWorkflow),
             {.query = {"reason"}, .bodyTypes = {"application/yaml", "application/x-yaml"}});
  router.add("GET", "/api/v1/workflows", bind(listWorkflows));
  router.add("GET", "/api/v1/workflows/{name}", bind(getWorkflow));
  router.add("POST", "/api/v1/workflows/{name}/runs", bind(triggerRun));
}

}  // namespace keel::api
