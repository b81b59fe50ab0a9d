// A write that hits a full disk: the batch fails with kIo, nothing of it
// is visible, no transaction is left open and the file stays intact. The
// "disk" fills up through RLIMIT_FSIZE, in a child process so the limit
// does not touch the test runner.
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "store/sqlite/sqlite_store.h"
#include "store/sqlite/store_test_util.h"
#include "testing/temp_dir.h"

namespace keel::store {
namespace {

using testutil::makeRun;

bool setFileSizeLimit(rlim_t bytes) {
  rlimit lim{};
  if (getrlimit(RLIMIT_FSIZE, &lim) != 0) return false;
  lim.rlim_cur = bytes;
  return setrlimit(RLIMIT_FSIZE, &lim) == 0;
}

bool hasRun(Store& store, const std::string& id) {
  auto run = store.getRun(id);
  return run.ok() && run->has_value();
}

// Exit codes say which expectation failed.
[[noreturn]] void childFillsTheDisk(const std::string& path) {
  auto store = openSqliteStore(path);
  if (!store.ok()) _exit(10);
  if (!(*store)->apply({{PutRun{makeRun("r1")}}}).ok()) _exit(11);

  signal(SIGXFSZ, SIG_IGN);  // a write past the limit then fails with EFBIG
  if (!setFileSizeLimit(512 * 1024)) _exit(12);
  LogRow big{"r2", "a", 1, std::string(4 << 20, 'x'), "", 4 << 20, 0};
  Status s = (*store)->apply({{PutRun{makeRun("r2")}, PutLog{big}}});
  if (s.ok()) _exit(13);
  if (s.error().code() != ErrorCode::kIo) _exit(14);
  if (hasRun(**store, "r2")) _exit(15);

  // Space comes back: the same store writes again.
  if (!setFileSizeLimit(RLIM_INFINITY)) _exit(16);
  if (!(*store)->apply({{PutRun{makeRun("r3")}}}).ok()) _exit(17);
  _exit(0);
}

TEST(SqliteFaultTest, AFullDiskFailsTheBatchAndWritesNothing) {
  testing::TempDir dir;
  std::string path = dir.file("keel.db");
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) childFillsTheDisk(path);
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  ASSERT_EQ(WEXITSTATUS(status), 0) << "see the exit codes in childFillsTheDisk";

  auto store = openSqliteStore(path);
  ASSERT_TRUE(store.ok()) << store.error().toString();
  auto integrity = (*store)->integrityCheck();
  ASSERT_TRUE(integrity.ok());
  EXPECT_EQ(*integrity, "ok");
  EXPECT_TRUE(hasRun(**store, "r1"));
  EXPECT_FALSE(hasRun(**store, "r2"));
  EXPECT_TRUE(hasRun(**store, "r3"));
}

}  // namespace
}  // namespace keel::store
