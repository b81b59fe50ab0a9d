// Audit routes: GET /api/v1/audit (entries, newest first, filtered) and
// GET /api/v1/audit/verify (the whole chain checked). Reads only, from the
// store, never through the engine loop.
#include <charconv>
#include <cstdint>

#include <fmt/format.h>

#include "api/reply.h"
#include "api/routes.h"
#include "spec/fire_times.h"
#include "spec/parser.h"

namespace keel::api {

namespace {

using nlohmann::json;

constexpr int kVerifyPage = 1000;

json entryJson(const audit::Entry& e) {
  json detail = nullptr;
  if (!e.detailJson.empty()) {
    detail = json::parse(e.detailJson, nullptr, false);
    if (detail.is_discarded()) detail = e.detailJson;  // shown as stored
  }
  return {{"seq", e.seq},
          {"at", formatRfc3339(e.at)},
          {"actor", e.actor},
          {"action", e.action},
          {"target", e.target},
          {"reason", e.reason},
          {"request_id", e.requestId},
          {"detail", std::move(detail)},
          {"prev_hash", e.prevHash},
          {"hash", e.hash}};
}

Result<store::AuditFilter> parseAuditFilter(const ApiRequest& request, WallTime now) {
  store::AuditFilter filter;
  filter.actor = request.query("actor");
  filter.target = request.query("target");
  // since=12h (that long before now) or an RFC 3339 instant.
  if (const std::string since = request.query("since"); !since.empty()) {
    if (auto ago = spec::parseDuration(since); ago.ok())
      filter.since = now - *ago;
    else if (auto at = spec::parseInstant(since))
      filter.since = *at;
    else
      return Error(ErrorCode::kInvalidArgument,
                   fmt::format("'since' must be a duration such as 12h or 30m, or an RFC 3339 "
                               "time such as 2026-11-28T02:00:00Z, got '{}'",
                               since));
  }
  auto number = [&](const char* name, int64_t lo, int64_t hi) -> Result<int64_t> {
    const std::string text = request.query(name);
    int64_t value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || end != text.data() + text.size() || value < lo || value > hi)
      return Error(
          ErrorCode::kInvalidArgument,
          fmt::format("'{}' must be an integer from {} to {}, got '{}'", name, lo, hi, text));
    return value;
  };
  filter.limit = kDefaultListLimit;
  if (request.hasQuery("limit")) {
    auto limit = number("limit", 1, kMaxListLimit);
    if (!limit.ok()) return limit.error();
    filter.limit = static_cast<int>(*limit);
  }
  if (request.hasQuery("cursor")) {
    auto cursor = number("cursor", 1, INT64_MAX);
    if (!cursor.ok()) return cursor.error();
    filter.beforeSeq = *cursor;
  }
  return filter;
}

Reply listAudit(const RouteContext& ctx, const ApiRequest& request) {
  auto filter = parseAuditFilter(request, ctx.clock.wallNow());
  if (!filter.ok()) return errorReply(filter.error());
  // One extra row tells whether another page exists.
  const int limit = filter->limit;
  store::AuditFilter query = *filter;
  query.limit = limit + 1;
  auto rows = ctx.store.listAudit(query);
  if (!rows.ok()) return errorReply(rows.error());
  bool more = static_cast<int>(rows->size()) > limit;
  if (more) rows->resize(static_cast<size_t>(limit));
  json list = json::array();
  for (const auto& e : *rows) list.push_back(entryJson(e));
  json next = nullptr;
  if (more && !rows->empty()) next = std::to_string(rows->back().seq);
  return jsonReply(200, {{"entries", std::move(list)}, {"next_cursor", std::move(next)}});
}

Reply verifyAudit(const RouteContext& ctx, const ApiRequest&) {
  auto report = verifyAuditLog(ctx.store);
  if (!report.ok()) return errorReply(report.error());
  json answer = {{"intact", report->intact()},
                 {"entries", report->entries},
                 {"head", {{"seq", report->head.seq}, {"hash", report->head.hash}}}};
  if (!report->intact()) {
    answer["breach"] = audit::toString(report->breach);
    answer["seq"] = report->badSeq;
    answer["problem"] = report->problem;
  }
  return jsonReply(200, answer);
}

}  // namespace

Result<audit::VerifyReport> verifyAuditLog(store::Store& store) {
  // A page at a time, through one Verifier, so a page boundary cannot
  // hide a broken link and memory stays one page whatever the log's size.
  audit::Verifier verifier;
  int64_t after = 0;
  while (true) {
    auto page = store.auditEntries(after, kVerifyPage);
    if (!page.ok()) return page.error();
    for (const auto& e : *page)
      if (!verifier.add(e)) return verifier.report();
    if (static_cast<int>(page->size()) < kVerifyPage) break;
    after = page->back().seq;
  }
  return verifier.report();
}

void addAuditRoutes(Router& router, const RouteContext& context) {
  router.add("GET", "/api/v1/audit",
             [context](const ApiRequest& request) { return listAudit(context, request); },
             {.query = {"since", "actor", "target", "limit", "cursor"}});
  router.add("GET", "/api/v1/audit/verify",
             [context](const ApiRequest& request) { return verifyAudit(context, request); });
}

}  // namespace keel::api
