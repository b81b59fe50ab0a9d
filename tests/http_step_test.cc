// http: steps through a real `keel serve` against a real local HTTP server
// run by the test: the request as sent, retries with one Idempotency-Key,
// classification, Retry-After, a timeout, and the answer as the output.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>
#include <vector>

#include "e2e_support.h"

namespace keel::e2e {
namespace {

using nlohmann::json;

struct Seen {
  std::string path;    // decoded
  std::string target;  // as sent: path and query, still percent-encoded
  std::string query;
  std::string idempotencyKey;
  std::string runId;
  std::string traceparent;
  std::string body;
  std::chrono::steady_clock::time_point at;
};

class HttpSteps : public ::testing::Test {
 protected:
  void SetUp() override {
    server_.Post(R"(/orders/(.*))", [this](const httplib::Request& req, httplib::Response& res) {
      int n = record(req);
      if (n == 1) {
        res.status = 503;  // the service is down the first time
        res.set_content("try later", "text/plain");
        return;
      }
      res.status = 201;
      res.set_content(json{{"accepted", true}, {"echo", json::parse(req.body)}}.dump(),
                      "application/json");
    });
    server_.Get("/limited", [this](const httplib::Request& req, httplib::Response& res) {
      if (record(req) == 1) {
        res.status = 429;
        res.set_header("Retry-After", "1");
        return;
      }
      res.set_content("fine", "text/plain");
    });
    server_.Get("/held", [this](const httplib::Request& req, httplib::Response& res) {
      // The first call is held until the test lets it go; later ones answer.
      if (record(req) == 1)
        for (int i = 0; i < 600 && !stopping_ && !release_; ++i)
          std::this_thread::sleep_for(std::chrono::milliseconds(50));
      res.set_content(R"({"done":true})", "application/json");
    });
    server_.Get("/slow", [this](const httplib::Request& req, httplib::Response& res) {
      record(req);
      for (int i = 0; i < 100 && !stopping_; ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      res.set_content("late", "text/plain");
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    ASSERT_GT(port_, 0);
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    // Until the loop runs, stop() would not end it (and the join would hang).
    while (!server_.is_running()) std::this_thread::yield();
    keel_.start();
  }
  void TearDown() override {
    stopping_ = true;
    keel_.stop();
    server_.stop();
    thread_.join();
  }

  int record(const httplib::Request& req) {
    std::lock_guard lock(mu_);
    Seen s;
    s.path = req.path;
    s.target = req.target;
    for (const auto& [k, v] : req.params) s.query += k + "=" + v + ";";
    s.idempotencyKey = req.get_header_value("Idempotency-Key");
    s.runId = req.get_header_value("X-Keel-Run-Id");
    s.traceparent = req.get_header_value("traceparent");
    s.body = req.body;
    s.at = std::chrono::steady_clock::now();
    seen_.push_back(s);
    return static_cast<int>(seen_.size());
  }
  std::vector<Seen> seen() {
    std::lock_guard lock(mu_);
    return seen_;
  }
  std::string base() const { return "http://127.0.0.1:" + std::to_string(port_); }
  std::string workflow(const std::string& name, const std::string& step) {
    return "name: " + name +
           "\nowner: { team: qa, contact: qa@example.com }\n"
           "runbook: https://wiki.example.com/rb\nsteps:\n" +
           step;
  }
  json runAndWait(const std::string& wf, json params) {
    auto [status, body] = keel_.trigger(wf, json{{"params", params}});
    EXPECT_EQ(status, 201) << body.dump();
    return keel_.waitForRun(body.value("id", ""));
  }

  KeelUnderTest keel_;
  httplib::Server server_;
  std::thread thread_;
  int port_ = 0;
  std::mutex mu_;
  std::vector<Seen> seen_;
  std::atomic<bool> stopping_{false};
  std::atomic<bool> release_{false};
};

TEST_F(HttpSteps, ACallIsRetriedWithOneIdempotencyKeyAndItsAnswerIsTheOutput) {
  keel_.apply(workflow("push",
                       "  - name: push\n"
                       "    http:\n"
                       "      method: POST\n"
                       "      url: \"" +
                           base() +
                           "/orders/{{ params.day }}?q={{ params.q }}\"\n"
                           "      json: { day: \"{{ params.day }}\", note: \"said "
                           "\\\"{{ params.q }}\\\"\" }\n"
                           "    timeout: 10s\n"
                           "    retry: { max_attempts: 3, backoff: fixed, initial: "
                           "100ms, jitter: none }\n"));
  auto run = runAndWait("push", {{"day", "2026/11 & x"}, {"q", "a&b=\"c\""}});
  ASSERT_EQ(run.value("state", ""), "succeeded") << run.dump();
  auto calls = seen();
  ASSERT_EQ(calls.size(), 2u);
  // One key for every attempt, so the service can do the work once.
  EXPECT_EQ(calls[0].idempotencyKey, calls[1].idempotencyKey);
  EXPECT_EQ(calls[0].idempotencyKey, run.value("id", "") + "/push");
  EXPECT_EQ(calls[0].runId, run.value("id", ""));
  EXPECT_EQ(calls[0].traceparent.substr(0, 3), "00-");
  // The value stayed one path segment and one query value.
  EXPECT_EQ(calls[0].target, "/orders/2026%2F11%20%26%20x?q=a%26b%3D%22c%22");
  EXPECT_EQ(calls[0].query, "q=a&b=\"c\";");
  json sent = json::parse(calls[0].body);
  EXPECT_EQ(sent["day"], "2026/11 & x");
  EXPECT_EQ(sent["note"], "said \"a&b=\"c\"\"");
  json output = run["steps"][0]["output"];
  EXPECT_EQ(output["status"], 201) << run.dump();
  EXPECT_EQ(output["body"]["accepted"], true);
  EXPECT_EQ(run["steps"][0]["attempts"][0].value("failure_class", ""), "dependency_unavailable")
      << run.dump();
}

TEST_F(HttpSteps, RetryAfterIsHonoured) {
  keel_.apply(workflow("limited",
                       "  - name: call\n"
                       "    http: { url: \"" +
                           base() +
                           "/limited\" }\n"
                           "    timeout: 10s\n"
                           "    retry: { max_attempts: 3, backoff: fixed, initial: "
                           "10ms, jitter: none }\n"));
  auto run = runAndWait("limited", json::object());
  ASSERT_EQ(run.value("state", ""), "succeeded") << run.dump();
  auto calls = seen();
  ASSERT_EQ(calls.size(), 2u);
  EXPECT_GE(calls[1].at - calls[0].at, std::chrono::milliseconds(900))
      << "retried before the Retry-After of 1 s";
  EXPECT_EQ(run["steps"][0]["attempts"][0].value("failure_class", ""), "rate_limited");
}

TEST_F(HttpSteps, ACallInFlightWhenKeelIsKilledIsRetriedWithTheSameKey) {
  keel_.apply(workflow("held",
                       "  - name: call\n"
                       "    http: { url: \"" +
                           base() +
                           "/held\" }\n"
                           "    timeout: 30s\n"
                           "    retry: { max_attempts: 3, backoff: fixed, initial: "
                           "10ms, jitter: none }\n"));
  auto [status, body] = keel_.trigger("held", json::object());
  ASSERT_EQ(status, 201) << body.dump();
  const std::string id = body.value("id", "");
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (seen().empty() && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  ASSERT_EQ(seen().size(), 1u);
  keel_.kill9();  // the call is in flight
  release_ = true;
  keel_.start();
  auto run = keel_.waitForRun(id);
  ASSERT_EQ(run.value("state", ""), "succeeded") << run.dump();
  auto calls = seen();
  ASSERT_EQ(calls.size(), 2u);
  // The service can tell the retry from a new call.
  EXPECT_EQ(calls[0].idempotencyKey, calls[1].idempotencyKey);
  auto attempts = run["steps"][0]["attempts"];
  ASSERT_EQ(attempts.size(), 2u) << run.dump();
  EXPECT_EQ(attempts[0].value("failure_class", ""), "lost");
  EXPECT_EQ(run["steps"][0]["output"]["body"]["done"], true);
}

TEST_F(HttpSteps, ACallPastItsTimeoutIsATimeout) {
  keel_.apply(workflow("slow",
                       "  - name: call\n"
                       "    http: { url: \"" +
                           base() +
                           "/slow\" }\n"
                           "    timeout: 1s\n"
                           "    retry: { max_attempts: 1 }\n"));
  auto run = runAndWait("slow", json::object());
  ASSERT_EQ(run.value("state", ""), "failed") << run.dump();
  EXPECT_EQ(run["steps"][0]["attempts"][0].value("failure_class", ""), "timeout") << run.dump();
}

}  // namespace
}  // namespace keel::e2e
