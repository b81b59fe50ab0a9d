// After triggers against a real `keel serve`: the end of a run of one
// workflow starts a run of the next with its outputs in the params, and a
// kill -9 just after that end leaves exactly one such run.
#include <gtest/gtest.h>

#include "e2e_support.h"

namespace keel::e2e {
namespace {

using nlohmann::json;

constexpr const char* kFetch = R"(name: fetch
owner: { team: qa, contact: qa@example.com }
runbook: https://wiki.example.com/rb
steps:
  - name: get
    run: printf '{"path":"/in/a b.csv"}' > "$KEEL_OUTPUT"
    timeout: 1m
)";

constexpr const char* kLoad = R"(name: load
owner: { team: qa, contact: qa@example.com }
runbook: https://wiki.example.com/rb
params: { path: , from: }
triggers:
  - after: { workflow: fetch, state: succeeded }
    params:
      path: "{{ upstream.steps.get.output.path }}"
      from: "{{ upstream.run_id }}"
steps:
  - { name: a, run: "echo {{ params.path }}", timeout: 1m }
)";

TEST(ChainsE2e, AnEndStartsTheNextWorkflowOnceAcrossAKill9) {
  KeelUnderTest keel;
  keel.start();
  keel.apply(kFetch);
  keel.apply(kLoad);
  auto [status, body] = keel.trigger("fetch", json::object());
  ASSERT_EQ(status, 201) << body.dump();
  std::string up = body["id"];
  // Polls the store itself: whenever the upstream's end is there, so is the
  // run it started (one batch), and the crash lands right after both.
  std::string seen;
  ASSERT_TRUE(waitFor([&] {
    seen = queryText(keel.db(), "SELECT (SELECT state FROM runs WHERE id = '" + up +
                                    "') || '/' || (SELECT count(*) FROM runs WHERE workflow = "
                                    "'load')");
    EXPECT_TRUE(seen != "succeeded/0") << "the upstream ended without its successor";
    return seen.rfind("succeeded/", 0) == 0;
  }));
  keel.kill9();
  EXPECT_EQ(seen, "succeeded/1");
  keel.start();
  std::string down = queryText(keel.db(), "SELECT id FROM runs WHERE workflow = 'load'");
  ASSERT_FALSE(down.empty());
  auto run = keel.waitForRun(down);
  EXPECT_EQ(run.value("state", ""), "succeeded") << run.dump();
  EXPECT_EQ(run["params"], json({{"path", "/in/a b.csv"}, {"from", up}}));
  EXPECT_EQ(run.value("idempotency_key", ""), "after:" + up + ":load:0") << run.dump();
  EXPECT_EQ(queryText(keel.db(), "SELECT count(*) FROM runs WHERE workflow = 'load'"), "1");
  // The two timelines name each other.
  EXPECT_EQ(queryText(keel.db(), "SELECT count(*) FROM events WHERE run_id = '" + up +
                                     "' AND kind = 'after_trigger_started'"),
            "1");
  EXPECT_EQ(queryText(keel.db(), "SELECT count(*) FROM events WHERE run_id = '" + down +
                                     "' AND kind = 'started_after_run'"),
            "1");
}

}  // namespace
}  // namespace keel::e2e
