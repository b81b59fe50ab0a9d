// Retention of the outbox (events keel emitted) and of the webhook
// deliveries made from it, once the runs that emitted them are gone.
//
// SettledOutboxScan walks the outbox by seq on a read connection, a chunk
// at a time, and finds the events whose run is gone and which are no
// longer pending. deleteSettledOutbox() then, in one write transaction:
//   - deletes their `delivered` webhook deliveries, except each
//     subscription's newest delivery, which marks how far it has gone (the
//     next events it sends come after it);
//   - deletes each event that has no delivery left and that every
//     subscription on its topic has gone past.
// So a `dead` delivery stays, with its event, until it is redelivered, and
// no event is deleted before every subscription has made its delivery.
// Every condition is checked again in the write transaction.
//
// Neither is thread-safe; SqliteStore gives them one connection each.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "core/result.h"
#include "store/sqlite/connection.h"

namespace keel::store::sqlite {

struct SettledOutboxEvent {
  int64_t seq = 0;
  std::string id;
};

class SettledOutboxScan {
 public:
  // Up to `max` more events whose run is gone and which are not pending,
  // in seq order; empty once the walk is over. Each call reads on `reader`
  // and ends its reads before returning.
  Result<std::vector<SettledOutboxEvent>> next(Connection& reader, size_t max);

 private:
  int64_t cursor_ = 0;  // the last seq read
  bool done_ = false;
};

struct OutboxDeletion {
  int64_t events = 0;      // outbox rows deleted
  int64_t deliveries = 0;  // webhook deliveries deleted
};

// One write transaction on the writer connection; rolls back on any error.
Result<OutboxDeletion> deleteSettledOutbox(Connection& writer,
                                           const std::vector<SettledOutboxEvent>& events);

}  // namespace keel::store::sqlite
