// The audit log with the real binary and CLI: several actions through
// `keel`, then `keel audit` and `keel audit verify`; then, keel stopped,
// the SQLite file edited behind its back with the sqlite3 command (a
// reason changed, an entry deleted, two entries' seq swapped), each on a
// fresh copy of the database, and `keel audit verify` names each.
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "e2e_support.h"

namespace keel::e2e {
namespace {

constexpr const char* kAuditHeld = R"(name: held
owner: { team: qa, contact: qa@example.com }
runbook: https://wiki.example.com/held
steps:
  - { name: hello, run: echo hello, timeout: 1m }
)";

// Runs `sqlite3 DB SQL`; its exit code.
int runSqlite3(const std::string& db, const std::string& sql) {
  pid_t pid = fork();
  if (pid == 0) {
    execlp("sqlite3", "sqlite3", db.c_str(), sql.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  int status = 0;
  if (pid < 0 || waitpid(pid, &status, 0) != pid) return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// A stopped keel's database (and its token) copied into a new keel's
// directory, before that one first starts.
void copyDatabase(const KeelUnderTest& from, const KeelUnderTest& to) {
  namespace fs = std::filesystem;
  for (const char* suffix : {"", "-wal", ".token"}) {
    fs::path src = from.db() + suffix;
    if (fs::exists(src)) fs::copy_file(src, to.db() + suffix, fs::copy_options::overwrite_existing);
  }
}

struct Tamper {
  const char* name;
  const char* sql;
  const char* expected;   // in `keel audit verify`'s stderr
  bool keptHead = false;  // verify with --expect 7:HASH (the head taken before)
};

TEST(AuditE2e, VerifyFindsAnEntryEditedDeletedOrReorderedInTheFile) {
  KeelUnderTest keel;
  keel.start();
  std::string file = keel.dir().file("held.yaml");
  std::ofstream(file) << kAuditHeld;
  auto applied = aliceCli(keel, {"apply", file, "--reason", "first version"});
  ASSERT_EQ(applied.code, 0) << applied.err;
  auto run = aliceCli(keel, {"run", "held", "--wait", "--reason", "catch-up"});
  ASSERT_EQ(run.code, 0) << run.err;
  ASSERT_EQ(aliceCli(keel, {"pause", "held", "--reason", "deploy"}).code, 0);
  ASSERT_EQ(aliceCli(keel, {"resume", "held", "--reason", "deploy done"}).code, 0);
  auto created = aliceCli(keel, {"token", "create", "ci", "--reason", "pipeline"});
  ASSERT_EQ(created.code, 0) << created.err;
  const std::string secret = created.out.substr(0, created.out.find('\n'));
  ASSERT_EQ(aliceCli(keel, {"token", "revoke", "ci", "--reason", "pipeline gone"}).code, 0);

  // 1 the first admin token, 2 apply, 3 run, 4 pause, 5 resume, 6 and 7 the token.
  auto list = aliceCli(keel, {"audit"});
  ASSERT_EQ(list.code, 0) << list.err;
  for (const char* want :
       {"workflow.apply", "run.trigger", "workflow.pause", "workflow.resume", "token.create",
        "token.revoke", "alice (token admin)", "catch-up", "pipeline gone"})
    EXPECT_TRUE(contains(list.out, want)) << want << " in\n" << list.out;
  EXPECT_FALSE(contains(list.out, secret)) << "a token's secret in the audit log";
  auto mine = aliceCli(keel, {"audit", "--target", "held", "--json"});
  ASSERT_EQ(mine.code, 0) << mine.err;
  auto entries = nlohmann::json::parse(mine.out)["entries"];
  ASSERT_EQ(entries.size(), 3u) << mine.out;  // apply, pause, resume
  EXPECT_EQ(entries[0]["action"], "workflow.resume");
  EXPECT_EQ(entries[0]["reason"], "deploy done");

  auto verified = aliceCli(keel, {"audit", "verify"});
  ASSERT_EQ(verified.code, 0) << verified.out << verified.err;
  EXPECT_TRUE(contains(verified.out, "audit chain intact: 7 entries, head 7 ")) << verified.out;
  const std::string hash = verified.out.substr(verified.out.rfind(' ') + 1, 64);

  // The head is on /metrics (refreshed every 15 s: its value is checked
  // below, on a keel that has just started).
  auto metrics = keel.client()->Get("/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_TRUE(contains(metrics->body, "keel_audit_head_info{hash=\"")) << metrics->body;
  keel.stop();
  EXPECT_EQ(queryText(keel.db(), "SELECT applied_by FROM workflows WHERE name = 'held'"),
            "alice (token admin)");

  const Tamper cases[] = {
      {"a reason changed", "UPDATE audit_log SET reason = 'routine' WHERE seq = 3",
       "audit chain broken at seq 3 (edited)"},
      {"an entry deleted", "DELETE FROM audit_log WHERE seq = 4",
       "audit chain broken at seq 4 (deleted)"},
      {"two entries' seq swapped",
       "UPDATE audit_log SET seq = -1 WHERE seq = 5; UPDATE audit_log SET seq = 5 WHERE seq = 6; "
       "UPDATE audit_log SET seq = 6 WHERE seq = -1",
       "audit chain broken at seq 5 (broken_link)"},
      // Invisible to the chain alone; the head kept elsewhere shows it.
      {"the last entry deleted", "DELETE FROM audit_log WHERE seq = 7",
       "audit chain rewritten: it ends at seq 6, before the kept head 7", true},
  };
  for (const Tamper& t : cases) {
    SCOPED_TRACE(t.name);
    KeelUnderTest copy;
    copyDatabase(keel, copy);
    ASSERT_EQ(runSqlite3(copy.db(), t.sql), 0);
    copy.start();
    std::vector<std::string> args = {"audit", "verify"};
    if (t.keptHead) args.insert(args.end(), {"--expect", "7:" + hash});
    auto broken = aliceCli(copy, args);
    EXPECT_EQ(broken.code, 65) << broken.out << broken.err;
    EXPECT_TRUE(contains(broken.err, t.expected)) << broken.err;
    copy.stop();
  }

  // The untouched file still verifies.
  KeelUnderTest again;
  copyDatabase(keel, again);
  again.start();
  auto intact = aliceCli(again, {"audit", "verify", "--expect", "7:" + hash});
  EXPECT_EQ(intact.code, 0) << intact.err;
  EXPECT_TRUE(contains(intact.out, "head 7 " + hash)) << intact.out;
  auto shown = again.client()->Get("/metrics");
  ASSERT_TRUE(shown);
  EXPECT_TRUE(contains(shown->body, "keel_audit_head_info{hash=\"" + hash + "\",seq=\"7\"} 1"))
      << shown->body;
  EXPECT_TRUE(contains(shown->body, "keel_audit_entries 7")) << shown->body;
}

}  // namespace
}  // namespace keel::e2e
