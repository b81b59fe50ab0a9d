// Escalation against a real `keel serve`: a workflow whose step fails for
// good calls its owner's team at once. A webhook receiver serving that team
// gets exactly one escalation with the owner and the runbook; a real
// Alertmanager serving it too shows the incident's alert, and shows it
// resolved once `keel incident resolve` has run.
#include <httplib.h>

#include <mutex>
#include <thread>

#include <gtest/gtest.h>

#include "alertmanager_support.h"
#include "e2e_support.h"

namespace keel::e2e {
namespace {

// Records every POST /hook.
class EscalationReceiver {
 public:
  EscalationReceiver() {
    server_.Post("/hook", [this](const httplib::Request& req, httplib::Response& res) {
      std::lock_guard lock(mu_);
      bodies_.push_back(json::parse(req.body, nullptr, false));
      res.status = 200;
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
  }
  ~EscalationReceiver() {
    server_.stop();
    thread_.join();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/hook"; }
  std::vector<json> events(const std::string& event) const {
    std::lock_guard lock(mu_);
    std::vector<json> out;
    for (const auto& b : bodies_)
      if (b.is_object() && b.value("event", "") == event) out.push_back(b);
    return out;
  }

 private:
  httplib::Server server_;
  std::thread thread_;
  int port_ = 0;
  mutable std::mutex mu_;
  std::vector<json> bodies_;
};

constexpr const char* kEscalationWorkflow = R"(name: nightly-load
owner: { team: data-platform, contact: oncall-data@example.com }
runbook: https://wiki.example.com/runbooks/nightly-load
severity: SEV2
steps:
  - name: load
    run: "echo 'connection refused by warehouse' >&2; exit 3"
    timeout: 30s
    retry: { max_attempts: 1 }
)";

TEST(EscalationE2E, AFailedRunCallsTheOwnerOnceAndAlertmanagerSeesItResolved) {
  ASSERT_EQ(::access(kAlertmanager, X_OK), 0)
      << kAlertmanager << " is missing: run ./scripts/install-deps.sh";
  EscalationReceiver receiver;
  KeelUnderTest keel;
  keel.start();
  Alertmanager am(keel.dir());
  ASSERT_TRUE(waitFor([&] { return am.ready(); }, 60)) << "Alertmanager did not become ready";
  keel.apply("kind: channel\nname: data-hook\ntype: webhook\nteams: [data-platform]\nurl: " +
             receiver.url() + "\n");
  keel.apply("kind: channel\nname: data-am\ntype: alertmanager\nteams: [data-platform]\nurl: " +
             am.url() + "\n");
  keel.apply(kEscalationWorkflow);

  auto [status, run] = keel.trigger("nightly-load", json::object());
  ASSERT_EQ(status, 201) << run.dump();
  EXPECT_EQ(keel.waitForRun(run.value("id", ""))["state"], "failed");

  ASSERT_TRUE(waitFor([&] { return receiver.events("escalated").size() == 1; }, 60));
  const json incident = receiver.events("escalated")[0]["incident"];
  EXPECT_EQ(incident["event"], "escalated");
  EXPECT_EQ(incident["owner"]["team"], "data-platform");
  EXPECT_EQ(incident["owner"]["contact"], "oncall-data@example.com");
  EXPECT_EQ(incident["runbook"], "https://wiki.example.com/runbooks/nightly-load");
  EXPECT_EQ(incident["workflow"], "nightly-load");
  EXPECT_EQ(incident["step"], "load");
  EXPECT_EQ(incident["severity"], "SEV2");
  const std::string id = incident["id"];

  json alert;
  ASSERT_TRUE(waitFor(
      [&] {
        json alerts = am.activeAlerts();
        if (alerts.size() != 1) return false;
        alert = alerts[0];
        return true;
      },
      60))
      << am.activeAlerts().dump();
  EXPECT_EQ(alert["labels"]["incident"], id);
  EXPECT_EQ(alert["labels"]["team"], "data-platform");
  EXPECT_EQ(alert["annotations"]["runbook_url"], "https://wiki.example.com/runbooks/nightly-load");

  CliResult resolved =
      runKeelCli(keel, {"incident", "resolve", id, "--root-cause", "the warehouse was restarted",
                        "--no-action-reason", "planned maintenance, announced too late"});
  ASSERT_EQ(resolved.code, 0) << resolved.out << resolved.err;
  EXPECT_TRUE(waitFor([&] { return am.activeAlerts().empty(); }, 60)) << am.activeAlerts().dump();
  ASSERT_TRUE(waitFor([&] { return receiver.events("resolved").size() == 1; }, 60));
  EXPECT_EQ(receiver.events("resolved")[0]["incident"]["state"], "resolved");
  // Sent after the resolution: any second escalation would be here by now.
  EXPECT_EQ(receiver.events("escalated").size(), 1u);
}

}  // namespace
}  // namespace keel::e2e
