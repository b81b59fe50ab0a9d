// Request ids and trace context of the API: X-Request-Id echoed on every
// answer (refusals and errors too) and in the request's log line, made up
// when missing or unusable; a trigger hands the engine the caller's trace
// id and request id.
#include "api/request_ids.h"

#include <sstream>

#include "api/server_test_fixture.h"
#include "observe/log_capture.h"

namespace keel::api::test {
namespace {

constexpr char kTrace[] = "4bf92f3577b34da6a3ce929d0e0e4736";
constexpr char kParent[] = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

TEST_F(ServerTest, RequestIdIsEchoedOnEveryAnswer) {
  start();
  httplib::Headers mine{{"X-Request-Id", "req-42.a:b_c"}};
  auto ok = client().Get("/api/v1/runs", mine);
  ASSERT_EQ(ok->status, 200);
  EXPECT_EQ(ok->get_header_value("X-Request-Id"), "req-42.a:b_c");
  auto refused = anonymousClient().Get("/api/v1/runs", mine);
  ASSERT_EQ(refused->status, 401);
  EXPECT_EQ(refused->get_header_value("X-Request-Id"), "req-42.a:b_c");
  auto missing = client().Get("/api/v1/nothing", mine);
  ASSERT_EQ(missing->status, 404);
  EXPECT_EQ(missing->get_header_value("X-Request-Id"), "req-42.a:b_c");
  auto health = anonymousClient().Get("/healthz", mine);
  EXPECT_EQ(health->get_header_value("X-Request-Id"), "req-42.a:b_c");
}

TEST_F(ServerTest, AnUnusableRequestIdIsReplacedNeverRefused) {
  start();
  for (std::string bad : {std::string(65, 'a'), std::string("has space"), std::string("a;b"),
                          std::string("caf\xc3\xa9")}) {
    auto res = client().Get("/api/v1/runs", {{"X-Request-Id", bad}});
    ASSERT_EQ(res->status, 200) << bad;
    std::string made = res->get_header_value("X-Request-Id");
    EXPECT_NE(made, bad);
    EXPECT_TRUE(observe::isValidRequestId(made)) << made;
  }
  auto a = get("/api/v1/runs");
  auto b = get("/api/v1/runs");
  EXPECT_TRUE(observe::isValidRequestId(a->get_header_value("X-Request-Id")));
  EXPECT_NE(a->get_header_value("X-Request-Id"), b->get_header_value("X-Request-Id"));
}

TEST_F(ServerTest, ATriggerCarriesTheCallersTraceAndRequestId) {
  start();
  ASSERT_EQ(post("/api/v1/workflows/hello/runs", "{}",
                 {{"traceparent", kParent}, {"X-Request-Id", "trigger-1"}})
                ->status,
            201);
  // An invalid traceparent starts a new trace: never an error.
  ASSERT_EQ(post("/api/v1/workflows/hello/runs", "{}",
                 {{"traceparent", "00-00000000000000000000000000000000-00f067aa0ba902b7-01"}})
                ->status,
            201);
  ASSERT_EQ(post("/api/v1/workflows/hello/runs", "{}", {{"traceparent", "nonsense"}})->status, 201);
  auto triggers = control_.triggers();
  ASSERT_EQ(triggers.size(), 3u);
  EXPECT_EQ(triggers[0].traceId, kTrace);
  EXPECT_EQ(triggers[0].who.requestId, "trigger-1");
  for (int i : {1, 2}) {
    EXPECT_TRUE(observe::isTraceId(triggers[i].traceId)) << triggers[i].traceId;
    EXPECT_NE(triggers[i].traceId, kTrace);
    EXPECT_TRUE(observe::isValidRequestId(triggers[i].who.requestId));
  }
  EXPECT_NE(triggers[1].traceId, triggers[2].traceId);
}

TEST_F(ServerTest, TheRequestLogLineCarriesTheRequestId) {
  observe::LogCapture log("debug");
  start();
  ASSERT_EQ(anonymousClient().Get("/api/v1/runs", {{"X-Request-Id", "who-asked-1"}})->status, 401);
  server_->stop();
  server_.reset();
  bool found = false;
  std::istringstream in(log.text());
  for (std::string line; std::getline(in, line);) {
    auto j = json::parse(line, nullptr, false);
    if (j.is_object() && j["msg"] == "http GET /api/v1/runs 401") {
      EXPECT_EQ(j["request_id"], "who-asked-1");
      found = true;
    }
  }
  EXPECT_TRUE(found) << log.text();
}

TEST_F(ServerTest, TheRunShowsItsTraceId) {
  store_.runs[2].run.traceId = kTrace;
  store_.runs[2].run.requestId = "trigger-1";
  start();
  auto stored = body(get(std::string("/api/v1/runs/") + kRunIds[2]));
  EXPECT_EQ(stored["trace_id"], kTrace);
  EXPECT_EQ(stored["request_id"], "trigger-1");
  // A run stored before runs kept their trace: the id's 128 bits.
  auto older = body(get(std::string("/api/v1/runs/") + kRunIds[1]));
  EXPECT_EQ(older["trace_id"], observe::derivedTraceId(kRunIds[1]));
  EXPECT_TRUE(older["request_id"].is_null());
}

}  // namespace
}  // namespace keel::api::test
