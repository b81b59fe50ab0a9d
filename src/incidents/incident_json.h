// An incident as JSON, as the API shows it (GET /api/v1/incidents/ID) and
// as the notifications of an escalation carry it. `full`: with the
// message, runs, logs, attempts, history and timeline (else the listing's
// fields). `now` decides which action items are overdue.
#pragma once

#include <nlohmann/json.hpp>

#include "core/clock.h"
#include "incidents/incident.h"

namespace keel::incidents {

nlohmann::json toJson(const Incident& incident, bool full, WallTime now);

}  // namespace keel::incidents
