// What openSqliteStore accepts and refuses: locks, schema versions, files
// that are not keel databases or are damaged.
#include <fcntl.h>
#include <sqlite3.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <functional>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "store/sqlite/sqlite_store.h"
#include "store/sqlite/store_test_util.h"
#include "testing/temp_dir.h"

namespace keel::store {
namespace {

using testing::readFile;
using testing::writeFile;
using testutil::contains;
using testutil::makeRun;
using testutil::makeStep;

void createKeelDatabase(const std::string& path) {
  auto store = openSqliteStore(path);
  ASSERT_TRUE(store.ok()) << store.error().toString();
  Status s = (*store)->apply({{PutRun{makeRun("r1")}, PutStep{makeStep("r1", "a")}}});
  ASSERT_TRUE(s.ok()) << s.error().toString();
}

TEST(SqliteOpenTest, CreatesANewDatabaseInWalMode) {
  testing::TempDir dir;
  std::string path = dir.file("sub.db");
  createKeelDatabase(path);
  // The header says WAL (file format versions 2/2 at offsets 18 and 19).
  std::string header = readFile(path).substr(0, 20);
  EXPECT_EQ(header.substr(0, 15), "SQLite format 3");
  EXPECT_EQ(header[18], 2);
  EXPECT_EQ(header[19], 2);
  EXPECT_TRUE(std::filesystem::exists(path + ".lock"));
}

// Within one process, a second open of a held file is refused by the
// lock's own table of held files, before any flock: the descriptor of the
// refused open must stay open until the holder lets go, since closing it
// would drop SQLite's POSIX locks on the file (see file_lock.h). The flock
// itself is what refuses other processes: the fork tests below.
TEST(SqliteOpenTest, ASecondOpenInTheSameProcessIsRefused) {
  testing::TempDir dir;
  std::string path = dir.file("keel.db");
  auto first = openSqliteStore(path);
  ASSERT_TRUE(first.ok()) << first.error().toString();
  auto second = openSqliteStore(path);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.error().code(), ErrorCode::kFailedPrecondition);
  EXPECT_EQ(second.error().message(),
            fmt::format("database {} is already open in this process (as {})", path, path));
  first->reset();
  auto third = openSqliteStore(path);
  EXPECT_TRUE(third.ok()) << third.error().toString();
}

// The lock is on the file, not on its name: another path to the same file
// is refused too. `link` makes the other path.
void expectRefusedThroughAnotherPath(
    const std::function<void(const std::string&, const std::string&)>& link) {
  testing::TempDir dir;
  std::string path = dir.file("keel.db");
  std::string other = dir.file("other.db");
  auto held = openSqliteStore(path);
  ASSERT_TRUE(held.ok()) << held.error().toString();
  link(path, other);
  auto second = openSqliteStore(other);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.error().code(), ErrorCode::kFailedPrecondition);
  EXPECT_EQ(second.error().message(),
            fmt::format("database {} is already open in this process (as {})", other, path));

  // Another process: flock on a different open file description of the
  // same file conflicts, and the message names the holder from /proc/locks.
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    auto refused = openSqliteStore(other);
    if (refused.ok()) _exit(1);
    if (refused.error().code() != ErrorCode::kFailedPrecondition) _exit(2);
    std::string expected =
        fmt::format("database {} is in use by another process (pid {}: ", other, getppid());
    if (!contains(refused.error().message(), expected)) _exit(3);
    if (!contains(refused.error().message(), "whatever path names it")) _exit(4);
    _exit(0);
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << "1: not refused, 2: wrong code, 3/4: wrong message";

  // Released, the file opens through the other path.
  held->reset();
  auto again = openSqliteStore(other);
  EXPECT_TRUE(again.ok()) << again.error().toString();
}

TEST(SqliteOpenTest, ASymlinkToAHeldDatabaseIsRefused) {
  expectRefusedThroughAnotherPath([](const std::string& target, const std::string& link) {
    std::filesystem::create_symlink(target, link);
  });
}

TEST(SqliteOpenTest, AHardLinkToAHeldDatabaseIsRefused) {
  expectRefusedThroughAnotherPath([](const std::string& target, const std::string& link) {
    std::filesystem::create_hard_link(target, link);
  });
}

