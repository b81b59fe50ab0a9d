// A database file deleted or replaced under an open store, and a database
// that is missing where one existed: the store must say so, never write
// into the void and call it durable, never start over empty unasked.
#include <unistd.h>

#include <cstdio>
#include <filesystem>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "store/sqlite/sqlite_store.h"
#include "store/sqlite/store_test_util.h"
#include "testing/temp_dir.h"

namespace keel::store {
namespace {

using testing::writeFile;
using testutil::makeRun;
using testutil::openOrDie;

class SqliteLostFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = openOrDie(path_);
    ASSERT_TRUE(store_);
    ASSERT_TRUE(store_->apply({{PutRun{makeRun("r1")}}}).ok());
    ASSERT_TRUE(store_->health().ok());
  }

  // Health and every write report `message`; nothing is called durable.
  void expectLost(const std::string& message) {
    Status h = store_->health();
    ASSERT_FALSE(h.ok());
    EXPECT_EQ(h.error().code(), ErrorCode::kUnavailable);
    EXPECT_EQ(h.error().message(), message);
    Status write = store_->apply({{PutRun{makeRun("r2")}}});
    ASSERT_FALSE(write.ok()) << "a write into a lost file was reported durable";
    EXPECT_EQ(write.error().message(), message);
    WorkflowVersionRow wf;
    wf.name = "w";
    wf.yaml = "name: w";
    auto put = store_->putWorkflow(wf);
    ASSERT_FALSE(put.ok());
    EXPECT_EQ(put.error().message(), message);
  }

  testing::TempDir dir_;
  std::string path_ = dir_.file("keel.db");
  std::unique_ptr<Store> store_;
};

TEST_F(SqliteLostFileTest, DeletingTheFileIsReported) {
  ASSERT_EQ(::unlink(path_.c_str()), 0);
  expectLost(
      fmt::format("database file {} was deleted while keel had it open; restart keel", path_));
}

TEST_F(SqliteLostFileTest, RenamingAnotherFileOverItIsReported) {
  std::string other = dir_.file("other.db");
  { auto second = openOrDie(other); }
  ASSERT_EQ(std::rename(other.c_str(), path_.c_str()), 0);
  expectLost(fmt::format(
      "database file {} was replaced by another file while keel had it open; restart keel", path_));
}

TEST_F(SqliteLostFileTest, MovingItAwayIsReported) {
  ASSERT_EQ(std::rename(path_.c_str(), dir_.file("moved.db").c_str()), 0);
  expectLost(
      fmt::format("database file {} was moved away while keel had it open; restart keel", path_));
}

TEST_F(SqliteLostFileTest, PuttingTheSameFileBackHealsIt) {
  std::string moved = dir_.file("moved.db");
  ASSERT_EQ(std::rename(path_.c_str(), moved.c_str()), 0);
  ASSERT_FALSE(store_->health().ok());
  ASSERT_EQ(std::rename(moved.c_str(), path_.c_str()), 0);
  EXPECT_TRUE(store_->health().ok());
  EXPECT_TRUE(store_->apply({{PutRun{makeRun("r2")}}}).ok());
}

TEST_F(SqliteLostFileTest, AnotherLinkToTheSameFileIsHealthy) {
  std::filesystem::create_hard_link(path_, dir_.file("backup-link.db"));
  EXPECT_TRUE(store_->health().ok());
}

// --- checkNotLost: before opening ---

TEST(CheckNotLostTest, AFirstStartInACleanDirectoryMayCreate) {
  testing::TempDir dir;
  std::string path = dir.file("keel.db");
  EXPECT_TRUE(checkNotLost(path, databaseTraces(path), false).ok());
}

TEST(CheckNotLostTest, AnExistingDatabaseIsFineWhateverLiesBesideIt) {
  testing::TempDir dir;
  std::string path = dir.file("keel.db");
  { auto store = openOrDie(path); }
  writeFile(path + ".token", "secret");
  EXPECT_TRUE(checkNotLost(path, databaseTraces(path), false).ok());
  EXPECT_TRUE(checkNotLost(path, databaseTraces(path), true).ok());
}

TEST(CheckNotLostTest, EachTraceOfAMissingDatabaseRefusesCreation) {
  testing::TempDir dir;
  std::string path = dir.file("keel.db");
  auto traces = databaseTraces(path);
  traces.push_back(path + ".token");  // what a caller adds
  EXPECT_EQ(traces, (std::vector<std::string>{path + "-wal", path + "-shm", path + ".lock",
                                              path + ".token"}));
  for (const auto& trace : traces) {
    writeFile(trace, "");
    Status s = checkNotLost(path, traces, false);
    ASSERT_FALSE(s.ok()) << trace;
    EXPECT_EQ(s.error().code(), ErrorCode::kFailedPrecondition);
    EXPECT_EQ(s.error().message(),
              fmt::format("database {} does not exist, but {} does: the database was deleted "
                          "or moved, and opening would start over with an empty one",
                          path, trace));
    std::filesystem::remove(trace);
  }
}

TEST(CheckNotLostTest, CreationAllowedAcceptsTracesButNotAnOrphanedJournal) {
  testing::TempDir dir;
  std::string path = dir.file("keel.db");
  writeFile(path + ".lock", "123\n");
  writeFile(path + ".token", "secret");
  EXPECT_TRUE(checkNotLost(path, databaseTraces(path), true).ok());
  writeFile(path + "-wal", "frames of the lost database");
  Status s = checkNotLost(path, databaseTraces(path), true);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code(), ErrorCode::kFailedPrecondition);
  EXPECT_NE(s.error().message().find("Move " + path + "-wal and " + path + "-shm away first"),
            std::string::npos)
      << s.error().message();
}

TEST(CheckNotLostTest, ASymlinkToNothingIsALostDatabase) {
  testing::TempDir dir;
  std::string path = dir.file("keel.db");
  std::filesystem::create_symlink(dir.file("gone/keel.db"), path);
  Status s = checkNotLost(path, databaseTraces(path), false);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().message(),
            fmt::format("database file {} is a symlink to a file that does not exist; the "
                        "database was deleted or moved",
                        path));
}

}  // namespace
}  // namespace keel::store
