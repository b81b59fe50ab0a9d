// G3 under fire: `keel serve` is killed with SIGKILL at random instants while
// 200 runs of a 3-step chain execute, and restarted each time.
#include <atomic>
#include <fstream>
#include <map>
#include <random>
#include <sstream>
#include <thread>

#include <sqlite3.h>

#include <gtest/gtest.h>

#include "e2e_support.h"

namespace keel::e2e {
namespace {

constexpr int kRuns = 200;

std::string chainWorkflow(const std::string& ledger) {
  std::string cmd =
      "echo \\\"START $KEEL_RUN_ID $KEEL_STEP $KEEL_ATTEMPT\\\" >> " + ledger + " && sleep 0.05";
  std::string retry = "retry: { max_attempts: 20, backoff: fixed, initial: 50ms, jitter: none }";
  return "name: crash-chain\n"
         "owner: { team: qa, contact: qa@example.com }\n"
         "runbook: https://wiki.example.com/rb\n"
         "steps:\n"
         "  - { name: s1, run: \"" +
         cmd + "\", timeout: 1m, " + retry +
         " }\n"
         "  - { name: s2, run: \"" +
         cmd + "\", needs: [s1], timeout: 1m, " + retry +
         " }\n"
         "  - { name: s3, run: \"" +
         cmd + "\", needs: [s2], timeout: 1m, " + retry + " }\n";
}

int countSucceeded(const std::string& db) {
  return std::atoi(queryText(db, "SELECT count(*) FROM runs WHERE state='succeeded'").c_str());
}

TEST(Crash, KillNineAtRandomInstantsLosesNothingAndNeverRerunsACompletedStep) {
  KeelUnderTest keel({"--max-parallel", "8"});
  keel.start();
  std::string ledger = keel.dir().file("ledger");
  keel.apply(chainWorkflow(ledger));

  // Submits every run with an idempotency key; after a crash the same key
  // is sent again, which must never start a second run.
  std::atomic<int> submitted{0};
  std::atomic<bool> up{true};
  std::mutex urlMu;
  std::thread submitter([&] {
    for (int i = 0; i < kRuns;) {
      if (!up) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
        continue;
      }
      std::string url;
      {
        std::lock_guard lock(urlMu);
        url = keel.url();
      }
      httplib::Client c(url);
      c.set_connection_timeout(1);
      c.set_bearer_token_auth(keel.token());
      auto res = c.Post("/api/v1/workflows/crash-chain/runs",
                        nlohmann::json{{"idempotency_key", "crash-" + std::to_string(i)}}.dump(),
                        "application/json");
      if (res && (res->status == 201 || res->status == 200)) submitted = ++i;
    }
  });

  unsigned seed = std::random_device{}();
  std::mt19937 gen(seed);
  std::uniform_int_distribution<int> pause(150, 700);
  int killsDuringWork = 0;
  for (int k = 0; k < 6; ++k) {
    std::this_thread::sleep_for(std::chrono::milliseconds(pause(gen)));
    if (countSucceeded(keel.db()) < kRuns) ++killsDuringWork;
    up = false;
    keel.kill9();
    {
      std::lock_guard lock(urlMu);
      keel.start();
    }
    up = true;
  }
  ASSERT_GE(killsDuringWork, 5) << "the work finished before enough kills (seed " << seed << ")";

  auto deadline = std::chrono::steady_clock::now() + std::chrono::minutes(3);
  while (countSucceeded(keel.db()) < kRuns && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  submitter.join();
  keel.stop();

  SCOPED_TRACE("seed " + std::to_string(seed));
  EXPECT_EQ(queryText(keel.db(), "SELECT count(*) FROM runs"), std::to_string(kRuns));
  EXPECT_EQ(countSucceeded(keel.db()), kRuns);
  EXPECT_EQ(queryText(keel.db(), "PRAGMA integrity_check"), "ok");

  // Every step has exactly one succeeded attempt...
  EXPECT_EQ(queryText(keel.db(), "SELECT count(*) FROM attempts WHERE state='succeeded'"),
            std::to_string(kRuns * 3));
  // ...and no attempt started after it: a completed step never ran again.
  // An attempt number is durable before its process starts, so a number
  // can never be launched twice.
  std::map<std::string, int> succeededAttempt;
  {
    sqlite3* h = nullptr;
    ASSERT_EQ(sqlite3_open_v2(keel.db().c_str(), &h, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
    sqlite3_stmt* st = nullptr;
    sqlite3_prepare_v2(h, "SELECT run_id, step, n FROM attempts WHERE state='succeeded'", -1, &st,
                       nullptr);
    while (sqlite3_step(st) == SQLITE_ROW) {
      std::string key = std::string(reinterpret_cast<const char*>(sqlite3_column_text(st, 0))) +
                        " " + reinterpret_cast<const char*>(sqlite3_column_text(st, 1));
      succeededAttempt[key] = sqlite3_column_int(st, 2);
    }
    sqlite3_finalize(st);
    sqlite3_close(h);
  }
  std::ifstream in(ledger);
  std::string line;
  std::map<std::string, int> launches;
  int lines = 0;
  while (std::getline(in, line)) {
    ++lines;
    std::istringstream ss(line);
    std::string start, run, step;
    int attempt = 0;
    ss >> start >> run >> step >> attempt;
    std::string key = run + " " + step;
    EXPECT_EQ(++launches[key + " " + std::to_string(attempt)], 1)
        << "attempt launched twice: " << line;
    auto it = succeededAttempt.find(key);
    ASSERT_NE(it, succeededAttempt.end()) << "ledger names an unknown step: " << line;
    EXPECT_LE(attempt, it->second) << "a completed step ran again: " << line;
  }
  EXPECT_GE(lines, kRuns * 3);
}

}  // namespace
}  // namespace keel::e2e