TEST(SqliteOpenTest, AnotherProcessIsRefusedWhileTheLockIsHeld) {
  testing::TempDir dir;
  std::string path = dir.file("keel.db");
  auto held = openSqliteStore(path);
  ASSERT_TRUE(held.ok()) << held.error().toString();
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    auto other = openSqliteStore(path);
    bool refused = !other.ok() && other.error().code() == ErrorCode::kFailedPrecondition &&
                   contains(other.error().message(), fmt::format("(pid {}: ", getppid()));
    _exit(refused ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

// A keel from before the lock on the file itself locks only PATH.lock; it
// must still keep a newer keel out (during an upgrade, say).
TEST(SqliteOpenTest, AHeldSideLockFileIsRefused) {
  testing::TempDir dir;
  std::string path = dir.file("keel.db");
  int fd = ::open((path + ".lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::flock(fd, LOCK_EX | LOCK_NB), 0);
  ASSERT_EQ(::pwrite(fd, "4242\n", 5, 0), 5);
  auto store = openSqliteStore(path);
  ::close(fd);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.error().code(), ErrorCode::kFailedPrecondition);
  EXPECT_EQ(store.error().message(),
            fmt::format("database {} is in use by another keel process (pid 4242, which holds "
                        "{}.lock)",
                        path, path));
  auto now = openSqliteStore(path);
  EXPECT_TRUE(now.ok()) << now.error().toString();
}

TEST(SqliteOpenTest, ADatabaseFromANewerKeelIsRefusedAndLeftAlone) {
  testing::TempDir dir;
  std::string path = dir.file("keel.db");
  createKeelDatabase(path);
  testutil::sqliteExec(path, "UPDATE keel_schema SET version = 99");
  auto store = openSqliteStore(path);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.error().code(), ErrorCode::kFailedPrecondition);
  EXPECT_EQ(store.error().message(),
            fmt::format("database {} was written by a newer keel (schema 99, this keel knows up "
                        "to {}); upgrade keel",
                        path, kSchemaVersion));
  EXPECT_EQ(testutil::sqliteQueryInt(path, "SELECT version FROM keel_schema"),
            99);  // not downgraded
}

// A database of schema 2 (no listing index by workflow and state, no
// step counter) is brought to the current schema on open, its rows kept.
TEST(SqliteOpenTest, ASchema2DatabaseIsMigrated) {
  testing::TempDir dir;
  std::string path = dir.file("keel.db");
  createKeelDatabase(path);
  testutil::sqliteExec(
      path,
      "DROP TABLE subscriptions; DROP TABLE webhook_deliveries; DROP TABLE "
      "outbox; DROP TABLE file_arrivals; DROP TABLE schedule_state; "
      "DROP TABLE inbound_events; "
      "DROP INDEX runs_by_workflow_state; DROP TABLE keel_counters; "
      "ALTER TABLE steps DROP COLUMN wait_kind; "
      "ALTER TABLE steps DROP COLUMN wait_reason; "
      "ALTER TABLE runs DROP COLUMN wait_kind; "
      "ALTER TABLE runs DROP COLUMN wait_reason; "
      "ALTER TABLE runs DROP COLUMN cancel_reason; "
      "ALTER TABLE events DROP COLUMN actor; ALTER TABLE events DROP COLUMN reason; "
      "DROP TABLE workflow_controls; ALTER TABLE runs DROP COLUMN pause_reason; ALTER TABLE runs "
      "DROP COLUMN compensation; DROP TABLE audit_log; ALTER TABLE workflows DROP COLUMN "
      "applied_by; DROP TABLE channels; DROP TABLE notifications; ALTER TABLE runs DROP COLUMN "
      "trace_id; ALTER TABLE runs DROP COLUMN request_id; DROP TABLE incidents; DROP TABLE "
      "incident_runs; DROP TABLE incident_timeline; DROP TABLE incident_action_items; ALTER TABLE "
      "runs DROP COLUMN parent_span_id; UPDATE keel_schema "
      "SET version = 2");
  auto store = openSqliteStore(path);
  ASSERT_TRUE(store.ok()) << store.error().toString();
  EXPECT_EQ(testutil::sqliteQueryInt(path, "SELECT version FROM keel_schema"), kSchemaVersion);
  EXPECT_EQ(kSchemaVersion, 17);
  // The step counter starts at the highest position already used.
  EXPECT_EQ(
      testutil::sqliteQueryInt(path, "SELECT value FROM keel_counters WHERE name = 'step_pos'"), 1);
  EXPECT_EQ(testutil::sqliteQueryInt(path,
                                     "SELECT COUNT(*) FROM sqlite_master WHERE type = 'index' AND "
                                     "name = 'runs_by_workflow_state'"),
            1);
  auto run = (*store)->getRun("r1");
  ASSERT_TRUE(run.ok() && run->has_value());
  EXPECT_EQ((*run)->steps.size(), 1u);
}

// A database of schema 3 (no wait or cancel columns; a cancel kept only
// as the run's reason) gains the columns on open, its rows kept and a
// pending cancel carried over into cancel_reason.
TEST(SqliteOpenTest, ASchema3DatabaseIsMigrated) {
  testing::TempDir dir;
  std::string path = dir.file("keel.db");
  {
    auto store = openSqliteStore(path);
    ASSERT_TRUE(store.ok()) << store.error().toString();
    RunRow cancelled = makeRun("r2");
    cancelled.reason = "cancel requested";
    Status s =
        (*store)->apply({{PutRun{makeRun("r1")}, PutStep{makeStep("r1", "a")}, PutRun{cancelled}}});
    ASSERT_TRUE(s.ok()) << s.error().toString();
  }
  testutil::sqliteExec(
      path,
      "DROP TABLE subscriptions; DROP TABLE webhook_deliveries; DROP TABLE "
      "outbox; DROP TABLE file_arrivals; DROP TABLE schedule_state; "
      "DROP TABLE inbound_events; "
      "ALTER TABLE steps DROP COLUMN wait_kind; "
      "ALTER TABLE steps DROP COLUMN wait_reason; "
      "ALTER TABLE runs DROP COLUMN wait_kind; "
      "ALTER TABLE runs DROP COLUMN wait_reason; "
      "ALTER TABLE runs DROP COLUMN cancel_reason; "
      "ALTER TABLE events DROP COLUMN actor; ALTER TABLE events DROP COLUMN reason; "
      "DROP TABLE workflow_controls; ALTER TABLE runs DROP COLUMN pause_reason; ALTER TABLE runs "
      "DROP COLUMN compensation; DROP TABLE audit_log; ALTER TABLE workflows DROP COLUMN "
      "applied_by; DROP TABLE channels; DROP TABLE notifications; ALTER TABLE runs DROP COLUMN "
      "trace_id; ALTER TABLE runs DROP COLUMN request_id; DROP TABLE incidents; DROP TABLE "
      "incident_runs; DROP TABLE incident_timeline; DROP TABLE incident_action_items; ALTER TABLE "
      "runs DROP COLUMN parent_span_id; UPDATE keel_schema "
      "SET version = 3");
  auto store = openSqliteStore(path);
  ASSERT_TRUE(store.ok()) << store.error().toString();
  EXPECT_EQ(testutil::sqliteQueryInt(path, "SELECT version FROM keel_schema"), kSchemaVersion);
  EXPECT_EQ(testutil::sqliteQueryInt(
                path, "SELECT COUNT(*) FROM steps WHERE wait_kind IS NULL AND wait_reason IS NULL"),
            1);
  auto r1 = (*store)->getRun("r1");
  ASSERT_TRUE(r1.ok() && r1->has_value());
  ASSERT_EQ((*r1)->steps.size(), 1u);
  EXPECT_EQ((*r1)->steps[0].waitKind, "");
  EXPECT_EQ((*r1)->run.cancelReason, "");
  auto r2 = (*store)->getRun("r2");
  ASSERT_TRUE(r2.ok() && r2->has_value());
  EXPECT_EQ((*r2)->run.cancelReason, "cancel requested");
  // The new columns are written and read back.
  StepRow held = makeStep("r1", "a");
  held.state = StepState::kReady;
  held.waitKind = "max_parallel";
  held.waitReason = "queued: all 1 step slots are busy";
  RunRow queued = makeRun("r1");
  queued.waitKind = "concurrency";
  queued.waitReason = "waiting for a concurrency slot";
  Status s = (*store)->apply({{PutRun{queued}, PutStep{held}}});
  ASSERT_TRUE(s.ok()) << s.error().toString();
  r1 = (*store)->getRun("r1");
  ASSERT_TRUE(r1.ok() && r1->has_value());
  EXPECT_EQ((*r1)->steps[0], held);
  EXPECT_EQ((*r1)->run.waitKind, "concurrency");
  EXPECT_EQ((*r1)->run.waitReason, "waiting for a concurrency slot");
}

// A database of schema 4 (no inbound events) gains the table on open, its
// runs kept, and events can then be stored and read.
TEST(SqliteOpenTest, ASchema4DatabaseIsMigrated) {
  testing::TempDir dir;
  std::string path = dir.file("keel.db");
  createKeelDatabase(path);
  testutil::sqliteExec(
      path,
      "DROP TABLE subscriptions; DROP TABLE webhook_deliveries; DROP TABLE "
      "outbox; DROP TABLE file_arrivals; DROP TABLE schedule_state; "
      "DROP TABLE inbound_events; "
      "ALTER TABLE events DROP COLUMN actor; ALTER TABLE events DROP COLUMN reason; "
      "DROP TABLE workflow_controls; ALTER TABLE runs DROP COLUMN pause_reason; ALTER TABLE runs "
      "DROP COLUMN compensation; DROP TABLE audit_log; ALTER TABLE workflows DROP COLUMN "
      "applied_by; DROP TABLE channels; DROP TABLE notifications; ALTER TABLE runs DROP COLUMN "
      "trace_id; ALTER TABLE runs DROP COLUMN request_id; DROP TABLE incidents; DROP TABLE "
      "incident_runs; DROP TABLE incident_timeline; DROP TABLE incident_action_items; ALTER TABLE "
      "runs DROP COLUMN parent_span_id; UPDATE keel_schema "
      "SET version = 4");
  auto store = openSqliteStore(path);
  ASSERT_TRUE(store.ok()) << store.error().toString();
  EXPECT_EQ(testutil::sqliteQueryInt(path, "SELECT version FROM keel_schema"), kSchemaVersion);
  auto run = (*store)->getRun("r1");
  ASSERT_TRUE(run.ok() && run->has_value());
  InboundEventRow e{"files.arrived", "e1", R"({"a":1})", WallTime(Millis(5)), {"r1"}, "[]"};
  Status s = (*store)->apply({{PutInboundEvent{e}}});
  ASSERT_TRUE(s.ok()) << s.error().toString();
  auto found = (*store)->findInboundEvent("files.arrived", "e1");
  ASSERT_TRUE(found.ok() && found->has_value());
  EXPECT_EQ(**found, e);
}

// A database of schema 5 (no schedule state) gains the table on open, its
// runs kept; a schedule state is then written with a run in one batch,
// replaced by the next one, and read back.
TEST(SqliteOpenTest, ASchema5DatabaseIsMigrated) {
  testing::TempDir dir;
  std::string path = dir.file("keel.db");
  createKeelDatabase(path);
  testutil::sqliteExec(
      path,
      "DROP TABLE subscriptions; DROP TABLE webhook_deliveries; DROP TABLE "
      "outbox; DROP TABLE file_arrivals; DROP TABLE schedule_state; "
      "ALTER TABLE events DROP COLUMN actor; ALTER TABLE events DROP COLUMN reason; "
      "DROP TABLE workflow_controls; ALTER TABLE runs DROP COLUMN pause_reason; ALTER TABLE runs "
      "DROP COLUMN compensation; DROP TABLE audit_log; ALTER TABLE workflows DROP COLUMN "
      "applied_by; DROP TABLE channels; DROP TABLE notifications; ALTER TABLE runs DROP COLUMN "
      "trace_id; ALTER TABLE runs DROP COLUMN request_id; DROP TABLE incidents; DROP TABLE "
      "incident_runs; DROP TABLE incident_timeline; DROP TABLE incident_action_items; ALTER TABLE "
      "runs DROP COLUMN parent_span_id; UPDATE keel_schema "
      "SET version = 5");
  auto store = openSqliteStore(path);
  ASSERT_TRUE(store.ok()) << store.error().toString();
  EXPECT_EQ(testutil::sqliteQueryInt(path, "SELECT version FROM keel_schema"), kSchemaVersion);
  auto run = (*store)->getRun("r1");
  ASSERT_TRUE(run.ok() && run->has_value());
  auto none = (*store)->listScheduleStates();
  ASSERT_TRUE(none.ok()) << none.error().toString();
  EXPECT_TRUE(none->empty());
  ScheduleStateRow first{"w", 0, WallTime(Millis(60'000)), "r1", "started"};
  ASSERT_TRUE((*store)->apply({{PutScheduleState{first}}}).ok());
  ScheduleStateRow next{"w", 0, WallTime(Millis(120'000)), "r1",
                        "skipped: previous run r1 still running"};
  ScheduleStateRow other{"w", 2, WallTime(Millis(60'000)), "", "skipped: x"};
  ASSERT_TRUE((*store)->apply({{PutScheduleState{next}, PutScheduleState{other}}}).ok());
  auto rows = (*store)->listScheduleStates();
  ASSERT_TRUE(rows.ok()) << rows.error().toString();
  ASSERT_EQ(rows->size(), 2u);
  EXPECT_EQ((*rows)[0], next);
  EXPECT_EQ((*rows)[1], other);
}

// A database of schema 7 (no outbox) gains the table on open; an event is
// then written once (the same id again keeps the first row), read back
// pending, and marked delivered.
TEST(SqliteOpenTest, ASchema7DatabaseIsMigrated) {
  testing::TempDir dir;
  std::string path = dir.file("keel.db");
  createKeelDatabase(path);
  testutil::sqliteExec(
      path,
      "DROP TABLE subscriptions; DROP TABLE webhook_deliveries; DROP TABLE "
      "outbox; ALTER TABLE events DROP COLUMN actor; "
      "ALTER TABLE events DROP COLUMN reason; "
      "DROP TABLE workflow_controls; ALTER TABLE runs DROP COLUMN pause_reason; "
      "ALTER TABLE runs DROP COLUMN compensation; DROP TABLE audit_log; ALTER TABLE workflows DROP "
      "COLUMN applied_by; DROP TABLE channels; DROP TABLE notifications; ALTER TABLE runs DROP "
      "COLUMN trace_id; ALTER TABLE runs DROP COLUMN request_id; DROP TABLE incidents; DROP TABLE "
      "incident_runs; DROP TABLE incident_timeline; DROP TABLE incident_action_items; ALTER TABLE "
      "runs DROP COLUMN parent_span_id; UPDATE keel_schema SET "
      "version = 7");
  auto store = openSqliteStore(path);
  ASSERT_TRUE(store.ok()) << store.error().toString();
  EXPECT_EQ(testutil::sqliteQueryInt(path, "SELECT version FROM keel_schema"), kSchemaVersion);
  OutboxEventRow e;
  e.id = "r1.a.emit";
  e.topic = "t";
  e.payloadJson = R"({"n":1})";
  e.runId = "r1";
  e.source = "step a";
  e.emittedAt = WallTime(Millis(7));
  OutboxEventRow again = e;
  again.payloadJson = R"({"n":2})";
  ASSERT_TRUE((*store)->apply({{PutOutboxEvent{e}}}).ok());
  ASSERT_TRUE((*store)->apply({{PutOutboxEvent{again}}}).ok());
  auto pending = (*store)->pendingOutbox(0, 10);
  ASSERT_TRUE(pending.ok()) << pending.error().toString();
  ASSERT_EQ(pending->size(), 1u);
  e.seq = (*pending)[0].seq;
  EXPECT_EQ((*pending)[0], e);
  ASSERT_TRUE((*store)->apply({{MarkOutboxDelivered{e.id, WallTime(Millis(9))}}}).ok());
  auto none = (*store)->pendingOutbox(0, 10);
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
  auto found = (*store)->findOutboxEvent(e.id);
  ASSERT_TRUE(found.ok() && found->has_value());
  EXPECT_EQ((*found)->state, "delivered");
  EXPECT_EQ((*found)->deliveredAt, WallTime(Millis(9)));
}

TEST(SqliteOpenTest, AGarbageFileIsCorruptAndUnchanged) {
  testing::TempDir dir;
  std::string path = dir.file("keel.db");
  std::string garbage;
  for (int i = 0; i < 300; ++i) garbage += "this is not a database, it is a shopping list\n";
  writeFile(path, garbage);
  auto store = openSqliteStore(path);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.error().code(), ErrorCode::kCorrupt);
  EXPECT_TRUE(contains(store.error().message(), path)) << store.error().message();
  EXPECT_TRUE(contains(store.error().message(), "not a database")) << store.error().message();
  EXPECT_EQ(readFile(path), garbage);
  EXPECT_FALSE(std::filesystem::exists(path + "-wal"));
}

TEST(SqliteOpenTest, ADamagedDatabaseIsCorruptAndUnchanged) {
  testing::TempDir dir;
  std::string path = dir.file("keel.db");
  createKeelDatabase(path);
  std::string bytes = readFile(path);
  ASSERT_GE(bytes.size(), 4u * 4096);
  // Overwrite pages 2 and 3 (table roots) with junk, keeping the header.
  for (size_t i = 4096; i < 3 * 4096; ++i) bytes[i] = static_cast<char>(0xA5 ^ (i & 0xff));
  writeFile(path, bytes);
  auto store = openSqliteStore(path);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.error().code(), ErrorCode::kCorrupt) << store.error().toString();
  EXPECT_TRUE(contains(store.error().message(), path)) << store.error().message();
  EXPECT_EQ(readFile(path), bytes);
}

TEST(SqliteOpenTest, ASqliteDatabaseWithoutKeelTablesIsRefused) {
  testing::TempDir dir;
  std::string path = dir.file("other.db");
  testutil::sqliteExec(path, "CREATE TABLE invoices (id INTEGER PRIMARY KEY, total REAL)");
  std::string before = readFile(path);
  auto store = openSqliteStore(path);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.error().code(), ErrorCode::kFailedPrecondition);
  EXPECT_EQ(store.error().message(), path + " is not a keel database");
  EXPECT_EQ(readFile(path), before);
}

TEST(SqliteOpenTest, AnEmptyFileBecomesAKeelDatabase) {
  testing::TempDir dir;
  std::string path = dir.file("keel.db");
  writeFile(path, "");
  createKeelDatabase(path);
  auto store = openSqliteStore(path);
  ASSERT_TRUE(store.ok()) << store.error().toString();
  auto run = (*store)->getRun("r1");
  ASSERT_TRUE(run.ok() && run->has_value());
}

TEST(SqliteOpenTest, AnUnopenablePathIsAnIoError) {
  testing::TempDir dir;
  auto store = openSqliteStore(dir.file("missing-dir/keel.db"));
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.error().code(), ErrorCode::kIo) << store.error().toString();
  EXPECT_TRUE(contains(store.error().message(), "missing-dir")) << store.error().message();
}

// A database of schema 9 (timeline events without actor and reason) gains
// the columns on open: earlier events read back with neither, new ones keep
// both.
TEST(SqliteOpenTest, ASchema9DatabaseIsMigrated) {
  testing::TempDir dir;
  std::string path = dir.file("keel.db");
  {
    auto store = openSqliteStore(path);
    ASSERT_TRUE(store.ok()) << store.error().toString();
    EventRow created;
    created.runId = "r1";
    created.at = WallTime(Millis(5));
    created.kind = "run_created";
    ASSERT_TRUE((*store)->apply({{PutRun{makeRun("r1")}, AppendEvent{created}}}).ok());
  }
  testutil::sqliteExec(
      path,
      "ALTER TABLE events DROP COLUMN actor; "
      "ALTER TABLE events DROP COLUMN reason; "
      "DROP TABLE workflow_controls; ALTER TABLE runs DROP COLUMN pause_reason; "
      "ALTER TABLE runs DROP COLUMN compensation; DROP TABLE audit_log; ALTER TABLE workflows DROP "
      "COLUMN applied_by; DROP TABLE channels; DROP TABLE notifications; ALTER TABLE runs DROP "
      "COLUMN trace_id; ALTER TABLE runs DROP COLUMN request_id; DROP TABLE incidents; DROP TABLE "
      "incident_runs; DROP TABLE incident_timeline; DROP TABLE incident_action_items; ALTER TABLE "
      "runs DROP COLUMN parent_span_id; UPDATE keel_schema SET "
      "version = 9");
  auto store = openSqliteStore(path);
  ASSERT_TRUE(store.ok()) << store.error().toString();
  EXPECT_EQ(testutil::sqliteQueryInt(path, "SELECT version FROM keel_schema"), kSchemaVersion);
  EventRow cancel;
  cancel.runId = "r1";
  cancel.at = WallTime(Millis(9));
  cancel.kind = "run_cancel_requested";
  cancel.actor = "alice (token ops)";
  cancel.reason = "warehouse down; see 'INC-7'";
  ASSERT_TRUE((*store)->apply({{AppendEvent{cancel}}}).ok());
  auto events = (*store)->runEvents("r1");
  ASSERT_TRUE(events.ok()) << events.error().toString();
  ASSERT_EQ(events->size(), 2u);
  EXPECT_EQ((*events)[0].kind, "run_created");
  EXPECT_EQ((*events)[0].actor, "");
  EXPECT_EQ((*events)[0].reason, "");
  EXPECT_EQ((*events)[1].actor, "alice (token ops)");
  EXPECT_EQ((*events)[1].reason, "warehouse down; see 'INC-7'");
}

}  // namespace
}  // namespace keel::store

namespace keel::store {
namespace {

// A database of schema 10 gains workflow_controls and runs.pause_reason
// (11) and runs.compensation (12) on open: its runs read back not paused and
// not compensated, and controls are written and read.
TEST(SqliteOpenTest, ASchema10DatabaseIsMigrated) {
  testing::TempDir dir;
  std::string path = dir.file("keel.db");
  {
    auto store = openSqliteStore(path);
    ASSERT_TRUE(store.ok()) << store.error().toString();
    ASSERT_TRUE((*store)->apply({{PutRun{testutil::makeRun("r1")}}}).ok());
  }
  testutil::sqliteExec(
      path,
      "DROP TABLE workflow_controls; ALTER TABLE runs DROP COLUMN pause_reason; "
      "ALTER TABLE runs DROP COLUMN compensation; DROP TABLE audit_log; ALTER "
      "TABLE workflows DROP COLUMN applied_by; "
      "DROP TABLE channels; DROP TABLE notifications; ALTER TABLE runs DROP COLUMN trace_id; ALTER "
      "TABLE runs DROP COLUMN request_id; DROP TABLE incidents; DROP TABLE incident_runs; DROP "
      "TABLE incident_timeline; DROP TABLE incident_action_items; ALTER TABLE runs DROP COLUMN "
      "parent_span_id; UPDATE keel_schema SET version = "
      "10");
  auto store = openSqliteStore(path);
  ASSERT_TRUE(store.ok()) << store.error().toString();
  EXPECT_EQ(testutil::sqliteQueryInt(path, "SELECT version FROM keel_schema"), kSchemaVersion);
  auto old = (*store)->getRun("r1");
  ASSERT_TRUE(old.ok() && old->has_value());
  EXPECT_EQ((*old)->run.pauseReason, "");
  EXPECT_EQ((*old)->run.compensation, "") << "schema 12 adds runs.compensation, empty";
  auto none = (*store)->listWorkflowControls();
  ASSERT_TRUE(none.ok()) << none.error().toString();
  EXPECT_TRUE(none->empty());

  RunRow paused = testutil::makeRun("r2");
  paused.state = RunState::kPaused;
  paused.pauseReason = "run r2 paused by alice: 'disk' full";
  WorkflowControlRow c;
  c.name = "load";
  c.paused = true;
  c.pausedBy = "alice (token ops)";
  c.pausedAt = WallTime(Millis(7));
  c.pausedReason = "deploy; see 'INC-9'";
  ASSERT_TRUE((*store)->apply({{PutRun{paused}, PutWorkflowControl{c}}}).ok());
  c.disabled = true;
  c.disabledBy = "bob";
  c.disabledAt = WallTime(Millis(9));
  ASSERT_TRUE((*store)->apply({{PutWorkflowControl{c}}}).ok());
  auto rows = (*store)->listWorkflowControls();
  ASSERT_TRUE(rows.ok()) << rows.error().toString();
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ(rows->front(), c);
  auto back = (*store)->getRun("r2");
  ASSERT_TRUE(back.ok() && back->has_value());
  EXPECT_EQ((*back)->run.pauseReason, paused.pauseReason);
  auto claimed = (*store)->claimRuns();
  ASSERT_TRUE(claimed.ok());
  bool found = false;
  for (const auto& a : *claimed)
    found = found || (a.run.id == "r2" && a.run.state == RunState::kPaused);
  EXPECT_TRUE(found) << "a paused run is active";
}

}  // namespace
}  // namespace keel::store

namespace keel::store {
namespace {

// A database of schema 12 gains runs.trace_id and runs.request_id (15) on
// open: its runs read back with neither, and new runs keep both.
TEST(SqliteOpenTest, ASchema12DatabaseGainsRunTraces) {
  testing::TempDir dir;
  std::string path = dir.file("keel.db");
  {
    auto store = openSqliteStore(path);
    ASSERT_TRUE(store.ok()) << store.error().toString();
    ASSERT_TRUE((*store)->apply({{PutRun{testutil::makeRun("r1")}}}).ok());
  }
  testutil::sqliteExec(
      path,
      "ALTER TABLE runs DROP COLUMN trace_id; ALTER TABLE runs DROP COLUMN "
      "request_id; DROP TABLE audit_log; ALTER TABLE workflows DROP COLUMN "
      "applied_by; DROP TABLE channels; DROP TABLE notifications; DROP TABLE incidents; "
      "DROP TABLE incident_runs; DROP TABLE incident_timeline; DROP TABLE "
      "incident_action_items; ALTER TABLE runs DROP COLUMN parent_span_id; UPDATE keel_schema SET "
      "version = 12");
  auto store = openSqliteStore(path);
  ASSERT_TRUE(store.ok()) << store.error().toString();
  EXPECT_EQ(testutil::sqliteQueryInt(path, "SELECT version FROM keel_schema"), kSchemaVersion);
  auto old = (*store)->getRun("r1");
  ASSERT_TRUE(old.ok() && old->has_value());
  EXPECT_EQ((*old)->run.traceId, "");
  EXPECT_EQ((*old)->run.requestId, "");
  RunRow traced = testutil::makeRun("r2");
  traced.traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
  traced.requestId = "req-1";
  ASSERT_TRUE((*store)->apply({{PutRun{traced}}}).ok());
  auto back = (*store)->getRun("r2");
  ASSERT_TRUE(back.ok() && back->has_value());
  EXPECT_EQ((*back)->run.traceId, traced.traceId);
  EXPECT_EQ((*back)->run.requestId, "req-1");
}

}  // namespace
}  // namespace keel::store

namespace keel::store {
namespace {

// A database of schema 16 gains runs.parent_span_id (18) on open: its runs
// read back with none, and new runs keep theirs.
TEST(SqliteOpenTest, ASchema16DatabaseGainsRunParentSpans) {
  testing::TempDir dir;
  std::string path = dir.file("keel.db");
  {
    auto store = openSqliteStore(path);
    ASSERT_TRUE(store.ok()) << store.error().toString();
    ASSERT_TRUE((*store)->apply({{PutRun{testutil::makeRun("r1")}}}).ok());
  }
  testutil::sqliteExec(
      path, "ALTER TABLE runs DROP COLUMN parent_span_id; UPDATE keel_schema SET version = 16");
  auto store = openSqliteStore(path);
  ASSERT_TRUE(store.ok()) << store.error().toString();
  EXPECT_EQ(testutil::sqliteQueryInt(path, "SELECT version FROM keel_schema"), kSchemaVersion);
  auto old = (*store)->getRun("r1");
  ASSERT_TRUE(old.ok() && old->has_value());
  EXPECT_EQ((*old)->run.parentSpanId, "");
  RunRow child = testutil::makeRun("r2");
  child.traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
  child.parentSpanId = "00f067aa0ba902b7";
  ASSERT_TRUE((*store)->apply({{PutRun{child}}}).ok());
  auto back = (*store)->getRun("r2");
  ASSERT_TRUE(back.ok() && back->has_value());
  EXPECT_EQ((*back)->run.parentSpanId, "00f067aa0ba902b7");
}

}  // namespace
}  // namespace keel::store
