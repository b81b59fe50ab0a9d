// Whole commands through runCli(), against the API server backed by a
// scripted engine and canned rows, with the output captured.
#include "cli/cli.h"

#include <algorithm>
#include <filesystem>
#include <sstream>

#include <gtest/gtest.h>

#include "api/server.h"
#include "auth/token.h"
#include "cli/commands.h"
#include "cli/credentials.h"
#include "cli/server_url.h"
#include "engine/task_broker.h"
#include "testing/fake_control.h"
#include "testing/fake_store.h"
#include "testing/temp_dir.h"

namespace keel::cli {
namespace {

using nlohmann::json;

WallTime at(int64_t unixMs) { return fromUnixMillis(unixMs); }
constexpr int64_t kT0 = 1'767'225'600'000;  // 2026-01-01T00:00:00.000Z
constexpr char kOk[] = "01KA0000000000000000000001";
constexpr char kFailed[] = "01KA0000000000000000000002";
constexpr char kToken[] = "keel_cli-test-token";

store::RunDetail runDetail(const std::string& id, RunState state, const std::string& reason) {
  store::RunDetail d;
  d.run.id = id;
  d.run.workflow = "hello";
  d.run.version = 2;
  d.run.state = state;
  d.run.reason = reason;
  d.run.paramsJson = R"({"who":"ops"})";
  d.run.createdAt = at(kT0);
  d.run.startedAt = at(kT0 + 10);
  d.run.finishedAt = at(kT0 + 1510);
  store::StepRow step{
      id,
      "shout",
      isTerminal(state) && state != RunState::kSucceeded ? StepState::kDead : StepState::kSucceeded,
      1,
      "",
      "",
      {},
      "",
      ""};
  d.steps = {step};
  store::AttemptRow attempt{id,
                            "shout",
                            1,
                            AttemptState::kSucceeded,
                            at(kT0 + 10),
                            at(kT0 + 1500),
                            0,
                            std::nullopt,
                            FailureClass::kNone,
                            ""};
  if (step.state == StepState::kDead) {
    attempt.state = AttemptState::kFailed;
    attempt.exitCode = 3;
    attempt.failureClass = FailureClass::kBadInput;
    attempt.message = "unknown region";
  }
  d.attempts = {attempt};
  return d;
}

// The task queues as the API sees them: list() answers `tasks` (filtered
// by queue) and remembers the queue it was asked for.
class ListedTasks : public engine::TaskBroker {
 public:
  Result<std::vector<engine::TaskView>> poll(const engine::PollRequest&) override {
    return Error(ErrorCode::kUnavailable, "not in this test");
  }
  Result<engine::TaskView> heartbeat(const std::string&, const std::string&) override {
    return Error(ErrorCode::kUnavailable, "not in this test");
  }
  std::vector<Status> report(const std::string&, std::vector<engine::TaskReport> reports,
                             std::chrono::milliseconds) override {
    return std::vector<Status>(reports.size(), Error(ErrorCode::kUnavailable, "not in this test"));
  }
  std::vector<engine::TaskView> list(const std::string& queue) const override {
    askedFor = queue;
    std::vector<engine::TaskView> out;
    for (const auto& t : tasks)
      if (queue.empty() || t.queue == queue) out.push_back(t);
    return out;
  }
  std::vector<engine::TaskView> tasks;
  mutable std::string askedFor = "(not asked)";
};

class CliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_.runs = {runDetail(kOk, RunState::kSucceeded, ""),
                   runDetail(kFailed, RunState::kFailed, "step shout is dead")};
    store_.events = {{1, kFailed, at(kT0), "run_created", "", 0, "by api"},
                     {2, kFailed, at(kT0 + 10), "step_started", "shout", 1, ""},
                     {3, kFailed, at(kT0 + 1500), "attempt_failed", "shout", 1, "exit code 3"}};
    store_.logs = {{kFailed, "shout", 1, "HELLO, OPS\n", "oops\n", 11, 5000}};
    store_.tokens = {
        {"tester", auth::tokenHash(kToken), "admin", at(kT0), "keel serve", std::nullopt}};
    ::setenv("KEEL_TOKEN", kToken, 1);
    ::unsetenv("KEEL_TOKEN_FILE");
    api::ServerOptions options;
    options.tasks = &tasks_;
    server_ = std::make_unique<api::Server>(control_, store_, options);
    auto port = server_->start("127.0.0.1", 0);
    ASSERT_TRUE(port.ok());
    url_ = "http://127.0.0.1:" + std::to_string(*port);
  }

  // Runs `keel ARGS... --server URL` and keeps what it printed.
  int keel(std::vector<std::string> args, bool withServer = true) {
    args.insert(args.begin(), "keel");
    if (withServer) {
      args.push_back("--server");
      args.push_back(url_);
    }
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    out_.str("");
    err_.str("");
    return runCli(static_cast<int>(argv.size()), argv.data(), commands_, out_, err_);
  }

  testing::FakeControl control_;
  testing::FakeStore store_;
  ListedTasks tasks_;
  std::unique_ptr<api::Server> server_;
  std::string url_;
  Commands commands_;
  std::ostringstream out_, err_;
};

TEST_F(CliTest, RunsPrintsAnAlignedTable) {
  ASSERT_EQ(keel({"runs"}), 0) << err_.str();
  EXPECT_EQ(out_.str(),
            "ID                          WORKFLOW  VER  STATE      CREATED               DURATION  "
            "PARAMS   REASON\n"
            "01KA0000000000000000000002  hello     2    failed     2026-01-01T00:00:00Z  1.5s      "
            "who=ops  step shout is dead\n"
            "01KA0000000000000000000001  hello     2    succeeded  2026-01-01T00:00:00Z  1.5s      "
            "who=ops\n");
  ASSERT_EQ(keel({"runs", "--state", "failed", "--workflow", "hello", "--limit", "1"}), 0);
  auto filter = store_.lastFilter();
  EXPECT_EQ(filter.workflow, "hello");
  EXPECT_EQ(filter.states, std::vector<RunState>{RunState::kFailed});
  EXPECT_EQ(filter.limit, 2);
  ASSERT_EQ(keel({"runs", "--state", "failed,succeeded", "--limit", "1"}), 0) << err_.str();
  EXPECT_EQ(store_.lastFilter().states,
            (std::vector<RunState>{RunState::kFailed, RunState::kSucceeded}));
  EXPECT_NE(err_.str().find("(more runs: the next page is --cursor 01KA0000000000000000000002)"),
            std::string::npos)
      << err_.str();
  ASSERT_EQ(keel({"runs", "--since", "12h", "--cursor", "01KA0000000000000000000002"}), 0)
      << err_.str();
  EXPECT_TRUE(store_.lastFilter().since.has_value());
  EXPECT_EQ(store_.lastFilter().cursor, "01KA0000000000000000000002");
}

TEST_F(CliTest, RunsJsonIsTheApiAnswer) {
  ASSERT_EQ(keel({"runs", "--json"}), 0);
  auto j = json::parse(out_.str());
  EXPECT_EQ(j["runs"].size(), 2u);
  EXPECT_TRUE(j["next_cursor"].is_null());
}

TEST_F(CliTest, ServerOptionMayComeBeforeTheCommand) {
  ASSERT_EQ(keel({"--server", url_, "runs"}, false), 0) << err_.str();
  EXPECT_NE(out_.str().find(kOk), std::string::npos);
}

