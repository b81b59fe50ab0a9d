// The audit log (the audit_log table, schema 13): the insert the writer
// makes for a sealed entry, the chain head read at open, and the reads the
// API and `keel audit verify` make. Each function runs on the connection it
// is given; none is thread-safe.
#pragma once

#include <cstdint>
#include <vector>

#include "audit/entry.h"
#include "core/result.h"
#include "store/sqlite/connection.h"
#include "store/store.h"

namespace keel::store::sqlite {

// Inside the caller's open write transaction: seals `entry` on `head` (its
// seq and hashes) and inserts it; `head` moves to it only if the insert
// succeeded. The caller keeps `head` for the transaction's next entry and
// drops it if the transaction does not commit.
Status appendAuditEntry(Connection& conn, audit::Entry entry, audit::Head& head);

// The last entry's seq and hash, or the empty chain's head.
Result<audit::Head> selectAuditHead(Connection& conn);

// Matching entries, newest first.
Result<std::vector<audit::Entry>> selectAudit(Connection& conn, const AuditFilter& filter);

// Entries with seq > afterSeq, by seq, at most `limit`.
Result<std::vector<audit::Entry>> selectAuditRange(Connection& conn, int64_t afterSeq, int limit);

}  // namespace keel::store::sqlite
