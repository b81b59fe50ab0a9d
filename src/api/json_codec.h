// The JSON shapes of the HTTP API: stored rows in, API objects out.
//
// The field names live in `field::` so that the CLI, which reads these
// objects back, spells them exactly as the server writes them (the CLI
// includes this header for the names only and does not link keel_api).
// Conventions: times are RFC 3339 UTC strings with milliseconds, or null;
// durations are integer milliseconds, or null while unfinished; "none" is
// null (no exit code, no failure class, no idempotency key), never a
// sentinel. Pure functions; any thread.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/clock.h"
#include "store/records.h"

namespace keel::api {

namespace field {
inline constexpr char kAt[] = "at";
inline constexpr char kAttempt[] = "attempt";
inline constexpr char kActor[] = "actor";
inline constexpr char kAttempts[] = "attempts";
inline constexpr char kChanged[] = "changed";
inline constexpr char kCancelReason[] = "cancel_reason";
inline constexpr char kCompensation[] = "compensation";
inline constexpr char kCode[] = "code";
inline constexpr char kConcurrencyKey[] = "concurrency_key";
inline constexpr char kCreatedAt[] = "created_at";
inline constexpr char kCreatedBy[] = "created_by";
inline constexpr char kData[] = "data";
inline constexpr char kDetails[] = "details";
inline constexpr char kDueAt[] = "due_at";
inline constexpr char kDurationMs[] = "duration_ms";
inline constexpr char kError[] = "error";
inline constexpr char kEvents[] = "events";
inline constexpr char kExitCode[] = "exit_code";
inline constexpr char kFailureClass[] = "failure_class";
inline constexpr char kFinishedAt[] = "finished_at";
inline constexpr char kId[] = "id";
inline constexpr char kIdempotencyKey[] = "idempotency_key";
inline constexpr char kKind[] = "kind";
inline constexpr char kLastRun[] = "last_run";
inline constexpr char kMaxAttempts[] = "max_attempts";
inline constexpr char kLastSuccessAt[] = "last_success_at";
inline constexpr char kMessage[] = "message";
inline constexpr char kOffset[] = "offset";
inline constexpr char kN[] = "n";
inline constexpr char kName[] = "name";
inline constexpr char kOwner[] = "owner";
inline constexpr char kRunbook[] = "runbook";
inline constexpr char kDescription[] = "description";
inline constexpr char kTeam[] = "team";
inline constexpr char kContact[] = "contact";
inline constexpr char kNamespace[] = "namespace";
inline constexpr char kNextCursor[] = "next_cursor";
inline constexpr char kOutput[] = "output";
inline constexpr char kParams[] = "params";
inline constexpr char kReason[] = "reason";
inline constexpr char kRevokedAt[] = "revoked_at";
inline constexpr char kRole[] = "role";
inline constexpr char kRun[] = "run";
inline constexpr char kRuns[] = "runs";
inline constexpr char kSeq[] = "seq";
inline constexpr char kSignal[] = "signal";
inline constexpr char kStartedAt[] = "started_at";
inline constexpr char kState[] = "state";
inline constexpr char kStatus[] = "status";
inline constexpr char kStderr[] = "stderr";
inline constexpr char kStderrBytes[] = "stderr_bytes";
inline constexpr char kStdout[] = "stdout";
inline constexpr char kStdoutBytes[] = "stdout_bytes";
inline constexpr char kRunning[] = "running";
inline constexpr char kStep[] = "step";
inline constexpr char kSteps[] = "steps";
inline constexpr char kToken[] = "token";
inline constexpr char kTokens[] = "tokens";
inline constexpr char kVersion[] = "version";
inline constexpr char kVersions[] = "versions";
inline constexpr char kWait[] = "wait";
inline constexpr char kNeeds[] = "needs";
inline constexpr char kWarnings[] = "warnings";
inline constexpr char kWorkflow[] = "workflow";
inline constexpr char kWorkflows[] = "workflows";
inline constexpr char kYaml[] = "yaml";
}  // namespace field

nlohmann::json timeJson(std::optional<WallTime> t);
// Milliseconds from `from` to `to`, or null unless both are known.
nlohmann::json durationJson(std::optional<WallTime> from, std::optional<WallTime> to);
// Stored JSON text parsed; null when empty; the raw text when unparseable.
nlohmann::json storedJson(const std::string& text);
// What holds a run or step back: {kind, reason}, or null when nothing does.
nlohmann::json waitJson(const std::string& kind, const std::string& reason);

// {name, version, namespace, created_at}
nlohmann::json workflowSummaryJson(const store::WorkflowVersionRow& row);
// The summary plus yaml and versions: [{version, created_at}].
nlohmann::json workflowDetailJson(const store::WorkflowVersionRow& latest,
                                  const std::vector<store::WorkflowVersionRow>& versions);

// RunSummary: {id, workflow, version, state, reason, wait, created_at,
// started_at, finished_at}; wait is {kind, reason} or null.
nlohmann::json runSummaryJson(const store::RunRow& run);
// The summary plus params, idempotency_key, concurrency_key, duration_ms
// and cancel_reason.
nlohmann::json runJson(const store::RunRow& run);
// What a run's workflow version says about it: who owns it, its runbook,
// and for each step (by name) the steps it needs and its attempts in all.
struct RunFacts {
  std::string team, contact, runbook;
  struct Step {
    std::vector<std::string> needs;
    int maxAttempts = 0;
  };
  std::map<std::string, Step> steps;
};
// runJson plus owner {team, contact}, runbook and steps: [{name, state,
// reason, due_at, wait, needs, max_attempts, attempts: [...], output}].
// owner, runbook, `needs` and `max_attempts` are null when `facts` is null
// (the run's workflow version could not be read).
nlohmann::json runDetailJson(const store::RunDetail& detail, const RunFacts* facts = nullptr);

// {n, state, started_at, finished_at, duration_ms, exit_code, signal, failure_class, message}
nlohmann::json attemptJson(const store::AttemptRow& attempt);
// {seq, at, kind, step, attempt, message}; step and attempt null for run-level events.
nlohmann::json eventJson(const store::EventRow& event);
// {attempt, stdout, stderr, stdout_bytes, stderr_bytes}
nlohmann::json logJson(const store::LogRow& log);
// {name, role, created_at, created_by, revoked_at}: never the hash.
nlohmann::json tokenJson(const store::TokenRow& token);

}  // namespace keel::api
