// keel audit [--since --actor --target --limit] and keel audit verify: the
// audit log (GET /api/v1/audit) and its hash chain checked by the server
// (GET /api/v1/audit/verify).
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/table.h"
#include "cli/text.h"

namespace keel::cli {

int auditCommand(const Context& ctx, const AuditArgs& args) {
  std::string query = "?limit=" + std::to_string(args.limit);
  if (!args.since.empty()) query += "&since=" + urlEncode(args.since);
  if (!args.actor.empty()) query += "&actor=" + urlEncode(args.actor);
  if (!args.target.empty()) query += "&target=" + urlEncode(args.target);
  ApiResponse answer;
  if (int code = checkAnswer(ctx, ctx.api->get("/api/v1/audit" + query), &answer)) return code;
  if (args.json) {
    printJson(ctx.out, answer.body);
    return kExitOk;
  }
  Table table({"SEQ", "TIME", "ACTOR", "ACTION", "TARGET", "REASON"});
  const auto& rows = member(answer.body, "entries");
  for (const auto& e : rows.is_array() ? rows : nlohmann::json::array()) {
    std::string reason = text(e, "reason");
    table.addRow({text(e, "seq"), shortTime(member(e, "at")), text(e, "actor"), text(e, "action"),
                  text(e, "target"), reason.empty() ? "-" : reason});
  }
  table.print(ctx.out);
  if (table.rows() == 1) ctx.err << "(no audit entries)\n";
  if (!member(answer.body, "next_cursor").is_null())
    ctx.err << "(more entries: narrow with --since, --actor or --target, or raise --limit)\n";
  return kExitOk;
}

namespace {

// Checks that the intact chain still holds the head kept elsewhere,
// "SEQ:HASH": entry SEQ (read as the page below SEQ + 1) has HASH.
int checkKeptHead(const Context& ctx, const std::string& expect, int64_t headSeq) {
  const size_t colon = expect.find(':');
  int64_t seq = 0;
  try {
    size_t used = 0;
    seq = colon == std::string::npos ? 0 : std::stoll(expect.substr(0, colon), &used);
    if (used != colon) seq = 0;
  } catch (const std::exception&) {
    seq = 0;
  }
  const std::string hash = colon == std::string::npos ? "" : expect.substr(colon + 1);
  if (seq < 1 || hash.size() != 64) {
    ctx.err << "keel audit verify: --expect takes SEQ:HASH (a head as `keel audit verify` "
               "printed it, e.g. 42:9e07…, 64 hex digits)\n";
    return kExitUsage;
  }
  if (seq > headSeq) {
    ctx.err << "audit chain rewritten: it ends at seq " << headSeq << ", before the kept head "
            << seq << " (entries were deleted from its end)\n";
    return kExitDataErr;
  }
  ApiResponse answer;
  if (int code = checkAnswer(
          ctx, ctx.api->get("/api/v1/audit?limit=1&cursor=" + std::to_string(seq + 1)), &answer))
    return code;
  const auto& entries = member(answer.body, "entries");
  const std::string found =
      entries.is_array() && !entries.empty() ? text(entries[0], "hash") : std::string();
  if (found != hash) {
    ctx.err << "audit chain rewritten: entry " << seq << " has hash "
            << (found.empty() ? "(none)" : found) << ", the kept head says " << hash << '\n';
    return kExitDataErr;
  }
  return kExitOk;
}

}  // namespace

int auditVerifyCommand(const Context& ctx, bool json, const std::string& expect) {
  ApiResponse answer;
  if (int code = checkAnswer(ctx, ctx.api->get("/api/v1/audit/verify"), &answer)) return code;
  const auto& intact = member(answer.body, "intact");
  const bool ok = intact.is_boolean() && intact.get<bool>();
  const auto& head = member(answer.body, "head");
  if (ok && !expect.empty()) {
    const auto& seq = member(head, "seq");
    if (int code = checkKeptHead(ctx, expect, seq.is_number_integer() ? seq.get<int64_t>() : 0))
      return code;
  }
  if (json) {
    printJson(ctx.out, answer.body);
    return ok ? kExitOk : kExitDataErr;
  }
  if (ok) {
    ctx.out << "audit chain intact: " << text(answer.body, "entries", "0") << " entries, head "
            << text(head, "seq", "0") << " " << text(head, "hash") << '\n';
    return kExitOk;
  }
  ctx.err << "audit chain broken at seq " << text(answer.body, "seq") << " ("
          << text(answer.body, "breach") << "): " << text(answer.body, "problem") << '\n'
          << "the " << text(head, "seq", "0") << " entries before it are intact; last intact head "
          << text(head, "seq", "0") << " " << text(head, "hash") << '\n';
  return kExitDataErr;
}

}  // namespace keel::cli
