// The tokens table: the queries behind Store's token methods. Writes run on
// the writer connection (the caller holds the writer's turn); reads on any
// connection.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/result.h"
#include "store/records.h"
#include "store/sqlite/connection.h"

namespace keel::store::sqlite {

// `beforeCommit` runs in the transaction once the row changed (not for a
// token revoked already).
Status insertToken(Connection& conn, const TokenRow& row, const BeforeCommit& beforeCommit = {});
Result<TokenRow> markTokenRevoked(Connection& conn, const std::string& name, WallTime at,
                                  const BeforeCommit& beforeCommit = {});
Result<std::vector<TokenRow>> selectTokens(Connection& conn);
Result<std::optional<TokenRow>> selectTokenByHash(Connection& conn, const std::string& hash);

}  // namespace keel::store::sqlite
