// G1/G2 over real HTTP: 100 concurrent triggers with one idempotency key
// start exactly one run.
#include <atomic>
#include <set>
#include <thread>

#include <gtest/gtest.h>

#include "e2e_support.h"

namespace keel::e2e {
namespace {

TEST(Idempotency, HundredConcurrentTriggersWithOneKeyStartOneRun) {
  KeelUnderTest keel;
  keel.start();
  keel.apply(R"(name: once
owner: { team: qa, contact: qa@example.com }
runbook: https://wiki.example.com/rb
steps:
  - { name: a, run: "sleep 0.2", timeout: 1m }
)");
  constexpr int kRequests = 100;
  std::vector<int> status(kRequests);
  std::vector<std::string> ids(kRequests);
  std::atomic<int> ready{0};
  std::vector<std::thread> threads;
  const std::string token = keel.token();
  for (int i = 0; i < kRequests; ++i) {
    threads.emplace_back([&, i] {
      httplib::Client c(keel.url());
      c.set_read_timeout(60);
      c.set_bearer_token_auth(token);
      httplib::Headers headers{{"Idempotency-Key", "nightly-2026-11-23"}};
      ++ready;
      while (ready < kRequests) std::this_thread::yield();
      auto res = c.Post("/api/v1/workflows/once/runs", headers, "{}", "application/json");
      if (!res) return;
      status[i] = res->status;
      auto body = nlohmann::json::parse(res->body, nullptr, false);
      if (body.is_object()) ids[i] = body.value("id", "");
    });
  }
  for (auto& t : threads) t.join();
  int created = 0, existing = 0;
  std::set<std::string> distinct;
  for (int i = 0; i < kRequests; ++i) {
    created += status[i] == 201;
    existing += status[i] == 200;
    distinct.insert(ids[i]);
  }
  EXPECT_EQ(created, 1);
  EXPECT_EQ(existing, kRequests - 1);
  EXPECT_EQ(distinct.size(), 1u);
  EXPECT_FALSE(distinct.begin()->empty());
  EXPECT_EQ(queryText(keel.db(), "SELECT count(*) FROM runs"), "1");
  auto run = keel.waitForRun(*distinct.begin());
  EXPECT_EQ(run.value("state", ""), "succeeded");
}

}  // namespace
}  // namespace keel::e2e
