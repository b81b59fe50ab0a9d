// Fuzzes the JSON API behind the HTTP layer: the /api/v1 routes on a Router
// (addWorkflowRoutes, addRunRoutes) over the test fakes, with the input as
// the body of each POST route (apply, trigger, cancel, retry), as the query
// string of the GET routes, and as path segments and headers. Every reply
// must be valid JSON, and every error reply (status >= 400) must have the
// error shape. Applies go through the real workflow parser.
#include <fuzzer/FuzzedDataProvider.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>

#include <httplib.h>

#include "api/routes.h"
#include "fuzz_support.h"
#include "testing/fake_control.h"
#include "testing/fake_store.h"

namespace {

keel::testing::FakeStore& fakeStore() {
  static keel::testing::FakeStore* s = [] {
    auto* made = new keel::testing::FakeStore;
    keel::fuzz::fillStore(*made);
    return made;
  }();
  return *s;
}

std::string segment(FuzzedDataProvider& in, const char* usual) {
  return in.ConsumeBool() ? std::string(usual) : in.ConsumeRandomLengthString(64);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace keel;
  FuzzedDataProvider in(data, size);
  // A FakeControl records every call: a fresh one per input keeps memory flat.
  keel::testing::FakeControl control;
  fuzz::answerLikeTheEngine(control);
  api::Router router;
  static SystemClock clock;
  api::RouteContext ctx{control, fakeStore(), std::chrono::milliseconds(5000), clock};
  api::addWorkflowRoutes(router, ctx);
  api::addRunRoutes(router, ctx);
  api::addTokenRoutes(router, ctx);

  httplib::Request req;
  std::string query;
  switch (in.ConsumeIntegralInRange<int>(0, 9)) {
    case 0:
      req.method = "POST";
      req.path = "/api/v1/workflows";
      if (in.ConsumeBool()) req.headers.emplace("X-Keel-Source", in.ConsumeRandomLengthString(128));
      break;
    case 1:
      req.method = "POST";
      req.path = "/api/v1/workflows/" + segment(in, "hello") + "/runs";
      if (in.ConsumeBool())
        req.headers.emplace("Idempotency-Key", in.ConsumeRandomLengthString(300));
      break;
    case 2:
      req.method = "POST";
      req.path = "/api/v1/runs/" + segment(in, fuzz::kRunId) + "/cancel";
      break;
    case 3:
      req.method = "POST";
      req.path = "/api/v1/runs/" + segment(in, fuzz::kRunId) + "/retry";
      break;
    case 4:
      req.method = "GET";
      req.path = "/api/v1/runs";
      query = in.ConsumeRemainingBytesAsString();
      break;
    case 5:
      req.method = "GET";
      req.path = "/api/v1/workflows";
      query = in.ConsumeRemainingBytesAsString();
      break;
    case 6:
      req.method = "GET";
      req.path = "/api/v1/workflows/" + segment(in, "hello");
      break;
    case 7:
      req.method = "GET";
      req.path = "/api/v1/runs/" + segment(in, fuzz::kRunId) +
                 (in.ConsumeBool() ? "/events" : "/steps/" + segment(in, "a") + "/logs");
      query = in.ConsumeRemainingBytesAsString();
      break;
    case 8:
      req.method = "POST";
      req.path =
          in.ConsumeBool() ? "/api/v1/tokens" : "/api/v1/tokens/" + segment(in, "ci") + "/revoke";
      break;
    default:
      req.method = in.ConsumeBool() ? "GET" : in.ConsumeRandomLengthString(8);
      req.path = in.ConsumeRandomLengthString(256);
      break;
  }
  if (!query.empty()) httplib::detail::parse_query_text(query, req.params);
  // The documented media type, so that bodies reach the routes (a wrong
  // one is refused with 415 before any parsing).
  if (req.method == "POST" && !req.has_header("Content-Type"))
    req.headers.emplace("Content-Type",
                        req.path == "/api/v1/workflows" ? "application/yaml" : "application/json");
  std::string body = in.ConsumeRemainingBytesAsString();
  api::Reply reply = router.dispatch(req, body);
  fuzz::checkReply(reply.status, reply.contentType, reply.body);
  return 0;
}
