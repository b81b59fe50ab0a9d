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

// Inside the writer's open transaction: inserts a sealed entry.
Status insertAuditEntry(Connection& conn, const audit::Entry& e);

// The last entry's seq and hash, or the empty chain's head.
Result<audit::Head> selectAuditHead(Connection& conn);

// Matching entries, newest first.
Result<std::vector<audit::Entry>> selectAudit(Connection& conn, const AuditFilter& filter);

// Entries with seq > afterSeq, by seq, at most `limit`.
Result<std::vector<audit::Entry>> selectAuditRange(Connection& conn, int64_t afterSeq, int limit);

}  // namespace keel::store::sqlite
