// Notifications against a real `keel serve` and a real Alertmanager
// (Debian package prometheus-alertmanager): a channel applied through the
// API, a firing notification written into keel's database as the change
// that causes it would (there is no API that makes one), delivered by
// keel; Alertmanager shows the alert with its labels and runbook_url; then
// the resolved notification makes it inactive.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>

#include <gtest/gtest.h>

#include "alertmanager_support.h"
#include "e2e_support.h"

namespace keel::e2e {
namespace {

using nlohmann::json;

// Writes a notification into keel's database as the escalation's batch
// would (keel serve holds the file; SQLite's WAL lets this writer in).
void insertNotification(const std::string& db, const std::string& id, const std::string& kind,
                        const json& incident) {
  sqlite3* conn = nullptr;
  ASSERT_EQ(sqlite3_open(db.c_str(), &conn), SQLITE_OK);
  sqlite3_busy_timeout(conn, 10'000);
  sqlite3_stmt* s = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(conn,
                               "INSERT INTO notifications (id, channel, kind, payload, state, "
                               "attempts, next_at, last_status, last_error, created_at, "
                               "updated_at) VALUES (?1, 'am', ?2, ?3, 'pending', 0, ?4, 0, '', "
                               "?4, ?4)",
                               -1, &s, nullptr),
            SQLITE_OK)
      << sqlite3_errmsg(conn);
  const std::string payload = incident.dump();
  const int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  sqlite3_bind_text(s, 1, id.c_str(), -1, SQLITE_TRANSIENT);
  sqlite3_bind_text(s, 2, kind.c_str(), -1, SQLITE_TRANSIENT);
  sqlite3_bind_text(s, 3, payload.c_str(), -1, SQLITE_TRANSIENT);
  sqlite3_bind_int64(s, 4, now);
  EXPECT_EQ(sqlite3_step(s), SQLITE_DONE) << sqlite3_errmsg(conn);
  sqlite3_finalize(s);
  sqlite3_close(conn);
}

std::string stateOf(const KeelUnderTest& keel, const std::string& id) {
  auto res = keel.client()->Get("/api/v1/notifications");
  if (!res) return "(no answer)";
  if (res->status != 200) return res->body;
  const json body = json::parse(res->body);
  for (const auto& n : body["notifications"])
    if (n["id"] == id)
      return n["state"].get<std::string>() + " " + n["last_error"].get<std::string>();
  return "(not listed) " + res->body;
}

TEST(AlertmanagerE2E, AnIncidentFiresInAlertmanagerAndIsResolvedThere) {
  // scripts/install-deps.sh installs it (package prometheus-alertmanager).
  ASSERT_EQ(::access(kAlertmanager, X_OK), 0)
      << kAlertmanager << " is missing: run ./scripts/install-deps.sh";
  KeelUnderTest keel;
  keel.start();
  Alertmanager am(keel.dir());
  ASSERT_TRUE(waitFor([&] { return am.ready(); }, 60)) << "Alertmanager did not become ready";

  keel.apply("kind: channel\nname: am\ntype: alertmanager\nteams: [data-platform]\nurl: " +
             am.url() + "\n");
  json incident = {{"id", "inc-e2e-1"},
                   {"title", "planning-feed: retrieve-files failed"},
                   {"severity", "SEV2"},
                   {"owner", {{"team", "data-platform"}, {"contact", "oncall-data@example.com"}}},
                   {"workflow", "planning-feed"},
                   {"runbook", "https://wiki.example.com/runbooks/planning-feed"}};
  insertNotification(keel.db(), "inc-e2e-1.level.1", "escalated", incident);
  ASSERT_TRUE(waitFor([&] { return stateOf(keel, "inc-e2e-1.level.1") == "delivered "; }, 60))
      << stateOf(keel, "inc-e2e-1.level.1");
  json alert;
  ASSERT_TRUE(waitFor(
      [&] {
        json alerts = am.activeAlerts();
        if (alerts.size() != 1) return false;
        alert = alerts[0];
        return true;
      },
      30));
  EXPECT_EQ(alert["labels"]["incident"], "inc-e2e-1");
  EXPECT_EQ(alert["labels"]["workflow"], "planning-feed");
  EXPECT_EQ(alert["labels"]["severity"], "SEV2");
  EXPECT_EQ(alert["labels"]["team"], "data-platform");
  EXPECT_EQ(alert["annotations"]["runbook_url"], "https://wiki.example.com/runbooks/planning-feed");
  EXPECT_EQ(alert["annotations"]["summary"], "planning-feed: retrieve-files failed");

  CliResult listed = runKeelCli(keel, {"notifications"});
  EXPECT_EQ(listed.code, 0) << listed.err;
  EXPECT_TRUE(contains(listed.out, "inc-e2e-1.level.1")) << listed.out;
  EXPECT_TRUE(contains(listed.out, "delivered")) << listed.out;

  insertNotification(keel.db(), "inc-e2e-1.resolved", "resolved", incident);
  ASSERT_TRUE(waitFor([&] { return stateOf(keel, "inc-e2e-1.resolved") == "delivered "; }, 60))
      << stateOf(keel, "inc-e2e-1.resolved");
  EXPECT_TRUE(waitFor([&] { return am.activeAlerts().empty(); }, 30)) << am.activeAlerts().dump();
}

// Channels are listed without their secrets: header values and a URL's
// password read ***, and a written password is refused at apply.
TEST(ChannelsE2E, AreListedWithoutTheirSecrets) {
  KeelUnderTest keel;
  keel.start();
  keel.apply(
      "kind: channel\nname: hook\ntype: webhook\ndefault: true\n"
      "url: https://keel:hunter2@hooks.example.com/x\n"
      "headers: { Authorization: Bearer s3cret-token }\n");
  auto res = keel.client()->Get("/api/v1/channels");
  ASSERT_TRUE(res && res->status == 200);
  EXPECT_FALSE(contains(res->body, "hunter2")) << res->body;
  EXPECT_FALSE(contains(res->body, "s3cret-token")) << res->body;
  json channel = json::parse(res->body)["channels"][0];
  EXPECT_EQ(channel["url"], "https://keel:***@hooks.example.com/x");
  EXPECT_EQ(channel["headers"]["Authorization"], "***");
  CliResult listed = runKeelCli(keel, {"channels"});
  EXPECT_EQ(listed.code, 0) << listed.err;
  EXPECT_TRUE(contains(listed.out, "hook")) << listed.out;
  EXPECT_FALSE(contains(listed.out, "hunter2")) << listed.out;
  auto refused = keel.client()->Post("/api/v1/workflows",
                                     "kind: channel\nname: mail\ntype: email\ndefault: true\n"
                                     "smtp_url: smtp://m.example.com\nfrom: a@example.com\n"
                                     "to: [b@example.com]\npassword: hunter2\n",
                                     "application/yaml");
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 400) << refused->body;
  EXPECT_TRUE(contains(refused->body, "a password is never written in a channel")) << refused->body;
  CliResult dead = runKeelCli(keel, {"notifications", "--dead"});
  EXPECT_EQ(dead.code, 0) << dead.err;
  EXPECT_TRUE(contains(dead.err, "(no notifications)")) << dead.err;
}

}  // namespace
}  // namespace keel::e2e
