#include "outbox/notification_message.h"

#include <cctype>
#include <ctime>

#include <fmt/format.h>

namespace keel::outbox {
namespace {

using nlohmann::json;

std::string textField(const json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end()) return "";
  if (it->is_string()) return it->get<std::string>();
  if (it->is_number() || it->is_boolean()) return it->dump();
  return "";
}

// RFC 5322 date: "Sat, 28 Nov 2026 23:00:00 +0000".
std::string mailDate(WallTime t) {
  std::time_t secs = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S +0000", &tm);
  return buf;
}

// A Message-ID's left part: the notification id with anything outside
// atext (and '.') replaced.
std::string messageIdPart(const std::string& id) {
  std::string out;
  for (unsigned char c : id)
    out += (std::isalnum(c) || c == '.' || c == '-' || c == '_') ? static_cast<char>(c) : '_';
  return out.empty() ? "notification" : out;
}

}  // namespace

json payloadOf(const store::NotificationRow& n) {
  json payload = json::parse(n.payloadJson, nullptr, false);
  if (payload.is_discarded() || !payload.is_object()) return json::object();
  return payload;
}

IncidentFields incidentFields(const store::NotificationRow& n, const json& payload) {
  IncidentFields f;
  f.id = textField(payload, "id");
  if (f.id.empty()) f.id = n.id.substr(0, n.id.find('.'));
  f.title = textField(payload, "title");
  if (f.title.empty()) f.title = textField(payload, "summary");
  f.severity = textField(payload, "severity");
  if (auto owner = payload.find("owner"); owner != payload.end()) {
    if (owner->is_string()) {
      f.team = owner->get<std::string>();
    } else if (owner->is_object()) {
      f.team = textField(*owner, "team");
      f.contact = textField(*owner, "contact");
    }
  }
  f.workflow = textField(payload, "workflow");
  f.step = textField(payload, "step");
  f.runbook = textField(payload, "runbook");
  f.openedAt = textField(payload, "opened_at");
  if (auto labels = payload.find("labels"); labels != payload.end() && labels->is_object())
    for (auto it = labels->begin(); it != labels->end(); ++it)
      if (it.value().is_string()) f.labels.emplace_back(it.key(), it.value().get<std::string>());
  return f;
}

std::string webhookBody(const store::NotificationRow& n) {
  return json{{"event", n.kind}, {"notification_id", n.id}, {"incident", payloadOf(n)}}.dump();
}

std::string alertmanagerBody(const store::NotificationRow& n, WallTime now) {
  json payload = payloadOf(n);
  IncidentFields f = incidentFields(n, payload);
  json labels = json::object();
  for (const auto& [name, value] : f.labels) labels[name] = value;
  labels["alertname"] = "KeelIncident";
  labels["incident"] = f.id;
  labels["workflow"] = f.workflow;
  labels["severity"] = f.severity;
  labels["team"] = f.team;
  std::string summary = f.title.empty() ? "keel incident " + f.id : f.title;
  json annotations = {
      {"summary", summary},
      {"runbook_url", f.runbook.empty() ? "missing: the workflow names no runbook" : f.runbook}};
  if (!f.contact.empty()) annotations["contact"] = f.contact;
  if (!f.step.empty()) annotations["step"] = f.step;
  std::string startsAt = f.openedAt.empty() ? formatRfc3339(n.createdAt) : f.openedAt;
  WallTime ends = n.kind == "resolved" ? now : now + std::chrono::hours(24);
  json alert = {{"labels", labels},
                {"annotations", annotations},
                {"startsAt", startsAt},
                {"endsAt", formatRfc3339(ends)}};
  return json::array({alert}).dump();
}

std::string headerValue(const std::string& value) {
  std::string out = value;
  for (char& c : out)
    if (c == '\r' || c == '\n') c = ' ';
  return out;
}

std::string emailSubject(const store::NotificationRow& n, const IncidentFields& f) {
  std::string title = f.title.empty() ? "incident " + f.id : f.title;
  std::string sev = f.severity.empty() ? "" : f.severity + " ";
  return "[keel] " + sev + n.kind + ": " + title;
}

std::string emailMessage(const spec::ChannelSpec& channel, const store::NotificationRow& n,
                         WallTime now) {
  json payload = payloadOf(n);
  IncidentFields f = incidentFields(n, payload);
  std::string to;
  for (const auto& address : channel.to) to += (to.empty() ? "" : ", ") + address;
  std::string m;
  auto header = [&](const char* name, const std::string& value) {
    m += std::string(name) + ": " + headerValue(value) + "\r\n";
  };
  header("Date", mailDate(now));
  header("From", channel.from);
  header("To", to);
  header("Message-ID", "<" + messageIdPart(n.id) + "@keel>");
  header("Subject", emailSubject(n, f));
  header("MIME-Version", "1.0");
  header("Content-Type", "text/plain; charset=utf-8");
  m += "\r\n";
  std::string body;
  body += fmt::format("Incident {} {}.\n\n", f.id, n.kind);
  auto line = [&](const char* name, const std::string& value) {
    if (!value.empty()) body += fmt::format("{:<10} {}\n", std::string(name) + ":", value);
  };
  line("Title", f.title);
  line("Severity", f.severity);
  line("Workflow", f.workflow);
  line("Step", f.step);
  line("Team", f.team);
  line("Contact", f.contact);
  line("Runbook", f.runbook.empty() ? "missing: the workflow names no runbook" : f.runbook);
  body += "\nThe incident as keel recorded it:\n" + payload.dump(2) + "\n";
  // Every line ends in CRLF on the wire (RFC 5322), whatever the payload held.
  for (size_t i = 0; i < body.size(); ++i) {
    if (body[i] == '\r') continue;
    if (body[i] == '\n')
      m += "\r\n";
    else
      m += body[i];
  }
  return m;
}

}  // namespace keel::outbox
