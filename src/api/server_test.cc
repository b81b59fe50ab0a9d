// The HTTP API against a scripted engine (FakeControl) and canned rows
// (FakeStore): health, errors of every kind, workflows and triggers.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <sstream>
#include <stdexcept>
#include <thread>

#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include "api/server_test_fixture.h"
#include "observe/json_log.h"
#include "observe/log_capture.h"

namespace keel::api::test {
namespace {

TEST_F(ServerTest, HealthzAndReadyz) {
  std::atomic<bool> ready{false};
  ServerOptions options;
  options.ready = [&ready] { return ready.load(); };
  start(options);
  auto health = get("/healthz");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
  EXPECT_EQ(body(health), json({{"status", "ok"}}));
  auto starting = get("/readyz");
  EXPECT_EQ(starting->status, 503);
  EXPECT_EQ(body(starting), json({{"status", "starting"}}));
  ready = true;
  auto readyNow = get("/readyz");
  EXPECT_EQ(readyNow->status, 200);
  EXPECT_EQ(body(readyNow), json({{"status", "ready"}}));
}

TEST_F(ServerTest, UnknownRouteIs404Json) {
  start();
  auto res = get("/x");
  expectError(res, 404, "not_found");
  EXPECT_EQ(body(res)["error"]["message"], "no route for GET /x");
  expectError(get("/api/v1/runs/"), 404, "not_found");
  expectError(get("/api/v1/runs/A/steps"), 404, "not_found");
}

TEST_F(ServerTest, WrongMethodOnKnownPathIs405WithAllow) {
  start();
  auto res = client().Delete("/api/v1/runs");
  expectError(res, 405, "method_not_allowed");
  EXPECT_EQ(res->get_header_value("Allow"), "GET");
  auto onTrigger = get("/api/v1/workflows/hello/runs");
  expectError(onTrigger, 405, "method_not_allowed");
  EXPECT_EQ(onTrigger->get_header_value("Allow"), "POST");
  auto onWorkflows = client().Put("/api/v1/workflows", "x", "text/plain");
  expectError(onWorkflows, 405, "method_not_allowed");
  EXPECT_EQ(onWorkflows->get_header_value("Allow"), "POST, GET");
}

TEST_F(ServerTest, OversizeBodyIs413WithOrWithoutContentLength) {
  ServerOptions options;
  options.maxBodyBytes = 1024;
  start(options);
  std::string big(2048, 'x');
  auto refused = client().Post("/api/v1/workflows", big, "application/yaml");
  expectError(refused, 413, "too_large");
  // Refused before the router, it is still the request's span and says so.
  EXPECT_EQ(refused->get_header_value("traceparent").rfind("00-", 0), 0u)
      << refused->get_header_value("traceparent");
  // Chunked: no Content-Length for httplib to check up front.
  auto chunked = client().Post(
      "/api/v1/workflows",
      [&big](size_t offset, httplib::DataSink& sink) {
        if (offset < big.size()) {
          sink.write(big.data() + offset, 256);
        } else {
          sink.done();
        }
        return true;
      },
      "application/yaml");
  expectError(chunked, 413, "too_large");
  EXPECT_TRUE(control_.applies().empty());
  // A body at the limit is accepted.
  auto fits = client().Post("/api/v1/workflows", std::string(1024, 'y'), "application/yaml");
  ASSERT_TRUE(fits);
  EXPECT_EQ(fits->status, 201);
}

TEST_F(ServerTest, ApplyReturns201WhenChangedAnd200WhenIdentical) {
  start();
  bool changed = true;
  control_.onApply = [&changed](const std::string&,
                                const std::string&) -> Result<engine::ApplyResult> {
    engine::ApplyResult r;
    r.workflow.name = "hello";
    r.workflow.version = changed ? 3 : 2;
    r.changed = changed;
    r.warnings = {"step a: retry policy defaulted"};
    return r;
  };
  auto created = client().Post("/api/v1/workflows", "name: hello\n", "application/yaml");
  ASSERT_TRUE(created);
  EXPECT_EQ(created->status, 201);
  EXPECT_EQ(body(created), json({{"name", "hello"},
                                 {"version", 3},
                                 {"changed", true},
                                 {"warnings", {"step a: retry policy defaulted"}}}));
  changed = false;
  auto same = client().Post("/api/v1/workflows", {{"X-Keel-Source", "/srv/wf/hello.yaml"}},
                            "name: hello\n", "application/yaml");
  ASSERT_TRUE(same);
  EXPECT_EQ(same->status, 200);
  EXPECT_EQ(body(same)["changed"], false);
  auto applies = control_.applies();
  ASSERT_EQ(applies.size(), 2u);
  EXPECT_EQ(applies[0], std::make_pair(std::string("name: hello\n"), std::string("api")));
  EXPECT_EQ(applies[1].second, "/srv/wf/hello.yaml");
}

TEST_F(ServerTest, ApplyValidationErrorsAre400WithDetails) {
  start();
  control_.onApply = [](const std::string&, const std::string&) -> Result<engine::ApplyResult> {
    return Error(ErrorCode::kInvalidArgument, "workflow is invalid",
                 {"api:1:1: missing 'owner'", "api:3:5: unknown key 'nedds'"});
  };
  auto res = client().Post("/api/v1/workflows", "name: x\n", "application/yaml");
  expectError(res, 400, "invalid_argument");
  EXPECT_EQ(body(res)["error"]["details"],
            json({"api:1:1: missing 'owner'", "api:3:5: unknown key 'nedds'"}));
}

TEST_F(ServerTest, ListsAndShowsWorkflows) {
  store_.workflows[2].yaml =
      "name: other\ndescription: the other one\nowner: { team: qa, contact: qa@example.com }\n"
      "runbook: https://wiki.example.com/other\nsteps:\n  - name: a\n    noop: true\n";
  store_.runs[1].run.finishedAt = at(kT0 + 50);  // hello's succeeded run
  start();
  auto list = get("/api/v1/workflows");
  ASSERT_EQ(list->status, 200);
  auto workflows = body(list)["workflows"];
  ASSERT_EQ(workflows.size(), 2u);
  // hello's stored text does not parse (it was stored before a rule it
  // breaks): its owner is unknown and the error says why.
  EXPECT_TRUE(workflows[0]["owner"].is_null());
  EXPECT_TRUE(workflows[0]["error"].is_string());
  EXPECT_EQ(workflows[0]["last_run"]["id"], kRunIds[2]);
  EXPECT_EQ(workflows[0]["last_run"]["state"], "failed");
  EXPECT_EQ(workflows[0]["last_success_at"], "2026-01-01T00:00:00.050Z");
  for (auto* key : {"owner", "error", "last_run", "last_success_at"}) workflows[0].erase(key);
  EXPECT_EQ(workflows[0], json({{"name", "hello"},
                                {"version", 2},
                                {"namespace", "default"},
                                {"created_at", "2025-12-31T23:59:59.000Z"},
                                {"paused", nullptr},
                                {"disabled", nullptr}}));
  EXPECT_EQ(workflows[1]["owner"], json({{"team", "qa"}, {"contact", "qa@example.com"}}));
  EXPECT_EQ(workflows[1]["runbook"], "https://wiki.example.com/other");
  EXPECT_EQ(workflows[1]["description"], "the other one");
  EXPECT_EQ(workflows[1]["last_run"]["id"], kRunIds[0]);
  EXPECT_TRUE(workflows[1]["last_success_at"].is_null()) << "its run has no finish time";
  auto one = get("/api/v1/workflows/hello");
  ASSERT_EQ(one->status, 200);
  auto j = body(one);
  EXPECT_EQ(j["version"], 2);
  EXPECT_EQ(j["yaml"], "name: hello # v2\n");
  EXPECT_EQ(j["versions"],
            json::parse(R"j([{"version":1,"created_at":"2025-12-31T23:59:58.000Z","applied_by":""},
                             {"version":2,"created_at":"2025-12-31T23:59:59.000Z",
                              "applied_by":"alice (token ops)"}])j"));
  expectError(get("/api/v1/workflows/nope"), 404, "not_found");
}

TEST_F(ServerTest, TriggerCreatesWith201AndReturnsExistingWith200) {
  start();
  auto created = post("/api/v1/workflows/hello/runs",
                      R"({"params":{"who":"ops","n":3,"loud":true},"idempotency_key":"k1"})");
  ASSERT_TRUE(created);
  EXPECT_EQ(created->status, 201) << created->body;
  auto j = body(created);
  EXPECT_EQ(j["id"], "01KAAAAAAAAAAAAAAAAAAAAAAA");
  EXPECT_EQ(j["workflow"], "hello");
  EXPECT_EQ(j["idempotency_key"], "k1");
  auto triggers = control_.triggers();
  ASSERT_EQ(triggers.size(), 1u);
  EXPECT_EQ(triggers[0].workflow, "hello");
  EXPECT_EQ(triggers[0].params, json({{"who", "ops"}, {"n", 3}, {"loud", true}}));
  EXPECT_EQ(triggers[0].idempotencyKey, "k1");

  control_.onTrigger = [](const engine::TriggerRequest&) -> Result<engine::TriggerResult> {
    engine::TriggerResult r;
    r.run = sampleRun().run;
    r.created = false;
    return r;
  };
  auto again = post("/api/v1/workflows/hello/runs", "", {{"Idempotency-Key", "nightly-1"}});
  ASSERT_TRUE(again);
  EXPECT_EQ(again->status, 200);
  EXPECT_EQ(body(again)["id"], kRunIds[2]);
  triggers = control_.triggers();
  ASSERT_EQ(triggers.size(), 2u);
  EXPECT_EQ(triggers[1].idempotencyKey, "nightly-1");
  EXPECT_EQ(triggers[1].params, json::object()) << "an empty body means no params";
}

TEST_F(ServerTest, NullParamsAndKeyMeanNone) {
  start();
  auto res = post("/api/v1/workflows/hello/runs", R"({"params":null,"idempotency_key":null})");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 201) << res->body;
  auto triggers = control_.triggers();
  ASSERT_EQ(triggers.size(), 1u);
  EXPECT_EQ(triggers[0].params, json::object());
  EXPECT_EQ(triggers[0].idempotencyKey, "");
}

TEST_F(ServerTest, IdempotencyKeyHeaderAndFieldMustAgree) {
  start();
  auto conflict = post("/api/v1/workflows/hello/runs", R"({"idempotency_key":"a"})",
                       {{"Idempotency-Key", "b"}});
  expectError(conflict, 400, "invalid_argument");
  EXPECT_NE(body(conflict)["error"]["message"].get<std::string>().find("differ"),
            std::string::npos);
  EXPECT_TRUE(control_.triggers().empty());
  auto same = post("/api/v1/workflows/hello/runs", R"({"idempotency_key":"a"})",
                   {{"Idempotency-Key", "a"}});
  EXPECT_EQ(same->status, 201);
  auto tooLong = post("/api/v1/workflows/hello/runs", "{}",
                      {{"Idempotency-Key", std::string(kMaxIdempotencyKeyBytes + 1, 'k')}});
  expectError(tooLong, 400, "invalid_argument");
}

TEST_F(ServerTest, TriggerBodyIsChecked) {
  start();
  auto badJson = post("/api/v1/workflows/hello/runs", R"({"params": })");
  expectError(badJson, 400, "invalid_argument");
  EXPECT_NE(body(badJson)["error"]["message"].get<std::string>().find("at byte 12"),
            std::string::npos)
      << badJson->body;
  auto nested = post("/api/v1/workflows/hello/runs", R"({"params":{"ok":"x","list":[1]}})");
  expectError(nested, 400, "invalid_argument");
  EXPECT_NE(body(nested)["error"]["message"].get<std::string>().find("param 'list'"),
            std::string::npos);
  expectError(post("/api/v1/workflows/hello/runs", R"({"params":[1]})"), 400, "invalid_argument");
  expectError(post("/api/v1/workflows/hello/runs", R"({"param":{}})"), 400, "invalid_argument");
  expectError(post("/api/v1/workflows/hello/runs", R"([1,2])"), 400, "invalid_argument");
  expectError(post("/api/v1/workflows/hello/runs", R"({"idempotency_key":5})"), 400,
              "invalid_argument");
  EXPECT_TRUE(control_.triggers().empty());
}

TEST_F(ServerTest, EngineErrorsMapToStatuses) {
  start();
  ErrorCode code = ErrorCode::kNotFound;
  control_.onTrigger = [&code](const engine::TriggerRequest&) -> Result<engine::TriggerResult> {
    return Error(code, "scripted");
  };
  expectError(post("/api/v1/workflows/nope/runs", ""), 404, "not_found");
  code = ErrorCode::kAlreadyExists;
  expectError(post("/api/v1/workflows/x/runs", ""), 409, "already_exists");
  code = ErrorCode::kConflict;
  expectError(post("/api/v1/workflows/x/runs", ""), 409, "conflict");
  code = ErrorCode::kIdempotencyConflict;
  expectError(post("/api/v1/workflows/x/runs", ""), 409, "idempotency_conflict");
  code = ErrorCode::kTooLarge;
  expectError(post("/api/v1/workflows/x/runs", ""), 413, "too_large");
  code = ErrorCode::kUnimplemented;
  expectError(post("/api/v1/workflows/x/runs", ""), 501, "unimplemented");
  code = ErrorCode::kUnavailable;
  expectError(post("/api/v1/workflows/x/runs", ""), 503, "unavailable");
  code = ErrorCode::kCorrupt;
  expectError(post("/api/v1/workflows/x/runs", ""), 500, "corrupt");
}

TEST_F(ServerTest, AnEngineThatDoesNotAnswerGives503) {
  ServerOptions options;
  options.engineTimeout = std::chrono::milliseconds(20);
  start(options);
  control_.hang = true;
  auto res = post("/api/v1/workflows/hello/runs", "");
  expectError(res, 503, "unavailable");
  EXPECT_NE(body(res)["error"]["message"].get<std::string>().find("idempotency key"),
            std::string::npos);
}

TEST_F(ServerTest, AThrowingHandlerGives500AndTheServerLivesOn) {
  start();
  control_.onTrigger = [](const engine::TriggerRequest&) -> Result<engine::TriggerResult> {
    throw std::runtime_error("boom");
  };
  auto res = post("/api/v1/workflows/hello/runs", "");
  expectError(res, 500, "internal");
  EXPECT_NE(res->body.find("boom"), std::string::npos);
  EXPECT_EQ(get("/healthz")->status, 200);
}

TEST_F(ServerTest, RequestLinesCarryMethodPathStatusAndActor) {
  observe::LogCapture log("debug");
  start();
  control_.onTrigger = [](const engine::TriggerRequest&) -> Result<engine::TriggerResult> {
    throw std::runtime_error("boom");
  };
  ASSERT_EQ(anonymousClient().Get("/api/v1/runs")->status, 401);
  ASSERT_EQ(get("/api/v1/runs")->status, 200);
  ASSERT_EQ(post("/api/v1/workflows/hello/runs", "")->status, 500);
  server_->stop();  // every line is written
  server_.reset();
  std::vector<json> lines;
  std::istringstream in(log.text());
  for (std::string line; std::getline(in, line);) {
    auto j = json::parse(line, nullptr, false);
    ASSERT_TRUE(j.is_object()) << line;
    lines.push_back(j);
  }
  auto find = [&](const std::string& msg) -> json {
    for (const auto& j : lines)
      if (j["msg"] == msg) return j;
    return {};
  };
  auto refused = find("http GET /api/v1/runs 401");
  ASSERT_FALSE(refused.is_null()) << log.text();
  EXPECT_EQ(refused["level"], "info");
  EXPECT_EQ(refused["method"], "GET");
  EXPECT_EQ(refused["path"], "/api/v1/runs");
  EXPECT_EQ(refused["status"], 401);
  EXPECT_FALSE(refused.contains("actor"));
  auto ok = find("http GET /api/v1/runs 200");
  ASSERT_FALSE(ok.is_null()) << log.text();
  EXPECT_EQ(ok["level"], "debug");
  EXPECT_EQ(ok["actor"], "tester");
  auto failed = find("http POST /api/v1/workflows/hello/runs 500");
  ASSERT_FALSE(failed.is_null()) << log.text();
  EXPECT_EQ(failed["level"], "warning");
  EXPECT_EQ(failed["actor"], "tester");
  auto error = find("http POST /api/v1/workflows/hello/runs: unexpected exception: boom");
  ASSERT_FALSE(error.is_null()) << log.text();
  EXPECT_EQ(error["level"], "error");
  EXPECT_EQ(error["method"], "POST");
  EXPECT_EQ(error["path"], "/api/v1/workflows/hello/runs");
  EXPECT_EQ(error["status"], 500);
  EXPECT_EQ(error["actor"], "tester");
}

TEST_F(ServerTest, StoreFailuresAreServerErrors) {
  start();
  store_.readError = Error(ErrorCode::kIo, "disk on fire");
  auto res = get("/api/v1/runs");
  expectError(res, 500, "io_error");
  EXPECT_EQ(body(res)["error"]["message"], "disk on fire");
  store_.readError = Error(ErrorCode::kUnavailable, "database is locked");
  expectError(get("/api/v1/workflows"), 503, "unavailable");
}

TEST_F(ServerTest, MetricsCountRequestsByRouteAndStatus) {
  ServerOptions options;
  // Another module's metric in the registry the server is handed.
  metrics_.gauge("keel_runs_active", "Runs.").set(7);
  options.metrics = &metrics_;
  start(options);
  get("/healthz");
  get("/api/v1/runs/01KA0000000000000000000009");
  get("/nowhere");
  // Requests are counted by httplib's logger, which runs after the answer
  // has been sent, on each connection's thread, so in no set order: ask
  // again (bounded) until all three are counted.
  auto counted = [](const std::string& body) {
    return body.find(R"(route="/healthz",status="200"} 1)") != std::string::npos &&
           body.find(R"(route="unmatched",status="404"} 1)") != std::string::npos &&
           body.find(R"(route="/api/v1/runs/{id}",status="404"} 1)") != std::string::npos;
  };
  auto res = get("/metrics");
  for (int i = 0; i < 500 && res && !counted(res->body); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    res = get("/metrics");
  }
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200);
  EXPECT_EQ(res->get_header_value("Content-Type"), "text/plain; version=0.0.4");
  const auto& text = res->body;
  EXPECT_NE(text.find("\nkeel_up 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find(R"(keel_http_requests_total{method="GET",route="/healthz",status="200"} 1)"),
            std::string::npos)
      << text;
  EXPECT_NE(
      text.find(
          R"(keel_http_requests_total{method="GET",route="/api/v1/runs/{id}",status="404"} 1)"),
      std::string::npos)
      << text;
  EXPECT_NE(text.find(R"(route="unmatched",status="404"} 1)"), std::string::npos) << text;
  EXPECT_NE(text.find("# TYPE keel_runs_active gauge\nkeel_runs_active 7\n"), std::string::npos)
      << text;
  EXPECT_NE(text.find("# HELP keel_up 1 while this keel server answers.\n# TYPE keel_up gauge\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("# HELP keel_http_requests_total HTTP requests answered, by method, route "
                      "and status.\n# TYPE keel_http_requests_total counter\n"),
            std::string::npos)
      << text;
}

TEST_F(ServerTest, APostWithoutContentLengthHasAnEmptyBody) {
  start();
  control_.onCancel = [](const std::string& id) -> Result<store::RunRow> {
    store::RunRow row;
    row.id = id;
    row.state = RunState::kCancelled;
    return row;
  };
  // What `curl -X POST URL` sends: no Content-Length, no Transfer-Encoding.
  auto response = rawExchange(port_, std::string("POST /api/v1/runs/") + kRunIds[0] +
                                         "/cancel HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                                         "Authorization: Bearer " +
                                         kTestToken + "\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(response.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << response;
  EXPECT_NE(response.find(R"("state":"cancelled")"), std::string::npos) << response;
}

TEST_F(ServerTest, ABusyPortIsAnError) {
  start();
  testing::FakeControl control;
  testing::FakeStore store;
  Server second(control, store, {});
  auto port = second.start("127.0.0.1", port_);
  ASSERT_FALSE(port.ok());
  EXPECT_EQ(port.error().code(), ErrorCode::kUnavailable);
}

TEST_F(ServerTest, StopRightAfterStartReturns) {
  start();
  server_->stop();
  server_->stop();
  EXPECT_FALSE(client().Get("/healthz"));
}

}  // namespace
}  // namespace keel::api::test
