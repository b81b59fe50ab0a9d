// runCli(): argv -> one command. The command surface is documented for
// users in docs/cli.md; keep the two in step.
#include "cli/cli.h"

#include <unistd.h>

#include <cstdlib>
#include <iostream>

#include <CLI/CLI.hpp>

#include "cli/commands.h"
#include "cli/credentials.h"
#include "cli/server_url.h"
#include "cli/text.h"
#include "core/request_context.h"

namespace keel::cli {
namespace {

constexpr char kDefaultServer[] = "http://127.0.0.1:7070";

struct Parsed {
  std::string server = kDefaultServer;
  std::string caFile;
  std::string actor;        // --as / $KEEL_ACTOR; empty: $USER
  std::string reason;       // --reason of a mutating command
  bool compensate = false;  // cancel --compensate
  std::string tokenName;
  ServeOptions serve;
  BenchOptions bench;
  CheckOptions check;
  GcOptions gc;
  std::string olderThan;
  std::string retain;
  ValidateArgs validate;
  std::vector<std::string> applyFiles;
  CronNextArgs cronNext;
  RunArgs run;
  EmitArgs emit;
  RunsArgs runs;
  TasksArgs tasks;
  RedeliverArgs redeliver;
  NotificationsArgs notifications;
  ControlArgs control;
  AuditArgs audit;
  std::string auditExpect;  // keel audit verify --expect
  std::string runId;
  std::string step;
  std::string rerunFrom;   // keel rerun --from
  std::string cancelStep;  // keel cancel --step
  int attempt = 0;
  bool follow = false;
  bool reject = false;  // keel approve --reject
  ShowArgs show;
  bool json = false;
  IncidentArgs incidents;
};

struct Subcommands {
  CLI::App* serve;
  CLI::App* bench;
  CLI::App* check;
  CLI::App* gc;
  CLI::App* validate;
  CLI::App* apply;
  CLI::App* cron;
  CLI::App* cronNext;
  CLI::App* run;
  CLI::App* emit;
  CLI::App* runs;
  CLI::App* show;
  CLI::App* logs;
  CLI::App* cancel;
  CLI::App* retry;
  CLI::App* skip;
  CLI::App* rerun;
  CLI::App* pause;
  CLI::App* resume;
  CLI::App* disable;
  CLI::App* enable;
  CLI::App* approve;
  CLI::App* tasks;
  CLI::App* schedules;
  CLI::App* workflows;
  CLI::App* subscriptions;
  CLI::App* events;
  CLI::App* eventsDead;
  CLI::App* eventsRedeliver;
  CLI::App* channels;
  CLI::App* notifications;
  CLI::App* notificationsRedeliver;
  CLI::App* token;
  CLI::App* tokenCreate;
  CLI::App* tokenList;
  CLI::App* tokenRevoke;
  CLI::App* audit;
  CLI::App* auditVerify;
  IncidentCli incidents;
};

Subcommands defineEngineCommands(CLI::App& app, Parsed& p, Subcommands s) {
  s.serve = app.add_subcommand("serve", "Run the engine and the HTTP API in the foreground");
  s.serve->add_option("--db", p.serve.db, "SQLite database file (created if missing)")
      ->capture_default_str();
  s.serve->add_flag("--init", p.serve.init,
                    "Create the database even though files of an earlier one remain (it was "
                    "deleted or moved)");
  s.serve->add_option("--listen", p.serve.listen, "HOST:PORT to serve on (port 0: any free port)")
      ->capture_default_str();
  s.serve->add_option("--token-file", p.serve.tokenFile,
                      "Where a new database's admin token is written (default: DB.token)");
  s.serve
      ->add_option("--auth", p.serve.auth,
                   "token: every API request needs a token; none: no token (loopback only)")
      ->check(CLI::IsMember({"token", "none"}))
      ->capture_default_str();
  s.serve->add_flag("--insecure-listen", p.serve.insecureListen,
                    "Allow plain HTTP on a non-loopback address (tokens cross the network in "
                    "clear text)");
  s.serve->add_option("--tls-cert", p.serve.tlsCert, "PEM certificate chain: serve HTTPS");
  s.serve->add_option("--tls-key", p.serve.tlsKey, "PEM private key of --tls-cert");
  s.serve->add_option("--allow-origin", p.serve.allowOrigins,
                      "A browser origin allowed to call the API (repeatable)");
  s.serve->add_option("--workflows", p.serve.workflowsDir,
                      "Apply every *.yaml/*.yml of this directory at start-up");
  s.serve->add_flag("--stop-steps", p.serve.stopSteps,
                    "On SIGTERM/SIGINT also stop the running steps (default: leave them running "
                    "for the next start to re-attach)");
  s.serve->add_option("--max-parallel", p.serve.maxParallelSteps, "Process steps run at once")
      ->check(CLI::Range(1, 100000))
      ->capture_default_str();
  s.serve->add_option("--retain", p.retain,
                      "Delete finished runs older than this while serving (e.g. 30d; units s m h "
                      "d w; default: keep them, except workflows with retention:)");
  s.serve->add_option("--otlp-endpoint", p.serve.otlpEndpoint,
                      "Export spans of runs, steps and attempts to this OpenTelemetry collector "
                      "(OTLP/HTTP JSON, POST URL/v1/traces; e.g. http://127.0.0.1:4318)");
  s.serve->add_option("--log-level", p.serve.logLevel, "Log level of the JSON logs on stderr")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "critical", "off"}))
      ->capture_default_str();

  s.bench = app.add_subcommand("bench", "Run a built-in benchmark workload");
  s.bench
      ->add_option("--workload", p.bench.workload,
                   "W1, W2, W3, W3K (W3, its step supervisors killed with keel), W4 (task "
                   "steps done by workers over HTTP), W5 (http steps), W6 (events in over "
                   "HTTP), L1 or S1 (the step supervisor's cost)")
      ->required()
      ->check(CLI::IsMember({"W1", "W2", "W3", "W3K", "W4", "W5", "W6", "L1", "S1"}));
  s.bench->add_option("--db", p.bench.db, "Database file (default: a temporary file)");
  s.bench->add_option("--runs", p.bench.runs, "Runs to submit (default: the workload's)")
      ->check(CLI::NonNegativeNumber);

  s.check = app.add_subcommand(
      "check", "Check every page, index and row of a database, offline (keel serve stopped)");
  s.check->add_option("--db", p.check.db, "SQLite database file")->capture_default_str();

  s.gc = app.add_subcommand(
      "gc", "Delete finished runs older than an age, with their steps and logs (offline)");
  s.gc->add_option("--db", p.gc.db, "SQLite database file")->required();
  s.gc->add_option("--older-than", p.olderThan,
                   "Delete runs that finished longer ago than this (e.g. 7d, 12h; units s m h d w)")
      ->required();
  s.gc->add_option("--batch", p.gc.runsPerTransaction, "Runs deleted per transaction")
      ->check(CLI::Range(1, 100000))
      ->capture_default_str();
  return s;
}

