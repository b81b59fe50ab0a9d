// `keel approve RUN STEP [--reject] --reason R`: decides an approval step.
#include "api/json_codec.h"
#include "cli/commands.h"
#include "cli/text.h"

namespace keel::cli {
namespace {

namespace field = api::field;
using nlohmann::json;

// Who decided, as the server recorded it: the step's output (approved) or
// its reason (rejected), read back from the run. Empty if it cannot be read.
std::string decisionOf(const Context& ctx, const std::string& runId, const std::string& step,
                       bool reject) {
  auto detail = ctx.api->get("/api/v1/runs/" + urlEncode(runId));
  if (!detail.ok() || !detail->ok()) return {};
  const json& steps = member(detail->body, field::kSteps);
  if (!steps.is_array()) return {};
  for (const auto& s : steps) {
    if (text(s, field::kName) != step) continue;
    if (reject) return text(s, field::kReason);
    const json& out = member(s, field::kOutput);
    if (out.is_object() && out.contains("by") && out["by"].is_string())
      return "approved by " + out["by"].get<std::string>();
  }
  return {};
}

}  // namespace

int approveCommand(const Context& ctx, const ApproveArgs& args) {
  if (args.reject && args.reason.empty()) {
    ctx.err << "keel approve: --reject needs --reason (why the step is rejected)\n";
    return kExitUsage;
  }
  json body = json::object();
  if (!args.reason.empty()) body[field::kReason] = args.reason;
  ApiResponse answer;
  const std::string path = "/api/v1/runs/" + urlEncode(args.runId) + "/steps/" +
                           urlEncode(args.step) + (args.reject ? "/reject" : "/approve");
  if (int code = checkAnswer(ctx, ctx.api->post(path, body.dump(), "application/json"), &answer))
    return code;
  std::string decision = decisionOf(ctx, args.runId, args.step, args.reject);
  if (decision.empty()) decision = args.reject ? "rejected" : "approved";
  ctx.out << args.step << ' ' << decision << '\n';
  return kExitOk;
}

}  // namespace keel::cli
