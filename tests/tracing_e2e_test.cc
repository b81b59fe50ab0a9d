// Following a request end to end through a real `keel serve`: a trigger
// with a traceparent and an X-Request-Id; a run: step that sees the trace
// in TRACEPARENT (with KEEL_RUN_ID and KEEL_REQUEST_ID); an http: step
// whose call carries the same trace id; and, with --otlp-endpoint, the
// spans of the trigger request, the run, its steps and attempts arriving
// at a local collector, the request's under the caller's span and the
// run's under the request's.
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>
#include <vector>

#include "e2e_support.h"

namespace keel::e2e {
namespace {

using nlohmann::json;

constexpr char kTrace[] = "4bf92f3577b34da6a3ce929d0e0e4736";
constexpr char kCallerSpan[] = "00f067aa0ba902b7";
constexpr char kRequestId[] = "e2e-request.1";

// The service the http: step calls, and the OTLP collector, in one server.
class TracingReceiver {
 public:
  TracingReceiver() {
    server_.Get("/hop", [this](const httplib::Request& req, httplib::Response& res) {
      std::lock_guard lock(mu_);
      hops_.push_back(req.get_header_value("traceparent"));
      res.set_content(R"({"ok":true})", "application/json");
    });
    server_.Post("/v1/traces", [this](const httplib::Request& req, httplib::Response& res) {
      std::lock_guard lock(mu_);
      json body = json::parse(req.body, nullptr, false);
      contentTypes_.insert(req.get_header_value("Content-Type"));
      if (body.is_object())
        for (const auto& rs : body["resourceSpans"])
          for (const auto& ss : rs["scopeSpans"])
            for (const auto& s : ss["spans"]) spans_.push_back(s);
      res.set_content("{}", "application/json");
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (!server_.is_running()) std::this_thread::yield();
  }
  ~TracingReceiver() {
    server_.stop();
    thread_.join();
  }
  std::string base() const { return "http://127.0.0.1:" + std::to_string(port_); }
  std::vector<std::string> hops() {
    std::lock_guard lock(mu_);
    return hops_;
  }
  std::vector<json> spans() {
    std::lock_guard lock(mu_);
    return spans_;
  }
  std::set<std::string> contentTypes() {
    std::lock_guard lock(mu_);
    return contentTypes_;
  }

 private:
  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
  std::mutex mu_;
  std::vector<std::string> hops_;
  std::vector<json> spans_;
  std::set<std::string> contentTypes_;
};

std::vector<std::string> linesOf(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// The first span named `name` the receiver got; null when none came.
json spanNamed(TracingReceiver& receiver, const std::string& name) {
  for (const auto& s : receiver.spans())
    if (s.value("name", "") == name) return s;
  return json();
}

TEST(TracingEndToEnd, TheCallersTraceReachesTheStepsTheirCallsAndTheCollector) {
  TracingReceiver receiver;
  KeelUnderTest keel({"--otlp-endpoint", receiver.base()});
  keel.start();
  std::string envFile = keel.dir().file("env.txt");
  keel.apply(
      "name: traced\nowner: { team: qa, contact: qa@example.com }\n"
      "runbook: https://wiki.example.com/rb\nsteps:\n"
      "  - name: env\n"
      "    run: printf '%s\\n%s\\n%s\\n' \"$TRACEPARENT\" \"$KEEL_RUN_ID\" "
      "\"$KEEL_REQUEST_ID\" > '" +
      envFile +
      "'\n"
      "    timeout: 30s\n"
      "  - name: hop\n"
      "    needs: [env]\n"
      "    http: { url: \"" +
      receiver.base() +
      "/hop\" }\n"
      "    timeout: 30s\n");
  auto res =
      keel.client()->Post("/api/v1/workflows/traced/runs",
                          {{"traceparent", std::string("00-") + kTrace + "-" + kCallerSpan + "-01"},
                           {"X-Request-Id", kRequestId}},
                          "{}", "application/json");
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 201) << res->body;
  EXPECT_EQ(res->get_header_value("X-Request-Id"), kRequestId);
  // The answer names the request's own span in the caller's trace.
  std::string answered = res->get_header_value("traceparent");
  ASSERT_EQ(answered.size(), 55u) << answered;
  EXPECT_EQ(answered.substr(0, 36), std::string("00-") + kTrace + "-") << answered;
  std::string requestSpan = answered.substr(36, 16);
  EXPECT_NE(requestSpan, kCallerSpan);
  json created = json::parse(res->body);
  EXPECT_EQ(created["trace_id"], kTrace);
  EXPECT_EQ(created["request_id"], kRequestId);
  std::string runId = created["id"];
  json run = keel.waitForRun(runId);
  ASSERT_EQ(run.value("state", ""), "succeeded") << run.dump();
  EXPECT_EQ(run["trace_id"], kTrace);

  // The run: step's environment: the caller's trace, its own span.
  auto env = linesOf(envFile);
  ASSERT_EQ(env.size(), 3u);
  const std::string& traceparent = env[0];
  ASSERT_EQ(traceparent.size(), 55u) << traceparent;
  EXPECT_EQ(traceparent.substr(0, 36), std::string("00-") + kTrace + "-") << traceparent;
  std::string envSpan = traceparent.substr(36, 16);
  EXPECT_NE(envSpan, kCallerSpan);
  EXPECT_EQ(env[1], runId);
  EXPECT_EQ(env[2], kRequestId);

  // The http: step's call carries the same trace.
  auto hops = receiver.hops();
  ASSERT_EQ(hops.size(), 1u);
  ASSERT_EQ(hops[0].size(), 55u) << hops[0];
  EXPECT_EQ(hops[0].substr(3, 32), kTrace);

  // The spans: the run, both steps, each attempt, all in the caller's trace.
  auto named = [&](const std::string& name) { return spanNamed(receiver, name); };
  ASSERT_TRUE(waitFor([&] { return !named("run traced").is_null(); }, 60))
      << "spans received: " << json(receiver.spans()).dump();
  const std::string route = "POST /api/v1/workflows/{name}/runs";
  ASSERT_TRUE(waitFor([&] { return !named(route).is_null(); }, 60))
      << "spans received: " << json(receiver.spans()).dump();
  ASSERT_TRUE(waitFor([&] { return receiver.spans().size() >= 6; }, 60));
  for (const auto& s : receiver.spans()) {
    std::string name = s.value("name", "");
    // Reads are no spans; the apply before the trigger is one of its own trace.
    EXPECT_NE(name.rfind("GET ", 0), 0u) << s.dump();
    if (name == "POST /api/v1/workflows") continue;
    EXPECT_EQ(s["traceId"], kTrace) << s.dump();
    EXPECT_EQ(s["spanId"].get<std::string>().size(), 16u);
    EXPECT_TRUE(s["startTimeUnixNano"].is_string());
    EXPECT_TRUE(s["endTimeUnixNano"].is_string());
  }
  json attempt = named("attempt env #1");
  ASSERT_FALSE(attempt.is_null());
  // The span the step's TRACEPARENT named is the attempt's own.
  EXPECT_EQ(attempt["spanId"], envSpan);
  json step = named("step env");
  ASSERT_FALSE(step.is_null());
  EXPECT_EQ(attempt["parentSpanId"], step["spanId"]);
  json runSpan = named("run traced");
  EXPECT_EQ(step["parentSpanId"], runSpan["spanId"]);
  EXPECT_EQ(runSpan["status"]["code"], 1);
  // The trigger request is a server span under the caller's span, named by
  // its route, and the run's span hangs under it.
  json request = named(route);
  EXPECT_EQ(request["spanId"], requestSpan);
  EXPECT_EQ(request["parentSpanId"], kCallerSpan);
  EXPECT_EQ(request["kind"], 2);
  EXPECT_EQ(runSpan["parentSpanId"], requestSpan);
  std::map<std::string, json> requestAttrs;
  for (const auto& a : request["attributes"]) requestAttrs[a["key"]] = a["value"];
  EXPECT_EQ(requestAttrs["http.request.method"], json({{"stringValue", "POST"}}));
  EXPECT_EQ(requestAttrs["http.route"], json({{"stringValue", "/api/v1/workflows/{name}/runs"}}));
  EXPECT_EQ(requestAttrs["http.response.status_code"], json({{"intValue", "201"}}));
  EXPECT_EQ(requestAttrs["keel.request_id"], json({{"stringValue", kRequestId}}));
  std::set<std::string> attrs;
  for (const auto& a : attempt["attributes"]) attrs.insert(a["key"].get<std::string>());
  for (const char* k : {"keel.workflow", "keel.run_id", "keel.step", "keel.attempt"})
    EXPECT_TRUE(attrs.count(k)) << k << " in " << attempt.dump();
  json hopAttempt = named("attempt hop #1");
  ASSERT_FALSE(hopAttempt.is_null());
  EXPECT_EQ(hops[0].substr(36, 16), hopAttempt["spanId"]);
  EXPECT_EQ(receiver.contentTypes(), std::set<std::string>{"application/json"});
  keel.stop();
}

// An event posted with the caller's traceparent: the run it starts joins
// that trace, its run span under the event request's span.
TEST(TracingEndToEnd, ARunStartedByAnEventHangsUnderTheEventsRequest) {
  TracingReceiver receiver;
  KeelUnderTest keel({"--otlp-endpoint", receiver.base()});
  keel.start();
  keel.apply(
      "name: on-event\nowner: { team: qa, contact: qa@example.com }\n"
      "runbook: https://wiki.example.com/rb\ntriggers:\n  - event: files.arrived\nsteps:\n"
      "  - name: one\n    run: \"true\"\n    timeout: 30s\n");
  auto res =
      keel.client()->Post("/api/v1/events/files.arrived",
                          {{"traceparent", std::string("00-") + kTrace + "-" + kCallerSpan + "-01"},
                           {"X-Request-Id", kRequestId}},
                          R"({"id": "file-1", "payload": {}})", "application/json");
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 202) << res->body;
  std::string answered = res->get_header_value("traceparent");
  ASSERT_EQ(answered.size(), 55u) << answered;
  EXPECT_EQ(answered.substr(3, 32), kTrace);
  std::string requestSpan = answered.substr(36, 16);
  json answer = json::parse(res->body);
  ASSERT_EQ(answer["runs"].size(), 1u) << res->body;
  json run = keel.waitForRun(answer["runs"][0].get<std::string>());
  ASSERT_EQ(run.value("state", ""), "succeeded") << run.dump();
  EXPECT_EQ(run["trace_id"], kTrace);
  EXPECT_EQ(run["request_id"], kRequestId);
  auto named = [&](const std::string& name) { return spanNamed(receiver, name); };
  ASSERT_TRUE(waitFor([&] { return !named("run on-event").is_null(); }, 60))
      << "spans received: " << json(receiver.spans()).dump();
  json runSpan = named("run on-event");
  EXPECT_EQ(runSpan["traceId"], kTrace);
  EXPECT_EQ(runSpan["parentSpanId"], requestSpan);
  ASSERT_TRUE(waitFor([&] { return !named("POST /api/v1/events/{topic}").is_null(); }, 60));
  json request = named("POST /api/v1/events/{topic}");
  EXPECT_EQ(request["spanId"], requestSpan);
  EXPECT_EQ(request["parentSpanId"], kCallerSpan);
  keel.stop();
}

TEST(TracingEndToEnd, WithoutATraceparentTheRunStartsItsOwnTrace) {
  KeelUnderTest keel;
  keel.start();
  keel.apply(
      "name: plain\nowner: { team: qa, contact: qa@example.com }\n"
      "runbook: https://wiki.example.com/rb\nsteps:\n"
      "  - name: one\n    run: \"true\"\n    timeout: 30s\n");
  auto res =
      keel.client()->Post("/api/v1/workflows/plain/runs",
                          {{"traceparent", "00-not-a-valid-header-01"}}, "{}", "application/json");
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 201) << res->body;
  std::string madeId = res->get_header_value("X-Request-Id");
  EXPECT_FALSE(madeId.empty());
  json created = json::parse(res->body);
  std::string trace = created.value("trace_id", "");
  EXPECT_EQ(trace.size(), 32u);
  EXPECT_NE(trace, kTrace);
  EXPECT_EQ(created["request_id"], madeId);
  keel.stop();
}

TEST(TracingEndToEnd, AnOtlpEndpointThatIsNoHttpUrlStopsTheStart) {
  testing::TempDir dir;
  std::string db = dir.file("keel.db");
  auto refused =
      serveUntilExit({"--db", db, "--listen", "127.0.0.1:0", "--otlp-endpoint", "collector:4318"});
  EXPECT_FALSE(refused.served);
  EXPECT_EQ(refused.exitCode, 78);  // EX_CONFIG
  EXPECT_TRUE(contains(refused.output, "--otlp-endpoint must be an http:// or https:// URL"))
      << refused.output;
}

}  // namespace
}  // namespace keel::e2e