Subcommands defineWorkflowCommands(CLI::App& app, Parsed& p, Subcommands s) {
  s.validate = app.add_subcommand("validate", "Check workflow files offline (no server needed)");
  s.validate->add_option("files", p.validate.files, "Workflow YAML files")->required();
  s.validate->add_flag("--explain", p.validate.explain,
                       "Also print every defaulted value and what is stored but not acted on");

  s.apply = app.add_subcommand("apply", "Store new versions of workflows on the server");
  s.apply->add_option("files", p.applyFiles, "Workflow YAML files")->required();
  s.apply->add_option("--reason", p.reason, "Why (kept in the audit log)");

  s.cron = app.add_subcommand("cron", "Check cron expressions offline (no server needed)");
  s.cron->require_subcommand(1);
  s.cronNext = s.cron->add_subcommand(
      "next", "Print the next times a cron expression fires, in UTC (RFC 3339), one a line");
  s.cronNext
      ->add_option("expression", p.cronNext.expression,
                   "Five fields (minute hour day-of-month month day-of-week) or a macro such as "
                   "@daily; quote it")
      ->required();
  s.cronNext->add_option("--tz", p.cronNext.zone, "IANA time zone the expression is read in")
      ->capture_default_str();
  s.cronNext->add_option("--from", p.cronNext.from,
                         "Times strictly after this RFC 3339 time (default: now)");
  s.cronNext->add_option("--count", p.cronNext.count, "How many times to print")
      ->check(CLI::Range(1, 1000))
      ->capture_default_str();

  s.run = app.add_subcommand("run", "Trigger a run; prints its id first");
  s.run->add_option("workflow", p.run.workflow, "Workflow name")->required();
  s.run->add_option("--param", p.run.params, "A parameter KEY=VALUE (repeatable)")
      ->allow_extra_args(false);
  s.run->add_option("--idempotency-key", p.run.idempotencyKey,
                    "Start at most one run for this key; repeating returns the same run");
  s.run->add_flag("--wait", p.run.wait,
                  "Wait for the end, through restarts of keel; exit 0 only if it succeeded");
  s.run->add_option("--timeout", p.run.timeout,
                    "Give up after this long (e.g. 30s, 2h): triggering and --wait together");
  s.run->add_option("--reason", p.run.reason, "Why (kept in the run's timeline)");
  s.run->add_flag("--json", p.run.json, "Print the API's JSON");

  s.emit = app.add_subcommand(
      "emit", "Send an event on a topic; prints the ids of the runs its triggers started");
  s.emit->add_option("topic", p.emit.topic, "Topic: letters, digits, '.', '_', '-'")->required();
  s.emit
      ->add_option("--id", p.emit.id,
                   "The event's id, unique within the topic; sending it again starts nothing")
      ->required();
  s.emit->add_option("--data", p.emit.data, "The payload, a JSON object (default {})");
  s.emit->add_flag("--json", p.emit.json, "Print the API's JSON");
  s.emit->add_option("--reason", p.emit.reason, "Why (kept in the audit log)");
  return s;
}

