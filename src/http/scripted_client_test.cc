// The scripted fake keeps HttpClient's contract: one `done` per send.
#include <gtest/gtest.h>

#include "testing/scripted_http_client.h"

namespace keel::testing {
namespace {

using http::HttpResult;
using http::TransportFailureKind;

TEST(ScriptedHttpClient, HandsOutScriptedResultsInOrderOnDeliverOnly) {
  ScriptedHttpClient client;
  client.scriptStatus(503, "", {{"Retry-After", "3"}});
  client.scriptFailure(TransportFailureKind::kDns);
  std::vector<HttpResult> got;
  auto keep = [&](HttpResult r) { got.push_back(std::move(r)); };
  http::HttpRequest req;
  req.url = "http://svc/a";
  client.send(req, keep);
  req.url = "http://svc/b";
  client.send(req, keep);
  auto third = client.send(req, keep);
  EXPECT_TRUE(got.empty());
  EXPECT_EQ(client.deliver(), 2u);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].response.status, 503);
  EXPECT_EQ(got[1].failure->kind, TransportFailureKind::kDns);
  EXPECT_EQ(client.inFlight(), std::vector<http::HttpClient::Handle>{third});
  EXPECT_EQ(client.requests().size(), 3u);
  EXPECT_EQ(client.requests()[0].url, "http://svc/a");
  client.cancel(third);
  client.cancel(third);
  EXPECT_EQ(client.deliver(), 1u);
  EXPECT_EQ(got[2].failure->kind, TransportFailureKind::kCancelled);
  EXPECT_FALSE(client.complete(third, HttpResult{}));
}

TEST(ScriptedHttpClient, ShutdownEndsEveryRequestOnce) {
  ScriptedHttpClient client;
  int calls = 0;
  auto count = [&](HttpResult r) {
    EXPECT_EQ(r.failure->kind, TransportFailureKind::kCancelled);
    ++calls;
  };
  client.send({}, count);
  client.send({}, count);
  client.shutdown();
  client.send({}, count);
  EXPECT_EQ(client.deliver(), 3u);
  EXPECT_EQ(client.deliver(), 0u);
  EXPECT_EQ(calls, 3);
}

}  // namespace
}  // namespace keel::testing
