// keel token create | list | revoke.
#include "api/json_codec.h"
#include "cli/commands.h"
#include "cli/table.h"
#include "cli/text.h"

namespace keel::cli {

namespace field = api::field;

int tokenCreateCommand(const Context& ctx, const std::string& name, const std::string& reason) {
  ApiResponse answer;
  nlohmann::json body{{field::kName, name}};
  if (!reason.empty()) body[field::kReason] = reason;
  if (int code = checkAnswer(ctx, ctx.api->post("/api/v1/tokens", body.dump(), "application/json"),
                             &answer))
    return code;
  // The secret alone on stdout, so `KEEL_TOKEN=$(keel token create ci)` works.
  ctx.out << text(answer.body, field::kToken) << '\n';
  ctx.err << "token '" << text(answer.body, field::kName)
          << "' created; this is the only time its secret is shown\n";
  return kExitOk;
}

int tokenListCommand(const Context& ctx) {
  ApiResponse answer;
  if (int code = checkAnswer(ctx, ctx.api->get("/api/v1/tokens"), &answer)) return code;
  Table table({"NAME", "ROLE", "CREATED", "BY", "REVOKED"});
  for (const auto& t : member(answer.body, field::kTokens)) {
    std::string revoked = text(t, field::kRevokedAt);
    table.addRow({text(t, field::kName), text(t, field::kRole), text(t, field::kCreatedAt),
                  text(t, field::kCreatedBy), revoked.empty() ? "-" : revoked});
  }
  table.print(ctx.out);
  return kExitOk;
}

int tokenRevokeCommand(const Context& ctx, const std::string& name, const std::string& reason) {
  ApiResponse answer;
  nlohmann::json body = nlohmann::json::object();
  if (!reason.empty()) body[field::kReason] = reason;
  if (int code = checkAnswer(ctx,
                             ctx.api->post("/api/v1/tokens/" + urlEncode(name) + "/revoke",
                                           body.dump(), "application/json"),
                             &answer))
    return code;
  ctx.out << "token " << text(answer.body, field::kName) << ": revoked\n";
  return kExitOk;
}

}  // namespace keel::cli
