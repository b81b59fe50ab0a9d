// task: steps through a real `keel serve`, with workers played by the test
// over HTTP: a lease that lapses is lost and retried, the late worker gets
// 409 lease_lost and changes nothing; a kill -9 of keel while tasks are
// leased loses none (the holder's report after the restart is taken, an
// unclaimed lease lapses and is retried); bad requests say what is wrong.
#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <thread>
#include <tuple>

#include "e2e_support.h"

namespace keel::e2e {
namespace {

using nlohmann::json;

constexpr const char* kWorkflow = R"(name: scoring
owner: { team: qa, contact: qa@example.com }
runbook: https://wiki.example.com/rb
params:
  day: {}
steps:
  - name: score
    task: { queue: scoring, input: { day: "{{ params.day }}", note: "a \"quoted\" & <odd> value" } }
    timeout: 5m
    heartbeat: 2s
    retry: { max_attempts: 3, backoff: fixed, initial: 100ms, jitter: none }
  - name: publish
    needs: [score]
    task: { queue: publish, input: { score: "{{ steps.score.output.score }}" } }
    timeout: 5m
    heartbeat: 30s
)";

class Tasks : public ::testing::Test {
 protected:
  void SetUp() override {
    keel_ = std::make_unique<KeelUnderTest>();
    keel_->start();
    keel_->apply(kWorkflow);
  }

  std::pair<int, json> post(const std::string& path, const json& body) {
    auto res = keel_->client()->Post(path, body.dump(), "application/json");
    if (!res) return {0, nullptr};
    return {res->status, json::parse(res->body, nullptr, false)};
  }

  std::string trigger(const std::string& day) {
    auto [status, run] = keel_->trigger("scoring", {{"params", {{"day", day}}}});
    EXPECT_EQ(status, 201) << run.dump();
    return run.value("id", "");
  }

  // Long-polls `queue` as `worker` until a task comes (or 30 s pass).
  json pollOne(const std::string& queue, const std::string& worker) {
    for (int i = 0; i < 6; ++i) {
      auto [status, body] =
          post("/api/v1/tasks/poll",
               {{"queues", {queue}}, {"worker", worker}, {"max", 1}, {"wait_ms", 5000}});
      EXPECT_EQ(status, 200) << body.dump();
      if (status == 200 && !body["tasks"].empty()) return body["tasks"][0];
    }
    return nullptr;
  }

  std::pair<int, json> complete(const std::string& id, const std::string& worker, json output) {
    return post("/api/v1/tasks/" + id + "/complete",
                {{"worker", worker}, {"output", std::move(output)}, {"log", "done by " + worker}});
  }

  json step(const json& run, const std::string& name) {
    for (const auto& s : run["steps"])
      if (s["name"] == name) return s;
    return nullptr;
  }

