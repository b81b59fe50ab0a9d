// File triggers: a settled file starts one run, written in one batch with
// its arrival row; a growing file does not; a restart does not fire it
// again, nor does retention deleting its run; a replaced file fires again;
// a directory that cannot be listed shows in the status and is retried.
#include "engine/engine_test_fixture.h"

namespace keel::engine::test {
namespace {

using nlohmann::json;
using std::chrono::seconds;

constexpr const char* kFileLoader = R"(
params: { file: , name: , size: }
triggers:
  - file: { path: /in, pattern: "*.csv", stable_for: 5s }
    params: { file: "{{ file.path }}", name: "{{ file.name }}", size: "{{ file.size }}" }
steps:
  - { name: load, run: "load {{ params.file }}", timeout: 1m }
)";

class EngineFilesTest : public EngineTest {
 protected:
  void SetUp() override {
    lister_ = [this](const std::string& dir,
                     const std::string& pattern) -> Result<std::vector<triggers::FileEntry>> {
      if (dirError) return *dirError;
      std::vector<triggers::FileEntry> out;
      for (const auto& [name, f] : files)
        if (dir == "/in" && triggers::nameMatches(pattern, name)) out.push_back(f);
      return out;
    };
    EngineTest::SetUp();
  }
  void put(const std::string& name, uint64_t size, int64_t mtime, uint64_t inode = 1) {
    files[name] = {name, "/in/" + name, size, mtime, inode};
  }
  // One listing after `d`, then the loop handles what settled.
  void scanAfter(std::chrono::nanoseconds d) {
    clock_.advance(d);
    engine_->scanFiles();
    engine_->pump();
  }
  std::vector<store::RunRow> runs() {
    store::RunFilter f;
    f.workflow = "loader";
    auto r = store_->listRuns(f);
    EXPECT_TRUE(r.ok());
    return r.ok() ? *r : std::vector<store::RunRow>{};
  }

  std::map<std::string, triggers::FileEntry> files;
  std::optional<Error> dirError;
};

TEST_F(EngineFilesTest, ASettledFileStartsOneRunInOneBatchWithItsArrival) {
  apply(workflow("loader", kFileLoader));
  flaky_->keepBatches = true;
  // Written in pieces: never unchanged for 5 s.
  for (int i = 1; i <= 6; ++i) {
    put("a b.csv", 100 * i, 1000 + i);
    put("skip.txt", 1, 1);
    scanAfter(seconds(3));
  }
  EXPECT_TRUE(runs().empty());
  scanAfter(seconds(3));
  scanAfter(seconds(3));
  auto all = runs();
  ASSERT_EQ(all.size(), 1u);
  const auto& run = all[0];
  EXPECT_EQ(json::parse(run.paramsJson),
            json({{"file", "/in/a b.csv"}, {"name", "a b.csv"}, {"size", "600"}}));
  EXPECT_EQ(run.idempotencyKey, "file:loader:0:600:1006:1:/in/a b.csv");
  // The run and its arrival went in the same batch.
  bool together = false;
  for (const auto& b : flaky_->batches) {
    bool hasRun = false, hasArrival = false;
    for (const auto& m : b.mutations) {
      if (auto* r = std::get_if<store::PutRun>(&m); r && r->row.id == run.id) hasRun = true;
      if (auto* a = std::get_if<store::PutFileArrival>(&m); a && a->row.runId == run.id)
        hasArrival = true;
    }
    together = together || (hasRun && hasArrival);
  }
  EXPECT_TRUE(together);
  auto arrival = store_->findFileArrival("loader", run.idempotencyKey);
  ASSERT_TRUE(arrival.ok() && arrival->has_value());
  EXPECT_EQ((*arrival)->path, "/in/a b.csv");
  EXPECT_EQ((*arrival)->size, 600);
  auto events = store_->runEvents(run.id);
  ASSERT_TRUE(events.ok());
  bool said = false;
  for (const auto& e : *events)
    said = said || (e.kind == "started_by_file" &&
                    e.message.find("started by file /in/a b.csv (600 bytes") != std::string::npos);
  EXPECT_TRUE(said);
  // Still there, unchanged: nothing more.
  scanAfter(seconds(30));
  EXPECT_EQ(runs().size(), 1u);
  // A manual trigger cannot take its key.
  auto f = engine_->trigger({"loader", json::object(), run.idempotencyKey});
  engine_->pump();
  auto refused = f.get();
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().message().find("'file:'"), std::string::npos);
}

