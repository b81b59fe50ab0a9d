// Schedules against a real `keel serve`: a `* * * * *` trigger starts a run
// at the next minute (so this test waits up to a minute), with schedule.*
// in its params; GET /api/v1/schedules shows it; after a kill -9 the instant
// does not fire again.
#include <gtest/gtest.h>

#include "e2e_support.h"

namespace keel::e2e {
namespace {

using nlohmann::json;

constexpr const char* kMinutely = R"(name: minutely
owner: { team: qa, contact: qa@example.com }
runbook: https://wiki.example.com/rb
params: { at: }
triggers:
  - cron: "* * * * *"
    timezone: Europe/Paris
    params: { at: "{{ schedule.time }}" }
steps:
  - { name: a, run: "echo {{ params.at }}", timeout: 1m }
)";

json schedules(const KeelUnderTest& keel) {
  auto res = keel.client()->Get("/api/v1/schedules");
  if (!res || res->status != 200) return json();
  return json::parse(res->body, nullptr, false);
}

TEST(SchedulesE2e, AMinuteTriggerFiresOnceAcrossACrash) {
  KeelUnderTest keel;
  keel.start();
  keel.apply(kMinutely);
  json listed = schedules(keel);
  ASSERT_EQ(listed["schedules"].size(), 1u) << listed.dump();
  EXPECT_TRUE(listed["schedules"][0]["last"].is_null());
  EXPECT_EQ(listed["schedules"][0]["next"].size(), 5u);
  json last;
  ASSERT_TRUE(waitFor(
      [&] {
        last = schedules(keel)["schedules"][0]["last"];
        return last.is_object();
      },
      75))
      << "no fire within 75 s";
  EXPECT_EQ(last["outcome"], "started");
  std::string runId = last["run_id"];
  auto run = keel.waitForRun(runId);
  EXPECT_EQ(run.value("state", ""), "succeeded") << run.dump();
  std::string at = run["params"]["at"];
  EXPECT_TRUE(at.ends_with(":00+01:00") || at.ends_with(":00+02:00")) << at;
  std::string key = run.value("idempotency_key", "");
  EXPECT_TRUE(key.starts_with("cron:minutely:0:")) << run.dump();
  keel.kill9();
  keel.start();
  EXPECT_EQ(queryText(keel.db(), "SELECT count(*) FROM runs WHERE idempotency_key = '" + key + "'"),
            "1");
  EXPECT_EQ(queryText(keel.db(),
                      "SELECT count(*) FROM schedule_state WHERE workflow = 'minutely' AND "
                      "last_run_id <> ''"),
            "1");
}

}  // namespace
}  // namespace keel::e2e
