// Engine behaviour with a manual clock, a seeded random source, a real
// SQLite store in a temporary directory and a scripted executor.
#include "engine/engine.h"

#include <unistd.h>

#include <future>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include "core/ids.h"
#include "observe/json_log.h"
#include "spec/template.h"

#include "store/sqlite/sqlite_store.h"
#include "testing/temp_dir.h"

namespace keel::engine {
namespace {

using namespace std::chrono_literals;

// Records every attempt started; the test decides how each one ends.
class ScriptedExecutor : public exec::StepExecutor {
 public:
  struct Started {
    exec::StepRequest request;
    std::function<void(exec::StepOutcome)> done;
    exec::ExecHandle handle;
    bool finished = false;
  };
  exec::ExecHandle start(exec::StepRequest request,
                         std::function<void(exec::StepOutcome)> done) override {
    started.push_back({std::move(request), std::move(done), ++next});
    return next;
  }
  void stop(exec::ExecHandle handle, FailureClass why) override {
    stops.emplace_back(handle, why);
    for (auto& s : started)
      if (s.handle == handle && !s.finished) {
        exec::StepOutcome o;
        o.failureClass = why;
        o.message = "stopped";
        finish(s, o);
      }
  }
  void shutdown() override {}

  void finish(Started& s, exec::StepOutcome o) {
    s.finished = true;
    s.done(std::move(o));
  }
  void succeed(size_t i, std::string output = {}) {
    exec::StepOutcome o;
    o.succeeded = true;
    o.exitCode = 0;
    o.outputJson = std::move(output);
    o.stdoutText = "hello from " + started[i].request.step;
    o.stdoutBytes = static_cast<int64_t>(o.stdoutText.size());
    finish(started[i], o);
  }
  void fail(size_t i, FailureClass cls, int exitCode) {
    exec::StepOutcome o;
    o.failureClass = cls;
    o.exitCode = exitCode;
    o.message = "exit code " + std::to_string(exitCode);
    finish(started[i], o);
  }
  std::vector<size_t> running() const {
    std::vector<size_t> out;
    for (size_t i = 0; i < started.size(); ++i)
      if (!started[i].finished) out.push_back(i);
    return out;
  }

  std::vector<Started> started;
  std::vector<std::pair<exec::ExecHandle, FailureClass>> stops;
  exec::ExecHandle next = 0;
};

// Passes everything to a real store, except that the next `failures`
// commits fail as a full disk would, and that `unhealthy` (when set) is
// what health() reports.
class FlakyStore : public store::Store {
 public:
  explicit FlakyStore(store::Store& real) : real_(real) {}
  int failures = 0;
  int applies = 0;
  std::optional<Error> unhealthy;
  std::function<void()> beforeApply;  // runs on the writer before each commit

  Status apply(const store::Batch& b) override {
    if (beforeApply) beforeApply();
    ++applies;
    if (failures > 0) {
      --failures;
      return Error(ErrorCode::kIo, "disk full (injected)");
    }
    return real_.apply(b);
  }
  Result<store::WorkflowVersionRow> putWorkflow(const store::WorkflowVersionRow& r) override {
    return real_.putWorkflow(r);
  }
  Result<std::vector<store::ActiveRun>> claimRuns() override { return real_.claimRuns(); }
  Status renewLeases() override { return real_.renewLeases(); }
  Status putToken(const store::TokenRow& r) override { return real_.putToken(r); }
  Result<store::TokenRow> revokeToken(const std::string& n, WallTime at) override {
    return real_.revokeToken(n, at);
  }
  Result<std::vector<store::TokenRow>> listTokens() override { return real_.listTokens(); }
  Result<std::optional<store::TokenRow>> findTokenByHash(const std::string& h) override {
    return real_.findTokenByHash(h);
  }
  Result<std::optional<store::WorkflowVersionRow>> getWorkflow(const std::string& n,
                                                               int v) override {
    return real_.getWorkflow(n, v);
  }
  Result<std::vector<store::WorkflowVersionRow>> listWorkflows() override {
    return real_.listWorkflows();
  }
  Result<std::vector<store::WorkflowVersionRow>> workflowVersions(const std::string& n) override {
    return real_.workflowVersions(n);
  }
  Result<std::optional<store::RunRow>> findRunByIdempotencyKey(const std::string& w,
                                                               const std::string& k) override {
    return real_.findRunByIdempotencyKey(w, k);
  }
  Result<std::optional<store::RunDetail>> getRun(const std::string& id) override {
    return real_.getRun(id);
  }
  Result<std::vector<store::RunRow>> listRuns(const store::RunFilter& f) override {
    return real_.listRuns(f);
  }
  Result<std::vector<store::EventRow>> runEvents(const std::string& id) override {
    return real_.runEvents(id);
  }
  Result<std::vector<store::LogRow>> stepLogs(const std::string& id, const std::string& step,
                                              std::optional<int> attempt) override {
    return real_.stepLogs(id, step, attempt);
  }
  Result<std::string> integrityCheck() override { return real_.integrityCheck(); }
  Status health() override {
    if (unhealthy) return *unhealthy;
    return real_.health();
  }

 private:
  store::Store& real_;
};

class EngineTest : public ::testing::Test {
 protected:
  void SetUp() override { openEngine(); }

  void openEngine(bool manual = true) {
    auto s = store::openSqliteStore(dir_.file("keel.db"));
    ASSERT_TRUE(s.ok()) << s.error().toString();
    store_ = std::move(*s);
    flaky_ = std::make_unique<FlakyStore>(*store_);
    EngineOptions opts;
    opts.manual = manual;
    opts.defaultWorkdir = dir_.path();
    opts.maxParallelSteps = maxParallel_;
    engine_ = std::make_unique<Engine>(*flaky_, exec_, clock_, random_, opts);
    auto st = engine_->start();
    ASSERT_TRUE(st.ok()) << st.error().toString();
  }

  // Simulates a crash: the engine and store go away without any goodbye.
  void crashAndRestart() {
    engine_.reset();
    flaky_.reset();
    store_.reset();
    exec_.started.clear();
    openEngine();
    engine_->pump();
  }

