// HttpRunner with a scripted client: what is sent, how answers become
// outcomes, stop and attach.
#include "runners/http_runner.h"

#include <gtest/gtest.h>

#include <future>

#include "spec/parser.h"
#include "testing/scripted_http_client.h"

namespace keel::runners {
namespace {

using nlohmann::json;

constexpr const char* kWorkflow = R"(name: push
owner: { team: data, contact: oncall@example.com }
runbook: https://wiki.example.com/rb
steps:
  - name: send
    http:
      method: POST
      url: "https://erp.example.com/orders/{{ params.date }}?q={{ params.q }}"
      headers: { X-Tenant: acme }
      json: { date: "{{ params.date }}", note: "say \"{{ params.q }}\"" }
      expect: [200-299]
    timeout: 30s
)";

class HttpRunnerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto parsed = spec::parseWorkflow(kWorkflow);
    ASSERT_TRUE(parsed.ok()) << parsed.error().toString();
    wf_ = *parsed;
  }

  Result<std::shared_ptr<const engine::PreparedAttempt>> prepare(json params, int attempt = 1,
                                                                 std::string traceId = {},
                                                                 std::string spanId = {}) {
    params_ = std::move(params);
    engine::AttemptInput in;
    in.traceId = std::move(traceId);
    in.spanId = std::move(spanId);
    in.runId = kRunId;
    in.workflow = "push";
    in.attempt = attempt;
    in.workflowSpec = wf_.get();
    in.step = &wf_->steps[0];
    in.params = &params_;
    in.outputs = &outputs_;
    in.timeout = std::chrono::seconds(30);
    return runner_.prepare(in);
  }

  exec::StepOutcome run(json params, int attempt = 1) {
    auto p = prepare(std::move(params), attempt);
    EXPECT_TRUE(p.ok()) << p.error().toString();
    std::promise<exec::StepOutcome> got;
    runner_.start(*p, [&](exec::StepOutcome o) { got.set_value(std::move(o)); });
    client_.deliver();
    return got.get_future().get();
  }

  static constexpr const char* kRunId = "01KB2C3D4E5F6G7H8J9KMNPQRS";
  testing::ScriptedHttpClient client_;
  ManualClock clock_;
  HttpRunner runner_{client_, clock_};
  std::shared_ptr<const spec::WorkflowSpec> wf_;
  json params_;
  std::map<std::string, json> outputs_;
};

TEST_F(HttpRunnerTest, SendsTheRenderedRequestWithKeelsHeadersOnEveryAttempt) {
  client_.scriptStatus(200, R"({"id": 7})", {{"Content-Type", "application/json"}});
  client_.scriptStatus(200, "ok");
  auto o = run({{"date", "2026/11 & more"}, {"q", "a&b=c#d"}});
  run({{"date", "2026/11 & more"}, {"q", "a&b=c#d"}}, 2);
  auto sent = client_.requests();
  ASSERT_EQ(sent.size(), 2u);
  const auto& r = sent[0];
  EXPECT_EQ(r.method, "POST");
  // Values are percent-encoded for their place: no new path segment, no new query field.
  EXPECT_EQ(r.url, "https://erp.example.com/orders/2026%2F11%20%26%20more?q=a%26b%3Dc%23d");
  json body = json::parse(r.body);
  EXPECT_EQ(body["date"], "2026/11 & more");
  EXPECT_EQ(body["note"], "say \"a&b=c#d\"");
  EXPECT_EQ(http::findHeader(r.headers, "Content-Type"), "application/json");
  EXPECT_EQ(http::findHeader(r.headers, "X-Tenant"), "acme");
  EXPECT_EQ(http::findHeader(r.headers, "X-Keel-Run-Id"), kRunId);
  // The same key on every attempt: the service does the work once.
  EXPECT_EQ(http::findHeader(r.headers, "Idempotency-Key"), std::string(kRunId) + "/send");
  EXPECT_EQ(http::findHeader(sent[1].headers, "Idempotency-Key"), std::string(kRunId) + "/send");
  auto trace = http::findHeader(r.headers, "traceparent");
  ASSERT_TRUE(trace);
  EXPECT_EQ(trace->substr(0, 3), "00-");
  EXPECT_EQ(trace->substr(3, 32), HttpRunner::traceId(kRunId));
  EXPECT_EQ(HttpRunner::traceId(kRunId).size(), 32u);
  // A JSON answer becomes the output.
  ASSERT_TRUE(o.succeeded) << o.message;
  json out = json::parse(o.outputJson);
  EXPECT_EQ(out["status"], 200);
  EXPECT_EQ(out["body"]["id"], 7);
  EXPECT_EQ(out["headers"]["content-type"], "application/json");
  EXPECT_NE(o.stdoutText.find("HTTP 200"), std::string::npos) << o.stdoutText;
}

