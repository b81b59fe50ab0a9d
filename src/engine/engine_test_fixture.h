// The engine tests' fixture: a manual clock, a seeded random source, a real
// SQLite store in a temporary directory and a scripted executor, plus a
// store wrapper that fails commits on demand. Test only.
#pragma once

#include "engine/engine.h"

#include <unistd.h>

#include <future>
#include <optional>
#include <set>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include "core/ids.h"
#include "observe/json_log.h"
#include "observe/log_capture.h"
#include "spec/template.h"

#include "store/sqlite/sqlite_store.h"
#include "testing/temp_dir.h"

namespace keel::engine::test {

using namespace std::chrono_literals;

// Records every attempt started; the test decides how each one ends.
class ScriptedExecutor : public exec::StepExecutor {
 public:
  struct Started {
    exec::StepRequest request;
    std::function<void(exec::StepOutcome)> done;
    exec::ExecHandle handle;
    bool finished = false;
    std::optional<exec::AttemptRef> reattached;  // set for attach()
  };
  exec::ExecHandle start(exec::StepRequest request,
                         std::function<void(exec::StepOutcome)> done) override {
    started.push_back({std::move(request), std::move(done), ++next, false, std::nullopt});
    return next;
  }
  void stop(exec::ExecHandle handle, FailureClass why) override {
    stops.emplace_back(handle, why);
    if (!stopsTakeEffect) return;
    for (auto& s : started)
      if (s.handle == handle && !s.finished) {
        exec::StepOutcome o;
        o.failureClass = why;
        o.message = "stopped";
        finish(s, o);
      }
  }
  void shutdown() override {}
  // With keepAcrossRestart, attach() records the attempt like start() for
  // the test to end; otherwise it is lost at once (the default executor's).
  exec::ExecHandle attach(exec::AttemptRef ref,
                          std::function<void(exec::StepOutcome)> done) override {
    if (!keepAcrossRestart) return StepExecutor::attach(std::move(ref), std::move(done));
    exec::StepRequest r;
    r.runId = ref.runId;
    r.step = ref.step;
    r.attempt = ref.attempt;
    started.push_back({std::move(r), std::move(done), ++next, false, std::move(ref)});
    return next;
  }
  void discard(const exec::AttemptRef& ref) override { discarded.push_back(ref); }
  void sweep(const std::vector<exec::AttemptRef>& keep) override { sweeps.push_back(keep); }

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
  std::vector<exec::AttemptRef> discarded;
  std::vector<std::vector<exec::AttemptRef>> sweeps;
  bool keepAcrossRestart = false;
  // false: stop() is recorded but the attempt runs on (keel died before the
  // signal reached it).
  bool stopsTakeEffect = true;
  exec::ExecHandle next = 0;
};

// Passes everything to a real store, except that the next `failures`
// commits fail as a full disk would, that `unhealthy` (when set) is
// what health() reports, and that `onRead` (when set) sees each run read.
class FlakyStore : public store::Store {
 public:
  explicit FlakyStore(store::Store& real) : real_(real) {}
  int failures = 0;
  int applies = 0;
  std::optional<Error> unhealthy;
  std::function<void()> beforeApply;  // runs on the writer before each commit
  std::vector<store::Batch> batches;  // every batch applied (with keepBatches)
  bool keepBatches = false;
  // Runs on the reading thread after each read of a run, its key or its
  // events, with the store method's name.
  std::function<void(const std::string&)> onRead;

  template <typename R>
  R read(const std::string& what, R r) {
    if (onRead) onRead(what);
    return r;
  }

