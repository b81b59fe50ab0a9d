#include "e2e_support.h"

#include <chrono>
#include <thread>

#include <gtest/gtest.h>

namespace keel::e2e {

KeelUnderTest::KeelUnderTest(std::vector<std::string> extraArgs) {
  std::vector<std::string> args{"--db", db(), "--listen", "127.0.0.1:0", "--log-level", "warn"};
  args.insert(args.end(), extraArgs.begin(), extraArgs.end());
  child_ = std::make_unique<app::ChildServer>(KEEL_BINARY, args);
}

KeelUnderTest::~KeelUnderTest() {
  if (child_->running()) child_->terminate();
}

void KeelUnderTest::start() {
  auto url = child_->start();
  ASSERT_TRUE(url.ok()) << url.error().toString();
  url_ = *url;
}

void KeelUnderTest::kill9() { child_->kill(); }
void KeelUnderTest::stop() { child_->terminate(); }

std::unique_ptr<httplib::Client> KeelUnderTest::client() const {
  auto c = std::make_unique<httplib::Client>(url_);
  c->set_connection_timeout(5);
  c->set_read_timeout(60);
  return c;
}

void KeelUnderTest::apply(const std::string& yaml) {
  auto res = client()->Post("/api/v1/workflows", yaml, "application/yaml");
  ASSERT_TRUE(res) << "no answer from keel";
  ASSERT_TRUE(res->status == 200 || res->status == 201) << res->status << " " << res->body;
}

std::pair<int, nlohmann::json> KeelUnderTest::trigger(const std::string& workflow,
                                                      nlohmann::json body) {
  auto res =
      client()->Post("/api/v1/workflows/" + workflow + "/runs", body.dump(), "application/json");
  if (!res) return {0, nullptr};
  return {res->status, nlohmann::json::parse(res->body, nullptr, false)};
}

nlohmann::json KeelUnderTest::getRun(const std::string& id) {
  auto res = client()->Get("/api/v1/runs/" + id);
  if (!res || res->status != 200) return nullptr;
  return nlohmann::json::parse(res->body, nullptr, false);
}

nlohmann::json KeelUnderTest::waitForRun(const std::string& id, int seconds) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
  nlohmann::json run;
  while (std::chrono::steady_clock::now() < deadline) {
    run = getRun(id);
    if (run.is_object()) {
      auto state = run.value("state", "");
      if (state == "succeeded" || state == "failed" || state == "cancelled") return run;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return run;
}

}  // namespace keel::e2e
