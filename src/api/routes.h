// The /api/v1 routes, grouped by resource. Each add*Routes() registers its
// handlers on a Router; the handlers call the engine's Control for
// mutations and read the Store directly (reads never go through the engine
// loop). Handlers run on HTTP worker threads, concurrently.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <map>

#include <nlohmann/json.hpp>

#include "api/router.h"
#include "audit/verify.h"
#include "core/clock.h"
#include "engine/control.h"
#include "engine/task_broker.h"
#include "store/store.h"

namespace keel::api {

// Idempotency keys longer than this are refused (400).
inline constexpr size_t kMaxIdempotencyKeyBytes = 256;
inline constexpr int kMaxListLimit = 1000;
inline constexpr int kDefaultListLimit = 50;

struct RouteContext {
  engine::Control& control;
  store::Store& store;
  std::chrono::milliseconds engineTimeout;
  const Clock& clock;
  engine::TaskBroker* tasks = nullptr;  // null: this keel hands out no tasks
  // Task polls that may wait at the same time (each holds a server thread);
  // one more is answered 429 at once.
  int maxWaitingPolls = 16;
  // Called after a subscription is applied or a dead delivery is made
  // pending again (wakes the webhook delivery); may be empty.
  std::function<void()> onWebhooksChanged;
  // Called after dead notifications are made pending again (wakes the
  // notification delivery); may be empty.
  std::function<void()> onNotificationsChanged;
};

// POST/GET /api/v1/workflows, GET /api/v1/workflows/{name},
// POST /api/v1/workflows/{name}/runs.
void addWorkflowRoutes(Router& router, const RouteContext& context);
// GET /api/v1/runs, GET /api/v1/runs/{id}, .../events, .../steps/{step}/logs,
// POST .../cancel and .../retry, and the approval routes.
void addRunRoutes(Router& router, const RouteContext& context);
// POST /api/v1/runs/{id}/steps/{step}/skip, .../steps/{step}/cancel and
// /api/v1/runs/{id}/rerun (step_routes.cc).
void addStepRoutes(Router& router, const RouteContext& context);
// POST /api/v1/runs/{id}/steps/{step}/approve and .../reject (approval
// steps); registered by addRunRoutes.
void addApprovalRoutes(Router& router, const RouteContext& context);
// GET /api/v1/tasks, POST /api/v1/tasks/poll, .../results,
// .../{id}/heartbeat, .../{id}/complete, .../{id}/fail.
void addTaskRoutes(Router& router, const RouteContext& context);
// POST /api/v1/events/{topic}.
void addEventRoutes(Router& router, const RouteContext& context);
// GET /api/v1/schedules.
void addScheduleRoutes(Router& router, const RouteContext& context);
// GET /api/v1/audit and GET /api/v1/audit/verify (audit_routes.cc).
void addAuditRoutes(Router& router, const RouteContext& context);
// The audit chain read in pages from the store and checked by
// audit::verify (GET /api/v1/audit/verify, and the hourly head check).
Result<audit::VerifyReport> verifyAuditLog(store::Store& store);
// GET /api/v1/subscriptions, GET /api/v1/events/dead,
// POST /api/v1/events/dead/redeliver.
void addSubscriptionRoutes(Router& router, const RouteContext& context);
// GET /api/v1/channels, GET /api/v1/notifications[?state=],
// POST /api/v1/notifications/redeliver (channel_routes.cc).
void addChannelRoutes(Router& router, const RouteContext& context);
// POST/GET /api/v1/tokens, POST /api/v1/tokens/{name}/revoke.
void addTokenRoutes(Router& router, const RouteContext& context);
// POST /api/v1/workflows/{name}/pause|resume|disable|enable,
// POST /api/v1/runs/{id}/pause|resume (control_routes.cc).
void addControlRoutes(Router& router, const RouteContext& context);
// GET /api/v1/incidents, GET /api/v1/incidents/{id}, POST
// /api/v1/incidents/{id}/ack|mitigate|resolve|workaround and
// .../actions/{n}/done (incident_routes.cc).
void addIncidentRoutes(Router& router, const RouteContext& context);
// A workflow's "paused" and "disabled" fields: {by, at, reason} or null
// (null for both when `row` is null).
// A run's JSON with 200, or the error (a run action's answer).
Reply runReply(Result<store::RunRow> row);

void putControlFields(nlohmann::json& item, const store::WorkflowControlRow* row);
// {"name", "paused", "disabled"}.
nlohmann::json workflowControlJson(const store::WorkflowControlRow& row);
// Every workflow's controls by name (none from a store that keeps none).
Result<std::map<std::string, store::WorkflowControlRow>> readControls(store::Store& store);

}  // namespace keel::api