  // A clean stop, then a fresh engine on the same file.
  void stopAndRestart() {
    engine_->stop();
    crashAndRestart();
  }

  void apply(const std::string& yaml) {
    auto f = engine_->applyWorkflow(yaml, "");
    auto r = f.get();
    ASSERT_TRUE(r.ok()) << r.error().toString();
  }

  std::string trigger(const std::string& wf, nlohmann::json params = nlohmann::json::object(),
                      std::string key = {}) {
    auto f = engine_->trigger({wf, params, key});
    engine_->pump();
    auto r = f.get();
    EXPECT_TRUE(r.ok()) << r.error().toString();
    return r.ok() ? r->run.id : "";
  }

  store::RunDetail detail(const std::string& id) {
    auto d = store_->getRun(id);
    EXPECT_TRUE(d.ok() && d->has_value());
    return **d;
  }
  const store::StepRow& step(const store::RunDetail& d, const std::string& name) {
    for (const auto& s : d.steps)
      if (s.name == name) return s;
    ADD_FAILURE() << "no step " << name;
    return d.steps.front();
  }

  int maxParallel_ = 32;
  testing::TempDir dir_;
  ManualClock clock_;
  SeededRandom random_{42};
  ScriptedExecutor exec_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<FlakyStore> flaky_;
  std::unique_ptr<Engine> engine_;
};

constexpr const char* kHeader = R"(
owner: { team: data, contact: oncall@example.com }
runbook: https://wiki.example.com/rb
)";

std::string workflow(const std::string& name, const std::string& rest) {
  return "name: " + name + kHeader + rest;
}

TEST_F(EngineTest, NoopChainCompletesInOneCommit) {
  apply(workflow("chain", R"(
steps:
  - { name: a, noop: true }
  - { name: b, noop: true, needs: [a] }
  - { name: c, noop: true, needs: [b] }
)"));
  uint64_t before = engine_->stats().commits;
  auto id = trigger("chain");
  auto d = detail(id);
  EXPECT_EQ(d.run.state, RunState::kSucceeded);
  for (const auto& s : d.steps) EXPECT_EQ(s.state, StepState::kSucceeded) << s.name;
  EXPECT_EQ(engine_->stats().commits - before, 1u);
}

TEST_F(EngineTest, RunStepsGetEnvironmentAndOutputsFlowDownstream) {
  apply(workflow("etl", R"(
params: { date: }
steps:
  - { name: fetch, run: "fetch {{ params.date }}", timeout: 1m }
  - { name: load, run: "load {{ steps.fetch.output.path }}", needs: [fetch], timeout: 1m }
)"));
  auto id = trigger("etl", {{"date", "2026-11-23"}});
  ASSERT_EQ(exec_.started.size(), 1u);
  const auto& req = exec_.started[0].request;
  EXPECT_EQ(req.command, "fetch '2026-11-23'");
  EXPECT_EQ(req.env.at("KEEL_RUN_ID"), id);
  EXPECT_EQ(req.env.at("KEEL_STEP"), "fetch");
  EXPECT_EQ(req.env.at("KEEL_ATTEMPT"), "1");
  EXPECT_EQ(req.env.at("KEEL_PARAM_DATE"), "2026-11-23");
  EXPECT_FALSE(req.env.at("KEEL_IDEMPOTENCY_KEY").empty());
  exec_.succeed(0, R"({"path": "/data/x.csv"})");
  engine_->pump();
  ASSERT_EQ(exec_.started.size(), 2u);
  EXPECT_EQ(exec_.started[1].request.command, "load '/data/x.csv'");
  EXPECT_EQ(exec_.started[1].request.env.at("KEEL_OUTPUT_FETCH"), R"({"path":"/data/x.csv"})");
  // (exec_.started grew: read the first request again, not through `req`.)
  EXPECT_EQ(exec_.started[0].request.env.count("KEEL_OUTPUT_FETCH"), 0u);
  exec_.succeed(1);
  engine_->pump();
  auto d = detail(id);
  EXPECT_EQ(d.run.state, RunState::kSucceeded);
  EXPECT_EQ(step(d, "fetch").outputJson, R"({"path": "/data/x.csv"})");
  auto logs = store_->stepLogs(id, "fetch");
  ASSERT_TRUE(logs.ok());
  ASSERT_EQ(logs->size(), 1u);
  EXPECT_EQ((*logs)[0].stdoutText, "hello from fetch");
}

TEST_F(EngineTest, FailedAttemptIsRetriedAfterBackoffWithTheSameIdempotencyKey) {
  apply(workflow("flaky", R"(
steps:
  - name: call
    run: "call"
    timeout: 1m
    retry: { max_attempts: 3, backoff: fixed, initial: 10s, jitter: none }
)"));
  auto id = trigger("flaky");
  exec_.fail(0, FailureClass::kError, 1);
  engine_->pump();
  auto d = detail(id);
  EXPECT_EQ(step(d, "call").state, StepState::kRetrying);
  ASSERT_TRUE(step(d, "call").dueAt.has_value());
  clock_.advance(9s);
  engine_->pump();
  EXPECT_EQ(exec_.started.size(), 1u) << "retried before its backoff elapsed";
  clock_.advance(1s);
  engine_->pump();
  ASSERT_EQ(exec_.started.size(), 2u);
  EXPECT_EQ(exec_.started[1].request.env.at("KEEL_ATTEMPT"), "2");
  EXPECT_EQ(exec_.started[1].request.env.at("KEEL_IDEMPOTENCY_KEY"),
            exec_.started[0].request.env.at("KEEL_IDEMPOTENCY_KEY"));
  exec_.succeed(1);
  engine_->pump();
  d = detail(id);
  EXPECT_EQ(d.run.state, RunState::kSucceeded);
  ASSERT_EQ(d.attempts.size(), 2u);
  EXPECT_EQ(d.attempts[0].failureClass, FailureClass::kError);
  EXPECT_EQ(d.attempts[1].state, AttemptState::kSucceeded);
}

TEST_F(EngineTest, BadInputIsNotRetriedAndSkipsDependantsButNotOtherBranches) {
  apply(workflow("branches", R"(
steps:
  - { name: a, run: "a", timeout: 1m }
  - { name: b, run: "b", needs: [a], timeout: 1m }
  - { name: c, run: "c", needs: [b], timeout: 1m }
  - { name: side, run: "side", timeout: 1m }
)"));
  auto id = trigger("branches");
  ASSERT_EQ(exec_.started.size(), 2u);
  size_t a = exec_.started[0].request.step == "a" ? 0 : 1;
  exec_.fail(a, FailureClass::kBadInput, 65);
  engine_->pump();
  auto d = detail(id);
  EXPECT_EQ(step(d, "a").state, StepState::kDead);
  EXPECT_EQ(step(d, "b").state, StepState::kSkipped);
  EXPECT_EQ(step(d, "c").state, StepState::kSkipped);
  EXPECT_EQ(d.run.state, RunState::kRunning) << "the side branch is still running";
  exec_.succeed(1 - a);
  engine_->pump();
  d = detail(id);
  EXPECT_EQ(step(d, "side").state, StepState::kSucceeded);
  EXPECT_EQ(d.run.state, RunState::kFailed);
  EXPECT_NE(d.run.reason.find("step 'a' failed"), std::string::npos) << d.run.reason;
}

TEST_F(EngineTest, FailedAttemptsAndRunEndsAreLoggedWithTheirFields) {
  std::ostringstream out;
  auto previous = spdlog::default_logger();
  auto logger =
      observe::installJsonLogger("info", std::make_shared<spdlog::sinks::ostream_sink_mt>(out));
  struct Restore {
    std::shared_ptr<spdlog::logger> logger;
    ~Restore() { spdlog::set_default_logger(logger); }
  } restore{previous};
  apply(workflow("logged", R"(
steps:
  - { name: "load", run: "a", timeout: 1m, retry: { max_attempts: 1 } }
)"));
  auto id = trigger("logged");
  exec_.fail(0, FailureClass::kBadInput, 65);
  engine_->pump();
  logger->flush();
  std::vector<nlohmann::json> lines;
  std::istringstream in(out.str());
  for (std::string line; std::getline(in, line);) {
    auto j = nlohmann::json::parse(line, nullptr, false);
    ASSERT_FALSE(j.is_discarded()) << line;
    lines.push_back(j);
  }
  auto find = [&](const std::string& prefix) -> nlohmann::json {
    for (const auto& j : lines)
      if (j["msg"].get<std::string>().rfind(prefix, 0) == 0) return j;
    return {};
  };
  auto attempt = find("attempt failed");
  ASSERT_FALSE(attempt.is_null()) << out.str();
  EXPECT_EQ(attempt["run_id"], id);
  EXPECT_EQ(attempt["workflow"], "logged");
  EXPECT_EQ(attempt["step"], "load");
  EXPECT_EQ(attempt["attempt"], 1);
  EXPECT_EQ(attempt["class"], "bad_input");
  auto end = find("run failed");
  ASSERT_FALSE(end.is_null()) << out.str();
  EXPECT_EQ(end["run_id"], id);
  EXPECT_EQ(end["state"], "failed");
  EXPECT_EQ(end["step"], "load");
  EXPECT_EQ(end["class"], "bad_input");
}

TEST_F(EngineTest, TimeoutStopsTheAttemptAndClassifiesIt) {
  apply(workflow("slow", R"(
steps:
  - { name: s, run: "sleep 100", timeout: 30s, retry: { max_attempts: 1 } }
)"));
  auto id = trigger("slow");
  clock_.advance(29s);
  engine_->pump();
  EXPECT_TRUE(exec_.stops.empty());
  clock_.advance(1s);
  engine_->pump();
  ASSERT_EQ(exec_.stops.size(), 1u);
  EXPECT_EQ(exec_.stops[0].second, FailureClass::kTimeout);
  engine_->pump();
  auto d = detail(id);
  EXPECT_EQ(d.run.state, RunState::kFailed);
  EXPECT_EQ(d.attempts.at(0).failureClass, FailureClass::kTimeout);
}

TEST_F(EngineTest, SameIdempotencyKeyGivesOneRun) {
  apply(workflow("once", "steps:\n  - { name: a, noop: true }\n"));
  std::vector<std::future<Result<TriggerResult>>> fs;
  for (int i = 0; i < 20; ++i) fs.push_back(engine_->trigger({"once", {}, "key-1"}));
  engine_->pump();
  std::set<std::string> ids;
  int created = 0;
  for (auto& f : fs) {
    auto r = f.get();
    ASSERT_TRUE(r.ok()) << r.error().toString();
    ids.insert(r->run.id);
    created += r->created;
  }
  EXPECT_EQ(ids.size(), 1u);
  EXPECT_EQ(created, 1);
  auto again = engine_->trigger({"once", {}, "key-1"}).get();
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(again->created);
  EXPECT_EQ(again->run.id, *ids.begin());
}

TEST_F(EngineTest, ConcurrencyKeyHoldsExtraRunsPending) {
  apply(workflow("regional", R"(
concurrency: { key: "{{ params.region }}", limit: 1 }
steps:
  - { name: a, run: "a", timeout: 1m }
)"));
  auto r1 = trigger("regional", {{"region", "eu"}});
  auto r2 = trigger("regional", {{"region", "eu"}});
  auto r3 = trigger("regional", {{"region", "us"}});
  EXPECT_EQ(exec_.started.size(), 2u);
  auto d2 = detail(r2);
  EXPECT_EQ(d2.run.state, RunState::kPending);
  EXPECT_NE(d2.run.reason.find("concurrency"), std::string::npos);
  exec_.succeed(0);
  engine_->pump();
  ASSERT_EQ(exec_.started.size(), 3u);
  EXPECT_EQ(exec_.started[2].request.runId, r2);
  EXPECT_EQ(detail(r1).run.state, RunState::kSucceeded);
  EXPECT_EQ(detail(r3).run.state, RunState::kRunning);
}

TEST_F(EngineTest, CrashRecoveryClosesRunningAttemptAsLostAndNeverRerunsCompletedSteps) {
  apply(workflow("durable", R"(
steps:
  - { name: a, run: "a", timeout: 1m }
  - { name: b, run: "b", needs: [a], timeout: 1m, retry: { max_attempts: 3, backoff: fixed, initial: 1s, jitter: none } }
)"));
  auto id = trigger("durable");
  exec_.succeed(0);
  engine_->pump();
  ASSERT_EQ(exec_.started.size(), 2u);  // b is running
  crashAndRestart();
  auto d = detail(id);
  EXPECT_EQ(step(d, "a").state, StepState::kSucceeded);
  EXPECT_EQ(step(d, "b").state, StepState::kRetrying);
  ASSERT_GE(d.attempts.size(), 2u);
  EXPECT_EQ(d.attempts[1].failureClass, FailureClass::kLost);
  clock_.advance(1s);
  engine_->pump();
  ASSERT_EQ(exec_.started.size(), 1u);
  EXPECT_EQ(exec_.started[0].request.step, "b") << "a completed step ran again";
  EXPECT_EQ(exec_.started[0].request.attempt, 2);
  exec_.succeed(0);
  engine_->pump();
  EXPECT_EQ(detail(id).run.state, RunState::kSucceeded);
}

TEST_F(EngineTest, CancelStopsRunningStepsAndSkipsTheRest) {
  apply(workflow("long", R"(
steps:
  - { name: a, run: "a", timeout: 1h }
  - { name: b, run: "b", needs: [a], timeout: 1m }
)"));
  auto id = trigger("long");
  auto f = engine_->cancel(id);
  engine_->pump();
  auto r = f.get();
  ASSERT_TRUE(r.ok()) << r.error().toString();
  engine_->pump();
  ASSERT_EQ(exec_.stops.size(), 1u);
  EXPECT_EQ(exec_.stops[0].second, FailureClass::kCancelled);
  auto d = detail(id);
  EXPECT_EQ(d.run.state, RunState::kCancelled);
  EXPECT_EQ(step(d, "b").state, StepState::kSkipped);
  auto again = engine_->cancel(id);
  engine_->pump();
  EXPECT_EQ(again.get().error().code(), ErrorCode::kConflict);
}

TEST_F(EngineTest, RetryRerunsOnlyFailedStepsOfAFinishedRun) {
  apply(workflow("fixme", R"(
steps:
  - { name: a, run: "a", timeout: 1m }
  - { name: b, run: "b", needs: [a], timeout: 1m, retry: { max_attempts: 1 } }
  - { name: c, run: "c", needs: [b], timeout: 1m }
)"));
  auto id = trigger("fixme");
  exec_.succeed(0);
  engine_->pump();
  exec_.fail(1, FailureClass::kError, 1);
  engine_->pump();
  ASSERT_EQ(detail(id).run.state, RunState::kFailed);
  auto f = engine_->retry(id);
  engine_->pump();
  auto r = f.get();
  ASSERT_TRUE(r.ok()) << r.error().toString();
  ASSERT_EQ(exec_.started.size(), 3u);
  EXPECT_EQ(exec_.started[2].request.step, "b");
  EXPECT_EQ(exec_.started[2].request.attempt, 2);
  exec_.succeed(2);
  engine_->pump();
  exec_.succeed(3);
  engine_->pump();
  auto d = detail(id);
  EXPECT_EQ(d.run.state, RunState::kSucceeded);
  EXPECT_EQ(step(d, "a").attempts, 1);
}

TEST_F(EngineTest, CancellingARetriedRunThatWaitsForItsSlotKeepsSucceededSteps) {
  apply(workflow("slotted", R"(
concurrency: { key: "all", limit: 1 }
steps:
  - { name: a, run: "a", timeout: 1m }
  - { name: b, run: "b", needs: [a], timeout: 1m, retry: { max_attempts: 1 } }
)"));
  auto first = trigger("slotted");
  exec_.succeed(0);
  engine_->pump();
  exec_.fail(1, FailureClass::kError, 1);
  engine_->pump();
  ASSERT_EQ(detail(first).run.state, RunState::kFailed);
  auto holder = trigger("slotted");  // takes the only slot
  auto retried = engine_->retry(first);
  engine_->pump();
  ASSERT_TRUE(retried.get().ok());
  ASSERT_EQ(detail(first).run.state, RunState::kPending);
  auto cancelled = engine_->cancel(first);
  engine_->pump();
  ASSERT_TRUE(cancelled.get().ok());
  auto d = detail(first);
  EXPECT_EQ(d.run.state, RunState::kCancelled);
  EXPECT_EQ(step(d, "a").state, StepState::kSucceeded) << "a finished step was rewritten";
  EXPECT_EQ(step(d, "b").state, StepState::kSkipped);
  EXPECT_EQ(detail(holder).run.state, RunState::kRunning);
}

TEST_F(EngineTest, MissingParamIsBadInputAtTriggerTime) {
  apply(workflow("needs-date", R"(
steps:
  - { name: a, run: "echo {{ params.date }}", timeout: 1m }
)"));
  auto r = engine_->trigger({"needs-date", nlohmann::json::object(), ""}).get();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(r.error().toString().find("date"), std::string::npos);
  auto unknown = engine_->trigger({"nope", nlohmann::json::object(), ""}).get();
  EXPECT_EQ(unknown.error().code(), ErrorCode::kNotFound);
}

TEST_F(EngineTest, HostileParamsAreOneShellWordAndBadValuesAreRefusedAtTrigger) {
  apply(workflow("quoted", R"(
params: { sub: , other: { default: x } }
steps:
  - { name: a, run: "printf %s {{ params.sub }} > out", timeout: 1m, pass_env: [AWS_PROFILE] }
)"));
  trigger("quoted", {{"sub", "x'; touch F; echo '"}});
  ASSERT_EQ(exec_.started.size(), 1u);
  EXPECT_EQ(exec_.started[0].request.command, R"(printf %s 'x'\''; touch F; echo '\''' > out)");
  EXPECT_EQ(exec_.started[0].request.env.at("KEEL_PARAM_SUB"), "x'; touch F; echo '");
  EXPECT_EQ(exec_.started[0].request.passEnv, std::vector<std::string>{"AWS_PROFILE"});
  trigger("quoted", {{"sub", std::string(spec::kMaxParamBytes, 'v')}});
  EXPECT_EQ(exec_.started.size(), 2u);

  struct Case {
    nlohmann::json value;
    std::string problem;
  } cases[] = {
      {std::string("abc\0def", 7), "param 'sub': contains a NUL byte at offset 3"},
      {std::string("ab\xFF"), "param 'sub': is not valid UTF-8 (bad byte at offset 2)"},
      {std::string(spec::kMaxParamBytes + 1, 'v'),
       "param 'sub': is 65537 bytes long; the limit is 65536 bytes"},
  };
  for (const Case& c : cases) {
    auto r = engine_->trigger({"quoted", {{"sub", c.value}}, ""}).get();
    ASSERT_FALSE(r.ok()) << c.problem;
    EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument);
    EXPECT_EQ(r.error().details(), std::vector<std::string>{c.problem});
  }
  engine_->pump();
  EXPECT_EQ(exec_.started.size(), 2u) << "a refused trigger started a step";
  auto runs = store_->listRuns({});
  ASSERT_TRUE(runs.ok());
  EXPECT_EQ(runs->size(), 2u);
}

TEST_F(EngineTest, UpstreamOutputWithANulByteFailsTheConsumerAsBadInput) {
  apply(workflow("nul-output", R"(
steps:
  - { name: up, run: "up", timeout: 1m }
  - { name: down, run: "echo {{ steps.up.output.v }}", needs: [up], timeout: 1m }
)"));
  auto id = trigger("nul-output");
  exec_.succeed(0, R"({"v": "ab\u0000; touch F"})");
  engine_->pump();
  EXPECT_EQ(exec_.started.size(), 1u) << "the consumer was started";
  auto d = detail(id);
  EXPECT_EQ(step(d, "down").state, StepState::kDead);
  EXPECT_EQ(step(d, "down").attempts, 1) << "bad input was retried";
  ASSERT_FALSE(d.attempts.empty());
  const auto& last = d.attempts.back();
  EXPECT_EQ(last.step, "down");
  EXPECT_EQ(last.failureClass, FailureClass::kBadInput);
  EXPECT_EQ(last.message,
            "run: {{ steps.up.output.v }}: the value contains a NUL byte at offset 2");
}

TEST_F(EngineTest, SleepStepWaitsOnTheClockAndSurvivesRestart) {
  apply(workflow("nap", R"(
steps:
  - { name: z, sleep: 1m }
  - { name: after, noop: true, needs: [z] }
)"));
  auto id = trigger("nap");
  EXPECT_EQ(step(detail(id), "z").state, StepState::kWaiting);
  crashAndRestart();
  clock_.advance(59s);
  engine_->pump();
  EXPECT_EQ(detail(id).run.state, RunState::kRunning);
  clock_.advance(1s);
  engine_->pump();
  EXPECT_EQ(detail(id).run.state, RunState::kSucceeded);
}

TEST_F(EngineTest, StepsBeyondTheParallelLimitWaitReadyWithoutAnAttempt) {
  maxParallel_ = 1;
  crashAndRestart();
  apply(workflow("busy", "steps:\n  - { name: a, run: \"a\", timeout: 1m }\n"));
  auto r1 = trigger("busy");
  auto r2 = trigger("busy");
  ASSERT_EQ(exec_.started.size(), 1u);
  auto d2 = detail(r2);
  EXPECT_EQ(step(d2, "a").state, StepState::kReady);
  EXPECT_EQ(step(d2, "a").attempts, 0);
  EXPECT_NE(step(d2, "a").reason.find("slots are busy"), std::string::npos);
  EXPECT_TRUE(d2.attempts.empty()) << "a queued step was recorded as an attempt";
  // A crash now loses the running attempt of r1, and nothing of r2: after
  // the restart r2 takes the free slot with its first attempt.
  crashAndRestart();
  ASSERT_EQ(exec_.started.size(), 1u);
  EXPECT_EQ(exec_.started[0].request.runId, r2);
  EXPECT_EQ(exec_.started[0].request.attempt, 1);
  exec_.succeed(0);
  clock_.advance(std::chrono::minutes(2));
  engine_->pump();
  ASSERT_EQ(exec_.started.size(), 2u);
  EXPECT_EQ(exec_.started[1].request.runId, r1);
  EXPECT_EQ(exec_.started[1].request.attempt, 2);
  exec_.succeed(1);
  engine_->pump();
  EXPECT_EQ(detail(r1).run.state, RunState::kSucceeded);
  EXPECT_EQ(detail(r2).run.state, RunState::kSucceeded);
}

TEST_F(EngineTest, FailedCommitIsRetriedAndNothingHappensBeforeItIsDurable) {
  apply(workflow("disk", "steps:\n  - { name: a, run: \"a\", timeout: 1m }\n"));
  flaky_->failures = 2;
  auto f = engine_->trigger({"disk", nlohmann::json::object(), ""});
  engine_->pump();
  EXPECT_EQ(f.wait_for(std::chrono::seconds(0)), std::future_status::timeout)
      << "answered before the run was durable";
  EXPECT_TRUE(exec_.started.empty()) << "a step started before its attempt was durable";
  clock_.advance(100ms);
  engine_->pump();  // the second commit fails too
  EXPECT_EQ(flaky_->applies, 2);
  EXPECT_EQ(f.wait_for(std::chrono::seconds(0)), std::future_status::timeout);
  clock_.advance(199ms);
  engine_->pump();
  EXPECT_EQ(flaky_->applies, 2) << "retried before its backoff";
  clock_.advance(1ms);
  engine_->pump();
  ASSERT_EQ(f.wait_for(std::chrono::seconds(0)), std::future_status::ready);
  auto r = f.get();
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->created);
  ASSERT_EQ(exec_.started.size(), 1u);
  exec_.succeed(0);
  engine_->pump();
  EXPECT_EQ(detail(r->run.id).run.state, RunState::kSucceeded);
}

// Every Control call answers kUnavailable with `message` at once, without
// waiting for the loop.
void expectEveryCallRefused(Engine& engine, const std::string& runId, const std::string& message) {
  auto trig = engine.trigger({"w", nlohmann::json::object(), ""});
  auto cancel = engine.cancel(runId);
  auto retry = engine.retry(runId);
  auto apply = engine.applyWorkflow(workflow("w2", "steps:\n  - { name: a, noop: true }\n"), "");
  for (const Error& e :
       {trig.get().error(), cancel.get().error(), retry.get().error(), apply.get().error()}) {
    EXPECT_EQ(e.code(), ErrorCode::kUnavailable);
    EXPECT_EQ(e.message(), message);
  }
}

TEST_F(EngineTest, AnUnhealthyStoreMakesTheEngineUnreadyAndRefusesNewWork) {
  apply(workflow("w", "steps:\n  - { name: a, run: \"a\", timeout: 1m }\n"));
  std::string id = trigger("w");
  ASSERT_TRUE(engine_->ready());
  const std::string why =
      "database file /x/keel.db was deleted while keel had it open; restart keel";
  flaky_->unhealthy = Error(ErrorCode::kUnavailable, why);
  EXPECT_FALSE(engine_->ready());
  Status r = engine_->readiness();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message(), why);
  int appliesBefore = flaky_->applies;
  expectEveryCallRefused(*engine_, id, why);
  engine_->pump();
  EXPECT_EQ(flaky_->applies, appliesBefore) << "refused work reached the store";
  auto runs = store_->listRuns(store::RunFilter{});
  ASSERT_TRUE(runs.ok());
  EXPECT_EQ(runs->size(), 1u);

  flaky_->unhealthy.reset();
  EXPECT_TRUE(engine_->ready());
  EXPECT_FALSE(trigger("w").empty());
}

TEST_F(EngineTest, TheRealStoreFileDeletedMakesTheEngineUnready) {
  ASSERT_TRUE(engine_->ready());
  ASSERT_EQ(::unlink(dir_.file("keel.db").c_str()), 0);
  Status r = engine_->readiness();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message(), "database file " + dir_.file("keel.db") +
                                     " was deleted while keel had it open; restart keel");
}

TEST_F(EngineTest, CommitsThatKeepFailingMakeTheEngineUnreadyUntilOneSucceeds) {
  apply(workflow("w", "steps:\n  - { name: a, run: \"a\", timeout: 1m }\n"));
  flaky_->failures = 1000;
  auto first = engine_->trigger({"w", nlohmann::json::object(), ""});
  engine_->pump();
  ASSERT_EQ(flaky_->applies, 1);
  const std::string why =
      "store commits failing since 2026-01-01T00:00:00.000Z: disk full (injected)";
  Status r = engine_->readiness();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message(), why);
  EXPECT_EQ(first.wait_for(std::chrono::seconds(0)), std::future_status::timeout);
  expectEveryCallRefused(*engine_, "no-such-run", why);
  clock_.advance(100ms);
  engine_->pump();  // still failing: the time of the first failure stays
  ASSERT_EQ(flaky_->applies, 2);
  EXPECT_EQ(engine_->readiness().error().message(), why);

  flaky_->failures = 0;
  clock_.advance(200ms);
  engine_->pump();
  EXPECT_TRUE(engine_->ready());
  ASSERT_EQ(first.wait_for(std::chrono::seconds(0)), std::future_status::ready);
  EXPECT_TRUE(first.get().ok());
}

TEST_F(EngineTest, ApplyRefusesStepKindsThisVersionCannotRun) {
  auto r = engine_
               ->applyWorkflow(workflow("web", R"(
steps:
  - { name: call, http: { method: GET, url: "http://127.0.0.1:1/x" }, timeout: 1m }
)"),
                               "")
               .get();
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().toString().find("http steps are not available"), std::string::npos);
}

TEST_F(EngineTest, StopWritesAResultReportedJustBefore) {
  apply(workflow("last", R"(
steps:
  - { name: a, run: "a", timeout: 1m, retry: { max_attempts: 3 } }
)"));
  auto id = trigger("last");
  ASSERT_EQ(exec_.started.size(), 1u);
  exec_.succeed(0);  // reported to the loop, not yet handled
  stopAndRestart();
  auto d = detail(id);
  EXPECT_EQ(d.run.state, RunState::kSucceeded);
  EXPECT_EQ(step(d, "a").attempts, 1);
  EXPECT_TRUE(exec_.started.empty()) << "a step that succeeded before the stop ran again";
}

TEST_F(EngineTest, StopWaitsForTheCommitInFlightAndWritesWhatQueuedBehindIt) {
  apply(workflow("quick", "steps:\n  - { name: a, noop: true }\n"));
  engine_.reset();
  flaky_.reset();
  store_.reset();
  openEngine(/*manual=*/false);
  // The first commit blocks on the writer until the test lets it go.
  std::promise<void> release;
  std::shared_future<void> gate = release.get_future().share();
  std::promise<void> entered;
  bool first = true;
  flaky_->beforeApply = [&] {
    if (!first) return;
    first = false;
    entered.set_value();
    gate.wait();
  };
  auto one = engine_->trigger({"quick", nlohmann::json::object(), ""});
  entered.get_future().wait();  // run one's commit is in flight
  auto two = engine_->trigger({"quick", nlohmann::json::object(), ""});
  auto stopped = std::async(std::launch::async, [&] { engine_->stop(); });
  while (engine_->ready()) std::this_thread::yield();  // stop() has begun
  release.set_value();
  stopped.get();
  ASSERT_EQ(one.wait_for(0s), std::future_status::ready);
  ASSERT_EQ(two.wait_for(0s), std::future_status::ready) << "the queued trigger was dropped";
  auto r1 = one.get();
  auto r2 = two.get();
  ASSERT_TRUE(r1.ok() && r2.ok());
  crashAndRestart();
  EXPECT_EQ(detail(r1->run.id).run.state, RunState::kSucceeded);
  EXPECT_EQ(detail(r2->run.id).run.state, RunState::kSucceeded);
}

TEST_F(EngineTest, ASecondRetryDecidesFromTheCurrentStateNotAStaleSnapshot) {
  apply(workflow("twice", R"(
steps:
  - { name: up, run: "up", timeout: 1m }
  - { name: down, run: "echo {{ steps.up.output.v }}", needs: [up], timeout: 1m }
)"));
  auto id = trigger("twice");
  exec_.succeed(0, R"({"v": "a\u0000b"})");  // down then fails as bad input, at once
  engine_->pump();
  ASSERT_EQ(detail(id).run.state, RunState::kFailed);
  // The second retry arrives while the first one's commit is being written.
  std::optional<std::future<Result<store::RunRow>>> second;
  flaky_->beforeApply = [&] {
    if (!second) second = engine_->retry(id);
  };
  auto first = engine_->retry(id);
  engine_->pump();
  flaky_->beforeApply = nullptr;
  engine_->pump();
  ASSERT_TRUE(second.has_value());
  auto r1 = first.get();
  auto r2 = second->get();
  ASSERT_TRUE(r1.ok()) << r1.error().toString();
  ASSERT_TRUE(r2.ok()) << r2.error().toString();
  auto d = detail(id);
  EXPECT_EQ(d.run.state, RunState::kFailed);
  std::vector<int> downAttempts;
  for (const auto& a : d.attempts)
    if (a.step == "down") downAttempts.push_back(a.n);
  EXPECT_EQ(downAttempts, (std::vector<int>{1, 2, 3})) << "an attempt row was overwritten";
  EXPECT_EQ(step(d, "down").attempts, 3);
  EXPECT_EQ(step(d, "up").attempts, 1);
  EXPECT_EQ(exec_.started.size(), 1u) << "the succeeded step ran again";
}

TEST_F(EngineTest, AManualRetryGivesEachRerunStepAFreshBudgetThatSurvivesARestart) {
  apply(workflow("budget", R"(
steps:
  - name: b
    run: "b"
    timeout: 1m
    retry: { max_attempts: 2, backoff: fixed, initial: 1s, jitter: none }
)"));
  auto id = trigger("budget");
  exec_.fail(0, FailureClass::kError, 1);
  engine_->pump();
  clock_.advance(1s);
  engine_->pump();
  ASSERT_EQ(exec_.started.size(), 2u);
  exec_.fail(1, FailureClass::kError, 1);
  engine_->pump();
  ASSERT_EQ(detail(id).run.state, RunState::kFailed);

  auto f = engine_->retry(id);
  engine_->pump();
  ASSERT_TRUE(f.get().ok());
  ASSERT_EQ(exec_.started.size(), 3u);
  EXPECT_EQ(exec_.started[2].request.attempt, 3);
  crashAndRestart();  // attempt 3 is lost: the first of the fresh two
  auto d = detail(id);
  EXPECT_EQ(step(d, "b").state, StepState::kRetrying) << step(d, "b").reason;
  clock_.advance(1s);
  engine_->pump();
  ASSERT_EQ(exec_.started.size(), 1u);
  EXPECT_EQ(exec_.started[0].request.attempt, 4);
  exec_.fail(0, FailureClass::kError, 1);
  engine_->pump();
  d = detail(id);
  EXPECT_EQ(step(d, "b").state, StepState::kDead);
  EXPECT_NE(step(d, "b").reason.find("2 of 2 attempts failed"), std::string::npos)
      << step(d, "b").reason;
}

TEST_F(EngineTest, TimersOfFinishedAttemptsAreCancelled) {
  maxParallel_ = 1000;
  crashAndRestart();
  apply(workflow("short", R"(
steps:
  - { name: a, run: "a", timeout: 1h }
)"));
  constexpr int kBatches = 10, kPerBatch = 1000;
  for (int b = 0; b < kBatches; ++b) {
    std::vector<std::future<Result<TriggerResult>>> fs;
    for (int i = 0; i < kPerBatch; ++i)
      fs.push_back(engine_->trigger({"short", nlohmann::json::object(), ""}));
    engine_->pump();
    for (auto& f : fs) ASSERT_TRUE(f.get().ok());
    EXPECT_EQ(engine_->pendingTimers(), static_cast<size_t>(kPerBatch));
    for (size_t i : exec_.running()) exec_.succeed(i);
    engine_->pump();
  }
  EXPECT_EQ(exec_.started.size(), static_cast<size_t>(kBatches * kPerBatch));
  EXPECT_EQ(engine_->pendingTimers(), 0u);
  EXPECT_NE(engine_->metricsText().find("keel_engine_timers_pending 0\n"), std::string::npos);
  EXPECT_EQ(engine_->stats().activeRuns, 0u);
}

TEST_F(EngineTest, CancellingARunDropsTheTimersOfItsWaitingSteps) {
  apply(workflow("waits", R"(
steps:
  - { name: z, sleep: 24h }
  - name: r
    run: "r"
    timeout: 1h
    retry: { max_attempts: 3, backoff: fixed, initial: 1h, max: 1h, jitter: none }
)"));
  auto id = trigger("waits");
  exec_.fail(0, FailureClass::kError, 1);
  engine_->pump();
  EXPECT_EQ(engine_->pendingTimers(), 2u);  // the sleep and the backoff
  auto f = engine_->cancel(id);
  engine_->pump();
  ASSERT_TRUE(f.get().ok());
  EXPECT_EQ(detail(id).run.state, RunState::kCancelled);
  EXPECT_EQ(engine_->pendingTimers(), 0u);
}

TEST_F(EngineTest, AKeyReplayedAfterANewVersionGetsItsRunAndOtherParamsConflict) {
  apply(workflow("keyed", R"(
params: { who: , tone: { default: calm } }
steps:
  - { name: a, noop: true }
)"));
  auto first = engine_->trigger({"keyed", {{"who", "ops"}}, "k1"});
  engine_->pump();
  auto r1 = first.get();
  ASSERT_TRUE(r1.ok()) << r1.error().toString();
  ASSERT_TRUE(r1->created);
  // The new version requires a param the original request did not have.
  apply(workflow("keyed", R"(
params: { who: , date: , tone: { default: calm } }
steps:
  - { name: a, noop: true }
)"));
  for (nlohmann::json same :
       {nlohmann::json{{"who", "ops"}}, nlohmann::json{{"who", "ops"}, {"tone", "calm"}}}) {
    auto again = engine_->trigger({"keyed", same, "k1"}).get();
    ASSERT_TRUE(again.ok()) << same.dump() << ": " << again.error().toString();
    EXPECT_FALSE(again->created);
    EXPECT_EQ(again->run.id, r1->run.id);
  }
  struct Case {
    nlohmann::json params;
    std::string difference;
  } cases[] = {
      {{{"who", "dev"}}, "param 'who': differs from the original request"},
      {nlohmann::json::object(), "param 'who': in the original request, missing from this one"},
      {{{"who", "ops"}, {"date", "2026-11-23"}}, "param 'date': not in the original request"},
      {{{"who", "ops"}, {"tone", "loud"}}, "param 'tone': differs from the original request"},
  };
  for (const Case& c : cases) {
    auto r = engine_->trigger({"keyed", c.params, "k1"}).get();
    ASSERT_FALSE(r.ok()) << c.params.dump();
    EXPECT_EQ(r.error().code(), ErrorCode::kIdempotencyConflict);
    EXPECT_NE(r.error().message().find(r1->run.id), std::string::npos) << r.error().message();
    EXPECT_EQ(r.error().details(), std::vector<std::string>{c.difference});
  }
}

TEST_F(EngineTest, ConcurrentTriggersWithOneKeyAndOtherParamsConflict) {
  apply(workflow("race", R"(
params: { who: }
steps:
  - { name: a, noop: true }
)"));
  auto a = engine_->trigger({"race", {{"who", "ops"}}, "k"});
  auto b = engine_->trigger({"race", {{"who", "dev"}}, "k"});
  auto c = engine_->trigger({"race", {{"who", "ops"}}, "k"});
  engine_->pump();
  auto ra = a.get();
  auto rb = b.get();
  auto rc = c.get();
  ASSERT_TRUE(ra.ok());
  EXPECT_TRUE(ra->created);
  ASSERT_FALSE(rb.ok()) << "another caller's run was returned for other params";
  EXPECT_EQ(rb.error().code(), ErrorCode::kIdempotencyConflict);
  ASSERT_TRUE(rc.ok());
  EXPECT_EQ(rc->run.id, ra->run.id);
  EXPECT_FALSE(rc->created);
}

TEST_F(EngineTest, CancellingASleepingRunLeavesNoAttemptRunning) {
  apply(workflow("dozing", R"(
steps:
  - { name: z, sleep: 1h }
  - { name: after, noop: true, needs: [z] }
)"));
  auto id = trigger("dozing");
  auto f = engine_->cancel(id);
  engine_->pump();
  ASSERT_TRUE(f.get().ok());
  auto d = detail(id);
  EXPECT_EQ(d.run.state, RunState::kCancelled);
  ASSERT_EQ(d.attempts.size(), 1u);
  EXPECT_EQ(d.attempts[0].state, AttemptState::kFailed) << "the sleep's attempt stayed running";
  EXPECT_EQ(d.attempts[0].failureClass, FailureClass::kCancelled);
  EXPECT_TRUE(d.attempts[0].finishedAt.has_value());
}

TEST_F(EngineTest, ARunOfAStoredVersionThatNoLongerParsesFailsAndTheOthersRecover) {
  apply(workflow("good", "steps:\n  - { name: a, run: \"a\", timeout: 1m }\n"));
  auto good = trigger("good");
  // A version stored by another keel that this one cannot read, and a run of it.
  store::WorkflowVersionRow bad;
  bad.name = "broken";
  bad.yaml = "name: broken\nsteps: [\n";
  bad.createdAt = clock_.wallNow();
  auto stored = store_->putWorkflow(bad);
  ASSERT_TRUE(stored.ok()) << stored.error().toString();
  store::RunRow run;
  run.id = newRunId(clock_.wallNow(), random_);
  run.workflow = "broken";
  run.version = stored->version;
  run.state = RunState::kRunning;
  run.createdAt = run.startedAt.emplace(clock_.wallNow());
  store::StepRow st;
  st.runId = run.id;
  st.name = "s";
  st.state = StepState::kRunning;
  st.attempts = 1;
  store::AttemptRow at;
  at.runId = run.id;
  at.step = "s";
  at.startedAt = clock_.wallNow();
  store::Batch b;
  b.mutations = {store::PutRun{run}, store::PutStep{st}, store::PutAttempt{at}};
  ASSERT_TRUE(store_->apply(b).ok());

  crashAndRestart();  // start() succeeds
  ASSERT_TRUE(engine_->ready());
  auto d = detail(run.id);
  EXPECT_EQ(d.run.state, RunState::kFailed);
  EXPECT_NE(d.run.reason.find("workflow 'broken' version 1 cannot be loaded"), std::string::npos)
      << d.run.reason;
  EXPECT_NE(d.run.reason.find("no longer parses"), std::string::npos) << d.run.reason;
  EXPECT_EQ(step(d, "s").state, StepState::kDead);
  ASSERT_EQ(d.attempts.size(), 1u);
  EXPECT_EQ(d.attempts[0].state, AttemptState::kFailed);
  EXPECT_EQ(d.attempts[0].failureClass, FailureClass::kLost);
  // The other run went on: its lost attempt is retried.
  EXPECT_EQ(detail(good).run.state, RunState::kRunning);
  EXPECT_EQ(step(detail(good), "a").state, StepState::kRetrying);
  auto r = engine_->trigger({"broken", nlohmann::json::object(), ""}).get();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ErrorCode::kCorrupt);
  EXPECT_NE(r.error().message().find("no longer parses"), std::string::npos);
  EXPECT_TRUE(trigger("good").size() > 0);
}

}  // namespace
}  // namespace keel::engine
