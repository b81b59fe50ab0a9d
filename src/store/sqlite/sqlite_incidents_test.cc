// Incidents: written in a batch with the run that caused them, read back
// whole, listed by filter.
#include <gtest/gtest.h>

#include "incidents/lifecycle.h"
#include "store/sqlite/sqlite_store.h"
#include "store/sqlite/store_test_util.h"
#include "testing/temp_dir.h"

namespace keel::store {
namespace {

using testutil::at;

incidents::Incident makeIncident(const std::string& id, const std::string& run) {
  incidents::Symptom s;
  s.kind = "run_failed";
  s.runId = run;
  s.workflow = "feed";
  s.step = "fetch";
  s.failureClass = "error";
  s.message = "exit 3";
  s.downstream = {"report"};
  return incidents::openIncident(s, id, "abc", "feed/fetch/error: exit <n>", {}, at(1000));
}

TEST(SqliteIncidentsTest, WrittenWithTheRunAndReadBackWhole) {
  testing::TempDir dir;
  auto store = testutil::openOrDie(dir.file("keel.db"));
  ASSERT_NE(store, nullptr);
  auto inc = makeIncident("inc-000001", "r1");
  ASSERT_TRUE(
      store->apply({{PutRun{testutil::makeRun("r1", "feed", RunState::kFailed)}, PutIncident{inc}}})
          .ok());
  incidents::Symptom second;
  second.kind = "run_failed";
  second.runId = "r2";
  incidents::joinIncident(inc, second, at(2000));
  ASSERT_TRUE(incidents::resolve(inc,
                                 {"disk full", {{0, "alert", "data", "2026-01-02", {}, {}}}, ""},
                                 "alice", "", at(3000))
                  .ok());
  ASSERT_TRUE(store->apply({{PutIncident{inc}}}).ok());
  auto got = store->getIncident("inc-000001");
  ASSERT_TRUE(got.ok()) << got.error().message();
  ASSERT_TRUE(got->has_value());
  EXPECT_EQ(**got, inc);

  auto recurring = makeIncident("inc-000002", "r3");
  recurring.recurring = true;
  recurring.previous.push_back({"inc-000001", "disk full", "", inc.actionItems, at(3000)});
  ASSERT_TRUE(store->apply({{PutIncident{recurring}}}).ok());
  IncidentFilter open;
  open.unresolvedOnly = true;
  auto list = store->listIncidents(open);
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ((*list)[0], recurring);
  IncidentFilter all;
  EXPECT_EQ(store->listIncidents(all)->size(), 2u);
  EXPECT_FALSE(store->getIncident("inc-000009")->has_value());
}

}  // namespace
}  // namespace keel::store
