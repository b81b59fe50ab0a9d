// Shared by the fuzz targets: a FakeStore with a little data, the FakeControl
// answers that route applies through the real parser, and the checks every
// API reply must pass. Fuzzing only (fuzz/, built with -DKEEL_FUZZ=ON).
#pragma once

#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "spec/parser.h"
#include "testing/fake_control.h"
#include "testing/fake_store.h"

namespace keel::fuzz {

// Stops the fuzzer with a message: libFuzzer saves the input that led here.
[[noreturn]] inline void fail(const std::string& what, std::string_view body = {}) {
  std::fprintf(stderr, "fuzz check failed: %s\n%.*s\n", what.c_str(),
               static_cast<int>(std::min<size_t>(body.size(), 2000)), body.data());
  std::abort();
}

inline constexpr const char* kRunId = "01KA0000000000000000000003";

// Two workflows, one run with a step, an event and a log.
inline void fillStore(testing::FakeStore& store) {
  WallTime t0 = fromUnixMillis(1'767'225'600'000);
  store.workflows = {
      {"hello", 1, "default", "name: hello\n", "/w", "aaa", t0},
      {"other", 1, "team-a", "name: other\n", "/w", "bbb", t0},
  };
  store::RunDetail d;
  d.run.id = kRunId;
  d.run.workflow = "hello";
  d.run.version = 1;
  d.run.state = RunState::kFailed;
  d.run.reason = "step a is dead";
  d.run.paramsJson = R"({"who":"ops"})";
  d.run.createdAt = t0;
  d.steps = {{d.run.id, "a", StepState::kDead, 1, "", "exit code 3", {}}};
  store.runs = {d};
  store.events = {{1, kRunId, t0, "run_created", "", 0, "by api"}};
  store.logs = {{kRunId, "a", 1, "out\n", "err\n", 4, 4}};
}

// Applies go through the real parser (what the engine does first), so a
// hostile workflow body exercises the parser's error details in the reply.
inline void answerLikeTheEngine(testing::FakeControl& control) {
  control.onApply = [](const std::string& yaml,
                       const std::string& source) -> Result<engine::ApplyResult> {
    spec::ParseOptions options;
    options.fileName = source;
    options.defaultWorkdir = "/srv/flows";
    auto parsed = spec::parseWorkflow(yaml, options);
    if (!parsed.ok()) return parsed.error();
    engine::ApplyResult result;
    result.workflow.name = (*parsed)->name;
    result.workflow.ns = (*parsed)->ns;
    result.workflow.version = 1;
    result.changed = true;
    return result;
  };
  auto known = [](const std::string& id) -> Result<store::RunRow> {
    if (id != kRunId) return Error(ErrorCode::kNotFound, "no run '" + id + "'");
    store::RunRow row;
    row.id = id;
    row.workflow = "hello";
    row.version = 1;
    row.state = RunState::kRunning;
    return row;
  };
  control.onCancel = known;
  control.onRetry = known;
}

// Every JSON reply parses; every error reply has the error shape
// {"error":{"code":"...","message":"...","details":[...]?}}.
inline void checkReply(int status, std::string_view contentType, std::string_view body) {
  if (status < 200 || status > 599) fail("status " + std::to_string(status), body);
  if (contentType != "application/json") {
    if (status >= 400) fail("error reply that is not JSON", body);
    return;
  }
  auto j = nlohmann::json::parse(body, nullptr, false);
  if (j.is_discarded()) fail("reply is not valid JSON", body);
  if (status < 400) return;
  if (!j.is_object() || !j.contains("error") || !j["error"].is_object())
    fail("error reply without an \"error\" object", body);
  const auto& e = j["error"];
  if (!e.contains("code") || !e["code"].is_string() || e["code"].get<std::string>().empty())
    fail("error reply without a code", body);
  if (!e.contains("message") || !e["message"].is_string())
    fail("error reply without a message", body);
  if (e.contains("details") && !e["details"].is_array()) fail("error details not a list", body);
}

}  // namespace keel::fuzz
