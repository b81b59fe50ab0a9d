// Row builders and a store opener shared by the SQLite store tests.
#pragma once

#include <memory>
#include <string>

#include <gtest/gtest.h>

#include "store/records.h"
#include "store/sqlite/sqlite_store.h"
#include "store/store.h"

namespace keel::store::testutil {

// A fixed instant, whole milliseconds (the store keeps milliseconds).
inline WallTime at(int64_t offsetMs) { return fromUnixMillis(1'767'225'600'000 + offsetMs); }

inline RunRow makeRun(const std::string& id, const std::string& workflow = "wf",
                      RunState state = RunState::kPending, int64_t createdMs = 0) {
  RunRow r;
  r.id = id;
  r.workflow = workflow;
  r.version = 1;
  r.state = state;
  r.paramsJson = R"({"region":"eu"})";
  r.createdAt = at(createdMs);
  return r;
}

inline StepRow makeStep(const std::string& runId, const std::string& name,
                        StepState state = StepState::kPending) {
  StepRow s;
  s.runId = runId;
  s.name = name;
  s.state = state;
  return s;
}

inline AttemptRow makeAttempt(const std::string& runId, const std::string& step, int n,
                              AttemptState state = AttemptState::kRunning) {
  AttemptRow a;
  a.runId = runId;
  a.step = step;
  a.n = n;
  a.state = state;
  a.startedAt = at(1000 * n);
  return a;
}

inline EventRow makeEvent(const std::string& runId, const std::string& kind,
                          const std::string& step = "") {
  EventRow e;
  e.runId = runId;
  e.at = at(5);
  e.kind = kind;
  e.step = step;
  return e;
}

inline RunFilter runFilter(const std::string& workflow, std::optional<RunState> state = {},
                           int limit = 50, const std::string& cursor = "") {
  RunFilter f;
  f.workflow = workflow;
  f.state = state;
  f.limit = limit;
  f.cursor = cursor;
  return f;
}
inline RunFilter limitOnly(int limit) { return runFilter("", std::nullopt, limit); }

inline StoreOptions nodeOptions(const std::string& nodeId) {
  StoreOptions o;
  o.nodeId = nodeId;
  return o;
}

// Opens `path`, failing the calling test when it cannot.
inline std::unique_ptr<Store> openOrDie(const std::string& path, const StoreOptions& options = {}) {
  auto s = openSqliteStore(path, options);
  EXPECT_TRUE(s.ok()) << (s.ok() ? "" : s.error().toString());
  return s.ok() ? std::move(*s) : nullptr;
}

}  // namespace keel::store::testutil
