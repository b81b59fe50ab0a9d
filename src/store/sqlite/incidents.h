// Incidents in SQLite (tables incidents, incident_runs, incident_timeline,
// incident_action_items; schema 14): the upsert the writer makes in a batch
// and the reads of the API and of the engine's start. Each function runs on
// the connection it is given; none is thread-safe.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/result.h"
#include "store/records.h"
#include "store/sqlite/connection.h"

namespace keel::store::sqlite {

// Inside the writer's open transaction.
Status upsertIncident(Connection& conn, const incidents::Incident& incident);

Result<std::vector<incidents::Incident>> selectIncidents(Connection& conn,
                                                         const IncidentFilter& filter);
Result<std::optional<incidents::Incident>> selectIncident(Connection& conn, const std::string& id);

}  // namespace keel::store::sqlite
