// `keel skip`, `keel rerun --from`, `keel cancel --step`: operator actions
// on one step of a run.
#include "api/json_codec.h"
#include "cli/commands.h"
#include "cli/text.h"

namespace keel::cli {
namespace {

namespace field = api::field;
using nlohmann::json;

int postStepAction(const Context& ctx, const std::string& runId, const std::string& path, json body,
                   const std::string& done) {
  ApiResponse answer;
  if (int code = checkAnswer(
          ctx,
          ctx.api->post("/api/v1/runs/" + urlEncode(runId) + path, body.dump(), "application/json"),
          &answer))
    return code;
  ctx.out << done << "; run " << text(answer.body, field::kId, runId) << ": "
          << text(answer.body, field::kState);
  auto state = text(answer.body, field::kState);
  if (auto reason = text(answer.body, field::kReason); !reason.empty() && reason != state)
    ctx.out << " (" << reason << ")";
  ctx.out << '\n';
  return kExitOk;
}

json reasonBody(const std::string& reason) {
  json body = json::object();
  if (!reason.empty()) body[field::kReason] = reason;
  return body;
}

}  // namespace

int skipCommand(const Context& ctx, const std::string& runId, const std::string& step,
                const std::string& reason) {
  return postStepAction(ctx, runId, "/steps/" + urlEncode(step) + "/skip", reasonBody(reason),
                        "step " + step + " skipped");
}

int rerunCommand(const Context& ctx, const std::string& runId, const std::string& from,
                 const std::string& reason) {
  json body = reasonBody(reason);
  body["from"] = from;
  return postStepAction(ctx, runId, "/rerun", std::move(body), "re-running from step " + from);
}

int cancelStepCommand(const Context& ctx, const std::string& runId, const std::string& step,
                      const std::string& reason) {
  return postStepAction(ctx, runId, "/steps/" + urlEncode(step) + "/cancel", reasonBody(reason),
                        "step " + step + " cancel requested");
}

}  // namespace keel::cli
