// The outbox (the outbox table): the insert and the delivery mark the
// writer makes in a batch, and the reads of pending events. Each function
// runs on the connection it is given; none is thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/result.h"
#include "store/records.h"
#include "store/sqlite/connection.h"

namespace keel::store::sqlite {

// Inside the writer's open transaction: inserts the event unless its id is
// stored already (then nothing changes).
Status insertOutboxEvent(Connection& conn, const OutboxEventRow& row);

// Inside the writer's open transaction: a pending event becomes delivered.
Status markOutboxDelivered(Connection& conn, const std::string& id, WallTime at);

// Pending events with seq > afterSeq, by seq, at most `limit`.
Result<std::vector<OutboxEventRow>> selectPendingOutbox(Connection& conn, int64_t afterSeq,
                                                        int limit);

Result<std::optional<OutboxEventRow>> selectOutboxEvent(Connection& conn, const std::string& id);

// Events on `topic` with seq > afterSeq that were not refused (pending or
// delivered), by seq, at most `limit`: what a webhook subscription sends.
Result<std::vector<OutboxEventRow>> selectOutboxOnTopic(Connection& conn, const std::string& topic,
                                                        int64_t afterSeq, int limit);

}  // namespace keel::store::sqlite
