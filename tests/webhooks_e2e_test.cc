// Webhook subscriptions against a real `keel serve` and a real receiver:
// every emitted event reaches the receiver in emission order through
// failures and a kill -9 (at least once, deduplicated by Idempotency-Key),
// and a delivery that ran out of attempts is listed dead and redelivered.
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <fstream>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "e2e_support.h"

namespace keel::e2e {
namespace {

using nlohmann::json;

// An HTTP server on 127.0.0.1, port 0, on a thread of its own. /hook
// answers 503 to its first `failFirst` requests, then 200; /flaky answers
// 500 until `fixed` is set. Every request is recorded.
class Receiver {
 public:
  struct Request {
    std::string path, idempotencyKey, traceparent;
    json body;
    int status = 0;
  };

  Receiver() {
    auto handle = [this](const httplib::Request& req, httplib::Response& res) {
      Request r{req.path, req.get_header_value("Idempotency-Key"),
                req.get_header_value("traceparent"), json::parse(req.body, nullptr, false)};
      std::lock_guard lock(mu_);
      if (req.path == "/hook")
        r.status = hookSeen_++ < failFirst ? 503 : 200;
      else
        r.status = fixed ? 200 : 500;
      res.status = r.status;
      res.set_content("{}", "application/json");
      requests_.push_back(std::move(r));
    };
    server_.Post("/hook", handle);
    server_.Post("/flaky", handle);
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
  }
  ~Receiver() {
    server_.stop();
    thread_.join();
  }

  std::string url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }
  std::vector<Request> requests() const {
    std::lock_guard lock(mu_);
    return requests_;
  }
  // The event ids answered 200 on `path`, each once, in the order of their
  // first 200 (what a receiver deduplicating by Idempotency-Key records).
  std::vector<std::string> recorded(const std::string& path) const {
    std::vector<std::string> ids;
    std::set<std::string> seen;
    for (const auto& r : requests())
      if (r.path == path && r.status == 200 && seen.insert(r.idempotencyKey).second)
        ids.push_back(r.idempotencyKey);
    return ids;
  }
  int seen(const std::string& path) const {
    int n = 0;
    for (const auto& r : requests()) n += r.path == path;
    return n;
  }

  int failFirst = 0;  // set before the first request
  std::atomic<bool> fixed{false};

 private:
  httplib::Server server_;
  std::thread thread_;
  int port_ = 0;
  mutable std::mutex mu_;
  int hookSeen_ = 0;
  std::vector<Request> requests_;
};

std::string subscription(const std::string& name, const std::string& topic, const std::string& url,
                         int maxAttempts) {
  return "kind: subscription\nname: " + name + "\ntopic: " + topic + "\nurl: " + url +
         "\nretry: { max_attempts: " + std::to_string(maxAttempts) +
         ", backoff: fixed, initial: 100ms, jitter: none }\ntimeout: 5s\n";
}

std::string emitter(const std::string& name, const std::string& topic) {
  return "name: " + name +
         "\nowner: { team: qa, contact: qa@example.com }\n"
         "runbook: https://wiki.example.com/rb\n"
         "steps:\n  - name: say\n    noop: true\n    emit: { topic: " +
         topic + ", payload: { run: \"{{ run.id }}\" } }\n";
}

// Triggers `workflow` and waits for its end; the id of its event.
std::string emitOnce(KeelUnderTest& keel, const std::string& workflow) {
  auto [status, body] = keel.trigger(workflow, json::object());
  EXPECT_EQ(status, 201) << body.dump();
  std::string id = body.value("id", "");
  EXPECT_EQ(keel.waitForRun(id)["state"], "succeeded");
  return id + ".say.emit";
}

// Runs `keel ARGS... --server URL` (KEEL_TOKEN set) until it exits: its
// exit code (-1 if it did not end within 60 s) and stdout.
std::pair<int, std::string> runCli(const KeelUnderTest& keel, std::vector<std::string> args) {
  args.push_back("--server");
  args.push_back(keel.url());
  std::string out = keel.dir().file("cli.out");
  pid_t pid = ::fork();
  if (pid == 0) {
    ::setenv("KEEL_TOKEN", keel.token().c_str(), 1);
    int o = ::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    ::dup2(o, 1);
    std::vector<char*> argv{const_cast<char*>(KEEL_BINARY)};
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    ::execv(KEEL_BINARY, argv.data());
    ::_exit(127);
  }
  int status = 0;
  bool ended = waitFor([&] { return ::waitpid(pid, &status, WNOHANG) == pid; });
  if (!ended) {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, &status, 0);
  }
  std::ifstream in(out);
  std::stringstream text;
  text << in.rdbuf();
  return {ended && WIFEXITED(status) ? WEXITSTATUS(status) : -1, text.str()};
}

