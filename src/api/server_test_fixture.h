// The fixture of the API server tests: a Server on port 0 over a
// FakeControl and a FakeStore filled with three runs of "hello" (one with
// steps, attempts, events and logs), and small HTTP helpers.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <memory>
#include <string>

#include <gtest/gtest.h>
#include <httplib.h>

#include "api/routes.h"
#include "api/server.h"
#include "auth/token.h"
#include "testing/fake_control.h"
#include "testing/fake_store.h"

namespace keel::api::test {

using nlohmann::json;

inline WallTime at(int64_t unixMs) { return fromUnixMillis(unixMs); }
inline constexpr int64_t kT0 = 1'767'225'600'000;  // 2026-01-01T00:00:00.000Z
// The admin token every fixture request carries.
inline constexpr char kTestToken[] = "keel_test-token-of-the-api-fixture";

// Three runs of "hello", ids increasing with creation.
inline const char* const kRunIds[] = {"01KA0000000000000000000001", "01KA0000000000000000000002",
                                      "01KA0000000000000000000003"};

inline store::RunDetail sampleRun() {
  store::RunDetail d;
  d.run.id = kRunIds[2];
  d.run.workflow = "hello";
  d.run.version = 2;
  d.run.state = RunState::kFailed;
  d.run.reason = "step shout is dead";
  d.run.paramsJson = R"({"who":"ops"})";
  d.run.idempotencyKey = "nightly-1";
  d.run.createdAt = at(kT0);
  d.run.startedAt = at(kT0 + 10);
  d.run.finishedAt = at(kT0 + 1510);
  store::StepRow greet{d.run.id, "greet", StepState::kSucceeded, 1, R"({"rows":4})", "", {}};
  store::StepRow shout{d.run.id, "shout", StepState::kDead, 2, "", "exit code 3", {}};
  d.steps = {greet, shout};
  store::AttemptRow a1{d.run.id,
                       "greet",
                       1,
                       AttemptState::kSucceeded,
                       at(kT0 + 10),
                       at(kT0 + 110),
                       0,
                       std::nullopt,
                       FailureClass::kNone,
                       ""};
  store::AttemptRow b1{d.run.id,      "shout",      1, AttemptState::kFailed, at(kT0 + 120),
                       at(kT0 + 220), std::nullopt, 9, FailureClass::kCrash,  "killed by signal 9"};
  store::AttemptRow b2{d.run.id,
                       "shout",
                       2,
                       AttemptState::kFailed,
                       at(kT0 + 1000),
                       at(kT0 + 1500),
                       3,
                       std::nullopt,
                       FailureClass::kError,
                       "exit code 3"};
  d.attempts = {a1, b1, b2};
  return d;
}

class ServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_.tokens = {{"tester", auth::tokenHash(kTestToken), "admin", at(kT0 - 5000), "keel serve",
                      std::nullopt}};
    store_.workflows = {
        {"hello", 1, "default", "name: hello\n", "/w", "aaa", at(kT0 - 2000)},
        {"hello", 2, "default", "name: hello # v2\n", "/w", "bbb", at(kT0 - 1000),
         "alice (token ops)"},
        {"other", 1, "team-a", "name: other\n", "/w", "ccc", at(kT0 - 500)},
    };
    for (int i = 0; i < 2; ++i) {
      store::RunDetail d;
      d.run.id = kRunIds[i];
      d.run.workflow = i == 0 ? "other" : "hello";
      d.run.version = 1;
      d.run.state = RunState::kSucceeded;
      d.run.createdAt = at(kT0 - 100 + i);
      store_.runs.push_back(d);
    }
    store_.runs.push_back(sampleRun());
    store_.events = {
        {1, kRunIds[2], at(kT0), "run_created", "", 0, "by api"},
        {2, kRunIds[2], at(kT0 + 10), "step_started", "greet", 1, ""},
    };
    store_.logs = {
        {kRunIds[2], "shout", 1, "out1\n", "err1\n", 5, 5},
        {kRunIds[2], "shout", 2, "out2\n", "", 3000000, 0},
    };
  }

  void TearDown() override {
    if (server_) server_->stop();
  }

  void start(ServerOptions options = {}) {
    server_ = std::make_unique<Server>(control_, store_, std::move(options));
    auto port = server_->start("127.0.0.1", 0);
    ASSERT_TRUE(port.ok()) << port.error().toString();
    ASSERT_GT(*port, 0);
    port_ = *port;
  }

  // A client that sends the fixture's token.
  httplib::Client client() const {
    httplib::Client c = anonymousClient();
    c.set_bearer_token_auth(kTestToken);
    return c;
  }
  httplib::Client anonymousClient() const {
    httplib::Client c("127.0.0.1", port_);
    c.set_read_timeout(10);
    return c;
  }

  static json body(const httplib::Result& res) { return json::parse(res->body); }

  httplib::Result get(const std::string& path) { return client().Get(path.c_str()); }
  httplib::Result post(const std::string& path, const std::string& text,
                       const httplib::Headers& headers = {}) {
    return client().Post(path.c_str(), headers, text, "application/json");
  }

  testing::FakeControl control_;
  testing::FakeStore store_;
  observe::MetricsRegistry metrics_;  // outlives server_
  std::unique_ptr<Server> server_;
  int port_ = 0;
};

// A TCP connection to 127.0.0.1:port, or -1.
inline int connectLoopback(int port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

// Sends raw bytes and reads until the server closes the connection (or 10 s
// pass without a byte, when the answer so far is returned).
inline std::string rawExchange(int port, const std::string& request) {
  int fd = connectLoopback(port);
  std::string response;
  timeval tv{10, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  if (fd >= 0 &&
      write(fd, request.data(), request.size()) == static_cast<ssize_t>(request.size())) {
    char buf[4096];
    ssize_t n;
    while ((n = read(fd, buf, sizeof(buf))) > 0) response.append(buf, static_cast<size_t>(n));
  }
  if (fd >= 0) close(fd);
  return response;
}

inline void expectError(const httplib::Result& res, int status, const std::string& code) {
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, status) << res->body;
  EXPECT_EQ(res->get_header_value("Content-Type"), "application/json");
  auto j = json::parse(res->body);
  EXPECT_EQ(j["error"]["code"], code) << res->body;
  EXPECT_TRUE(j["error"]["message"].is_string());
}

}  // namespace keel::api::test
