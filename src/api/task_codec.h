// The JSON shapes of the task protocol (engine/task_broker.h), shared by
// the task routes and the CLI (which reads them back and includes this
// header for the names only).
//
// A task: {id, queue, run_id, workflow, step, attempt, input,
// idempotency_key, state ("queued" | "leased"), worker, lease_expires_at,
// queued_at, traceparent}; worker and lease_expires_at are null while
// queued; traceparent is null when unknown.
#pragma once

#include <nlohmann/json.hpp>

#include "engine/task_broker.h"

namespace keel::api {

namespace taskfield {
inline constexpr char kAttempt[] = "attempt";
inline constexpr char kClass[] = "class";
inline constexpr char kError[] = "error";
inline constexpr char kFail[] = "fail";
inline constexpr char kId[] = "id";
inline constexpr char kIdempotencyKey[] = "idempotency_key";
inline constexpr char kInput[] = "input";
inline constexpr char kLeaseExpiresAt[] = "lease_expires_at";
inline constexpr char kLog[] = "log";
inline constexpr char kMax[] = "max";
inline constexpr char kMessage[] = "message";
inline constexpr char kOk[] = "ok";
inline constexpr char kOutput[] = "output";
inline constexpr char kPoll[] = "poll";
inline constexpr char kQueue[] = "queue";
inline constexpr char kQueuedAt[] = "queued_at";
inline constexpr char kQueues[] = "queues";
inline constexpr char kResults[] = "results";
inline constexpr char kRetryAfterMs[] = "retry_after_ms";
inline constexpr char kRunId[] = "run_id";
inline constexpr char kState[] = "state";
inline constexpr char kStep[] = "step";
inline constexpr char kTraceparent[] = "traceparent";
inline constexpr char kTasks[] = "tasks";
inline constexpr char kWaitMs[] = "wait_ms";
inline constexpr char kWorker[] = "worker";
inline constexpr char kWorkflow[] = "workflow";
}  // namespace taskfield

nlohmann::json taskJson(const engine::TaskView& task);

}  // namespace keel::api
