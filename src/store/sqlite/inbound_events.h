// Inbound events (the inbound_events table): the insert the writer makes
// in a batch, the lookup by (topic, id), and their part of retention.
// Each function runs on the connection it is given; none is thread-safe.
#pragma once

#include <optional>
#include <string>

#include "core/clock.h"
#include "core/result.h"
#include "store/records.h"
#include "store/sqlite/connection.h"

namespace keel::store::sqlite {

// Inside the writer's open transaction. kAlreadyExists if (topic, id) is
// stored already.
Status insertInboundEvent(Connection& conn, const InboundEventRow& row);

Result<std::optional<InboundEventRow>> selectInboundEvent(Connection& conn,
                                                          const std::string& topic,
                                                          const std::string& id);

// In one write transaction: deletes the events none of whose runs remain
// (those that started runs), and those that started no run and were
// received before `noRunCutoff` (if given). Returns how many it deleted.
Result<int64_t> deleteExpiredInboundEvents(Connection& writer, std::optional<WallTime> noRunCutoff);

}  // namespace keel::store::sqlite
