// Token routes: create, list and revoke API tokens.
#include <fmt/format.h>

#include "api/body_json.h"
#include "api/json_codec.h"
#include "api/routes.h"
#include "audit/record.h"
#include "auth/token.h"
#include "core/quote.h"

namespace keel::api {
namespace {

using nlohmann::json;

// The body {"name": "...", "reason": "..."}: the name, and the caller's
// context with the reason in it.
Result<std::string> parseTokenName(const ApiRequest& request, RequestContext& who) {
  auto body = parseJsonBody(request.body);
  if (!body.ok()) return body.error();
  auto reason = takeReason(*body);
  if (!reason.ok()) return reason.error();
  who = request.context;
  who.reason = std::move(*reason);
  std::string name;
  for (const auto& [key, value] : body->items()) {
    if (key != field::kName)
      return Error(
          ErrorCode::kInvalidArgument,
          fmt::format("unknown field {} (expected 'name', 'reason')", quoteForMessage(key)));
    if (!value.is_string()) return Error(ErrorCode::kInvalidArgument, "'name' must be a string");
    name = value.get<std::string>();
  }
  if (!body->contains(field::kName))
    return Error(ErrorCode::kInvalidArgument, "the body must name the token: {\"name\": \"...\"}");
  KEEL_TRY(auth::checkTokenName(name));
  return name;
}

Reply createToken(const RouteContext& ctx, const ApiRequest& request) {
  RequestContext who;
  auto name = parseTokenName(request, who);
  if (!name.ok()) return errorReply(name.error());
  std::string secret = auth::newTokenSecret();
  store::TokenRow row;
  row.name = *name;
  row.hash = auth::tokenHash(secret);
  row.role = "admin";
  row.createdAt = ctx.clock.wallNow();
  row.createdBy = request.context.actor();
  // The entry names the token and its role, never its secret or hash.
  audit::Entry entry = audit::record(who, "token.create", row.name, row.createdAt,
                                     json({{"token", row.name}, {"role", row.role}}).dump());
  if (auto st = ctx.store.putToken(row, &entry); !st.ok()) return errorReply(st.error());
  json answer = tokenJson(row);
  answer[field::kToken] = secret;  // shown this once; only its hash is kept
  return jsonReply(201, answer);
}

Reply listTokens(const RouteContext& ctx, const ApiRequest&) {
  auto rows = ctx.store.listTokens();
  if (!rows.ok()) return errorReply(rows.error());
  json list = json::array();
  for (const auto& row : *rows) list.push_back(tokenJson(row));
  return jsonReply(200, {{field::kTokens, std::move(list)}});
}

Reply revokeToken(const RouteContext& ctx, const ApiRequest& request) {
  const auto& name = request.pathParams[0];
  auto who = withReason(request);
  if (!who.ok()) return errorReply(who.error());
  WallTime at = ctx.clock.wallNow();
  audit::Entry entry =
      audit::record(*who, "token.revoke", name, at, json({{"token", name}}).dump());
  auto revoked = ctx.store.revokeToken(name, at, &entry);
  if (!revoked.ok()) return errorReply(revoked.error());
  return jsonReply(200, tokenJson(*revoked));
}

}  // namespace

void addTokenRoutes(Router& router, const RouteContext& context) {
  auto bind = [context](Reply (*fn)(const RouteContext&, const ApiRequest&)) {
    return [context, fn](const ApiRequest& request) { return fn(context, request); };
  };
  router.add("POST", "/api/v1/tokens", bind(createToken));
  router.add("GET", "/api/v1/tokens", bind(listTokens));
  router.add("POST", "/api/v1/tokens/{name}/revoke", bind(revokeToken));
}

}  // namespace keel::api