Subcommands defineRunCommands(CLI::App& app, Parsed& p, Subcommands s) {
  s.runs = app.add_subcommand("runs", "List runs, newest first");
  s.runs->add_option("--workflow", p.runs.workflow, "Only runs of this workflow");
  s.runs->add_option("--state", p.runs.state,
                     "Only runs in this state, or in any of several separated by commas "
                     "(failed,cancelled)");
  s.runs->add_option("--since", p.runs.since,
                     "Only runs created since: a duration before now (12h, 30m, 2d) or an "
                     "RFC 3339 time");
  s.runs->add_option("--cursor", p.runs.cursor,
                     "The next page: the run id printed after a full page");
  s.runs->add_option("--limit", p.runs.limit, "At most this many (server default 50, max 1000)")
      ->check(CLI::Range(1, 1000));
  s.runs->add_flag("--json", p.runs.json, "Print the API's JSON");

  s.show = app.add_subcommand("show", "Show a run: steps, attempts and timeline");
  s.show->add_option("run", p.runId, "Run id")->required();
  auto* showJson = s.show->add_flag("--json", p.json, "Print the API's JSON: {run, events}");
  auto* graph = s.show->add_flag("--graph", p.show.graph,
                                 "Draw the step graph (layered by dependency) with each "
                                 "step's state, instead of the tables");
  auto* dot = s.show->add_flag("--dot", p.show.dot, "Print the step graph as Graphviz DOT");
  s.show
      ->add_flag("--watch", p.show.watch,
                 "Draw again every second until the run ends; exit 0 if it succeeded, 1 if not")
      ->excludes(showJson)
      ->excludes(dot);
  graph->excludes(dot)->excludes(showJson);
  dot->excludes(showJson);

  s.logs = app.add_subcommand("logs", "Print a step's stdout and stderr, attempt by attempt");
  s.logs->add_option("run", p.runId, "Run id")->required();
  s.logs->add_option("step", p.step, "Step name")->required();
  s.logs->add_option("--attempt", p.attempt, "Only this attempt (1-based)")
      ->check(CLI::PositiveNumber);
  s.logs->add_flag("-f,--follow", p.follow,
                   "Print the attempt's output as it runs (stdout and stderr interleaved) "
                   "until it ends");

  s.cancel = app.add_subcommand("cancel", "Cancel a run");
  s.cancel->add_option("run", p.runId, "Run id")->required();
  s.cancel->add_option("--step", p.cancelStep,
                       "Stop only this running step (it ends dead, class cancelled; the run "
                       "goes on)");
  s.cancel->add_option("--reason", p.reason, "Why (kept in the run's timeline)");
  s.cancel->add_flag("--compensate", p.compensate,
                     "Run the compensate: of its succeeded steps, last success first");
  s.retry = app.add_subcommand("retry", "Re-run the failed steps of a finished run");
  s.retry->add_option("run", p.runId, "Run id")->required();
  s.retry->add_option("--reason", p.reason, "Why (kept in the run's timeline)");
  s.skip = app.add_subcommand(
      "skip", "Skip one step of a run (not a running one); the steps that need it run");
  s.skip->add_option("run", p.runId, "Run id")->required();
  s.skip->add_option("step", p.step, "Step name")->required();
  s.skip->add_option("--reason", p.reason, "Why (kept in the run's timeline)")->required();
  s.rerun = app.add_subcommand("rerun",
                               "Run a step and every step downstream of it again, in the same run");
  s.rerun->add_option("run", p.runId, "Run id")->required();
  s.rerun->add_option("--from", p.rerunFrom, "The first step to run again")->required();
  s.rerun->add_option("--reason", p.reason, "Why (kept in the run's timeline)");

  auto holdCommand = [&](const char* name, const char* help, bool runs) {
    CLI::App* c = app.add_subcommand(name, help);
    c->add_option("target", p.control.target,
                  runs ? "A run id or a workflow name" : "Workflow name")
        ->required();
    c->add_option("--reason", p.control.reason,
                  "Why (kept with the workflow and in the affected runs' timelines)");
    if (runs) {
      auto* run = c->add_flag("--run", p.control.run, "TARGET is a run id");
      auto* wf = c->add_flag("--workflow", p.control.workflow, "TARGET is a workflow name");
      run->excludes(wf);
    }
    return c;
  };
  s.pause = holdCommand("pause",
                        "Hold a workflow's (or one run's) steps not yet started until resumed; "
                        "running steps finish",
                        true);
  s.resume = holdCommand("resume", "Resume a paused workflow or run", true);
  s.disable = holdCommand("disable",
                          "Refuse a workflow's new runs (API triggers 409; cron, file, event "
                          "and after triggers start none)",
                          false);
  s.enable = holdCommand("enable", "Accept a disabled workflow's runs again", false);

  s.approve = app.add_subcommand(
      "approve", "Approve (or with --reject, reject) a run's approval step that waits");
  s.approve->add_option("run", p.runId, "Run id")->required();
  s.approve->add_option("step", p.step, "Step name")->required();
  s.approve->add_flag("--reject", p.reject, "Reject the step (its run fails); needs --reason");
  s.approve->add_option("--reason", p.reason, "Why (kept in the run's timeline)");

  s.tasks = app.add_subcommand(
      "tasks", "List the queued and leased tasks of task: steps (what workers are doing)");
  s.tasks->add_option("--queue", p.tasks.queue, "Only tasks of this queue");
  s.tasks->add_flag("--json", p.tasks.json, "Print the API's JSON");

  s.schedules = app.add_subcommand("schedules",
                                   "List the cron and file triggers of the workflows: next fire, "
                                   "last instant or file, outcome, errors");
  s.schedules->add_flag("--json", p.json, "Print the API's JSON");

  s.workflows = app.add_subcommand(
      "workflows", "List the workflows: owner, last run and its state, last success, runbook");
  s.workflows->add_flag("--json", p.json, "Print the API's JSON");

  s.subscriptions = app.add_subcommand("subscriptions",
                                       "List the webhook subscriptions: name, version, topic, URL");
  s.subscriptions->add_flag("--json", p.json, "Print the API's JSON");
  s.events = app.add_subcommand("events", "Webhook deliveries that ran out of attempts");
  s.events->require_subcommand(1);
  s.eventsDead = s.events->add_subcommand(
      "dead", "List the dead deliveries: subscription, event, attempts, last status or error");
  s.eventsDead->add_flag("--json", p.json, "Print the API's JSON");
  s.eventsRedeliver = s.events->add_subcommand(
      "redeliver", "Put dead deliveries back in line: one event, or every one of a topic");
  s.eventsRedeliver->add_option("event", p.redeliver.eventId, "The event id of a dead delivery");
  s.eventsRedeliver->add_option("--topic", p.redeliver.topic,
                                "Every dead delivery of this topic instead");
  s.eventsRedeliver->add_option("--reason", p.redeliver.reason, "Why (kept in the audit log)");
  s.channels = app.add_subcommand(
      "channels", "List the notification channels: type, the teams they serve, where they send");
  s.channels->add_flag("--json", p.json, "Print the API's JSON");
  s.notifications = app.add_subcommand(
      "notifications", "List the notifications to the channels: state, attempts, last error");
  s.notifications->add_flag("--dead", p.notifications.dead, "Only those that ran out of attempts");
  s.notifications->add_option("--state", p.notifications.state,
                              "Only those in this state: pending, delivered or dead");
  s.notifications->add_flag("--json", p.notifications.json, "Print the API's JSON");
  s.notificationsRedeliver = s.notifications->add_subcommand(
      "redeliver", "Put dead notifications back in line with a new budget of attempts");
  s.notificationsRedeliver->add_option("id", p.notifications.id, "The id of a dead notification");
  s.notificationsRedeliver->add_flag("--all", p.notifications.all, "Every dead notification");
  s.notificationsRedeliver->add_option("--reason", p.notifications.reason,
                                       "Why (kept in keel's log with who asked)");
  return s;
}

