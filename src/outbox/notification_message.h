// What a notification sends, per channel type: pure functions of the
// notification (its payload is the incident as the caller handed it) and
// the time, so the bytes on the wire are tested without a network.
//
// From the payload keel reads only: "id" (the incident id; else the
// notification id up to its first '.'), "title" (else "summary"),
// "severity", "owner" (a team name, or {"team", "contact"}), "workflow",
// "step", "runbook", "opened_at" (RFC 3339) and "labels" (an object of
// strings). Everything else is passed through (webhook) or left out.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/clock.h"
#include "spec/channel.h"
#include "store/records.h"

namespace keel::outbox {

// The fields keel reads from a notification's payload ("" when absent).
struct IncidentFields {
  std::string id;
  std::string title;
  std::string severity;
  std::string team;
  std::string contact;
  std::string workflow;
  std::string step;
  std::string runbook;
  std::string openedAt;                                     // RFC 3339, as given
  std::vector<std::pair<std::string, std::string>> labels;  // from "labels", by name
};
IncidentFields incidentFields(const store::NotificationRow& n, const nlohmann::json& payload);

// The payload as JSON; an unreadable one is an empty object.
nlohmann::json payloadOf(const store::NotificationRow& n);

// webhook: {"event": kind, "notification_id": id, "incident": payload}.
std::string webhookBody(const store::NotificationRow& n);

// alertmanager: the body of POST /api/v2/alerts, one alert whose labels
// are alertname=KeelIncident, incident, workflow, severity, team (then the
// payload's own labels, which cannot replace those) and annotations
// summary and runbook_url (always present). startsAt is opened_at (else
// the notification's creation); a firing alert ends 24 h from `now` unless
// resolved sooner, a resolved one ends at `now`.
std::string alertmanagerBody(const store::NotificationRow& n, WallTime now);

// email: an RFC 5322 message with CRLF line ends: Date, From, To,
// Message-ID, Subject, MIME-Version and Content-Type headers, then a
// plain-text summary and the payload. CR and LF in header values become
// spaces, so no value can add a header.
std::string emailMessage(const spec::ChannelSpec& channel, const store::NotificationRow& n,
                         WallTime now);
// "[keel] SEV2 escalated: <title>" (before header cleaning).
std::string emailSubject(const store::NotificationRow& n, const IncidentFields& f);
// `value` with CR and LF replaced by spaces.
std::string headerValue(const std::string& value);

}  // namespace keel::outbox
