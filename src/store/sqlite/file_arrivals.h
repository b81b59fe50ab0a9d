// The files file triggers fired for (the file_arrivals table): the upsert
// and the prune the writer makes in a batch, and the reads. Each function
// runs on the connection it is given; none is thread-safe.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/result.h"
#include "store/records.h"
#include "store/sqlite/connection.h"

namespace keel::store::sqlite {

// Inside the writer's open transaction: inserts or replaces the row of
// (workflow, key).
Status upsertFileArrival(Connection& conn, const FileArrivalRow& row);
// Inside the writer's open transaction: deletes the rows of the workflow's
// trigger whose path is one of `paths`.
Status deleteFileArrivals(Connection& conn, const std::string& workflow, int trigger,
                          const std::vector<std::string>& paths);

Result<std::optional<FileArrivalRow>> selectFileArrival(Connection& conn,
                                                        const std::string& workflow,
                                                        const std::string& key);
// Every row of the workflow's trigger, by path then time.
Result<std::vector<FileArrivalRow>> selectFileArrivals(Connection& conn,
                                                       const std::string& workflow, int trigger);

}  // namespace keel::store::sqlite