Subcommands defineTokenCommands(CLI::App& app, Parsed& p, Subcommands s) {
  s.token = app.add_subcommand("token", "Manage API tokens");
  s.token->require_subcommand(1);
  s.tokenCreate = s.token->add_subcommand("create", "Create a token; prints its secret once");
  s.tokenCreate->add_option("name", p.tokenName, "Token name: a-z, 0-9, '.', '_', '-'")->required();
  s.tokenCreate->add_option("--reason", p.reason, "Why (kept in the audit log)");
  s.tokenList = s.token->add_subcommand("list", "List tokens (never their secrets)");
  s.tokenRevoke = s.token->add_subcommand("revoke", "Revoke a token; it stops working at once");
  s.tokenRevoke->add_option("name", p.tokenName, "Token name")->required();
  s.tokenRevoke->add_option("--reason", p.reason, "Why (kept in the audit log)");
  s.audit =
      app.add_subcommand("audit", "The audit log: who changed what, when and why, newest first");
  s.audit->require_subcommand(0, 1);
  s.audit->add_option("--since", p.audit.since,
                      "Only entries since: a duration (12h) or an RFC 3339 time");
  s.audit->add_option("--actor", p.audit.actor, "Only entries by this actor (exactly)");
  s.audit->add_option("--target", p.audit.target,
                      "Only entries on this target (a run id, a workflow, a token)");
  s.audit->add_option("--limit", p.audit.limit, "At most this many entries (1 to 1000)")
      ->check(CLI::Range(1, 1000))
      ->capture_default_str();
  s.audit->add_flag("--json", p.json, "Print the API's JSON");
  s.auditVerify = s.audit->add_subcommand(
      "verify",
      "Check the audit log's hash chain: finds an entry edited, deleted, inserted or reordered");
  s.auditVerify->add_flag("--json", p.json, "Print the API's JSON");
  s.auditVerify->add_option(
      "--expect", p.auditExpect,
      "A head kept elsewhere, SEQ:HASH: also check that entry SEQ still has HASH");
  return s;
}