TEST(WebhooksE2e, EveryEventArrivesInOrderThroughFailuresAndAKill9) {
  Receiver receiver;
  receiver.failFirst = 6;
  KeelUnderTest keel;
  keel.start();
  keel.apply(subscription("to-receiver", "orders.done", receiver.url("/hook"), 20));
  keel.apply(emitter("orders", "orders.done"));
  std::vector<std::string> emitted;
  for (int i = 0; i < 2; ++i) emitted.push_back(emitOnce(keel, "orders"));
  // In the middle of the failures: keel dies with the first delivery's
  // answers unrecorded or partly recorded.
  ASSERT_TRUE(waitFor([&] { return receiver.seen("/hook") >= 3; }));
  keel.kill9();
  keel.start();
  for (int i = 0; i < 2; ++i) emitted.push_back(emitOnce(keel, "orders"));
  ASSERT_TRUE(waitFor([&] { return receiver.recorded("/hook").size() >= emitted.size(); }))
      << receiver.seen("/hook") << " requests";
  EXPECT_EQ(receiver.recorded("/hook"), emitted);
  // In order: no event is sent before the previous one was answered 200.
  size_t next = 0;
  for (const auto& r : receiver.requests()) {
    // The current event, or (after the crash) the one before it again.
    auto at = std::find(emitted.begin(), emitted.end(), r.idempotencyKey);
    ASSERT_NE(at, emitted.end()) << r.idempotencyKey;
    EXPECT_LE(static_cast<size_t>(at - emitted.begin()), next)
        << "an event overtook an earlier one";
    if (r.status == 200 && r.idempotencyKey == emitted[next]) ++next;
    EXPECT_EQ(r.body.value("id", ""), r.idempotencyKey);
    EXPECT_EQ(r.body.value("topic", ""), "orders.done");
    EXPECT_EQ(r.traceparent.size(), 55u) << r.traceparent;
    EXPECT_EQ(r.traceparent.substr(0, 3), "00-");
  }
}

TEST(WebhooksE2e, ADeadDeliveryIsListedAndRedelivered) {
  Receiver receiver;
  KeelUnderTest keel;
  keel.start();
  keel.apply(subscription("to-flaky", "orders.flaky", receiver.url("/flaky"), 2));
  keel.apply(emitter("flaky", "orders.flaky"));
  std::string event = emitOnce(keel, "flaky");
  auto client = keel.client();
  json dead;
  ASSERT_TRUE(waitFor([&] {
    auto res = client->Get("/api/v1/events/dead");
    if (!res || res->status != 200) return false;
    dead = json::parse(res->body)["dead"];
    return !dead.empty();
  }));
  ASSERT_EQ(dead.size(), 1u) << dead.dump();
  EXPECT_EQ(dead[0]["subscription"], "to-flaky");
  EXPECT_EQ(dead[0]["event_id"], event);
  EXPECT_EQ(dead[0]["attempts"], 2);
  EXPECT_EQ(dead[0]["last_status"], 500);
  EXPECT_EQ(receiver.seen("/flaky"), 2);
  EXPECT_TRUE(receiver.recorded("/flaky").empty());

  auto [listed, table] = runCli(keel, {"events", "dead"});
  EXPECT_EQ(listed, 0);
  EXPECT_TRUE(contains(table, event)) << table;
  auto [subs, subsTable] = runCli(keel, {"subscriptions"});
  EXPECT_EQ(subs, 0);
  EXPECT_TRUE(contains(subsTable, receiver.url("/flaky"))) << subsTable;

  receiver.fixed = true;
  auto [code, out] = runCli(keel, {"events", "redeliver", event});
  ASSERT_EQ(code, 0) << out;
  EXPECT_EQ(out, "1 redelivered\n");
  ASSERT_TRUE(waitFor([&] { return !receiver.recorded("/flaky").empty(); }));
  EXPECT_EQ(receiver.recorded("/flaky"), std::vector<std::string>{event});
  auto after = client->Get("/api/v1/events/dead");
  ASSERT_TRUE(after);
  EXPECT_TRUE(json::parse(after->body)["dead"].empty()) << after->body;
  // Delivered now: redelivering it again finds nothing dead.
  auto res = client->Post("/api/v1/events/dead/redeliver", json({{"id", event}}).dump(),
                          "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 404) << res->body;
}

}  // namespace
}  // namespace keel::e2e
