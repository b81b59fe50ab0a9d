// What every HTTP command shares: turning an answer into an exit code, and
// printing JSON.
#include "api/json_codec.h"
#include "cli/commands.h"
#include "cli/text.h"

namespace keel::cli {

namespace field = api::field;

void printJson(std::ostream& out, const nlohmann::json& j) {
  out << j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << '\n';
}

int checkAnswer(const Context& ctx, Result<ApiResponse> result, ApiResponse* response) {
  if (!result.ok()) {
    ctx.err << "cannot reach keel at " << ctx.api->url().toString() << ": "
            << result.error().message()
            << " (is `keel serve` running? set --server or KEEL_SERVER)\n";
    return kExitUnreachable;
  }
  if (result->ok() && !result->body.is_discarded()) {
    *response = std::move(*result);
    return kExitOk;
  }
  const auto& body = result->body;
  if (!body.is_discarded() && body.is_object() && body.contains(field::kError)) {
    const auto& error = member(body, field::kError);
    ctx.err << "error: " << text(error, field::kMessage, "(no message)") << '\n';
    const auto& details = member(error, field::kDetails);
    if (details.is_array())
      for (const auto& detail : details)
        ctx.err << "  " << (detail.is_string() ? detail.get<std::string>() : detail.dump()) << '\n';
  } else {
    std::string excerpt = result->text.substr(0, 200);
    ctx.err << "error: unexpected answer from " << ctx.api->url().toString() << " (HTTP "
            << result->status << "): " << excerpt << '\n';
  }
  if (result->status == 401)
    ctx.err << "  (set KEEL_TOKEN to a token, or KEEL_TOKEN_FILE to a file holding one; keel "
               "serve writes its first admin token to the database path plus .token)\n";
  switch (result->status) {
    case 400:
    case 409:
    case 422:
      return kExitDataErr;
    case 404:
      return kExitNoInput;
    case 401:
    case 403:
      return kExitNoPerm;
    case 429:
    case 503:
      return kExitTempFail;
    default:
      return result->status >= 500 || result->ok() ? kExitSoftware : kExitFailure;
  }
}

}  // namespace keel::cli