TEST_F(CliTest, RunPrintsTheIdFirstAndSendsParams) {
  ASSERT_EQ(
      keel({"run", "hello", "--param", "who=ops", "--param", "n=3", "--idempotency-key", "k1"}), 0)
      << err_.str();
  EXPECT_EQ(out_.str(), "01KAAAAAAAAAAAAAAAAAAAAAAA\n");
  auto triggers = control_.triggers();
  ASSERT_EQ(triggers.size(), 1u);
  EXPECT_EQ(triggers[0].workflow, "hello");
  EXPECT_EQ(triggers[0].params, json({{"who", "ops"}, {"n", "3"}}));
  EXPECT_EQ(triggers[0].idempotencyKey, "k1");
}

TEST_F(CliTest, RunRejectsAMalformedParam) {
  EXPECT_EQ(keel({"run", "hello", "--param", "who"}), kExitUsage);
  EXPECT_NE(err_.str().find("--param must be KEY=VALUE, got 'who'"), std::string::npos)
      << err_.str();
  EXPECT_EQ(keel({"run", "hello", "--param", "a=1", "--param", "a=2"}), kExitUsage);
  EXPECT_TRUE(control_.triggers().empty());
}

// Without --idempotency-key, each `keel run` makes up a key of its own, so
// that it can send its trigger again safely.
TEST_F(CliTest, RunMakesUpAnIdempotencyKeyForEachRun) {
  ASSERT_EQ(keel({"run", "hello"}), 0) << err_.str();
  ASSERT_EQ(keel({"run", "hello"}), 0) << err_.str();
  auto triggers = control_.triggers();
  ASSERT_EQ(triggers.size(), 2u);
  for (const auto& t : triggers) {
    EXPECT_EQ(t.idempotencyKey.rfind("cli-", 0), 0u) << t.idempotencyKey;
    EXPECT_EQ(t.idempotencyKey.size(), 36u) << t.idempotencyKey;
  }
  EXPECT_NE(triggers[0].idempotencyKey, triggers[1].idempotencyKey);
}

// keel answering 503 (stopping, its store unavailable) is tried again with
// the same key; the note is printed once, the final answer's error not at all.
TEST_F(CliTest, RunTriesATransientFailureAgainWithTheSameKey) {
  int calls = 0;
  control_.onTrigger = [this, &calls](const engine::TriggerRequest&) {
    if (++calls == 1)
      return Result<engine::TriggerResult>(Error(ErrorCode::kUnavailable, "keel is stopping"));
    engine::TriggerResult r;
    r.run = store_.runs[0].run;
    r.created = true;
    return Result<engine::TriggerResult>(r);
  };
  ASSERT_EQ(keel({"run", "hello"}), 0) << err_.str();
  auto triggers = control_.triggers();
  ASSERT_EQ(triggers.size(), 2u);
  EXPECT_EQ(triggers[0].idempotencyKey, triggers[1].idempotencyKey);
  EXPECT_EQ(out_.str(), std::string(kOk) + "\n");
  EXPECT_NE(err_.str().find("note: triggering hello: error: keel is stopping; trying again"),
            std::string::npos)
      << err_.str();
}

// With the server gone, keel run tries until its --timeout, then exits
// EX_UNAVAILABLE.
TEST_F(CliTest, RunGivesUpOnAnUnreachableServerAtItsTimeout) {
  server_->stop();
  EXPECT_EQ(keel({"run", "hello", "--timeout", "1s"}), kExitUnreachable);
  EXPECT_NE(err_.str().find("trying again until the --timeout"), std::string::npos) << err_.str();
  EXPECT_NE(err_.str().find("cannot reach keel at "), std::string::npos) << err_.str();
  EXPECT_EQ(keel({"run", "hello", "--timeout", "soon"}), kExitUsage);
}

TEST_F(CliTest, RunWaitExitsByTheFinalState) {
  std::string id = kOk;
  control_.onTrigger = [this, &id](const engine::TriggerRequest&) {
    engine::TriggerResult r;
    r.run = (id == kOk ? store_.runs[0] : store_.runs[1]).run;
    r.created = true;
    return Result<engine::TriggerResult>(r);
  };
  ASSERT_EQ(keel({"run", "hello", "--wait"}), 0) << err_.str();
  auto out = out_.str();
  EXPECT_EQ(out.substr(0, out.find('\n')), kOk);
  EXPECT_NE(out.find("succeeded in 1.5s (hello@2)"), std::string::npos) << out;
  EXPECT_NE(out.find("shout  succeeded  1         1.5s      -"), std::string::npos) << out;
  id = kFailed;
  EXPECT_EQ(keel({"run", "hello", "--wait"}), 1);
  EXPECT_NE(out_.str().find("reason: step shout is dead"), std::string::npos) << out_.str();
  EXPECT_NE(out_.str().find("bad_input"), std::string::npos);
}

TEST_F(CliTest, RunReportsAnExistingRun) {
  control_.onTrigger = [this](const engine::TriggerRequest&) {
    engine::TriggerResult r;
    r.run = store_.runs[0].run;
    r.created = false;
    return Result<engine::TriggerResult>(r);
  };
  ASSERT_EQ(keel({"run", "hello", "--idempotency-key", "k"}), 0);
  EXPECT_EQ(out_.str(), std::string(kOk) + "\n");
  EXPECT_NE(err_.str().find("matched an earlier run"), std::string::npos);
}