int dispatchHttp(const Subcommands& s, const Parsed& p, const Context& ctx) {
  if (int code = dispatchIncidentCommands(s.incidents, p.incidents, ctx); code >= 0) return code;
  if (*s.apply) return applyCommand(ctx, p.applyFiles, p.reason);
  if (*s.run) return runCommand(ctx, p.run);
  if (*s.emit) return emitCommand(ctx, p.emit);
  if (*s.runs) return runsCommand(ctx, p.runs);
  if (*s.show) {
    ShowArgs show = p.show;
    show.runId = p.runId;
    show.json = p.json;
    show.terminal = ::isatty(STDOUT_FILENO) == 1;
    return showCommand(ctx, show);
  }
  if (*s.logs && p.follow) {
    LogsFollowArgs follow;
    follow.runId = p.runId;
    follow.step = p.step;
    follow.attempt = p.attempt;
    return logsFollowCommand(ctx, follow);
  }
  if (*s.logs) return logsCommand(ctx, p.runId, p.step, p.attempt);
  if (*s.cancel && !p.cancelStep.empty() && p.compensate) {
    ctx.err << "keel cancel: --compensate undoes a whole run; it does not go with --step\n";
    return kExitUsage;
  }
  if (*s.cancel && !p.cancelStep.empty())
    return cancelStepCommand(ctx, p.runId, p.cancelStep, p.reason);
  if (*s.cancel)
    return p.compensate ? cancelCompensateCommand(ctx, p.runId, p.reason)
                        : cancelCommand(ctx, p.runId, p.reason);
  if (*s.skip) return skipCommand(ctx, p.runId, p.step, p.reason);
  if (*s.rerun) return rerunCommand(ctx, p.runId, p.rerunFrom, p.reason);
  for (CLI::App* c : {s.pause, s.resume, s.disable, s.enable})
    if (*c) {
      ControlArgs control = p.control;
      control.action = c->get_name();
      return controlCommand(ctx, control);
    }
  if (*s.approve) return approveCommand(ctx, ApproveArgs{p.runId, p.step, p.reject, p.reason});
  if (*s.tasks) return tasksCommand(ctx, p.tasks);
  if (*s.schedules) return schedulesCommand(ctx, p.json);
  if (*s.workflows) return workflowsCommand(ctx, p.json);
  if (*s.subscriptions) return subscriptionsCommand(ctx, p.json);
  if (*s.eventsDead) return eventsDeadCommand(ctx, p.json);
  if (*s.eventsRedeliver) return eventsRedeliverCommand(ctx, p.redeliver);
  if (*s.channels) return channelsCommand(ctx, p.json);
  if (*s.notificationsRedeliver) return notificationsRedeliverCommand(ctx, p.notifications);
  if (*s.notifications) return notificationsCommand(ctx, p.notifications);
  if (*s.tokenCreate) return tokenCreateCommand(ctx, p.tokenName, p.reason);
  if (*s.tokenList) return tokenListCommand(ctx);
  if (*s.tokenRevoke) return tokenRevokeCommand(ctx, p.tokenName, p.reason);
  if (*s.auditVerify) return auditVerifyCommand(ctx, p.json, p.auditExpect);
  if (*s.audit) {
    AuditArgs audit = p.audit;
    audit.json = p.json;
    return auditCommand(ctx, audit);
  }
  return retryCommand(ctx, p.runId, p.reason);
}