  std::unique_ptr<KeelUnderTest> keel_;
};

TEST_F(Tasks, AWorkerCompletesAChainAndTheInputCarriesValuesAsJson) {
  auto id = trigger("2026-11-28");
  auto task = pollOne("scoring", "w1");
  ASSERT_TRUE(task.is_object());
  EXPECT_EQ(task["id"], id + ".score.1");
  EXPECT_EQ(task["run_id"], id);
  EXPECT_EQ(task["workflow"], "scoring");
  EXPECT_EQ(task["step"], "score");
  EXPECT_EQ(task["attempt"], 1);
  EXPECT_EQ(task["idempotency_key"], id + "/score");
  EXPECT_EQ(task["state"], "leased");
  EXPECT_EQ(task["worker"], "w1");
  EXPECT_TRUE(task["lease_expires_at"].is_string());
  EXPECT_EQ(task["input"], (json{{"day", "2026-11-28"}, {"note", "a \"quoted\" & <odd> value"}}));
  // The run shows the step running; the list shows the lease.
  auto list = keel_->client()->Get("/api/v1/tasks?queue=scoring");
  ASSERT_TRUE(list);
  auto listed = json::parse(list->body);
  ASSERT_EQ(listed["tasks"].size(), 1u) << list->body;
  EXPECT_EQ(listed["tasks"][0]["worker"], "w1");

  // The result, and the next task in the same call: publish is queued once
  // score's end is written, and the call waits for it.
  auto [status, body] = post("/api/v1/tasks/results",
                             {{"worker", "w2"},
                              {"results", json::array()},
                              {"poll", {{"queues", {"publish"}}, {"max", 5}, {"wait_ms", 10}}}});
  EXPECT_EQ(status, 400) << "an empty results list is refused: " << body.dump();
  std::tie(status, body) = post(
      "/api/v1/tasks/results",
      {{"worker", "w1"},
       {"results", {{{"id", task["id"]}, {"output", {{"score", 0.93}}}, {"log", "done by w1"}}}},
       {"poll", {{"queues", {"publish"}}, {"max", 5}, {"wait_ms", 20000}}}});
  ASSERT_EQ(status, 200) << body.dump();
  EXPECT_EQ(body["results"][0]["ok"], true) << body.dump();
  ASSERT_EQ(body["tasks"].size(), 1u) << body.dump();
  json next = body["tasks"][0];
  EXPECT_EQ(next["worker"], "w1");
  {  // It is w1's: another worker cannot end it.
    auto [ws, wb] = post("/api/v1/tasks/results",
                         {{"worker", "w2"}, {"results", {{{"id", next["id"]}, {"output", 1}}}}});
    ASSERT_EQ(ws, 200);
    EXPECT_EQ(wb["results"][0]["error"]["code"], "lease_lost") << wb.dump();
  }
  EXPECT_EQ(next["input"], (json{{"score", 0.93}}));
  // The batch form ends it.
  auto [bs, batch] =
      post("/api/v1/tasks/results",
           {{"worker", "w1"}, {"results", {{{"id", next["id"]}, {"output", {{"sent", true}}}}}}});
  ASSERT_EQ(bs, 200) << batch.dump();
  EXPECT_EQ(batch["results"][0]["ok"], true) << batch.dump();
  auto run = keel_->waitForRun(id);
  EXPECT_EQ(run["state"], "succeeded") << run.dump();
  EXPECT_EQ(step(run, "score")["output"], (json{{"score", 0.93}}));
  EXPECT_EQ(step(run, "publish")["output"], (json{{"sent", true}}));
  // The worker's log is the attempt's log.
  auto logs = keel_->client()->Get("/api/v1/runs/" + id + "/steps/score/logs");
  ASSERT_TRUE(logs);
  EXPECT_NE(logs->body.find("done by w1"), std::string::npos) << logs->body;
  // The same completion again (its answer was lost) is answered the same.
  EXPECT_EQ(complete(task["id"], "w1", {{"score", 0.93}}).first, 200);
}

TEST_F(Tasks, ALapsedLeaseIsLostAndRetriedAndTheLateWorkerGetsLeaseLost) {
  auto id = trigger("2026-11-28");
  auto first = pollOne("scoring", "w1");
  ASSERT_TRUE(first.is_object());
  // w1 heartbeats once, then goes silent (it died).
  auto [hs, hb] =
      post("/api/v1/tasks/" + first["id"].get<std::string>() + "/heartbeat", {{"worker", "w1"}});
  ASSERT_EQ(hs, 200) << hb.dump();
  // Another worker asking for it is told who holds it.
  auto [os, other] =
      post("/api/v1/tasks/" + first["id"].get<std::string>() + "/heartbeat", {{"worker", "w2"}});
  EXPECT_EQ(os, 409);
  EXPECT_EQ(other["error"]["code"], "lease_lost") << other.dump();
  // The lease lapses after 2 s: attempt 1 is lost, attempt 2 is queued.
  auto second = pollOne("scoring", "w2");
  ASSERT_TRUE(second.is_object());
  EXPECT_EQ(second["attempt"], 2);
  EXPECT_EQ(second["idempotency_key"], first["idempotency_key"]);
  ASSERT_EQ(complete(second["id"], "w2", {{"score", 2}}).first, 200);
  // w1 comes back and reports its (stale) result: refused, nothing changes.
  auto [ls, late] = complete(first["id"], "w1", {{"score", 1}});
  EXPECT_EQ(ls, 409);
  EXPECT_EQ(late["error"]["code"], "lease_lost") << late.dump();
  auto publish = pollOne("publish", "w2");
  ASSERT_TRUE(publish.is_object());
  EXPECT_EQ(publish["input"]["score"], 2);
  ASSERT_EQ(complete(publish["id"], "w2", {}).first, 200);
  auto run = keel_->waitForRun(id);
  EXPECT_EQ(run["state"], "succeeded") << run.dump();
  auto score = step(run, "score");
  EXPECT_EQ(score["output"], (json{{"score", 2}}));
  ASSERT_EQ(score["attempts"].size(), 2u);
  EXPECT_EQ(score["attempts"][0]["failure_class"], "lost");
  EXPECT_NE(score["attempts"][0]["message"].get<std::string>().find(
                "lease lapsed: worker 'w1' sent no heartbeat or result for 2s"),
            std::string::npos)
      << score.dump();
}

TEST_F(Tasks, AFailureReportedByTheWorkerIsClassifiedAndRetried) {
  auto id = trigger("2026-11-28");
  auto first = pollOne("scoring", "w1");
  ASSERT_TRUE(first.is_object());
  auto [fs, failed] = post("/api/v1/tasks/" + first["id"].get<std::string>() + "/fail",
                           {{"worker", "w1"},
                            {"class", "dependency_unavailable"},
                            {"message", "scorer down"},
                            {"retry_after_ms", 200}});
  ASSERT_EQ(fs, 200) << failed.dump();
  auto second = pollOne("scoring", "w1");
  ASSERT_TRUE(second.is_object());
  EXPECT_EQ(second["attempt"], 2);
  auto run = keel_->getRun(id);
  auto attempts = step(run, "score")["attempts"];
  EXPECT_EQ(attempts[0]["failure_class"], "dependency_unavailable");
  EXPECT_EQ(attempts[0]["message"], "scorer down");
}

TEST_F(Tasks, BadRequestsSayWhatIsWrong) {
  struct Case {
    std::string path;
    json body;
    int status;
    std::string says;
  };
  const std::string someId = "01JD5V6W3Q8Z0Y2X4C6B8N0M2K.score.1";
  std::vector<Case> cases = {
      {"/api/v1/tasks/poll", {{"queues", {"scoring"}}}, 400, "'worker' is required"},
      {"/api/v1/tasks/poll", {{"worker", "w1"}}, 400, "'queues' must be a list"},
      {"/api/v1/tasks/poll",
       {{"worker", "w1"}, {"queues", {"scoring"}}, {"wait_ms", 600000}},
       400,
       "'wait_ms' must be an integer from 0 to 60000"},
      {"/api/v1/tasks/poll",
       {{"worker", "w 1\n"}, {"queues", {"scoring"}}},
       400,
       "'worker' must be 1 to 128 of the characters"},
      {"/api/v1/tasks/poll",
       {{"worker", "w1"}, {"queues", {"scoring"}}, {"maxx", 2}},
       400,
       "unknown field 'maxx'"},
      {"/api/v1/tasks/nope/heartbeat", {{"worker", "w1"}}, 404, "is not a task id"},
      {"/api/v1/tasks/" + someId + "/complete", {{"worker", "w1"}}, 409, "its attempt has ended"},
      {"/api/v1/tasks/" + someId + "/fail",
       {{"worker", "w1"}, {"class", "lost"}},
       400,
       "'class' must be one of error, bad_input"},
      {"/api/v1/tasks/results",
       {{"worker", "w1"}, {"results", json::array()}},
       400,
       "'results' must be a list of 1 to 1000"},
  };
  for (const auto& c : cases) {
    auto [status, body] = post(c.path, c.body);
    EXPECT_EQ(status, c.status) << c.path << " " << c.body.dump() << " -> " << body.dump();
    EXPECT_NE(body.dump().find(c.says), std::string::npos)
        << c.path << " " << c.body.dump() << " -> " << body.dump();
  }
  // Without a token nothing is handed out.
  httplib::Client anonymous(keel_->url());
  auto res = anonymous.Post("/api/v1/tasks/poll", R"({"worker":"w1","queues":["scoring"]})",
                            "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 401);
}

TEST_F(Tasks, KillNineWhileTasksAreLeasedLosesNone) {
  // Run A's task will be completed by its holder after the restart; run B's
  // holder never comes back, so its lease lapses and attempt 2 is handed out.
  // Run C's task was completed before the crash; its holder repeats the
  // report after the restart (its answer was lost) and is answered 200, and
  // C's next task, queued but never handed out, is handed out at once (its
  // lease would be 30 s: the test would time out waiting for a lapse).
  auto a = trigger("a");
  auto b = trigger("b");
  auto c = trigger("c");
  std::map<std::string, json> byRun;
  for (int i = 0; i < 3; ++i) {
    auto t = pollOne("scoring", "w-" + std::to_string(i));
    ASSERT_TRUE(t.is_object());
    byRun[t["run_id"]] = t;
  }
  ASSERT_EQ(byRun.size(), 3u);
  const json ta = byRun[a], tb = byRun[b], tc = byRun[c];
  ASSERT_EQ(complete(tc["id"], tc["worker"], {{"score", 3}}).first, 200);
  // The hand-outs are in the timelines.
  auto events = keel_->client()->Get("/api/v1/runs/" + a + "/events");
  ASSERT_TRUE(events);
  EXPECT_NE(events->body.find("leased to worker '" + ta["worker"].get<std::string>() + "'"),
            std::string::npos)
      << events->body;

  keel_->kill9();
  keel_->start();

  // A's holder reports: taken (its lease was recorded, and is kept for it).
  auto [as, ab] = complete(ta["id"], ta["worker"], {{"score", 1}});
  EXPECT_EQ(as, 200) << ab.dump();
  // C's holder repeats its report: already recorded, 200.
  auto [cs, cb] = complete(tc["id"], tc["worker"], {{"score", 3}});
  EXPECT_EQ(cs, 200) << cb.dump();
  // Anyone else claiming that result is told it was not theirs.
  auto [xs, xb] = complete(tc["id"], "w-other", {{"score", 3}});
  EXPECT_EQ(xs, 409) << xb.dump();
  EXPECT_EQ(xb["error"]["code"], "lease_lost") << xb.dump();
  // B: nobody reports; after one lease (2 s) attempt 2 is handed out.
  auto retry = pollOne("scoring", "w-new");
  ASSERT_TRUE(retry.is_object());
  EXPECT_EQ(retry["run_id"], b);
  EXPECT_EQ(retry["attempt"], 2);
  ASSERT_EQ(complete(retry["id"], "w-new", {{"score", 2}}).first, 200);
  // B's first holder is too late.
  EXPECT_EQ(complete(tb["id"], tb["worker"], {{"score", 9}}).first, 409);

  for (int i = 0; i < 3; ++i) {
    auto [status, body] =
        post("/api/v1/tasks/poll",
             {{"queues", {"publish"}}, {"worker", "w-pub"}, {"max", 1}, {"wait_ms", 5000}});
    ASSERT_EQ(status, 200) << body.dump();
    ASSERT_EQ(body["tasks"].size(), 1u) << "publish task " << i << " was not handed out at once";
    ASSERT_EQ(complete(body["tasks"][0]["id"], "w-pub", {}).first, 200);
  }
  for (const auto& [run, score] :
       std::vector<std::pair<std::string, int>>{{a, 1}, {b, 2}, {c, 3}}) {
    auto view = keel_->waitForRun(run);
    EXPECT_EQ(view["state"], "succeeded") << view.dump();
    EXPECT_EQ(step(view, "score")["output"]["score"], score) << view.dump();
  }
  auto bScore = step(keel_->getRun(b), "score");
  ASSERT_EQ(bScore["attempts"].size(), 2u);
  EXPECT_EQ(bScore["attempts"][0]["failure_class"], "lost");
  EXPECT_NE(bScore["attempts"][0]["message"].get<std::string>().find(
                "keel restarted and worker '" + tb["worker"].get<std::string>() +
                "' did not report on this task within 2s"),
            std::string::npos)
      << bScore.dump();
}

}  // namespace
}  // namespace keel::e2e
