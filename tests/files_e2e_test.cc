// File triggers against a real `keel serve`: a file written in pieces
// starts exactly one run once it has settled, its hostile name reaches the
// step only as data, and a kill -9 and restart do not start it again.
#include <sys/stat.h>

#include <fstream>

#include <gtest/gtest.h>

#include "e2e_support.h"

namespace keel::e2e {
namespace {

using nlohmann::json;

std::string loadWorkflow(const std::string& in, const std::string& work) {
  return R"(name: load
owner: { team: qa, contact: qa@example.com }
runbook: https://wiki.example.com/rb
params: { file: , name: , size: }
triggers:
  - file: { path: )" +
         in + R"(, pattern: "*.csv", stable_for: 2s }
    params: { file: "{{ file.path }}", name: "{{ file.name }}", size: "{{ file.size }}" }
steps:
  - name: copy
    workdir: )" +
         work + R"(
    run: "cp {{ params.file }} copied-{{ params.size }} && printf '%s' {{ params.name }} > name.txt"
    timeout: 1m
)";
}

std::string runsOf(const std::string& db, const std::string& like) {
  return queryText(db, "SELECT count(*) FROM runs WHERE workflow = 'load' AND params_json LIKE '%" +
                           like + "%'");
}

TEST(FilesE2e, AFileWrittenInPiecesStartsOneRunOnceSettledAndNotAfterAKill9) {
  KeelUnderTest keel;
  std::string in = keel.dir().file("in");
  std::string work = keel.dir().file("work");
  ASSERT_EQ(mkdir(in.c_str(), 0755), 0);
  ASSERT_EQ(mkdir(work.c_str(), 0755), 0);
  keel.start();
  keel.apply(loadWorkflow(in, work));
  // Spaces, quotes, a newline and command substitutions: data, never code.
  const std::string hostile = "a b '\"$(touch PWNED)`touch PWNED2`;touch PWNED3\n.csv";
  {
    std::ofstream out(in + "/" + hostile, std::ios::binary);
    // Grows every 200 ms for 3 s: never unchanged for stable_for (2 s).
    for (int i = 0; i < 15; ++i) {
      out << "line " << i << "\n" << std::flush;
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
      EXPECT_EQ(queryText(keel.db(), "SELECT count(*) FROM runs WHERE workflow = 'load'"), "0")
          << "a run started while the file was still growing";
    }
  }
  ASSERT_TRUE(waitFor([&] {
    return queryText(keel.db(), "SELECT count(*) FROM runs WHERE workflow = 'load'") == "1";
  }));
  std::string id = queryText(keel.db(), "SELECT id FROM runs WHERE workflow = 'load'");
  auto run = keel.waitForRun(id);
  ASSERT_EQ(run.value("state", ""), "succeeded") << run.dump();
  EXPECT_EQ(run["params"]["name"], hostile);
  EXPECT_EQ(run["params"]["file"], in + "/" + hostile);
  std::string size = run["params"]["size"];
  EXPECT_EQ(testing::readFile(work + "/name.txt"), hostile);
  EXPECT_EQ(testing::readFile(work + "/copied-" + size), testing::readFile(in + "/" + hostile));
  struct stat st {};
  EXPECT_NE(stat((work + "/PWNED").c_str(), &st), 0);
  EXPECT_NE(stat((work + "/PWNED2").c_str(), &st), 0);
  EXPECT_NE(stat((work + "/PWNED3").c_str(), &st), 0);
  EXPECT_EQ(queryText(keel.db(), "SELECT count(*) FROM file_arrivals WHERE run_id = '" + id + "'"),
            "1");
  // A second file settles and fires: the watcher has listed the first one
  // since, and left it alone.
  testing::writeFile(in + "/b.csv", "b");
  ASSERT_TRUE(waitFor([&] { return runsOf(keel.db(), "b.csv") == "1"; }));
  EXPECT_EQ(queryText(keel.db(), "SELECT count(*) FROM runs WHERE workflow = 'load'"), "2");

  keel.kill9();
  keel.start();
  testing::writeFile(in + "/c.csv", "c");
  ASSERT_TRUE(waitFor([&] { return runsOf(keel.db(), "c.csv") == "1"; }));
  // c settled in the same listings as the two files already there: they
  // were seen again and did not fire again.
  EXPECT_EQ(queryText(keel.db(), "SELECT count(*) FROM runs WHERE workflow = 'load'"), "3");
  // GET /api/v1/schedules shows the trigger and its last arrival.
  auto res = keel.client()->Get("/api/v1/schedules");
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200) << res->body;
  auto body = json::parse(res->body);
  ASSERT_EQ(body["file_triggers"].size(), 1u) << body.dump();
  EXPECT_EQ(body["file_triggers"][0]["path"], in);
  EXPECT_EQ(body["file_triggers"][0]["last"]["path"], in + "/c.csv");
  EXPECT_TRUE(body["file_triggers"][0]["error"].is_null());
}

}  // namespace
}  // namespace keel::e2e
