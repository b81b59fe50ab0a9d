// A run's trace: kept from the trigger (or started), handed to its steps
// (TRACEPARENT, KEEL_RUN_ID, KEEL_REQUEST_ID), written on its log lines,
// and told as spans once durable.
#include <mutex>
#include <sstream>

#include "engine/engine_test_fixture.h"
#include "observe/log_capture.h"
#include "observe/trace_context.h"

namespace keel::engine::test {
namespace {

constexpr char kTrace[] = "4bf92f3577b34da6a3ce929d0e0e4736";

class CollectingSink final : public observe::SpanSink {
 public:
  void record(observe::Span span) override {
    std::lock_guard lock(mu_);
    spans_.push_back(std::move(span));
  }
  std::vector<observe::Span> spans() {
    std::lock_guard lock(mu_);
    return spans_;
  }
  const observe::Span* named(const std::string& name) {
    std::lock_guard lock(mu_);
    for (const auto& s : spans_)
      if (s.name == name) return &s;
    return nullptr;
  }

 private:
  std::mutex mu_;
  std::vector<observe::Span> spans_;
};

class EngineTracingTest : public EngineTest {
 protected:
  std::string triggerTraced(const std::string& wf, std::string traceId, std::string requestId,
                            std::string requestSpan = {}) {
    TriggerRequest request{wf, nlohmann::json::object(), ""};
    request.who.token = "tester";
    request.who.requestId = std::move(requestId);
    request.who.spanId = std::move(requestSpan);
    request.traceId = std::move(traceId);
    auto f = engine_->trigger(std::move(request));
    engine_->pump();
    auto r = f.get();
    EXPECT_TRUE(r.ok()) << r.error().toString();
    return r.ok() ? r->run.id : "";
  }
};

TEST_F(EngineTracingTest, ARunKeepsTheTriggersTraceAndItsStepsSeeIt) {
  apply(workflow("traced", R"(
steps:
  - { name: "load", run: "a", timeout: 1m, retry: { max_attempts: 2, initial: 1s, jitter: none } }
)"));
  auto id = triggerTraced("traced", kTrace, "req-7");
  auto d = detail(id);
  EXPECT_EQ(d.run.traceId, kTrace);
  EXPECT_EQ(d.run.requestId, "req-7");
  ASSERT_EQ(exec_.started.size(), 1u);
  const auto& env = exec_.started[0].request.env;
  EXPECT_EQ(env.at("TRACEPARENT"),
            observe::formatTraceparent(kTrace, observe::attemptSpanId(id, "load", 1)));
  EXPECT_EQ(env.at("KEEL_RUN_ID"), id);
  EXPECT_EQ(env.at("KEEL_REQUEST_ID"), "req-7");
  exec_.fail(0, FailureClass::kError, 1);
  engine_->pump();
  clock_.advance(std::chrono::seconds(2));
  engine_->pump();
  ASSERT_EQ(exec_.started.size(), 2u);
  // A new attempt is a new span in the same trace.
  EXPECT_EQ(exec_.started[1].request.env.at("TRACEPARENT"),
            observe::formatTraceparent(kTrace, observe::attemptSpanId(id, "load", 2)));
}

TEST_F(EngineTracingTest, ARunWithoutATraceStartsItsOwn) {
  apply(workflow("own", R"(
steps:
  - { name: "load", run: "a", timeout: 1m, retry: { max_attempts: 1 } }
)"));
  auto a = trigger("own");
  auto b = trigger("own");
  std::string ta = detail(a).run.traceId, tb = detail(b).run.traceId;
  EXPECT_TRUE(observe::isTraceId(ta)) << ta;
  EXPECT_TRUE(observe::isTraceId(tb)) << tb;
  EXPECT_NE(ta, tb);
  EXPECT_NE(ta, observe::derivedTraceId(a)) << "a new trace, not one derived from the id";
  EXPECT_EQ(detail(a).run.requestId, "");
  ASSERT_FALSE(exec_.started.empty());
  EXPECT_EQ(exec_.started[0].request.env.at("KEEL_REQUEST_ID"), "");
}

TEST_F(EngineTracingTest, LogLinesOfARunCarryItsTraceId) {
  observe::LogCapture log("info");
  apply(workflow("logged", R"(
steps:
  - { name: "load", run: "a", timeout: 1m, retry: { max_attempts: 1 } }
)"));
  auto id = triggerTraced("logged", kTrace, "req-8");
  exec_.fail(0, FailureClass::kBadInput, 65);
  engine_->pump();
  int withRun = 0;
  std::istringstream in(log.text());
  for (std::string line; std::getline(in, line);) {
    auto j = nlohmann::json::parse(line, nullptr, false);
    ASSERT_FALSE(j.is_discarded()) << line;
    if (!j.contains("run_id")) continue;
    ++withRun;
    EXPECT_EQ(j.value("trace_id", ""), kTrace) << line;
  }
  EXPECT_GE(withRun, 2) << log.text();  // the failed attempt and the run's end
}

// The engine of these tests records its spans into sink_.
class EngineSpansTest : public EngineTracingTest {
 protected:
  void SetUp() override {
    spans_ = &sink_;
    EngineTracingTest::SetUp();
  }
  void TearDown() override { engine_.reset(); }  // before sink_ goes

  CollectingSink sink_;
};

TEST_F(EngineSpansTest, EndedRunsStepsAndAttemptsBecomeSpansOnceDurable) {
  CollectingSink& sink = sink_;
  apply(workflow("spanned", R"(
steps:
  - { name: "load", run: "a", timeout: 1m, retry: { max_attempts: 2, initial: 1s, jitter: none } }
)"));
  auto id = triggerTraced("spanned", kTrace, "req-9");
  exec_.fail(0, FailureClass::kError, 1);
  engine_->pump();
  clock_.advance(std::chrono::seconds(2));
  engine_->pump();
  exec_.succeed(1);
  engine_->pump();
  ASSERT_EQ(detail(id).run.state, RunState::kSucceeded);
  const observe::Span* run = sink.named("run spanned");
  const observe::Span* step = sink.named("step load");
  const observe::Span* first = sink.named("attempt load #1");
  const observe::Span* second = sink.named("attempt load #2");
  ASSERT_TRUE(run && step && first && second) << sink.spans().size();
  EXPECT_EQ(sink.spans().size(), 4u);
  for (const auto* s : {run, step, first, second}) EXPECT_EQ(s->traceId, kTrace);
  EXPECT_EQ(first->spanId, observe::attemptSpanId(id, "load", 1));
  EXPECT_EQ(first->parentSpanId, step->spanId);
  EXPECT_EQ(second->parentSpanId, step->spanId);
  EXPECT_EQ(step->parentSpanId, run->spanId);
  EXPECT_TRUE(run->parentSpanId.empty());
  EXPECT_EQ(first->status, observe::SpanStatus::kError);
  EXPECT_EQ(second->status, observe::SpanStatus::kOk);
  EXPECT_EQ(run->status, observe::SpanStatus::kOk);
  EXPECT_LE(first->startUnixNanos, first->endUnixNanos);
  EXPECT_LE(step->startUnixNanos, first->startUnixNanos);
  bool hasClass = false;
  for (const auto& [k, v] : first->attributes)
    if (k == "keel.class") hasClass = v == "error";
  EXPECT_TRUE(hasClass);
}

// A run triggered by an API request keeps the request's span as its
// parent, in the run's creating transaction, and its run span names it.
TEST_F(EngineSpansTest, ARunSpanHangsUnderTheSpanOfTheRequestThatCreatedIt) {
  apply(workflow("child", R"(
steps:
  - { name: "load", run: "a", timeout: 1m, retry: { max_attempts: 1 } }
)"));
  constexpr char kRequestSpan[] = "00f067aa0ba902b7";
  auto id = triggerTraced("child", kTrace, "req-10", kRequestSpan);
  auto stored = store_->getRun(id);
  ASSERT_TRUE(stored.ok() && stored->has_value());
  EXPECT_EQ((*stored)->run.parentSpanId, kRequestSpan) << "stored when the run is created";
  exec_.succeed(0);
  engine_->pump();
  const observe::Span* run = sink_.named("run child");
  ASSERT_TRUE(run);
  EXPECT_EQ(run->traceId, kTrace);
  EXPECT_EQ(run->parentSpanId, kRequestSpan);
  // A request span that is not one (not 16 lower-case hex) is not kept.
  auto bad = triggerTraced("child", kTrace, "req-11", "00F067AA0BA902B7");
  auto badRow = store_->getRun(bad);
  ASSERT_TRUE(badRow.ok() && badRow->has_value());
  EXPECT_EQ((*badRow)->run.parentSpanId, "");
}

// A run started by an after: trigger continues the upstream run's trace,
// its run span a child of the upstream run's span.
TEST_F(EngineSpansTest, AChainedRunContinuesTheUpstreamRunsTrace) {
  apply(workflow("up", "steps:\n  - { name: a, noop: true }\n"));
  apply(workflow("down", R"(
triggers:
  - after: { workflow: up, state: succeeded }
steps:
  - { name: b, noop: true }
)"));
  auto upId = triggerTraced("up", kTrace, "req-12");
  engine_->pump();
  engine_->pump();
  store::RunFilter downs;
  downs.workflow = "down";
  auto chained = store_->listRuns(downs);
  ASSERT_TRUE(chained.ok());
  ASSERT_EQ(chained->size(), 1u);
  EXPECT_EQ(chained->front().traceId, kTrace);
  EXPECT_EQ(chained->front().parentSpanId, SpanRecorder::runSpanId(upId));
  const observe::Span* down = sink_.named("run down");
  ASSERT_TRUE(down);
  EXPECT_EQ(down->traceId, kTrace);
  EXPECT_EQ(down->parentSpanId, SpanRecorder::runSpanId(upId));
  // Runs keel starts by itself otherwise stay roots of their own trace.
  const observe::Span* up = sink_.named("run up");
  ASSERT_TRUE(up);
  EXPECT_TRUE(up->parentSpanId.empty());
}

// The runs an event posted through the API starts join the request's trace,
// their run spans under the request's span; an event without a trace
// starts runs that are roots of their own traces.
TEST_F(EngineSpansTest, RunsStartedByAnEventHangUnderTheEventsRequest) {
  for (const char* name : {"on-file", "also-on-file"})
    apply(workflow(name,
                   "triggers:\n  - event: files.arrived\nsteps:\n  - { name: a, noop: true }\n"));
  constexpr char kRequestSpan[] = "00f067aa0ba902b7";
  EventRequest traced{"files.arrived", "e1", nlohmann::json::object()};
  traced.who.token = "tester";
  traced.who.requestId = "req-20";
  traced.who.spanId = kRequestSpan;
  traced.traceId = kTrace;
  auto f = engine_->emitEvent(std::move(traced));
  engine_->pump();
  auto result = f.get();
  ASSERT_TRUE(result.ok()) << result.error().toString();
  ASSERT_EQ(result->runIds.size(), 2u);
  for (const auto& id : result->runIds) {
    auto stored = store_->getRun(id);
    ASSERT_TRUE(stored.ok() && stored->has_value());
    EXPECT_EQ((*stored)->run.traceId, kTrace) << (*stored)->run.workflow;
    EXPECT_EQ((*stored)->run.parentSpanId, kRequestSpan) << (*stored)->run.workflow;
    EXPECT_EQ((*stored)->run.requestId, "req-20") << (*stored)->run.workflow;
  }
  engine_->pump();
  const observe::Span* run = sink_.named("run on-file");
  ASSERT_TRUE(run);
  EXPECT_EQ(run->traceId, kTrace);
  EXPECT_EQ(run->parentSpanId, kRequestSpan);

  auto g = engine_->emitEvent({"files.arrived", "e2", nlohmann::json::object()});
  engine_->pump();
  auto untraced = g.get();
  ASSERT_TRUE(untraced.ok());
  ASSERT_EQ(untraced->runIds.size(), 2u);
  auto own = store_->getRun(untraced->runIds.front());
  ASSERT_TRUE(own.ok() && own->has_value());
  EXPECT_TRUE(observe::isTraceId((*own)->run.traceId));
  EXPECT_NE((*own)->run.traceId, kTrace);
  EXPECT_EQ((*own)->run.parentSpanId, "");
}

}  // namespace
}  // namespace keel::engine::test