int dispatch(const Subcommands& s, const Parsed& p, const Commands& commands, std::ostream& out,
             std::ostream& err) {
  if (*s.serve || *s.bench) {
    const bool serve = s.serve->parsed();
    if (serve ? !commands.serve : !commands.bench) {
      err << "keel: this build cannot " << (serve ? "serve" : "bench") << "\n";
      return kExitFailure;
    }
    if (!serve) return commands.bench(p.bench);
    ServeOptions options = p.serve;
    if (!p.retain.empty()) {
      auto age = parseAge(p.retain);
      if (!age.ok()) {
        err << "keel serve: --retain: " << age.error().message() << '\n';
        return kExitUsage;
      }
      options.retainMs = *age;
    }
    return commands.serve(options);
  }
  if (*s.check) {
    if (!commands.check) {
      err << "keel: this build cannot check a database\n";
      return kExitFailure;
    }
    return commands.check(p.check);
  }
  if (*s.gc) {
    auto age = parseAge(p.olderThan);
    if (!age.ok()) {
      err << "keel gc: --older-than: " << age.error().message() << '\n';
      return kExitUsage;
    }
    if (!commands.gc) {
      err << "keel: this build cannot delete runs\n";
      return kExitFailure;
    }
    GcOptions options = p.gc;
    options.olderThanMs = *age;
    return commands.gc(options);
  }
  if (*s.validate) return validateCommand(Context{out, err, nullptr}, p.validate);
  if (*s.cronNext) {
    CronNextArgs args = p.cronNext;
    args.now = std::chrono::system_clock::now();
    return cronNextCommand(Context{out, err, nullptr}, args);
  }
  auto url = parseServerUrl(p.server);
  if (!url.ok()) {
    err << "keel: " << url.error().message() << '\n';
    return kExitUsage;
  }
  auto sources = credentialSourcesFromEnvironment();
  sources.caFile = p.caFile;
  auto credentials = resolveCredentials(sources);
  if (!credentials.ok()) {
    err << "keel: " << credentials.error().message() << '\n';
    return kExitUsage;
  }
  if (!p.actor.empty()) {
    if (auto bad = checkActorName(p.actor); !bad.ok()) {
      err << "keel: --as: " << bad.error().message() << '\n';
      return kExitUsage;
    }
    credentials->actor = p.actor;
  } else if (const char* user = std::getenv("USER"); user && checkActorName(user).ok()) {
    credentials->actor = user;
  }
  ApiClient api(*url, *credentials);
  return dispatchHttp(s, p, Context{out, err, &api});
}

}  // namespace

