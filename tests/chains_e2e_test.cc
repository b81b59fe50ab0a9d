// After triggers against a real `keel serve`: the end of a run of one
// workflow starts a run of the next with its outputs in the params, and a
// kill -9 just after that end leaves exactly one such run; a chain of three
// crossing a kill -9 starts each link exactly once, in order.
#include <gtest/gtest.h>

#include <algorithm>

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

// A -> B -> C. B's only step waits for a `go` file the test creates, so keel
// is killed while A's end (and the run of B it started) is durable and B has
// not ended; C must wait for B's end, not for A's.
std::string linkYaml(const std::string& name, const std::string& after, const std::string& run,
                     const std::string& dir) {
  std::string y = "name: " + name +
                  "\n"
                  "owner: { team: qa, contact: qa@example.com }\n"
                  "runbook: https://wiki.example.com/rb\n"
                  "workdir: " +
                  dir + "\n";
  if (!after.empty()) {
    y += "triggers:\n  - after: { workflow: " + after + ", state: succeeded }\n";
  }
  // A crash between B's attempt being recorded and its process starting
  // loses that attempt: the retry policy runs it again (the run stays one).
  return y + "steps:\n  - { name: s, run: '" + run +
         "', timeout: 2m,\n      retry: { max_attempts: 3, backoff: fixed, initial: 100ms, "
         "jitter: none } }\n";
}

// The runs of `workflow` as the API lists them.
json chainRunsOf(KeelUnderTest& keel, const std::string& workflow) {
  auto res = keel.client()->Get("/api/v1/runs?workflow=" + workflow + "&limit=100");
  if (!res || res->status != 200) return nullptr;
  return json::parse(res->body, nullptr, false)["runs"];
}

TEST(ChainsE2e, AThreeWorkflowChainStartsEachLinkOnceAcrossAKill9) {
  KeelUnderTest keel;
  std::string dir = keel.dir().path();
  keel.start();
  keel.apply(linkYaml("link-a", "", "echo a >> ledger", dir));
  keel.apply(linkYaml("link-b", "link-a",
                      "echo b >> ledger; i=0; while [ ! -e go ] && [ $i -lt 1200 ]; "
                      "do sleep 0.05; i=$((i + 1)); done",
                      dir));
  keel.apply(linkYaml("link-c", "link-b", "echo c >> ledger", dir));
  auto [status, body] = keel.trigger("link-a", json::object());
  ASSERT_EQ(status, 201) << body.dump();
  std::string a = body["id"];
  // The crash lands as soon as the API shows A's end: B has been started
  // (same commit) but cannot have ended, since it waits for `go`.
  ASSERT_TRUE(waitFor([&] { return keel.getRun(a).value("state", "") == "succeeded"; }));
  keel.kill9();

  keel.start();
  json b = chainRunsOf(keel, "link-b");
  ASSERT_EQ(b.size(), 1u) << b.dump();
  std::string bId = b[0]["id"];
  EXPECT_EQ(chainRunsOf(keel, "link-c").size(), 0u) << "C started before B ended";
  testing::writeFile(dir + "/go", "");
  auto bRun = keel.waitForRun(bId);
  ASSERT_EQ(bRun.value("state", ""), "succeeded") << bRun.dump();
  json c;
  ASSERT_TRUE(waitFor([&] {
    c = chainRunsOf(keel, "link-c");
    return c.size() == 1u && c[0].value("state", "") == "succeeded";
  })) << c.dump();
  EXPECT_GE(c[0].value("created_at", ""), bRun.value("finished_at", ""));
  EXPECT_EQ(keel.getRun(c[0]["id"]).value("idempotency_key", ""), "after:" + bId + ":link-c:0");

  // Once more across a clean restart: nothing starts again.
  keel.stop();
  keel.start();
  EXPECT_EQ(chainRunsOf(keel, "link-a").size(), 1u);
  EXPECT_EQ(chainRunsOf(keel, "link-b").size(), 1u);
  EXPECT_EQ(chainRunsOf(keel, "link-c").size(), 1u);
  // Each step ran once: B was re-attached (or started) after the crash, not doubled.
  std::string ledger = testing::readFile(dir + "/ledger");
  EXPECT_EQ(std::count(ledger.begin(), ledger.end(), 'a'), 1) << ledger;
  EXPECT_EQ(std::count(ledger.begin(), ledger.end(), 'c'), 1) << ledger;
}

}  // namespace
}  // namespace keel::e2e
