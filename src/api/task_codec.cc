#include "api/task_codec.h"

#include "api/json_codec.h"

namespace keel::api {

nlohmann::json taskJson(const engine::TaskView& t) {
  using namespace taskfield;
  nlohmann::json j = nlohmann::json::object();
  j[kId] = t.id;
  j[kQueue] = t.queue.empty() ? nlohmann::json() : nlohmann::json(t.queue);
  j[kRunId] = t.runId;
  j[kWorkflow] = t.workflow.empty() ? nlohmann::json() : nlohmann::json(t.workflow);
  j[kStep] = t.step;
  j[kAttempt] = t.attempt;
  j[kInput] = t.input;
  j[kIdempotencyKey] = t.idempotencyKey;
  j[kState] = t.leased ? "leased" : "queued";
  j[kWorker] = t.worker.empty() ? nlohmann::json() : nlohmann::json(t.worker);
  j[kLeaseExpiresAt] = timeJson(t.leaseExpiresAt);
  j[kQueuedAt] = timeJson(t.queuedAt);
  j[kTraceparent] = t.traceparent.empty() ? nlohmann::json() : nlohmann::json(t.traceparent);
  return j;
}

}  // namespace keel::api
