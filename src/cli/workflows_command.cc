// keel workflows: every workflow's latest version with its owner, its
// runbook, how its last run went, when it last succeeded, and whether it is
// paused or disabled (by whom).
#include "cli/commands.h"
#include "cli/table.h"
#include "cli/text.h"

namespace keel::cli {

int workflowsCommand(const Context& ctx, bool json) {
  ApiResponse answer;
  if (int code = checkAnswer(ctx, ctx.api->get("/api/v1/workflows"), &answer)) return code;
  if (json) {
    printJson(ctx.out, answer.body);
    return kExitOk;
  }
  Table table({"NAME", "VER", "NAMESPACE", "OWNER", "LAST RUN", "STATE", "LAST SUCCESS", "PAUSED",
               "DISABLED", "RUNBOOK"});
  // "by ACTOR" for a paused or disabled workflow ("yes" if nobody is named).
  auto held = [](const nlohmann::json& state) -> std::string {
    if (!state.is_object()) return "-";
    std::string by = text(state, "by");
    return by.empty() ? "yes" : "by " + by;
  };
  const auto& workflows = member(answer.body, "workflows");
  for (const auto& w : workflows.is_array() ? workflows : nlohmann::json::array()) {
    const auto& owner = member(w, "owner");
    std::string who = owner.is_object() ? text(owner, "team") : "";
    if (owner.is_object() && !text(owner, "contact").empty())
      who += " <" + text(owner, "contact") + ">";
    if (!owner.is_object()) who = "(stored version no longer parses)";
    const auto& last = member(w, "last_run");
    std::string runbook = text(w, "runbook");
    table.addRow(
        {text(w, "name"), text(w, "version"), text(w, "namespace"), who.empty() ? "-" : who,
         last.is_object() ? shortTime(member(last, "created_at")) : "-",
         last.is_object() ? text(last, "state") : "-", shortTime(member(w, "last_success_at")),
         held(member(w, "paused")), held(member(w, "disabled")), runbook.empty() ? "-" : runbook});
  }
  table.print(ctx.out);
  if (table.rows() == 1) ctx.err << "(no workflows: apply one with keel apply FILE)\n";
  return kExitOk;
}

}  // namespace keel::cli
