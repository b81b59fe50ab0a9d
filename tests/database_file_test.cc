// The database file against its operators: a second server through
// another path to the same file, the file deleted under a running server,
// a restart after the file is gone, and the offline commands (check, gc). Each runs the real `keel
// serve`. (A first start in an empty directory needing no --init is what every other end-to-end
// test does.)
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "e2e_support.h"

namespace keel::e2e {
namespace {

constexpr char kDbWorkflow[] = R"(name: hello
owner: { team: qa, contact: qa@example.com }
runbook: https://wiki.example.com/rb
steps:
  - { name: a, noop: true }
)";

// The lock is on the file, not on its name, so it holds through links; and
// being a flock, it leaves SQLite's own (POSIX) locks alone: another
// process reads the database while keel runs.
void expectSecondServerRefused(
    const std::function<void(const std::string&, const std::string&)>& link) {
  KeelUnderTest keel;
  keel.start();
  keel.apply(kDbWorkflow);
  EXPECT_EQ(queryText(keel.db(), "SELECT count(*) FROM workflows"), "1");
  std::string other = keel.dir().file("other.db");
  link(keel.db(), other);
  auto second = serveUntilExit({"--db", other, "--listen", "127.0.0.1:0"});
  EXPECT_FALSE(second.served) << "a second keel serves the same database file";
  EXPECT_EQ(second.exitCode, 1) << second.output;
  EXPECT_TRUE(contains(
      second.output,
      fmt::format("database {} is in use by another process (pid {}: ", other, keel.pid())))
      << second.output;
  EXPECT_TRUE(contains(second.output, "serve --db " + keel.db())) << second.output;
  auto [status, body] = keel.trigger("hello", nlohmann::json::object());
  EXPECT_EQ(status, 201) << body;
}

TEST(DatabaseFile, ASecondServerThroughASymlinkIsRefused) {
  expectSecondServerRefused([](const std::string& target, const std::string& link) {
    std::filesystem::create_symlink(target, link);
  });
}

TEST(DatabaseFile, ASecondServerThroughAHardLinkIsRefused) {
  expectSecondServerRefused([](const std::string& target, const std::string& link) {
    std::filesystem::create_hard_link(target, link);
  });
}

// What a refused `keel serve --db DB ARGS...` printed; fails the test when
// it did not refuse.
std::string expectRefusedToStart(const std::string& db, std::vector<std::string> args = {}) {
  args.insert(args.begin(), {"--db", db, "--listen", "127.0.0.1:0"});
  auto refused = serveUntilExit(args);
  EXPECT_FALSE(refused.served) << "an empty database replaced a deleted one";
  EXPECT_EQ(refused.exitCode, 1) << refused.output;
  EXPECT_FALSE(std::filesystem::exists(db));
  return refused.output;
}

TEST(DatabaseFile, DeletedUnderARunningServerItIsUnreadyAndRefusesWork) {
  KeelUnderTest keel;
  keel.start();
  keel.apply(kDbWorkflow);
  auto [created, run] = keel.trigger("hello", nlohmann::json::object());
  ASSERT_EQ(created, 201) << run;
  ASSERT_EQ(::unlink(keel.db().c_str()), 0);

  const std::string why =
      fmt::format("database file {} was deleted while keel had it open; restart keel", keel.db());
  auto ready = keel.client()->Get("/readyz");
  ASSERT_TRUE(ready);
  EXPECT_EQ(ready->status, 503);
  EXPECT_EQ(nlohmann::json::parse(ready->body),
            nlohmann::json({{"status", "unavailable"}, {"reason", why}}));
  EXPECT_EQ(ready->get_header_value("Retry-After"), "5");
  auto [status, body] = keel.trigger("hello", nlohmann::json::object());
  EXPECT_EQ(status, 503) << body;
  EXPECT_EQ(body["error"]["code"], "unavailable") << body;
  EXPECT_EQ(body["error"]["message"], why) << body;
  keel.stop();

  // SQLite leaves the journal of a deleted database behind: a restart is
  // refused, and so is --init until the journal is moved away, since
  // SQLite would replay it into the new database.
  std::string out = expectRefusedToStart(keel.db());
  EXPECT_TRUE(contains(
      out, fmt::format("database {} does not exist, but {}-wal does", keel.db(), keel.db())))
      << out;
  EXPECT_TRUE(contains(out, "start once with --init")) << out;
  out = expectRefusedToStart(keel.db(), {"--init"});
  EXPECT_TRUE(contains(out, fmt::format("Move {}-wal and {}-shm away first", keel.db(), keel.db())))
      << out;
  std::filesystem::rename(keel.db() + "-wal", keel.dir().file("lost-wal"));
  std::filesystem::remove(keel.db() + "-shm");

  keel.setExtraArgs({"--init"});
  keel.start();
  auto readyAgain = keel.client()->Get("/readyz");
  ASSERT_TRUE(readyAgain);
  EXPECT_EQ(readyAgain->status, 200);
  EXPECT_EQ(queryText(keel.db(), "SELECT count(*) FROM runs"), "0");
}

TEST(DatabaseFile, DeletedWhileStoppedItIsNotRecreatedWithoutInit) {
  KeelUnderTest keel;
  keel.start();
  keel.apply(kDbWorkflow);
  keel.stop();
  ASSERT_TRUE(std::filesystem::remove(keel.db()));
  ASSERT_TRUE(std::filesystem::exists(keel.db() + ".lock"));

  std::string out = expectRefusedToStart(keel.db());
  EXPECT_TRUE(contains(
      out, fmt::format("database {} does not exist, but {}.lock does", keel.db(), keel.db())))
      << out;
  EXPECT_TRUE(contains(out, "start once with --init")) << out;

  keel.setExtraArgs({"--init"});
  keel.start();
  auto ready = keel.client()->Get("/readyz");
  ASSERT_TRUE(ready);
  EXPECT_EQ(ready->status, 200);
  EXPECT_EQ(queryText(keel.db(), "SELECT count(*) FROM workflows"), "0");
}

// `keel ARGS...` to its end: exit code, stdout and stderr together.
struct Finished {
  int exitCode = -1;
  std::string output;
};
Finished runKeel(const std::vector<std::string>& args) {
  std::string command = std::string("'") + KEEL_BINARY + "'";
  for (const auto& a : args) {
    command += " '";
    for (char c : a) command += c == '\'' ? std::string("'\\''") : std::string(1, c);
    command += "'";
  }
  command += " 2>&1";
  Finished result;
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return result;
  char buffer[4096];
  size_t n = 0;
  while ((n = fread(buffer, 1, sizeof buffer, pipe)) > 0) result.output.append(buffer, n);
  int status = pclose(pipe);
  if (WIFEXITED(status)) result.exitCode = WEXITSTATUS(status);
  return result;
}

void sqliteExec(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr);
  sqlite3_close(db);
  ASSERT_EQ(rc, SQLITE_OK);
}

