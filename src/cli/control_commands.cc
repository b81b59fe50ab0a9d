// keel pause|resume TARGET and keel disable|enable WORKFLOW: a run when
// TARGET looks like a run id (or with --run), else a workflow (or with
// --workflow); --reason goes in the body and lands in the timeline.
#include <nlohmann/json.hpp>

#include "api/json_codec.h"
#include "cli/commands.h"
#include "cli/text.h"
#include "core/ids.h"

namespace keel::cli {

namespace {

// "paused by alice since 2026-01-01T00:00:00Z: deploy" from {by, at, reason}.
std::string heldText(const char* what, const nlohmann::json& state) {
  std::string out = what;
  if (!text(state, "by").empty()) out += " by " + text(state, "by");
  if (!text(state, "at").empty()) out += " since " + text(state, "at");
  if (!text(state, "reason").empty()) out += ": " + text(state, "reason");
  return out;
}

}  // namespace

int controlCommand(const Context& ctx, const ControlArgs& args) {
  const bool onRun = args.run || (!args.workflow && args.action != "disable" &&
                                  args.action != "enable" && looksLikeRunId(args.target));
  if (onRun && (args.action == "disable" || args.action == "enable")) {
    ctx.err << "keel " << args.action << ": applies to workflows, not runs\n";
    return kExitUsage;
  }
  nlohmann::json body = nlohmann::json::object();
  if (!args.reason.empty()) body[api::field::kReason] = args.reason;
  const std::string path = std::string(onRun ? "/api/v1/runs/" : "/api/v1/workflows/") +
                           urlEncode(args.target) + "/" + args.action;
  ApiResponse answer;
  if (int code = checkAnswer(ctx, ctx.api->post(path, body.dump(), "application/json"), &answer))
    return code;
  if (onRun) {
    ctx.out << "run " << text(answer.body, api::field::kId, args.target) << ": "
            << text(answer.body, api::field::kState);
    if (auto reason = text(answer.body, api::field::kReason); !reason.empty())
      ctx.out << " (" << reason << ")";
    ctx.out << '\n';
    return kExitOk;
  }
  const bool changed =
      member(answer.body, "changed").is_boolean() && member(answer.body, "changed").get<bool>();
  const bool pause = args.action == "pause" || args.action == "resume";
  const auto& state = member(answer.body, pause ? "paused" : "disabled");
  ctx.out << "workflow " << args.target << ": ";
  if (state.is_object())
    ctx.out << heldText(pause ? "paused" : "disabled", state);
  else
    ctx.out << (pause ? "not paused" : "enabled");
  if (!changed) ctx.out << " (no change)";
  ctx.out << '\n';
  return kExitOk;
}

}  // namespace keel::cli
