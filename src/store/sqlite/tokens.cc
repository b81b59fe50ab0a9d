// Token rows: writes on the writer connection, reads on a pooled one.
#include "store/sqlite/tokens.h"

#include <fmt/format.h>

#include "store/sqlite/row_codec.h"

namespace keel::store::sqlite {

namespace {

constexpr char kTokenColumns[] = "name, hash, role, created_at, created_by, revoked_at";

TokenRow readToken(const Statement& s) {
  TokenRow row;
  row.name = s.textAt(0);
  row.hash = s.textAt(1);
  row.role = s.textAt(2);
  row.createdAt = s.timeAt(3);
  row.createdBy = s.textAt(4);
  row.revokedAt = s.optionalTimeAt(5);
  return row;
}

Result<std::optional<TokenRow>> selectOne(Connection& conn, const std::string& sql,
                                          const std::string& key) {
  std::vector<TokenRow> rows;
  KEEL_TRY(selectAll(conn, sql, readToken, rows, [&](Statement& s) { s.bind(1, key); }));
  if (rows.empty()) return std::optional<TokenRow>();
  return std::optional<TokenRow>(std::move(rows.front()));
}

Result<std::optional<TokenRow>> selectTokenByName(Connection& conn, const std::string& name) {
  static const std::string sql =
      fmt::format("SELECT {} FROM tokens WHERE name = ?1", kTokenColumns);
  return selectOne(conn, sql, name);
}

}  // namespace

Status insertToken(Connection& conn, const TokenRow& row, const BeforeCommit& beforeCommit) {
  return writeTransaction(conn, [&]() -> Status {
    auto existing = selectTokenByName(conn, row.name);
    if (!existing.ok()) return existing.error();
    if (*existing)
      return Error(ErrorCode::kAlreadyExists,
                   fmt::format("a token named '{}' already exists{}", row.name,
                               (*existing)->revokedAt ? " (revoked; names are never reused)" : ""));
    auto s = conn.cached(
        "INSERT INTO tokens (name, hash, role, created_at, created_by, revoked_at) "
        "VALUES (?1, ?2, ?3, ?4, ?5, NULL)");
    if (!s.ok()) return s.error();
    (*s)->bind(1, row.name);
    (*s)->bind(2, row.hash);
    (*s)->bind(3, row.role);
    (*s)->bind(4, row.createdAt);
    (*s)->bind(5, row.createdBy);
    KEEL_TRY((*s)->run());
    return beforeCommit ? beforeCommit() : okStatus();
  });
}

Result<TokenRow> markTokenRevoked(Connection& conn, const std::string& name, WallTime at,
                                  const BeforeCommit& beforeCommit) {
  return writeTransaction(conn, [&]() -> Result<TokenRow> {
    auto existing = selectTokenByName(conn, name);
    if (!existing.ok()) return existing.error();
    if (!*existing) return Error(ErrorCode::kNotFound, fmt::format("no token named '{}'", name));
    TokenRow row = std::move(**existing);
    if (row.revokedAt) return row;
    auto others = conn.cached(
        "SELECT COUNT(*) FROM tokens WHERE role = 'admin' AND revoked_at IS NULL AND name <> ?1");
    if (!others.ok()) return others.error();
    (*others)->bind(1, name);
    auto counted = (*others)->next();
    if (!counted.ok()) return counted.error();
    int64_t liveOthers = (*others)->int64At(0);
    (*others)->reset();
    if (row.role == "admin" && liveOthers == 0)
      return Error(ErrorCode::kConflict,
                   fmt::format("token '{}' is the last admin token that works; create another one "
                               "first (keel token create NAME), or nobody could use the API",
                               name));
    auto s = conn.cached("UPDATE tokens SET revoked_at = ?2 WHERE name = ?1");
    if (!s.ok()) return s.error();
    (*s)->bind(1, name);
    (*s)->bind(2, at);
    KEEL_TRY((*s)->run());
    if (beforeCommit) KEEL_TRY(beforeCommit());
    row.revokedAt = at;
    return row;
  });
}

Result<std::vector<TokenRow>> selectTokens(Connection& conn) {
  static const std::string sql = fmt::format("SELECT {} FROM tokens ORDER BY name", kTokenColumns);
  std::vector<TokenRow> rows;
  KEEL_TRY(selectAll(conn, sql, readToken, rows));
  return rows;
}

Result<std::optional<TokenRow>> selectTokenByHash(Connection& conn, const std::string& hash) {
  static const std::string sql =
      fmt::format("SELECT {} FROM tokens WHERE hash = ?1", kTokenColumns);
  return selectOne(conn, sql, hash);
}

}  // namespace keel::store::sqlite