TEST(DatabaseFile, CheckAndGcRunOnlyWhileNoServerHoldsTheFile) {
  KeelUnderTest keel;
  keel.start();
  keel.apply(kDbWorkflow);
  auto [status, body] = keel.trigger("hello", nlohmann::json::object());
  ASSERT_EQ(status, 201) << body;
  std::string id = body["id"];
  EXPECT_EQ(keel.waitForRun(id).value("state", ""), "succeeded");

  auto check = runKeel({"check", "--db", keel.db()});
  EXPECT_EQ(check.exitCode, 1) << check.output;
  EXPECT_TRUE(contains(check.output, "is in use by another process")) << check.output;
  auto gc = runKeel({"gc", "--db", keel.db(), "--older-than", "1d"});
  EXPECT_EQ(gc.exitCode, 1) << gc.output;
  EXPECT_TRUE(contains(gc.output, "is in use by another process")) << gc.output;
  keel.stop();

  check = runKeel({"check", "--db", keel.db()});
  EXPECT_EQ(check.exitCode, 0) << check.output;
  EXPECT_EQ(check.output, "ok\n");
  gc = runKeel({"gc", "--db", keel.db(), "--older-than", "1d"});
  EXPECT_EQ(gc.exitCode, 0) << gc.output;
  EXPECT_TRUE(contains(gc.output, "deleted 0 finished runs")) << gc.output;
  EXPECT_EQ(runKeel({"gc", "--db", keel.db(), "--older-than", "soon"}).exitCode, 64);  // EX_USAGE

  // A month later, as far as the run is concerned.
  sqliteExec(keel.db(), "UPDATE runs SET finished_at = finished_at - 31 * 86400000");
  gc = runKeel({"gc", "--db", keel.db(), "--older-than", "30d"});
  EXPECT_EQ(gc.exitCode, 0) << gc.output;
  EXPECT_TRUE(contains(gc.output, "deleted 1 finished runs")) << gc.output;
  for (const char* table : {"runs", "steps", "attempts", "events", "logs"}) {
    EXPECT_EQ(queryText(keel.db(), fmt::format("SELECT count(*) FROM {}", table)), "0") << table;
  }
  EXPECT_EQ(runKeel({"check", "--db", keel.db()}).output, "ok\n");
  // The deletion is in the audit log, from its own transaction: the
  // gc that deleted nothing left no entry.
  EXPECT_EQ(queryText(keel.db(), "SELECT count(*) FROM audit_log WHERE action = 'gc.delete'"), "1");
  EXPECT_EQ(queryText(keel.db(),
                      "SELECT actor || '|' || target FROM audit_log "
                      "WHERE action = 'gc.delete'"),
            "keel gc|finished runs");
  EXPECT_TRUE(contains(queryText(keel.db(),
                                 "SELECT detail FROM audit_log "
                                 "WHERE action = 'gc.delete'"),
                       "\"runs\":1,"));

  keel.start();
  auto gone = keel.client()->Get("/api/v1/runs/" + id);
  ASSERT_TRUE(gone);
  EXPECT_EQ(gone->status, 404);
  auto verified = keel.client()->Get("/api/v1/audit/verify");
  ASSERT_TRUE(verified);
  EXPECT_TRUE(contains(verified->body, "\"intact\":true")) << verified->body;
}

}  // namespace
}  // namespace keel::e2e
