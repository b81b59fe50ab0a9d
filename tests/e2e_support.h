// Helpers for end-to-end tests: a `keel serve` child in a temporary
// directory, and small HTTP calls against it.
#pragma once

#include <memory>
#include <string>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "app/child_server.h"
#include "app/db_peek.h"
#include "testing/temp_dir.h"

namespace keel::e2e {

class KeelUnderTest {
 public:
  // extraArgs are appended to `keel serve --db DIR/keel.db --listen 127.0.0.1:0`.
  explicit KeelUnderTest(std::vector<std::string> extraArgs = {});
  ~KeelUnderTest();

  void start();  // asserts that it started
  void kill9();  // a crash
  void stop();   // SIGTERM
  const std::string& url() const { return url_; }
  std::string db() const { return dir_.file("keel.db"); }
  const testing::TempDir& dir() const { return dir_; }

  std::unique_ptr<httplib::Client> client() const;
  // POST a workflow's YAML; asserts 200/201.
  void apply(const std::string& yaml);
  // Triggers a run and returns the response (status, body as JSON).
  std::pair<int, nlohmann::json> trigger(const std::string& workflow, nlohmann::json body);
  nlohmann::json getRun(const std::string& id);
  // Polls until the run is finished or `seconds` pass; returns the last view.
  nlohmann::json waitForRun(const std::string& id, int seconds = 60);

 private:
  testing::TempDir dir_;
  std::unique_ptr<app::ChildServer> child_;
  std::string url_;
};

using app::queryText;

}  // namespace keel::e2e