TEST_F(EngineFilesTest, ARestartAndRetentionDoNotFireAgainAReplacedFileDoes) {
  apply(workflow("loader", kFileLoader));
  put("a.csv", 10, 1);
  scanAfter(seconds(1));
  scanAfter(seconds(5));
  ASSERT_EQ(runs().size(), 1u);
  ASSERT_EQ(exec_.started.size(), 1u);
  exec_.succeed(0);
  engine_->pump();
  crashAndRestart();
  scanAfter(seconds(1));
  scanAfter(seconds(6));
  EXPECT_EQ(runs().size(), 1u);
  // Retention deletes the run; the file stays: still no second run.
  store::RetentionPolicy policy;
  policy.defaultCutoff = clock_.wallNow() + std::chrono::hours(1);
  auto deleted = store_->deleteExpiredRuns(policy);
  ASSERT_TRUE(deleted.ok()) << deleted.error().toString();
  ASSERT_EQ(deleted->runs, 1);
  stopAndRestart();
  scanAfter(seconds(1));
  scanAfter(seconds(6));
  EXPECT_TRUE(runs().empty());
  // Replaced (new mtime): fires again.
  put("a.csv", 10, 2);
  scanAfter(seconds(1));
  scanAfter(seconds(6));
  auto all = runs();
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].idempotencyKey, "file:loader:0:10:2:1:/in/a.csv");
}

TEST_F(EngineFilesTest, DeletedBeforeSettlingNeverFiresAndGoneFilesArePruned) {
  apply(workflow("loader", kFileLoader));
  put("a.csv", 1, 1);
  put("b.csv", 1, 1, 2);
  scanAfter(seconds(1));
  files.erase("a.csv");
  scanAfter(seconds(6));
  auto all = runs();
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(json::parse(all[0].paramsJson)["name"], "b.csv");
  ASSERT_EQ(store_->listFileArrivals("loader", 0)->size(), 1u);
  files.erase("b.csv");
  scanAfter(seconds(1));
  EXPECT_TRUE(store_->listFileArrivals("loader", 0)->empty());
}

TEST_F(EngineFilesTest, AnUnreadableDirectoryShowsAndIsRetried) {
  apply(workflow("loader", kFileLoader));
  dirError = Error(ErrorCode::kNotFound, "cannot read directory /in: No such file or directory");
  scanAfter(seconds(1));
  auto st = engine_->fileTriggers();
  ASSERT_EQ(st.size(), 1u);
  EXPECT_EQ(st[0].path, "/in");
  EXPECT_EQ(st[0].pattern, "*.csv");
  EXPECT_NE(st[0].error.find("No such file"), std::string::npos);
  dirError.reset();
  put("a.csv", 1, 1);
  scanAfter(seconds(1));
  scanAfter(seconds(5));
  ASSERT_EQ(runs().size(), 1u);
  st = engine_->fileTriggers();
  EXPECT_TRUE(st[0].error.empty());
  EXPECT_EQ(st[0].lastPath, "/in/a.csv");
  EXPECT_EQ(st[0].lastRunId, runs()[0].id);
}

TEST_F(EngineFilesTest, ANewVersionReArmsTheWatch) {
  apply(workflow("loader", kFileLoader));
  put("a.txt", 1, 1);
  scanAfter(seconds(1));
  scanAfter(seconds(6));
  EXPECT_TRUE(runs().empty());
  std::string txt = kFileLoader;
  txt.replace(txt.find("\"*.csv\""), 7, "\"*.txt\"");
  apply(workflow("loader", txt));
  scanAfter(seconds(1));
  scanAfter(seconds(6));
  EXPECT_EQ(runs().size(), 1u);
}

}  // namespace
}  // namespace keel::engine::test
