#include "store/sqlite/outbox_retention.h"

#include <fmt/format.h>

namespace keel::store::sqlite {
namespace {

// Rows read per short read of the walk.
constexpr int64_t kOutboxScanChunk = 1000;

constexpr const char* kScanOutbox = R"sql(
SELECT o.seq, o.id,
       o.state <> 'pending' AND NOT EXISTS (SELECT 1 FROM runs r WHERE r.id = o.run_id)
FROM outbox o WHERE o.seq > ?1 ORDER BY o.seq LIMIT ?2)sql";

// ?1: the event's id. Not a subscription's newest delivery (its progress).
constexpr const char* kDeleteDeliveries = R"sql(
DELETE FROM webhook_deliveries
WHERE event_id = ?1 AND state = 'delivered'
  AND event_seq < (SELECT MAX(w.event_seq) FROM webhook_deliveries w
                   WHERE w.subscription = webhook_deliveries.subscription)
  AND EXISTS (SELECT 1 FROM outbox o
              WHERE o.id = ?1 AND o.state <> 'pending'
                AND NOT EXISTS (SELECT 1 FROM runs r WHERE r.id = o.run_id)))sql";

// ?1: the event's seq. No delivery left, and every subscription on its
// topic (latest version) has gone past it.
constexpr const char* kDeleteEvent = R"sql(
DELETE FROM outbox
WHERE seq = ?1 AND state <> 'pending'
  AND NOT EXISTS (SELECT 1 FROM runs r WHERE r.id = outbox.run_id)
  AND NOT EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.event_id = outbox.id)
  AND NOT EXISTS (
    SELECT 1 FROM subscriptions s
    WHERE s.topic = outbox.topic
      AND s.version = (SELECT MAX(v.version) FROM subscriptions v WHERE v.name = s.name)
      AND outbox.seq > MAX(s.from_seq,
                           COALESCE((SELECT MAX(d.event_seq) FROM webhook_deliveries d
                                     WHERE d.subscription = s.name), 0))))sql";

}  // namespace

Result<std::vector<SettledOutboxEvent>> SettledOutboxScan::next(Connection& reader, size_t max) {
  std::vector<SettledOutboxEvent> found;
  while (!done_ && found.size() < max) {
    auto s = reader.cached(kScanOutbox);
    if (!s.ok()) return s.error();
    (*s)->bind(1, cursor_);
    (*s)->bind(2, kOutboxScanChunk);
    int64_t rows = 0;
    while (true) {
      auto more = (*s)->next();
      if (!more.ok()) return more.error();
      if (!*more) break;
      ++rows;
      cursor_ = (*s)->int64At(0);
      if ((*s)->int64At(2) != 0) found.push_back({cursor_, (*s)->textAt(1)});
    }
    if (rows < kOutboxScanChunk) done_ = true;
  }
  return found;
}

Result<OutboxDeletion> deleteSettledOutbox(Connection& writer,
                                           const std::vector<SettledOutboxEvent>& events) {
  auto fail = [&](const Error& e) {
    return Error(e.code(),
                 fmt::format("cannot delete the outbox events of deleted runs from {}: {}",
                             writer.path(), e.message()));
  };
  return writeTransaction(
      writer,
      [&]() -> Result<OutboxDeletion> {
        OutboxDeletion out;
        for (const auto& e : events) {
          auto deliveries =
              changeRows(writer, kDeleteDeliveries, [&](Statement& s) { s.bind(1, e.id); });
          if (!deliveries.ok()) return fail(deliveries.error());
          out.deliveries += *deliveries;
          auto event = changeRows(writer, kDeleteEvent, [&](Statement& s) { s.bind(1, e.seq); });
          if (!event.ok()) return fail(event.error());
          out.events += *event;
        }
        return out;
      },
      "cannot commit a deletion of outbox events");
}

}  // namespace keel::store::sqlite