int runCli(int argc, char** argv, const Commands& commands, std::ostream& out, std::ostream& err) {
  CLI::App app("keel: durable workflows and job chains", "keel");
  app.require_subcommand(1);
  // Options of `keel` itself (--server) may also follow the command.
  app.fallthrough();
  Parsed parsed;
  app.add_option("--server", parsed.server, "URL of `keel serve`")
      ->envname("KEEL_SERVER")
      ->capture_default_str();
  app.add_option("--ca-file", parsed.caFile, "PEM file of CAs to trust for an https server")
      ->envname("KEEL_CA_FILE");
  app.add_option("--as", parsed.actor,
                 "The person you act for, recorded with every change (default $USER; "
                 "taken only from an admin token)")
      ->envname("KEEL_ACTOR");
  app.set_version_flag("--version", std::string("keel ") + KEEL_VERSION,
                       "Print keel's version and exit");
  Subcommands s{};
  s = defineEngineCommands(app, parsed, s);
  s = defineWorkflowCommands(app, parsed, s);
  s = defineRunCommands(app, parsed, s);
  s = defineTokenCommands(app, parsed, s);
  s.incidents = defineIncidentCommands(app, parsed.incidents);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e, out, err) == 0 ? kExitOk : kExitUsage;
  }
  return dispatch(s, parsed, commands, out, err);
}

int runCli(int argc, char** argv, const Commands& commands) {
  return runCli(argc, argv, commands, std::cout, std::cerr);
}

}  // namespace keel::cli
