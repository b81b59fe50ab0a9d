// keel schedules: the cron triggers of the server's workflows, when each
// fires next and what happened at its last instant; then their file
// triggers, the last file each fired for and the watcher's error.
#include "cli/commands.h"
#include "cli/table.h"
#include "cli/text.h"

namespace keel::cli {

int schedulesCommand(const Context& ctx, bool json) {
  ApiResponse answer;
  if (int code = checkAnswer(ctx, ctx.api->get("/api/v1/schedules"), &answer)) return code;
  if (json) {
    printJson(ctx.out, answer.body);
    return kExitOk;
  }
  Table table({"WORKFLOW", "TRIGGER", "CRON", "TIMEZONE", "NEXT", "LAST", "RUN", "OUTCOME"});
  for (const auto& s : member(answer.body, "schedules")) {
    const auto& next = member(s, "next");
    std::string first =
        next.is_array() && !next.empty() && next[0].is_string() ? next[0].get<std::string>() : "-";
    const auto& last = member(s, "last");
    std::string instant = last.is_object() ? text(last, "instant") : "";
    std::string run = last.is_object() ? text(last, "run_id") : "";
    std::string outcome = last.is_object() ? text(last, "outcome") : "";
    int index =
        s.contains("trigger") && s["trigger"].is_number_integer() ? s["trigger"].get<int>() : -1;
    table.addRow({text(s, "workflow"), std::to_string(index + 1), text(s, "cron"),
                  text(s, "timezone"), first, instant.empty() ? "-" : instant,
                  run.empty() ? "-" : run, outcome.empty() ? "-" : outcome});
  }
  table.print(ctx.out);
  const auto& files = member(answer.body, "file_triggers");
  if (!files.is_array() || files.empty()) return kExitOk;
  // File triggers: their directory, the last file they started a run for
  // and, while the directory cannot be listed, why.
  ctx.out << "\n";
  Table ft({"WORKFLOW", "TRIGGER", "PATH", "PATTERN", "LAST FILE", "RUN", "ERROR"});
  for (const auto& f : files) {
    const auto& last = member(f, "last");
    std::string path = last.is_object() ? text(last, "path") : "";
    std::string run = last.is_object() ? text(last, "run_id") : "";
    std::string error = text(f, "error");
    int index =
        f.contains("trigger") && f["trigger"].is_number_integer() ? f["trigger"].get<int>() : -1;
    ft.addRow({text(f, "workflow"), std::to_string(index + 1), text(f, "path"), text(f, "pattern"),
               path.empty() ? "-" : path, run.empty() ? "-" : run, error.empty() ? "-" : error});
  }
  ft.print(ctx.out);
  return kExitOk;
}

}  // namespace keel::cli