  Status apply(const store::Batch& b) override {
    if (beforeApply) beforeApply();
    if (keepBatches) batches.push_back(b);
    ++applies;
    if (failures > 0) {
      --failures;
      return Error(ErrorCode::kIo, "disk full (injected)");
    }
    return real_.apply(b);
  }
  Result<store::WorkflowVersionRow> putWorkflow(const store::WorkflowVersionRow& r,
                                                const audit::Entry* a) override {
    return real_.putWorkflow(r, a);
  }
  Result<std::vector<store::ActiveRun>> claimRuns() override { return real_.claimRuns(); }
  Status renewLeases() override { return real_.renewLeases(); }
  Status putToken(const store::TokenRow& r, const audit::Entry* a) override {
    return real_.putToken(r, a);
  }
  Result<store::TokenRow> revokeToken(const std::string& n, WallTime at,
                                      const audit::Entry* a) override {
    return real_.revokeToken(n, at, a);
  }
  Result<audit::Head> auditHead() override { return real_.auditHead(); }
  Result<std::vector<audit::Entry>> listAudit(const store::AuditFilter& f) override {
    return real_.listAudit(f);
  }
  Result<std::vector<audit::Entry>> auditEntries(int64_t after, int limit) override {
    return real_.auditEntries(after, limit);
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
    return read("findRunByIdempotencyKey", real_.findRunByIdempotencyKey(w, k));
  }
  Result<std::optional<store::RunDetail>> getRun(const std::string& id) override {
    return read("getRun", real_.getRun(id));
  }
  Result<std::vector<store::RunRow>> listRuns(const store::RunFilter& f) override {
    return real_.listRuns(f);
  }
  Result<std::vector<store::EventRow>> runEvents(const std::string& id) override {
    return read("runEvents", real_.runEvents(id));
  }
  Result<std::vector<store::LogRow>> stepLogs(const std::string& id, const std::string& step,
                                              std::optional<int> attempt) override {
    return real_.stepLogs(id, step, attempt);
  }
  Result<std::string> integrityCheck() override { return real_.integrityCheck(); }
  Result<std::optional<store::InboundEventRow>> findInboundEvent(const std::string& t,
                                                                 const std::string& id) override {
    return read("findInboundEvent", real_.findInboundEvent(t, id));
  }
  Result<std::vector<incidents::Incident>> listIncidents(const store::IncidentFilter& f) override {
    return real_.listIncidents(f);
  }
  Result<std::optional<incidents::Incident>> getIncident(const std::string& id) override {
    return real_.getIncident(id);
  }
  Result<std::vector<store::ChannelRow>> listChannels() override { return real_.listChannels(); }
  Result<std::vector<store::WorkflowControlRow>> listWorkflowControls() override {
    return real_.listWorkflowControls();
  }
  Result<std::vector<store::ScheduleStateRow>> listScheduleStates() override {
    return read("listScheduleStates", real_.listScheduleStates());
  }
  Result<std::optional<store::FileArrivalRow>> findFileArrival(const std::string& w,
                                                               const std::string& k) override {
    return read("findFileArrival", real_.findFileArrival(w, k));
  }
  Result<std::vector<store::FileArrivalRow>> listFileArrivals(const std::string& w,
                                                              int t) override {
    return read("listFileArrivals", real_.listFileArrivals(w, t));
  }
  Result<std::vector<store::OutboxEventRow>> pendingOutbox(int64_t after, int limit) override {
    return real_.pendingOutbox(after, limit);
  }
  Result<std::optional<store::OutboxEventRow>> findOutboxEvent(const std::string& id) override {
    return real_.findOutboxEvent(id);
  }
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
    opts.runners = runners_;
    opts.metrics = &metrics_;
    opts.listDirectory = lister_;
    opts.spans = spans_;
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

  // A version stored by another keel that this one cannot parse, and a run
  // of it with its one step running (attempt 1). Returns the run's id.
  std::string storeRunOfAnUnparseableVersion() {
    store::WorkflowVersionRow bad;
    bad.name = "broken";
    bad.yaml = "name: broken\nsteps: [\n";
    bad.createdAt = clock_.wallNow();
    auto stored = store_->putWorkflow(bad);
    EXPECT_TRUE(stored.ok()) << stored.error().toString();
    store::RunRow run;
    run.id = newRunId(clock_.wallNow(), random_);
    run.workflow = "broken";
    run.version = stored.ok() ? stored->version : 1;
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
    at.n = 1;
    at.startedAt = clock_.wallNow();
    store::Batch b;
    b.mutations = {store::PutRun{run}, store::PutStep{st}, store::PutAttempt{at}};
    EXPECT_TRUE(store_->apply(b).ok());
    return run.id;
  }

  int maxParallel_ = 32;
  triggers::FileWatcher::Lister lister_;  // file triggers' directories; null: the real ones
  std::map<spec::StepKind, StepRunner*> runners_;  // beyond run: steps, by kind
  testing::TempDir dir_;
  ManualClock clock_;
  SeededRandom random_{42};
  observe::SpanSink* spans_ = nullptr;  // set before openEngine() to collect spans
  ScriptedExecutor exec_;
  observe::MetricsRegistry metrics_;  // the engines' metrics; outlives each of them
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<FlakyStore> flaky_;
  std::unique_ptr<Engine> engine_;
};

inline constexpr const char* kHeader = R"(
owner: { team: data, contact: oncall@example.com }
runbook: https://wiki.example.com/rb
)";

inline std::string workflow(const std::string& name, const std::string& rest) {
  return "name: " + name + kHeader + rest;
}

// The value of the metric series written exactly as `series` (name and
// labels, labels sorted by name) in an exposition text, or nothing if the
// text has no such line.
inline std::optional<double> metricValue(const std::string& text, const std::string& series) {
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    if (line.rfind(series + " ", 0) == 0) return std::stod(line.substr(series.size() + 1));
  return std::nullopt;
}

}  // namespace keel::engine::test
