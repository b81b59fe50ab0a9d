// Events in over real HTTP against `keel serve`: an event starts the runs
// of matching triggers with the payload in their params; the same id again
// (after a kill -9 too, and concurrently) answers the same runs.
#include <atomic>
#include <set>
#include <thread>

#include <gtest/gtest.h>

#include "e2e_support.h"

namespace keel::e2e {
namespace {

using nlohmann::json;

constexpr const char* kLoader = R"(name: loader
owner: { team: qa, contact: qa@example.com }
runbook: https://wiki.example.com/rb
triggers:
  - event: files.arrived
    match: { region: eu }
    params: { path: "{{ event.payload.path }}" }
steps:
  - { name: a, run: "echo {{ params.path }}", timeout: 1m }
)";

std::pair<int, json> emit(const KeelUnderTest& keel, const std::string& id, const json& payload) {
  auto c = keel.client();
  auto res = c->Post("/api/v1/events/files.arrived", json{{"id", id}, {"payload", payload}}.dump(),
                     "application/json");
  if (!res) return {0, json()};
  return {res->status, json::parse(res->body, nullptr, false)};
}

TEST(EventsE2e, AnEventStartsRunsOnceAcrossACrash) {
  KeelUnderTest keel;
  keel.start();
  keel.apply(kLoader);
  json payload = {{"region", "eu"}, {"path", "/in/a.csv"}};
  auto [status, body] = emit(keel, "e1", payload);
  ASSERT_EQ(status, 202) << body.dump();
  ASSERT_EQ(body["runs"].size(), 1u);
  std::string runId = body["runs"][0];
  auto run = keel.waitForRun(runId);
  EXPECT_EQ(run.value("state", ""), "succeeded");
  EXPECT_EQ(run["params"], json({{"path", "/in/a.csv"}}));
  auto [again, againBody] = emit(keel, "e1", payload);
  EXPECT_EQ(again, 200);
  EXPECT_EQ(againBody["runs"], body["runs"]);
  auto [conflict, conflictBody] = emit(keel, "e1", {{"region", "eu"}, {"path", "/other"}});
  EXPECT_EQ(conflict, 409) << conflictBody.dump();
  keel.kill9();
  keel.start();
  auto [afterCrash, afterBody] = emit(keel, "e1", payload);
  EXPECT_EQ(afterCrash, 200);
  EXPECT_EQ(afterBody["runs"], body["runs"]);
  EXPECT_EQ(queryText(keel.db(), "SELECT count(*) FROM runs"), "1");
}

TEST(EventsE2e, ConcurrentDeliveriesStartOneSetOfRuns) {
  KeelUnderTest keel;
  keel.start();
  keel.apply(kLoader);
  constexpr int kRequests = 20;
  std::vector<int> status(kRequests);
  std::vector<std::string> runs(kRequests);
  std::atomic<int> ready{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kRequests; ++i) {
    threads.emplace_back([&, i] {
      auto c = keel.client();
      ++ready;
      while (ready < kRequests) std::this_thread::yield();
      auto res =
          c->Post("/api/v1/events/files.arrived",
                  R"({"id":"same","payload":{"region":"eu","path":"/x"}})", "application/json");
      if (!res) return;
      status[i] = res->status;
      auto body = json::parse(res->body, nullptr, false);
      if (body.is_object()) runs[i] = body["runs"].dump();
    });
  }
  for (auto& t : threads) t.join();
  int created = 0, repeated = 0;
  std::set<std::string> distinct(runs.begin(), runs.end());
  for (int s : status) {
    created += s == 202;
    repeated += s == 200;
  }
  EXPECT_EQ(created, 1);
  EXPECT_EQ(repeated, kRequests - 1);
  EXPECT_EQ(distinct.size(), 1u);
  EXPECT_EQ(queryText(keel.db(), "SELECT count(*) FROM runs"), "1");
}

}  // namespace
}  // namespace keel::e2e