TEST_F(HttpRunnerTest, TheTraceparentCarriesTheRunsStoredTraceAndTheAttemptsSpan) {
  auto p = prepare({{"date", "d"}, {"q", "x"}}, 2, "4bf92f3577b34da6a3ce929d0e0e4736",
                   "00f067aa0ba902b7");
  ASSERT_TRUE(p.ok()) << p.error().toString();
  runner_.start(*p, [](exec::StepOutcome) {});
  ASSERT_EQ(client_.requests().size(), 1u);
  EXPECT_EQ(http::findHeader(client_.requests()[0].headers, "traceparent"),
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
  client_.deliver();
}

TEST_F(HttpRunnerTest, AnswersAndFailuresAreClassified) {
  const json params = {{"date", "d"}, {"q", "q"}};
  client_.scriptStatus(503, "down");
  EXPECT_EQ(run(params).failureClass, FailureClass::kDependencyUnavailable);
  client_.scriptStatus(404, "no");
  EXPECT_EQ(run(params).failureClass, FailureClass::kBadInput);
  client_.scriptStatus(500, "boom");
  EXPECT_EQ(run(params).failureClass, FailureClass::kError);
  client_.scriptFailure(http::TransportFailureKind::kConnectionRefused, "refused");
  auto refused = run(params);
  EXPECT_EQ(refused.failureClass, FailureClass::kDependencyUnavailable);
  EXPECT_NE(refused.message.find("refused"), std::string::npos) << refused.message;
  client_.scriptFailure(http::TransportFailureKind::kTimeout, "slow");
  EXPECT_EQ(run(params).failureClass, FailureClass::kTimeout);
  // 429 with Retry-After: rate limited, and not before the time it names.
  client_.scriptStatus(429, "slow down", {{"Retry-After", "120"}});
  auto limited = run(params);
  EXPECT_EQ(limited.failureClass, FailureClass::kRateLimited);
  ASSERT_TRUE(limited.retryNotBefore);
  EXPECT_EQ(*limited.retryNotBefore, clock_.wallNow() + std::chrono::seconds(120));
}

TEST_F(HttpRunnerTest, ATemplateThatCannotRenderIsBadInputBeforeAnythingIsSent) {
  auto p = prepare(json::object());  // params.date missing
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_TRUE(client_.requests().empty());
}

TEST_F(HttpRunnerTest, StopEndsTheCallWithTheClassItWasGiven) {
  auto p = prepare({{"date", "d"}, {"q", "q"}});
  ASSERT_TRUE(p.ok());
  std::promise<exec::StepOutcome> got;
  auto h = runner_.start(*p, [&](exec::StepOutcome o) { got.set_value(std::move(o)); });
  runner_.stop(h, FailureClass::kTimeout);
  client_.deliver();
  auto o = got.get_future().get();
  EXPECT_EQ(o.failureClass, FailureClass::kTimeout);
  EXPECT_NE(o.message.find("stopped after"), std::string::npos) << o.message;
}

TEST_F(HttpRunnerTest, ACallInFlightWhenKeelStoppedIsLost) {
  std::optional<exec::StepOutcome> got;
  runner_.attach(exec::AttemptRef{kRunId, "send", 1}, nullptr,
                 [&](exec::StepOutcome o) { got = o; });
  ASSERT_TRUE(got);
  EXPECT_EQ(got->failureClass, FailureClass::kLost);
  EXPECT_NE(got->message.find("Idempotency-Key"), std::string::npos);
}

}  // namespace
}  // namespace keel::runners
