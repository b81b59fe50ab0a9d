// The CLI's commands, one function each, behind runCli() (cli.h), which
// parses argv into these argument structs. Every command writes its normal
// output to ctx.out and problems to ctx.err and returns the exit code.
// Internal to the cli module.
#pragma once

#include <chrono>
#include <ostream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli/api_client.h"
#include "core/clock.h"

namespace CLI {
class App;
}

namespace keel::cli {

// Exit codes: 0, 1 for a run that did not succeed, and sysexits(3) codes
// for everything else, so that a script can tell them apart (docs/cli.md).
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;       // the run failed or was cancelled; other errors
inline constexpr int kExitUsage = 64;        // EX_USAGE: bad flags or arguments
inline constexpr int kExitDataErr = 65;      // EX_DATAERR: invalid input (file, cron, a 400/409)
inline constexpr int kExitNoInput = 66;      // EX_NOINPUT: no such file, run or workflow (404)
inline constexpr int kExitUnreachable = 69;  // EX_UNAVAILABLE: the server cannot be reached
inline constexpr int kExitSoftware = 70;  // EX_SOFTWARE: the server failed (500) or made no sense
inline constexpr int kExitTempFail = 75;  // EX_TEMPFAIL: 503/429, try again later
inline constexpr int kExitNoPerm = 77;    // EX_NOPERM: no token, or not allowed (401/403)
inline constexpr int kExitConfig = 78;    // EX_CONFIG: keel serve refuses its configuration

// Whether an exit code says "try the same thing again later": the server
// was unreachable or answered 503/429.
inline bool isTransient(int exitCode) {
  return exitCode == kExitUnreachable || exitCode == kExitTempFail;
}

struct Context {
  std::ostream& out;
  std::ostream& err;
  ApiClient* api = nullptr;  // null for offline commands
};

// 0 when `result` is a 2xx JSON answer (moved into *response); otherwise
// prints why to ctx.err and returns the exit code: 3 when the server did not
// answer, 2 for a 400 (bad input), 1 for any other error.
int checkAnswer(const Context& ctx, Result<ApiResponse> result, ApiResponse* response);
// Pretty JSON, 2-space indent, one trailing newline.
void printJson(std::ostream& out, const nlohmann::json& j);
// STEP STATE ATTEMPTS DURATION CLASS, from a GET /runs/ID answer.
void printStepTable(std::ostream& out, const nlohmann::json& run);

// `keel incidents` and `keel incident ACTION ID` (incident_commands.cc).
struct IncidentArgs {
  bool open = false;
  bool recurring = false;
  std::string since;
  bool json = false;
  std::string action;  // show | ack | mitigate | resolve | workaround | done
  std::string id;
  std::string reason;
  std::string rootCause;
  std::vector<std::string> actions;  // "text;owner;YYYY-MM-DD"
  std::string noActionReason;
  std::string workaround;
  std::string expires;
  int item = 0;
};
int incidentsCommand(const Context& ctx, const IncidentArgs& args);
int incidentCommand(const Context& ctx, const IncidentArgs& args);
// The two commands on the parser, and the dispatch of whichever was given
// (-1: neither).
struct IncidentCli {
  CLI::App* list = nullptr;
  CLI::App* stats = nullptr;  // `keel incidents stats`
  CLI::App* one = nullptr;
  std::vector<CLI::App*> actions;
};
IncidentCli defineIncidentCommands(CLI::App& app, IncidentArgs& args);
int dispatchIncidentCommands(const IncidentCli& cli, IncidentArgs args, const Context& ctx);

struct ValidateArgs {
  std::vector<std::string> files;
  bool explain = false;
};
int validateCommand(const Context& ctx, const ValidateArgs& args);

// `reason` (may be empty) goes with each file as ?reason= and is kept in
// the audit log.
int applyCommand(const Context& ctx, const std::vector<std::string>& files,
                 const std::string& reason = {});

struct CronNextArgs {
  std::vector<std::string> expression;  // joined with spaces: quoted or not
  std::string zone = "UTC";
  std::string from;  // RFC 3339; empty: `now`
  int count = 5;
  WallTime now;
};
// Offline: the next fire times of a cron expression, UTC RFC 3339, one a line.
int cronNextCommand(const Context& ctx, const CronNextArgs& args);

struct RunArgs {
  std::string workflow;
  std::vector<std::string> params;  // KEY=VALUE
  std::string idempotencyKey;       // empty: one is made up, so that retries are safe
  std::string reason;               // kept in the run's timeline; may be empty
  bool wait = false;
  bool json = false;
  std::string timeout;  // a duration ("2h"): how long to try to trigger and to wait in all
  // How long to ride out a server that cannot be reached (or answers 503)
  // before giving up, when no timeout is given.
  std::chrono::milliseconds unreachableFor = std::chrono::minutes(10);
  // How long to pause between two tries while the server cannot be reached.
  std::chrono::milliseconds retryPause = std::chrono::seconds(1);
};
// Triggers a run, trying again with the same idempotency key while the
// server is unreachable or restarting; with `wait`, polls until the run ends.
int runCommand(const Context& ctx, const RunArgs& args);

struct EmitArgs {
  std::string topic;
  std::string id;
  std::string data = "{}";  // the payload, a JSON object
  bool json = false;
  std::string reason;  // kept in the audit log; may be empty
};
// POST /api/v1/events/TOPIC; prints the ids of the runs it started (or,
// for a repeated id, had started), one per line. run_commands.cc
int emitCommand(const Context& ctx, const EmitArgs& args);

struct RunsArgs {
  std::string workflow;
  std::string state;   // one state, or several separated by commas
  std::string since;   // "12h" (before now, by the server's clock) or RFC 3339
  std::string cursor;  // the next page: a previous page's last run id
  int limit = 0;       // 0 = the server's default
  bool json = false;
};
int runsCommand(const Context& ctx, const RunsArgs& args);

int showCommand(const Context& ctx, const std::string& runId, bool json);
int logsCommand(const Context& ctx, const std::string& runId, const std::string& step,
                int attempt);  // 0 = every attempt
// `reason` (may be empty) is kept in the run's timeline.
int cancelCommand(const Context& ctx, const std::string& runId, const std::string& reason);
// `keel cancel RUN --compensate`: the run's succeeded steps are compensated
// before it ends.
int cancelCompensateCommand(const Context& ctx, const std::string& runId,
                            const std::string& reason);
int retryCommand(const Context& ctx, const std::string& runId, const std::string& reason);
// One step of a run (step_commands.cc): skip it, run the run again from
// it, or stop it while it runs.
int skipCommand(const Context& ctx, const std::string& runId, const std::string& step,
                const std::string& reason);
int rerunCommand(const Context& ctx, const std::string& runId, const std::string& from,
                 const std::string& reason);
int cancelStepCommand(const Context& ctx, const std::string& runId, const std::string& step,
                      const std::string& reason);

// keel pause|resume TARGET, keel disable|enable WORKFLOW (control_commands.cc).
struct ControlArgs {
  std::string action;  // "pause", "resume", "disable" or "enable"
  std::string target;  // a run id or a workflow name
  std::string reason;
  bool run = false;       // --run: TARGET is a run
  bool workflow = false;  // --workflow: TARGET is a workflow
};
int controlCommand(const Context& ctx, const ControlArgs& args);

// `keel approve RUN STEP [--reject] --reason R` (approval_commands.cc):
// prints "STEP approved by ACTOR" or "STEP rejected by ACTOR: REASON".
struct ApproveArgs {
  std::string runId;
  std::string step;
  bool reject = false;
  std::string reason;  // required with reject; kept in the run's timeline
};
int approveCommand(const Context& ctx, const ApproveArgs& args);

struct ShowArgs {
  std::string runId;
  bool json = false;
  bool graph = false;     // the step DAG in ASCII instead of the step table
  bool dot = false;       // Graphviz DOT only
  bool watch = false;     // again every pollEvery until the run ends
  bool terminal = false;  // stdout is a terminal: --watch redraws the screen
  std::chrono::milliseconds pollEvery = std::chrono::seconds(1);
  // How long --watch rides out a server that cannot be reached.
  std::chrono::milliseconds unreachableFor = std::chrono::minutes(2);
};
// `keel show` with --graph, --dot or --watch (show_commands.cc). With
// --watch the exit code is `keel run --wait`'s for the run's end: 0
// succeeded, 1 failed or cancelled.
int showCommand(const Context& ctx, const ShowArgs& args);

struct LogsFollowArgs {
  std::string runId;
  std::string step;
  int attempt = 0;  // 0: the step's latest attempt (or its first, once it starts)
  std::chrono::milliseconds waitEach = std::chrono::seconds(10);  // wait_ms of each poll
  // How long to ride out a server that cannot be reached (or answers 503/429).
  std::chrono::milliseconds unreachableFor = std::chrono::minutes(2);
  std::chrono::milliseconds retryPause = std::chrono::seconds(1);
};
// `keel logs RUN STEP -f`: prints the attempt's output raw as it comes
// (stdout and stderr interleaved), until the attempt ends.
int logsFollowCommand(const Context& ctx, const LogsFollowArgs& args);

struct TasksArgs {
  std::string queue;  // empty: every queue
  bool json = false;
};
// Queued and leased tasks: ID QUEUE WORKFLOW STEP ATTEMPT STATE WORKER LEASE.
int tasksCommand(const Context& ctx, const TasksArgs& args);

// Prints the new secret alone on stdout.
int tokenCreateCommand(const Context& ctx, const std::string& name, const std::string& reason = {});
int tokenListCommand(const Context& ctx);
// The workflows (GET /api/v1/workflows) as a table: owner, last run, last
// success, runbook; or its JSON.
int workflowsCommand(const Context& ctx, bool json);

// The cron triggers (GET /api/v1/schedules) as a table, or its JSON.
int schedulesCommand(const Context& ctx, bool json);
int tokenRevokeCommand(const Context& ctx, const std::string& name, const std::string& reason = {});

// The webhook subscriptions (GET /api/v1/subscriptions): NAME VER TOPIC URL
// CREATED, or its JSON. events_commands.cc
int subscriptionsCommand(const Context& ctx, bool json);
// The dead deliveries (GET /api/v1/events/dead): SUBSCRIPTION EVENT TOPIC
// ATTEMPTS LAST WHEN, or its JSON.
int eventsDeadCommand(const Context& ctx, bool json);
struct RedeliverArgs {
  std::string eventId;  // exactly one of the two
  std::string topic;
  std::string reason;  // kept in the audit log; may be empty
};
// POST /api/v1/events/dead/redeliver; prints "N redelivered".
int eventsRedeliverCommand(const Context& ctx, const RedeliverArgs& args);

// `keel audit [--since D --actor A --target T --limit N]` (audit_commands.cc):
// GET /api/v1/audit as SEQ TIME ACTOR ACTION TARGET REASON, newest first.
struct AuditArgs {
  std::string since;
  std::string actor;
  std::string target;
  int limit = 50;
  bool json = false;
};
int auditCommand(const Context& ctx, const AuditArgs& args);
// `keel audit verify [--expect SEQ:HASH]`: GET /api/v1/audit/verify. 0 and
// "audit chain intact: N entries, head SEQ HASH"; kExitDataErr and what is
// wrong, at which seq, when the chain is broken, or when the head kept
// elsewhere (`expect`) is no longer in it (entry SEQ has another hash, or
// the chain ends before SEQ).
int auditVerifyCommand(const Context& ctx, bool json, const std::string& expect = {});
// The notification channels (GET /api/v1/channels): NAME VER TYPE SERVES
// TARGET, or its JSON. channel_commands.cc
int channelsCommand(const Context& ctx, bool json);
struct NotificationsArgs {
  std::string state;  // pending | delivered | dead; empty: all
  bool dead = false;  // --dead: state dead
  bool json = false;
  // keel notifications redeliver
  std::string id;
  bool all = false;
  std::string reason;
};
// The notifications (GET /api/v1/notifications[?state=]): ID CHANNEL KIND
// STATE ATTEMPTS LAST WHEN, or its JSON.
int notificationsCommand(const Context& ctx, const NotificationsArgs& args);
// POST /api/v1/notifications/redeliver; prints "N redelivered".
int notificationsRedeliverCommand(const Context& ctx, const NotificationsArgs& args);

}  // namespace keel::cli