TEST_F(CliTest, ShowPrintsHeaderStepsAttemptsAndTimeline) {
  ASSERT_EQ(keel({"show", kFailed}), 0) << err_.str();
  auto out = out_.str();
  EXPECT_NE(out.find("workflow  hello@2"), std::string::npos) << out;
  EXPECT_NE(out.find("state     failed (step shout is dead)"), std::string::npos) << out;
  EXPECT_NE(out.find("params    who=ops"), std::string::npos) << out;
  EXPECT_NE(out.find("duration  1.5s"), std::string::npos) << out;
  EXPECT_NE(out.find("STEP   STATE  ATTEMPTS  DURATION  CLASS\nshout  dead   1         1.5s      "
                     "bad_input\n"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("shout  1  failed  2026-01-01T00:00:00Z  1.5s      exit 3  bad_input  "
                     "unknown region"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("+1.5s   attempt_failed  shout#1  exit code 3"), std::string::npos) << out;
}

TEST_F(CliTest, ShowSaysWhatAWaitingStepWaitsFor) {
  store::RunDetail held = runDetail(kOk, RunState::kRunning, "");
  held.run.finishedAt.reset();
  held.steps[0].state = StepState::kReady;
  held.steps[0].reason = "queued: all 2 step slots are busy";
  held.steps[0].waitKind = "max_parallel";
  held.steps[0].waitReason = "queued: all 2 step slots are busy";
  held.attempts.clear();
  store_.runs = {held};
  ASSERT_EQ(keel({"show", kOk}), 0) << err_.str();
  auto out = out_.str();
  EXPECT_NE(out.find("shout waiting: queued: all 2 step slots are busy\n"), std::string::npos)
      << out;
}

TEST_F(CliTest, ShowAndRunsSayWhatARunWaitingForItsConcurrencyKeyWaitsFor) {
  const std::string why = "concurrency key 'eu' is at its limit of 1, held by run 01X";
  store::RunDetail held = runDetail(kOk, RunState::kRunning, "");
  held.run.finishedAt.reset();
  held.run.waitKind = "concurrency";
  held.run.waitReason = why;
  held.steps[0].state = StepState::kReady;
  held.steps[0].reason = why;
  held.steps[0].waitKind = "concurrency";
  held.steps[0].waitReason = why;
  held.attempts.clear();
  store_.runs = {held};
  ASSERT_EQ(keel({"show", kOk}), 0) << err_.str();
  auto out = out_.str();
  EXPECT_NE(out.find("waiting   " + why + "\n"), std::string::npos) << out;
  EXPECT_NE(out.find("shout waiting: " + why + "\n"), std::string::npos) << out;
  out_.str("");
  ASSERT_EQ(keel({"runs"}), 0) << err_.str();
  EXPECT_NE(out_.str().find("waiting: " + why), std::string::npos) << out_.str();
}

// keel show says who owns the run, its runbook, and for every step that
// has not finished why: a retry with its number and time, a running
// attempt, a step pending on the ones it needs.
TEST_F(CliTest, ShowSaysWhyEachUnfinishedStepIsWhereItIs) {
  store_.workflows.push_back(
      {"hello", 2, "default",
       "name: hello\nowner: { team: data, contact: oncall@example.com }\n"
       "runbook: https://wiki.example.com/hello\nsteps:\n"
       "  - { name: fetch, run: 'true', timeout: 1m, retry: { max_attempts: 5 } }\n"
       "  - { name: shout, run: 'true', timeout: 1m }\n"
       "  - { name: load, run: 'true', timeout: 1m, needs: [fetch, shout] }\n",
       "/w", "fff", at(kT0)});
  store::RunDetail d = runDetail(kOk, RunState::kRunning, "");
  d.run.finishedAt.reset();
  store::StepRow fetch = d.steps[0];
  fetch.name = "fetch";
  fetch.state = StepState::kRetrying;
  fetch.attempts = 2;
  fetch.dueAt = at(kT0 + 60'000);
  d.steps[0].state = StepState::kRunning;  // shout
  store::StepRow load = d.steps[0];
  load.name = "load";
  load.state = StepState::kPending;
  load.attempts = 0;
  d.steps = {fetch, d.steps[0], load};
  store::AttemptRow failed = d.attempts[0];
  failed.step = "fetch";
  failed.state = AttemptState::kFailed;
  failed.failureClass = FailureClass::kTimeout;
  store::AttemptRow again = failed;
  again.n = 2;
  store::AttemptRow running = d.attempts[0];
  running.state = AttemptState::kRunning;
  running.finishedAt.reset();
  d.attempts = {failed, again, running};
  store_.runs = {d};
  ASSERT_EQ(keel({"show", kOk}), 0) << err_.str();
  auto out = out_.str();
  EXPECT_NE(out.find("owner     data <oncall@example.com>\n"), std::string::npos) << out;
  EXPECT_NE(out.find("runbook   https://wiki.example.com/hello\n"), std::string::npos) << out;
  EXPECT_NE(out.find("fetch retry 3 of 5 at 2026-01-01T00:01:00Z after timeout\n"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("shout running: attempt 1 since 2026-01-01T00:00:00Z\n"), std::string::npos)
      << out;
  EXPECT_NE(out.find("load pending: needs fetch, shout\n"), std::string::npos) << out;
}

TEST_F(CliTest, ShowJsonHoldsRunAndEvents) {
  ASSERT_EQ(keel({"show", kFailed, "--json"}), 0);
  auto j = json::parse(out_.str());
  EXPECT_EQ(j["run"]["id"], kFailed);
  EXPECT_EQ(j["events"].size(), 3u);
}

TEST_F(CliTest, LogsPrintsEveryStreamAndNotesTruncation) {
  ASSERT_EQ(keel({"logs", kFailed, "shout"}), 0) << err_.str();
  EXPECT_EQ(out_.str(),
            "==> attempt 1 stdout (11 bytes) <==\n"
            "HELLO, OPS\n"
            "==> attempt 1 stderr (5000 bytes, truncated: head and tail kept) <==\n"
            "oops\n");
  ASSERT_EQ(keel({"logs", kFailed, "shout", "--attempt", "2"}), 0);
  EXPECT_EQ(out_.str(), "");
  EXPECT_NE(err_.str().find("no logs"), std::string::npos);
  EXPECT_EQ(keel({"logs", kFailed, "nope"}), kExitNoInput);
  EXPECT_NE(err_.str().find("error: run '01KA0000000000000000000002' has no step 'nope'"),
            std::string::npos)
      << err_.str();
}

TEST_F(CliTest, PauseAndResumePickARunOrAWorkflowByTheTarget) {
  control_.onRunControl = [](const std::string& action, const std::string& id) {
    store::RunRow row;
    row.id = id;
    row.state = action == "pause" ? RunState::kPaused : RunState::kRunning;
    row.reason = action == "pause" ? "run " + id + " paused by tester: look" : "";
    return Result<store::RunRow>(row);
  };
  ASSERT_EQ(keel({"pause", kOk, "--reason", "look"}), 0) << err_.str();
  EXPECT_EQ(out_.str(),
            std::string("run ") + kOk + ": paused (run " + kOk + " paused by tester: look)\n");
  ASSERT_EQ(keel({"resume", kOk}), 0) << err_.str();
  EXPECT_EQ(out_.str(), std::string("run ") + kOk + ": running\n");
  ASSERT_EQ(keel({"pause", "hello", "--reason", "deploy"}), 0) << err_.str();
  EXPECT_EQ(out_.str().rfind("workflow hello: paused by ", 0), 0u) << out_.str();
  EXPECT_NE(out_.str().find(": deploy\n"), std::string::npos) << out_.str();
  // A workflow named like a run id.
  ASSERT_EQ(keel({"resume", kOk, "--workflow"}), 0) << err_.str();
  EXPECT_EQ(out_.str(), std::string("workflow ") + kOk + ": not paused\n");
  ASSERT_EQ(keel({"disable", "hello"}), 0) << err_.str();
  EXPECT_EQ(out_.str().rfind("workflow hello: disabled by ", 0), 0u) << out_.str();
  ASSERT_EQ(keel({"enable", "hello"}), 0) << err_.str();
  EXPECT_EQ(out_.str(), "workflow hello: enabled\n");
  EXPECT_EQ(control_.controls(),
            (std::vector<std::string>{std::string("pause ") + kOk, std::string("resume ") + kOk,
                                      "pause hello", std::string("resume ") + kOk, "disable hello",
                                      "enable hello"}));
  EXPECT_EQ(control_.callers()[0].reason, "look");
  EXPECT_EQ(keel({"pause", "hello", "--run", "--workflow"}), kExitUsage);
  control_.onWorkflowControl = [](const std::string&, const std::string& name) {
    return Result<engine::WorkflowControlResult>(
        Error(ErrorCode::kNotFound, "no workflow named '" + name + "'"));
  };
  EXPECT_EQ(keel({"pause", "nope"}), kExitNoInput);
}

TEST_F(CliTest, CancelAndRetryPrintTheNewState) {
  control_.onCancel = [](const std::string& id) {
    store::RunRow row;
    row.id = id;
    row.state = RunState::kCancelled;
    row.reason = "cancelled";  // what the engine writes
    return Result<store::RunRow>(row);
  };
  ASSERT_EQ(keel({"cancel", kOk}), 0);
  EXPECT_EQ(out_.str(), std::string("run ") + kOk + ": cancelled\n");
  control_.onCancel = [](const std::string& id) {
    store::RunRow row;
    row.id = id;
    row.state = RunState::kRunning;
    row.reason = "cancel requested";
    return Result<store::RunRow>(row);
  };
  ASSERT_EQ(keel({"cancel", kOk}), 0);
  EXPECT_EQ(out_.str(), std::string("run ") + kOk + ": running (cancel requested)\n");
  control_.onRetry = [](const std::string&) {
    return Result<store::RunRow>(Error(ErrorCode::kConflict, "run is still running"));
  };
  EXPECT_EQ(keel({"retry", kOk}), kExitDataErr);
  EXPECT_EQ(err_.str(), "error: run is still running\n");
}

TEST_F(CliTest, SkipRerunAndCancelStepPostToTheirRoutesWithTheReason) {
  control_.onStepAction = [](const std::string&, const std::string& id, const std::string&) {
    store::RunRow row;
    row.id = id;
    row.state = RunState::kRunning;
    return Result<store::RunRow>(row);
  };
  ASSERT_EQ(keel({"skip", kOk, "shout", "--reason", "bad input file"}), 0) << err_.str();
  EXPECT_EQ(out_.str(), std::string("step shout skipped; run ") + kOk + ": running\n");
  ASSERT_EQ(keel({"rerun", kOk, "--from", "shout"}), 0) << err_.str();
  EXPECT_EQ(out_.str(), std::string("re-running from step shout; run ") + kOk + ": running\n");
  ASSERT_EQ(keel({"cancel", kOk, "--step", "greet", "--reason", "stuck"}), 0) << err_.str();
  EXPECT_EQ(control_.stepActions(),
            (std::vector<std::string>{std::string("skip ") + kOk + " shout",
                                      std::string("rerun ") + kOk + " shout",
                                      std::string("cancel_step ") + kOk + " greet"}));
  EXPECT_TRUE(control_.cancels().empty()) << "cancel --step cancelled the whole run";
  auto callers = control_.callers();
  ASSERT_EQ(callers.size(), 3u);
  EXPECT_EQ(callers[0].reason, "bad input file");
  EXPECT_EQ(callers[1].reason, "");
  EXPECT_EQ(callers[2].reason, "stuck");

  EXPECT_EQ(keel({"skip", kOk, "shout"}), kExitUsage) << "skip needs a --reason";
  EXPECT_EQ(keel({"rerun", kOk}), kExitUsage) << "rerun needs --from";
  control_.onStepAction = [](const std::string&, const std::string&, const std::string&) {
    return Result<store::RunRow>(
        Error(ErrorCode::kConflict, "step 'greet' is running; cancel it first"));
  };
  EXPECT_EQ(keel({"skip", kOk, "greet", "--reason", "x"}), kExitDataErr);
  EXPECT_EQ(err_.str(), "error: step 'greet' is running; cancel it first\n");
}

TEST_F(CliTest, CancelCompensateAsksForCompensation) {
  control_.onCancel = [](const std::string& id) {
    store::RunRow row;
    row.id = id;
    row.state = RunState::kRunning;
    row.reason = "compensating";
    row.compensation = "running";
    return Result<store::RunRow>(row);
  };
  ASSERT_EQ(keel({"cancel", kOk, "--compensate", "--reason", "order withdrawn"}), 0);
  EXPECT_EQ(out_.str(), std::string("run ") + kOk + ": running (compensating)\n");
  EXPECT_EQ(control_.compensatedCancels(), std::vector<std::string>{kOk});
  EXPECT_EQ(control_.callers().back().reason, "order withdrawn");
  ASSERT_EQ(keel({"cancel", kOk}), 0);
  EXPECT_EQ(control_.compensatedCancels().size(), 1u);
}

TEST_F(CliTest, ServerErrorsPrintMessageAndDetails) {
  EXPECT_EQ(keel({"show", "01KA0000000000000000000009"}), kExitNoInput);
  EXPECT_EQ(err_.str(), "error: no run '01KA0000000000000000000009'\n");
  EXPECT_EQ(keel({"runs", "--state", "exploded"}), kExitDataErr);
  EXPECT_NE(err_.str().find("error: 'state': unknown run state 'exploded'"), std::string::npos);
}

TEST_F(CliTest, ApplySendsTheAbsolutePathAndPrintsTheOutcome) {
  testing::TempDir dir;
  testing::writeFile(dir.file("hello.yaml"), "name: hello\n");
  bool changed = true;
  control_.onApply = [&changed](const std::string&, const std::string& source) {
    engine::ApplyResult r;
    r.workflow.name = "hello";
    r.workflow.version = 4;
    r.changed = changed;
    r.warnings = {source + ": step a: retry policy defaulted"};
    return Result<engine::ApplyResult>(r);
  };
  ASSERT_EQ(keel({"apply", dir.file("hello.yaml")}), 0) << err_.str();
  EXPECT_EQ(out_.str(), "applied hello version 4\n");
  EXPECT_EQ(err_.str(),
            "warning: " + dir.file("hello.yaml") + ": step a: retry policy defaulted\n");
  ASSERT_EQ(control_.applies().size(), 1u);
  EXPECT_EQ(control_.applies()[0].first, "name: hello\n");
  EXPECT_EQ(control_.applies()[0].second, dir.file("hello.yaml"));
  changed = false;
  ASSERT_EQ(keel({"apply", dir.file("hello.yaml")}), 0);
  EXPECT_EQ(out_.str(), "unchanged hello version 4\n");
}

TEST_F(CliTest, ApplyValidationErrorsExitDataErrWithDetails) {
  testing::TempDir dir;
  testing::writeFile(dir.file("bad.yaml"), "name: bad\n");
  control_.onApply = [](const std::string&, const std::string& source) {
    return Result<engine::ApplyResult>(Error(ErrorCode::kInvalidArgument, "workflow is invalid",
                                             {source + ":1:1: missing 'owner'"}));
  };
  EXPECT_EQ(keel({"apply", dir.file("bad.yaml"), dir.file("missing.yaml")}), kExitNoInput);
  EXPECT_NE(err_.str().find("error: workflow is invalid\n  " + dir.file("bad.yaml") +
                            ":1:1: missing 'owner'\n"),
            std::string::npos)
      << err_.str();
  EXPECT_NE(err_.str().find("cannot read " + dir.file("missing.yaml")), std::string::npos);
}

TEST_F(CliTest, AnUnreachableServerExitsUnavailable) {
  server_->stop();
  EXPECT_EQ(keel({"runs"}), kExitUnreachable);
  EXPECT_NE(err_.str().find("cannot reach keel at " + url_ + ": "), std::string::npos)
      << err_.str();
  EXPECT_NE(err_.str().find("is `keel serve` running?"), std::string::npos);
}

TEST_F(CliTest, UsageErrorsExitUsage) {
  EXPECT_EQ(keel({}, false), kExitUsage);
  EXPECT_EQ(keel({"frobnicate"}), kExitUsage);
  EXPECT_EQ(keel({"show"}), kExitUsage);
  EXPECT_EQ(keel({"runs", "--server", "gopher://keel"}, false), kExitUsage);
  EXPECT_NE(err_.str().find("http or https"), std::string::npos);
  EXPECT_EQ(keel({"--help"}, false), 0);
  EXPECT_NE(out_.str().find("validate"), std::string::npos);
}

TEST_F(CliTest, ServeAndBenchAreHandedToTheCompositionRoot) {
  ServeOptions seen;
  commands_.serve = [&seen](const ServeOptions& o) {
    seen = o;
    return 7;
  };
  EXPECT_EQ(keel({"serve", "--db", "/tmp/x.db", "--listen", "0.0.0.0:9000", "--workflows", "wf",
                  "--max-parallel", "4", "--log-level", "debug"},
                 false),
            7);
  EXPECT_EQ(seen.db, "/tmp/x.db");
  EXPECT_EQ(seen.listen, "0.0.0.0:9000");
  EXPECT_EQ(seen.workflowsDir, "wf");
  EXPECT_EQ(seen.maxParallelSteps, 4);
  EXPECT_EQ(seen.logLevel, "debug");
  BenchOptions bench;
  commands_.bench = [&bench](const BenchOptions& o) {
    bench = o;
    return 0;
  };
  EXPECT_EQ(keel({"bench", "--workload", "W2", "--runs", "10"}, false), 0);
  EXPECT_EQ(bench.workload, "W2");
  EXPECT_EQ(bench.runs, 10);
  for (const char* w : {"W1", "W3", "W3K", "L1", "S1"}) {
    EXPECT_EQ(keel({"bench", "--workload", w}, false), 0) << w;
    EXPECT_EQ(bench.workload, w);
  }
  EXPECT_EQ(keel({"bench", "--workload", "W9"}, false), kExitUsage);
}

TEST_F(CliTest, ServeInitIsOffUnlessAsked) {
  ServeOptions seen;
  commands_.serve = [&seen](const ServeOptions& o) {
    seen = o;
    return 0;
  };
  ASSERT_EQ(keel({"serve", "--db", "/tmp/x.db"}, false), 0);
  EXPECT_FALSE(seen.init);
  ASSERT_EQ(keel({"serve", "--db", "/tmp/x.db", "--init"}, false), 0);
  EXPECT_TRUE(seen.init);
}

TEST_F(CliTest, ServeRetainIsOffUnlessGivenAnAge) {
  ServeOptions seen;
  int calls = 0;
  commands_.serve = [&](const ServeOptions& o) {
    seen = o;
    ++calls;
    return 0;
  };
  ASSERT_EQ(keel({"serve", "--db", "/tmp/x.db"}, false), 0);
  EXPECT_EQ(seen.retainMs, 0);
  ASSERT_EQ(keel({"serve", "--db", "/tmp/x.db", "--retain", "30d"}, false), 0);
  EXPECT_EQ(seen.retainMs, 30LL * 24 * 3600 * 1000);
  EXPECT_EQ(keel({"serve", "--db", "/tmp/x.db", "--retain", "30 days"}, false), kExitUsage);
  EXPECT_NE(err_.str().find("keel serve: --retain: '30 days' is not an age"), std::string::npos)
      << err_.str();
  EXPECT_EQ(calls, 2);
}

constexpr char kValidWorkflow[] = R"(name: hello
owner: { team: qa, contact: qa@example.com }
runbook: https://wiki.example.com/rb
steps:
  - { name: a, run: "echo hi", timeout: 1m }
  - { name: b, noop: true, needs: [a] }
)";

TEST_F(CliTest, ValidateChecksFilesOffline) {
  testing::TempDir dir;
  testing::writeFile(dir.file("good.yaml"), kValidWorkflow);
  testing::writeFile(dir.file("bad.yaml"), "name: bad\nsteps: []\nowner: 3\n");
  ASSERT_EQ(keel({"validate", dir.file("good.yaml")}, false), 0) << out_.str();
  EXPECT_EQ(out_.str(), dir.file("good.yaml") + ": ok (workflow hello, 2 steps)\n");
  EXPECT_EQ(keel({"validate", dir.file("good.yaml"), dir.file("bad.yaml")}, false), kExitDataErr);
  EXPECT_NE(out_.str().find(dir.file("bad.yaml") + ":"), std::string::npos) << out_.str();
  EXPECT_EQ(keel({"validate", dir.file("none.yaml")}, false), kExitNoInput);
  EXPECT_NE(out_.str().find(dir.file("none.yaml") + ": cannot read"), std::string::npos)
      << out_.str();
  ASSERT_EQ(keel({"validate", "--explain", dir.file("good.yaml")}, false), 0);
  EXPECT_GT(out_.str().size(), (dir.file("good.yaml") + ": ok (workflow hello, 2 steps)\n").size());
}

TEST_F(CliTest, CronNextPrintsFireTimesOffline) {
  // 30 2 in Paris on 2026-03-29 falls in the spring-forward gap: 03:00 CEST.
  ASSERT_EQ(keel({"cron", "next", "30 2 * * *", "--tz", "Europe/Paris", "--from",
                  "2026-03-27T12:00:00Z", "--count", "3"},
                 false),
            0)
      << err_.str();
  EXPECT_EQ(out_.str(), "2026-03-28T01:30:00Z\n2026-03-29T01:00:00Z\n2026-03-30T00:30:00Z\n");
  EXPECT_EQ(err_.str(), "");
  // UTC and five times by default; the fields may come unquoted; --from with
  // an offset and a fraction.
  ASSERT_EQ(keel({"cron", "next", "0", "5", "*", "*", "*", "--from", "2026-01-01T06:30:00.5+01:00"},
                 false),
            0)
      << err_.str();
  EXPECT_EQ(out_.str(),
            "2026-01-02T05:00:00Z\n2026-01-03T05:00:00Z\n2026-01-04T05:00:00Z\n"
            "2026-01-05T05:00:00Z\n2026-01-06T05:00:00Z\n");
  ASSERT_EQ(
      keel({"cron", "next", "@weekly", "--from", "2026-01-01t00:00:00z", "--count", "1"}, false),
      0);
  EXPECT_EQ(out_.str(), "2026-01-04T00:00:00Z\n");
  // Without --from: from now, five lines.
  ASSERT_EQ(keel({"cron", "next", "*/10 * * * *"}, false), 0);
  const std::string printed = out_.str();
  EXPECT_EQ(std::count(printed.begin(), printed.end(), '\n'), 5) << printed;
}

TEST_F(CliTest, CronNextRefusesBadInputWithItsExitCode) {
  EXPECT_EQ(keel({"cron", "next", "0 25 * * *"}, false), kExitDataErr);
  EXPECT_EQ(out_.str(), "");
  EXPECT_EQ(err_.str(), "keel cron next: \"0 25 * * *\": hour: 25 is out of range 0-23\n");
  EXPECT_EQ(keel({"cron", "next", "0 5 * * *", "--tz", "Mars/Olympus"}, false), kExitUsage);
  EXPECT_EQ(err_.str(),
            "keel cron next: --tz: unknown time zone \"Mars/Olympus\" (use an IANA name such "
            "as Europe/Paris)\n");
  EXPECT_EQ(keel({"cron", "next", "0 5 * * *", "--from", "yesterday"}, false), kExitUsage);
  EXPECT_EQ(err_.str(),
            "keel cron next: --from: 'yesterday' is not an RFC 3339 time such as "
            "2026-03-29T00:00:00Z\n");
  EXPECT_EQ(keel({"cron", "next", "0 5 * * *", "--from", "9999-01-01T00:00:00.000Z"}, false),
            kExitUsage);
  EXPECT_EQ(keel({"cron", "next", "0 5 * * *", "--count", "0"}, false), kExitUsage);
  EXPECT_EQ(keel({"cron", "next"}, false), kExitUsage);
  // Valid but never firing: nothing printed, and why on stderr.
  ASSERT_EQ(keel({"cron", "next", "0 0 30 2 *", "--from", "2026-01-01T00:00:00.000Z"}, false), 0);
  EXPECT_EQ(out_.str(), "");
  EXPECT_EQ(err_.str(),
            "keel cron next: \"0 0 30 2 *\" fires 0 times in the 100 years after "
            "2026-01-01T00:00:00Z (the search stops there)\n");
}

TEST_F(CliTest, ValidateExplainsHttpAndTaskSteps) {
  testing::TempDir dir;
  testing::writeFile(dir.file("web.yaml"), R"(name: web
owner: { team: qa, contact: qa@example.com }
runbook: https://wiki.example.com/rb
steps:
  - { name: call, http: { method: GET, url: "http://127.0.0.1:1/x" }, timeout: 1m }
  - name: work
    needs: [call]
    task: { queue: reports, input: { day: "{{ params.day }}" } }
    timeout: 1m
    heartbeat: 10s
params:
  day: { default: "2026-01-01" }
)");
  ASSERT_EQ(keel({"validate", dir.file("web.yaml")}, false), 0) << out_.str() << err_.str();
  ASSERT_EQ(keel({"validate", "--explain", dir.file("web.yaml")}, false), 0) << out_.str();
  EXPECT_NE(out_.str().find("        GET http://127.0.0.1:1/x\n"), std::string::npos) << out_.str();
  EXPECT_NE(out_.str().find("429 -> rate_limited"), std::string::npos) << out_.str();
  EXPECT_NE(out_.str().find("task: queue reports"), std::string::npos) << out_.str();
  EXPECT_NE(
      out_.str().find(
          R"(input (each {{ ... }} is filled in per run as a JSON value): {"day":"{{ params.day }}"})"),
      std::string::npos)
      << out_.str();
  EXPECT_NE(out_.str().find("lease: 10s (heartbeat); idempotency_key: <run id>/work"),
            std::string::npos)
      << out_.str();
}

TEST_F(CliTest, ValidateRefusesATaskWithoutAQueue) {
  testing::TempDir dir;
  testing::writeFile(dir.file("t.yaml"), R"(name: t
owner: { team: qa, contact: qa@example.com }
runbook: https://wiki.example.com/rb
steps:
  - { name: work, task: { input: { a: 1 } }, timeout: 1m }
)");
  EXPECT_EQ(keel({"validate", dir.file("t.yaml")}, false), kExitDataErr) << out_.str();
  EXPECT_NE(out_.str().find(dir.file("t.yaml") + ":5:"), std::string::npos) << out_.str();
  EXPECT_NE(out_.str().find("task: `queue` is required"), std::string::npos) << out_.str();
}

TEST_F(CliTest, SchedulesListsCronTriggersAsATable) {
  store_.workflows.push_back(
      {"nightly", 1, "default",
       "name: nightly\nowner: { team: t }\nrunbook: https://wiki.example.com/rb\n"
       "triggers:\n"
       "  - { cron: \"30 2 * * *\", timezone: Europe/Paris }\n"
       "steps:\n  - { name: a, noop: true }\n",
       "/w", "ddd", at(kT0)});
  store_.scheduleStates = {{"nightly", 0, WallTime(std::chrono::seconds(1'795'829'400)), kOk,
                            "skipped: previous run " + std::string(kFailed) + " still running"}};
  ASSERT_EQ(keel({"schedules"}), 0) << err_.str();
  const std::string out = out_.str();
  EXPECT_EQ(out.substr(0, out.find("NEXT")), "WORKFLOW  TRIGGER  CRON        TIMEZONE      ")
      << out;
  EXPECT_NE(out.find("nightly   1        30 2 * * *  Europe/Paris  "), std::string::npos) << out;
  EXPECT_NE(out.find("2026-11-28T01:30:00Z  " + std::string(kOk) + "  skipped: previous run " +
                     kFailed + " still running\n"),
            std::string::npos)
      << out;
  ASSERT_EQ(keel({"schedules", "--json"}), 0) << err_.str();
  auto j = json::parse(out_.str());
  ASSERT_EQ(j["schedules"].size(), 1u);
  EXPECT_EQ(j["schedules"][0]["next"].size(), 5u);
}

TEST_F(CliTest, WorkflowsListsOwnerLastRunAndLastSuccess) {
  store_.workflows.push_back(
      {"hello", 2, "supply",
       "name: hello\nnamespace: supply\nowner: { team: data, contact: oncall@example.com }\n"
       "runbook: https://wiki.example.com/hello\nsteps:\n  - { name: a, noop: true }\n",
       "/w", "eee", at(kT0)});
  ASSERT_EQ(keel({"workflows"}), 0) << err_.str();
  EXPECT_EQ(out_.str(),
            "NAME   VER  NAMESPACE  OWNER                      LAST RUN              STATE   "
            "LAST SUCCESS          PAUSED  DISABLED  RUNBOOK\n"
            "hello  2    supply     data <oncall@example.com>  2026-01-01T00:00:00Z  failed  "
            "2026-01-01T00:00:01Z  -       -         https://wiki.example.com/hello\n");
  ASSERT_EQ(keel({"workflows", "--json"}), 0) << err_.str();
  auto j = json::parse(out_.str());
  EXPECT_EQ(j["workflows"][0]["last_run"]["id"], kFailed);
}

TEST_F(CliTest, VersionPrintsTheProjectVersion) {
  ASSERT_EQ(keel({"--version"}, false), 0) << err_.str();
  EXPECT_EQ(out_.str(), std::string("keel ") + KEEL_VERSION_FOR_TESTS + "\n");
}

TEST_F(CliTest, TasksListsQueuedAndLeasedTasksWithTheirLease) {
  engine::TaskView queued;
  queued.id = std::string(kOk) + ".feed.1";
  queued.queue = "planning.feed";
  queued.runId = kOk;
  queued.workflow = "hello";
  queued.step = "feed";
  queued.queuedAt = at(kT0);
  engine::TaskView leased = queued;
  leased.id = std::string(kFailed) + ".feed.2";
  leased.runId = kFailed;
  leased.attempt = 2;
  leased.leased = true;
  leased.worker = "host-1:4242";
  // An hour from now, whatever the clock of the machine running the test.
  leased.leaseExpiresAt = std::chrono::system_clock::now() + std::chrono::hours(1);
  engine::TaskView other = queued;
  other.id = std::string(kOk) + ".mail.1";
  other.queue = "mail";
  other.step = "mail";
  tasks_.tasks = {queued, leased, other};

  ASSERT_EQ(keel({"tasks", "--queue", "planning.feed"}), 0) << err_.str();
  EXPECT_EQ(tasks_.askedFor, "planning.feed");
  const std::string out = out_.str();
  EXPECT_EQ(out.substr(0, out.find('\n') + 1),
            "ID                                 QUEUE          WORKFLOW  STEP  ATTEMPT  STATE   "
            "WORKER       LEASE\n");
  EXPECT_NE(out.find("01KA0000000000000000000001.feed.1  planning.feed  hello     feed  1        "
                     "queued  -            -\n"),
            std::string::npos)
      << out;
  const std::string leasedRow =
      "01KA0000000000000000000002.feed.2  planning.feed  hello     feed  2        leased  "
      "host-1:4242  expires in ";
  ASSERT_NE(out.find(leasedRow), std::string::npos) << out;
  // 3600s, or a second less if the clock ticked over between the two reads.
  const std::string lease = out.substr(out.find(leasedRow) + leasedRow.size());
  EXPECT_TRUE(lease == "3600s\n" || lease == "3599s\n") << lease;
  EXPECT_EQ(out.find("mail"), std::string::npos) << out;

  ASSERT_EQ(keel({"tasks", "--json"}), 0) << err_.str();
  EXPECT_EQ(tasks_.askedFor, "");
  auto j = json::parse(out_.str());
  ASSERT_EQ(j["tasks"].size(), 3u);
  EXPECT_EQ(j["tasks"][1]["worker"], "host-1:4242");

  tasks_.tasks.clear();
  ASSERT_EQ(keel({"tasks", "--queue", "mail"}), 0) << err_.str();
  EXPECT_EQ(err_.str(), "(no tasks in queue mail)\n");
  EXPECT_EQ(keel({"tasks", "--queue", "bad queue"}), kExitDataErr);  // the server refuses the name
}

TEST_F(CliTest, TokensAreCreatedListedAndRevoked) {
  ASSERT_EQ(keel({"token", "create", "ci-deploy"}), 0) << err_.str();
  std::string secret = out_.str();
  ASSERT_EQ(secret.rfind("keel_", 0), 0u) << secret;
  ASSERT_EQ(secret.back(), '\n');
  EXPECT_EQ(secret.find('\n'), secret.size() - 1) << "only the secret goes to stdout";
  EXPECT_NE(err_.str().find("only time"), std::string::npos);
  ASSERT_EQ(keel({"token", "list"}), 0) << err_.str();
  EXPECT_NE(out_.str().find("ci-deploy  admin"), std::string::npos) << out_.str();
  EXPECT_EQ(out_.str().find(secret.substr(0, secret.size() - 1)), std::string::npos);
  ASSERT_EQ(keel({"token", "revoke", "ci-deploy"}), 0) << err_.str();
  EXPECT_EQ(out_.str(), "token ci-deploy: revoked\n");
  EXPECT_EQ(keel({"token", "create", "Bad Name"}), kExitDataErr);
  EXPECT_EQ(keel({"token"}), kExitUsage);
}

TEST_F(CliTest, WithoutATokenTheServerRefusesAndTheCliSaysWhatToSet) {
  ::unsetenv("KEEL_TOKEN");
  testing::TempDir cwd;  // no keel.db.token here
  auto old = std::filesystem::current_path();
  std::filesystem::current_path(cwd.path());
  int code = keel({"runs"});
  std::filesystem::current_path(old);
  EXPECT_EQ(code, kExitNoPerm);
  EXPECT_NE(err_.str().find("KEEL_TOKEN"), std::string::npos) << err_.str();
}

class EventsCliTest : public CliTest {
 protected:
  void SetUp() override {
    store_.subscriptions = {
        {"to-billing", 2, "orders.done", "https://billing.example.com/hook", "", "", at(kT0), 0}};
    auto row = [](std::string id, int status, std::string error) {
      store::WebhookDeliveryRow d;
      d.subscription = "to-billing";
      d.eventId = std::move(id);
      d.topic = "orders.done";
      d.state = "dead";
      d.attempts = 5;
      d.lastStatus = status;
      d.lastError = std::move(error);
      d.updatedAt = at(kT0 + 5000);
      return d;
    };
    store_.deliveries = {row("ev-2", 503, ""), row("ev-1", 0, "connection refused")};
    CliTest::SetUp();
  }
};

TEST_F(EventsCliTest, SubscriptionsPrintsATable) {
  ASSERT_EQ(keel({"subscriptions"}), 0) << err_.str();
  EXPECT_EQ(out_.str(),
            "NAME        VER  TOPIC        URL                               CREATED\n"
            "to-billing  2    orders.done  https://billing.example.com/hook  "
            "2026-01-01T00:00:00Z\n");
  ASSERT_EQ(keel({"subscriptions", "--json"}), 0) << err_.str();
  EXPECT_EQ(json::parse(out_.str())["subscriptions"][0]["version"], 2);
  store_.subscriptions.clear();
  ASSERT_EQ(keel({"subscriptions"}), 0) << err_.str();
  EXPECT_EQ(err_.str(), "(no subscriptions)\n");
}

TEST_F(EventsCliTest, EventsDeadShowsTheStatusOrTheError) {
  ASSERT_EQ(keel({"events", "dead"}), 0) << err_.str();
  EXPECT_EQ(out_.str(),
            "SUBSCRIPTION  EVENT  TOPIC        ATTEMPTS  LAST                WHEN\n"
            "to-billing    ev-2   orders.done  5         503                 "
            "2026-01-01T00:00:05Z\n"
            "to-billing    ev-1   orders.done  5         connection refused  "
            "2026-01-01T00:00:05Z\n");
  ASSERT_EQ(keel({"events", "dead", "--json"}), 0) << err_.str();
  EXPECT_EQ(json::parse(out_.str())["dead"].size(), 2u);
}

TEST_F(EventsCliTest, EventsRedeliverByIdOrTopic) {
  ASSERT_EQ(keel({"events", "redeliver", "ev-1"}), 0) << err_.str();
  EXPECT_EQ(out_.str(), "1 redelivered\n");
  EXPECT_EQ(store_.deliveries[1].state, "pending");
  EXPECT_EQ(store_.deliveries[0].state, "dead");
  ASSERT_EQ(keel({"events", "redeliver", "--topic", "orders.done"}), 0) << err_.str();
  EXPECT_EQ(out_.str(), "1 redelivered\n");
  EXPECT_EQ(store_.deliveries[0].state, "pending");
  // Nothing dead left: 404, the exit code of "no such thing".
  EXPECT_EQ(keel({"events", "redeliver", "ev-1"}), kExitNoInput);
  EXPECT_NE(err_.str().find("ev-1"), std::string::npos) << err_.str();
}

TEST_F(EventsCliTest, EventsRedeliverNeedsExactlyOneOfIdAndTopic) {
  EXPECT_EQ(keel({"events", "redeliver"}), kExitUsage);
  EXPECT_NE(err_.str().find("either an EVENT_ID or --topic"), std::string::npos) << err_.str();
  EXPECT_EQ(keel({"events", "redeliver", "ev-1", "--topic", "orders.done"}), kExitUsage);
  EXPECT_EQ(store_.deliveries[1].state, "dead");
  EXPECT_EQ(keel({"events"}), kExitUsage);
}

TEST(Credentials, EnvironmentThenTokenFileThenTheDefaultFile) {
  testing::TempDir dir;
  testing::writeFile(dir.file("named"), "keel_from-file\n");
  testing::writeFile(dir.file("default"), "  keel_from-default  \n");
  testing::writeFile(dir.file("empty"), "\n");
  CredentialSources s;
  s.defaultTokenFile = dir.file("default");
  s.envToken = "keel_from-env";
  s.envTokenFile = dir.file("named");
  EXPECT_EQ(resolveCredentials(s)->token, "keel_from-env");
  s.envToken = "";
  EXPECT_EQ(resolveCredentials(s)->token, "keel_from-file");
  s.envTokenFile = "";
  EXPECT_EQ(resolveCredentials(s)->token, "keel_from-default");
  s.defaultTokenFile = dir.file("absent");
  EXPECT_EQ(resolveCredentials(s)->token, "");
  s.envTokenFile = dir.file("absent");
  auto missing = resolveCredentials(s);
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message().find("KEEL_TOKEN_FILE"), std::string::npos);
  s.envTokenFile = dir.file("empty");
  EXPECT_FALSE(resolveCredentials(s).ok());
}

TEST(ServerUrlTls, HttpsIsAcceptedWithItsDefaultPort) {
  auto url = parseServerUrl("https://keel.example.com/base/");
  ASSERT_TRUE(url.ok());
  EXPECT_TRUE(url->tls);
  EXPECT_EQ(url->port, 443);
  EXPECT_EQ(url->toString(), "https://keel.example.com:443/base");
  EXPECT_FALSE(parseServerUrl("ftp://x").ok());
}

TEST_F(CliTest, ApprovePrintsWhoDecidedAndARejectionNeedsAReason) {
  control_.onDecideApproval = [this](const std::string& id, const std::string& step,
                                     bool approve) -> Result<store::RunRow> {
    for (auto& d : store_.runs) {
      if (d.run.id != id) continue;
      store::StepRow s;
      s.runId = id;
      s.name = step;
      if (approve) {
        s.state = StepState::kSucceeded;
        s.outputJson = R"j({"approved":true,"by":"alice (token tester)","reason":"ok","at":"x"})j";
      } else {
        s.state = StepState::kDead;
        s.reason = "rejected by alice (token tester): numbers are off";
      }
      d.steps.push_back(s);
      return d.run;
    }
    return Error(ErrorCode::kNotFound, "no run '" + id + "'");
  };
  ASSERT_EQ(keel({"approve", kOk, "go-live", "--reason", "ok"}), 0) << err_.str();
  EXPECT_EQ(out_.str(), "go-live approved by alice (token tester)\n");
  ASSERT_EQ(keel({"approve", kFailed, "go-live", "--reject", "--reason", "numbers are off"}), 0)
      << err_.str();
  EXPECT_EQ(out_.str(), "go-live rejected by alice (token tester): numbers are off\n");
  EXPECT_EQ(keel({"approve", kOk, "go-live", "--reject"}), kExitUsage);
  EXPECT_NE(err_.str().find("--reject needs --reason"), std::string::npos);
  EXPECT_EQ(control_.decisions().size(), 2u) << "a refused command reached the server";
  control_.onDecideApproval = [](const std::string&, const std::string&, bool) {
    return Result<store::RunRow>(
        Error(ErrorCode::kConflict, "step 'go-live' was already approved by alice"));
  };
  EXPECT_EQ(keel({"approve", kOk, "go-live"}), kExitDataErr);
  EXPECT_EQ(err_.str(), "error: step 'go-live' was already approved by alice\n");
}

}  // namespace
}  // namespace keel::cli

namespace keel::cli {
namespace {

TEST_F(CliTest, AuditListsTheLogAndSendsItsFilters) {
  ASSERT_EQ(keel({"--as", "alice", "token", "create", "ci", "--reason", "new pipeline"}), 0)
      << err_.str();
  ASSERT_EQ(keel({"--as", "alice", "token", "revoke", "ci", "--reason", "pipeline gone"}), 0)
      << err_.str();
  ASSERT_EQ(keel({"audit"}), 0) << err_.str();
  const std::string table = out_.str();
  EXPECT_NE(table.find("SEQ"), std::string::npos) << table;
  EXPECT_NE(table.find("token.revoke"), std::string::npos) << table;
  EXPECT_NE(table.find("pipeline gone"), std::string::npos) << table;
  EXPECT_LT(table.find("token.revoke"), table.find("token.create")) << "newest first\n" << table;
  ASSERT_EQ(keel({"audit", "--target", "nope"}), 0) << err_.str();
  EXPECT_NE(err_.str().find("(no audit entries)"), std::string::npos) << err_.str();
  ASSERT_EQ(keel({"audit", "--actor", "alice (token tester)", "--limit", "1", "--json"}), 0)
      << err_.str();
  auto page = nlohmann::json::parse(out_.str());
  ASSERT_EQ(page["entries"].size(), 1u);
  EXPECT_EQ(page["entries"][0]["seq"], 2);
  EXPECT_EQ(page["next_cursor"], "2");
  EXPECT_EQ(keel({"audit", "--since", "whenever"}), kExitDataErr);
  EXPECT_EQ(keel({"audit", "--limit", "0"}), kExitUsage);
}

TEST_F(CliTest, AuditVerifySaysIntactOrWhereTheChainBreaks) {
  ASSERT_EQ(keel({"token", "create", "ci"}), 0) << err_.str();
  ASSERT_EQ(keel({"token", "revoke", "ci"}), 0) << err_.str();
  ASSERT_EQ(keel({"audit", "verify"}), 0) << err_.str();
  EXPECT_EQ(out_.str(), "audit chain intact: 2 entries, head 2 " + store_.audit[1].hash + "\n");
  const std::string kept = "1:" + store_.audit[0].hash;
  EXPECT_EQ(keel({"audit", "verify", "--expect", kept}), 0) << err_.str();
  EXPECT_EQ(keel({"audit", "verify", "--expect", "3:" + store_.audit[0].hash}), kExitDataErr);
  EXPECT_NE(err_.str().find("ends at seq 2, before the kept head 3"), std::string::npos)
      << err_.str();
  EXPECT_EQ(keel({"audit", "verify", "--expect", "2:" + store_.audit[0].hash}), kExitDataErr);
  EXPECT_NE(err_.str().find("audit chain rewritten: entry 2 has hash " + store_.audit[1].hash),
            std::string::npos)
      << err_.str();
  EXPECT_EQ(keel({"audit", "verify", "--expect", "two"}), kExitUsage);
  store_.audit[0].target = "someone-else";
  EXPECT_EQ(keel({"audit", "verify"}), kExitDataErr);
  EXPECT_NE(err_.str().find("audit chain broken at seq 1 (edited): entry 1 was edited"),
            std::string::npos)
      << err_.str();
}

TEST_F(CliTest, IncidentResolveSendsRootCauseActionsAndNote) {
  engine::IncidentRequest seen;
  control_.onIncidentAction = [&seen](const engine::IncidentRequest& r) {
    seen = r;
    incidents::Incident i;
    i.id = r.id;
    i.state = incidents::IncidentState::kResolved;
    return Result<incidents::Incident>(i);
  };
  ASSERT_EQ(keel({"incident", "resolve", "inc-000001", "--root-cause", "late file", "--action",
                  "add a file trigger;data;2026-12-15", "--action", "alert;ops;2026-12-01",
                  "--note", "checked with the supplier"}),
            0)
      << err_.str();
  EXPECT_EQ(out_.str(), "inc-000001 resolved\n");
  EXPECT_EQ(seen.action, engine::IncidentAction::kResolve);
  EXPECT_EQ(seen.resolve.rootCause, "late file");
  ASSERT_EQ(seen.resolve.actionItems.size(), 2u);
  EXPECT_EQ(seen.resolve.actionItems[0].text, "add a file trigger");
  EXPECT_EQ(seen.resolve.actionItems[0].owner, "data");
  EXPECT_EQ(seen.resolve.actionItems[1].due, "2026-12-01");
  EXPECT_EQ(control_.callers().back().reason, "checked with the supplier");
}

TEST_F(CliTest, IncidentResolveRefusesWhatIsMissingBeforeSending) {
  EXPECT_EQ(keel({"incident", "resolve", "inc-000001", "--root-cause", "x"}), 64);
  EXPECT_NE(err_.str().find("--no-action-reason"), std::string::npos) << err_.str();
  EXPECT_EQ(keel({"incident", "resolve", "inc-000001", "--root-cause", "x", "--action", "bad"}),
            64);
  EXPECT_EQ(keel({"incident", "resolve", "inc-000001", "--no-action-reason", "x"}), 64);
  EXPECT_TRUE(control_.callers().empty());
  // The API says what is missing when an action item is incomplete.
  EXPECT_EQ(keel({"incident", "resolve", "inc-000001", "--root-cause", "x", "--action",
                  "fix it;;2026-12-01"}),
            65);
  EXPECT_NE(err_.str().find("owner is required"), std::string::npos) << err_.str();
  EXPECT_EQ(keel({"incident", "ack", "inc-000404"}), 66);
}

}  // namespace
}  // namespace keel::cli
